// Package entitydiff feeds entity_change events to the entity-diff shard workflows: its
// Deliver is what the entity-diff Kafka bridge delivers with.
package entitydiff

import (
	"context"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/entitybase/entitybase-workers/internal/kafkabridge"
	"github.com/entitybase/entitybase-workers/workflows"
)

// Deliver delivers one shard's events of a batch of the entity-diff bridge with one
// Signal-With-Start, which starts the shard's EntityDiffShardWorkflow on taskQueue if it is
// not running. The bridge keeps an entity on one shard (kafkabridge.ShardOf) and a shard's
// signals in partition order, so each entity's changes arrive in order; a failed signal is
// delivered again, and the shard drops what it had.
func Deliver(c client.Client, taskQueue, topic string) kafkabridge.Deliver {
	return func(ctx context.Context, shard int, evs []kafkabridge.Event) error {
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
		return err
	}
}
