// Package entitydiff feeds entity_change events to the entity-diff shard workflows: its
// Deliver is what the entity-diff Kafka bridge delivers with.
package entitydiff

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/entitybase/entitybase-workers/internal/kafkabridge"
	"github.com/entitybase/entitybase-workers/workflows"
)

// MaxShardPending bounds the changes a shard holds unpublished. The shard carries them over
// continue-as-new, in a payload Temporal refuses at 2 MiB: twice this many Wikidata-sized
// changes take about 700 KB. A shard of a bulk import or of a stream faster than it
// publishes fills up; the bridge then waits, and the backlog stays in Kafka (its lag).
const MaxShardPending = 5000

// Deliver delivers one shard's events of a batch of the entity-diff bridge with one
// Signal-With-Start, which starts the shard's EntityDiffShardWorkflow on taskQueue if it is
// not running. The bridge keeps an entity on one shard (kafkabridge.ShardOf) and a shard's
// signals in partition order, so each entity's changes arrive in order; a failed signal is
// delivered again, and the shard drops what it had. After every MaxShardPending/5 changes
// to a shard it asks the shard how many it holds, and waits while that is more than
// MaxShardPending.
func Deliver(c client.Client, taskQueue, topic string) kafkabridge.Deliver {
	th := &throttle{maxPending: MaxShardPending, every: MaxShardPending / 5, wait: time.Second,
		pending: func(ctx context.Context, shard int) (int, error) {
			v, err := c.QueryWorkflow(ctx, workflows.EntityDiffShardWorkflowID(topic, shard), "", workflows.QueryEntityDiffShardState)
			if err != nil {
				return 0, err
			}
			var st workflows.EntityDiffShardState
			if err := v.Get(&st); err != nil {
				return 0, err
			}
			return st.Pending, nil
		}}
	return func(ctx context.Context, shard int, evs []kafkabridge.Event) error {
		if err := th.admit(ctx, shard); err != nil {
			return err
		}
		batch := workflows.EntityDiffShardBatch{Changes: make([]workflows.ShardChange, len(evs))}
		for i, ev := range evs {
			batch.Changes[i] = workflows.ShardChangeOf(ev.Change)
		}
		id := workflows.EntityDiffShardWorkflowID(topic, shard)
		_, err := c.SignalWithStartWorkflow(ctx, id, workflows.SignalEntityDiffShardChanges, batch,
			client.StartWorkflowOptions{
				ID:                    id,
				TaskQueue:             taskQueue,
				TypedSearchAttributes: temporal.NewSearchAttributes(workflows.JobAttr.ValueSet(workflows.JobEntityDiff)),
			},
			workflows.EntityDiffShardWorkflow, workflows.EntityDiffShardInput{Topic: topic, Shard: shard})
		if err == nil {
			th.sent(shard, len(evs))
		}
		return err
	}
}

// throttle holds deliveries to a shard back while the shard holds more than maxPending
// changes, asking it (pending) after every `every` changes sent to it.
type throttle struct {
	maxPending int
	every      int
	wait       time.Duration
	pending    func(ctx context.Context, shard int) (int, error)

	mu     sync.Mutex
	unseen map[int]int // changes sent to a shard since it was last asked
}

func (t *throttle) sent(shard, n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.unseen == nil {
		t.unseen = map[int]int{}
	}
	t.unseen[shard] += n
}

// admit returns once the shard may take more: at once if it was asked recently, else when
// it holds at most maxPending changes or has not started. An error is no refusal by
// Temporal (which would dead-letter the events): the bridge retries it.
func (t *throttle) admit(ctx context.Context, shard int) error {
	t.mu.Lock()
	due := t.unseen[shard] >= t.every
	t.mu.Unlock()
	if !due {
		return nil
	}
	for {
		n, err := t.pending(ctx, shard)
		var notFound *serviceerror.NotFound
		switch {
		case errors.As(err, &notFound):
			n = 0
		case err != nil:
			return fmt.Errorf("ask entity-diff shard %d how many changes it holds: %v", shard, err)
		}
		if n <= t.maxPending {
			t.mu.Lock()
			t.unseen[shard] = 0
			t.mu.Unlock()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(t.wait):
		}
	}
}
