package entitydiff

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/entitybase/entitybase-workers/workflows"
)

// TestThrottleHoldsBackWhileAShardIsFull delivers to a shard that publishes slower than
// the bridge reads: once the shard holds more than its bound, the next delivery waits until
// the shard has worked its queue down, so the backlog stays in Kafka and not in the
// shard's state. The shard is asked only every few changes.
func TestThrottleHoldsBackWhileAShardIsFull(t *testing.T) {
	var mu sync.Mutex
	var asked []int
	pending := []int{250, 180, 90} // what the shard answers, in turn
	th := &throttle{maxPending: 100, every: 40, wait: time.Millisecond,
		pending: func(_ context.Context, shard int) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			asked = append(asked, shard)
			n := pending[0]
			if len(pending) > 1 {
				pending = pending[1:]
			}
			return n, nil
		}}
	ctx := context.Background()
	for range 3 {
		require.NoError(t, th.admit(ctx, 1))
		th.sent(1, 15)
	}
	assert.Empty(t, asked, "45 changes delivered before the shard is first asked")
	require.NoError(t, th.admit(ctx, 1))
	assert.Equal(t, []int{1, 1, 1}, asked, "asked until it holds at most 100")
	require.NoError(t, th.admit(ctx, 2))
	th.sent(1, 15)
	require.NoError(t, th.admit(ctx, 1))
	assert.Len(t, asked, 3, "the count starts over after an answer")

	// A shard still to be started holds nothing; an error names the shard and is no
	// Temporal refusal (which would dead-letter the events).
	th = &throttle{maxPending: 100, every: 1, wait: time.Millisecond,
		pending: func(context.Context, int) (int, error) { return 0, serviceerror.NewNotFound("workflow not found") }}
	th.sent(3, 5)
	require.NoError(t, th.admit(ctx, 3))
	th = &throttle{maxPending: 100, every: 1, wait: time.Millisecond,
		pending: func(context.Context, int) (int, error) { return 0, serviceerror.NewInvalidArgument("bad query") }}
	th.sent(3, 5)
	err := th.admit(ctx, 3)
	require.ErrorContains(t, err, "shard 3")
	var invalid *serviceerror.InvalidArgument
	assert.False(t, errors.As(err, &invalid))

	// Waiting ends with the context.
	th = &throttle{maxPending: 100, every: 1, wait: time.Millisecond,
		pending: func(context.Context, int) (int, error) { return 500, nil }}
	th.sent(0, 5)
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, th.admit(cctx, 0), context.DeadlineExceeded)
}

// TestShardStateAtTheBoundFitsAPayload is the continue-as-new input of a shard holding twice
// its bound (the bridge overshoots by a check interval and the signals in flight), with
// Wikidata-sized IDs and revisions: Temporal refuses a payload of 2 MiB.
func TestShardStateAtTheBoundFitsAPayload(t *testing.T) {
	in := workflows.EntityDiffShardInput{Topic: "entitybase.entity_change", Shard: 15, Published: map[string]int64{}}
	n := 2 * MaxShardPending
	for i := range n {
		id := fmt.Sprintf("Q%d", 120000000+i)
		in.Pending = append(in.Pending, workflows.ShardChange{EntityID: id, RevisionID: 2300000000 + int64(i), FromRevisionID: 2299999999 + int64(i)})
		in.Published[id] = 2299999999 + int64(i)
	}
	data, err := json.Marshal(in)
	require.NoError(t, err)
	assert.Less(t, len(data), 1<<20, "%d changes", n)
}
