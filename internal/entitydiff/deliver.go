// Package entitydiff feeds entity_change events to the per-entity EntityDiffWorkflows: its
// Deliver is what the entity-diff Kafka bridge delivers with.
package entitydiff

import (
	"context"
	"errors"
	"sync"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/entitybase/entitybase-workers/internal/events"
	"github.com/entitybase/entitybase-workers/internal/kafkabridge"
	"github.com/entitybase/entitybase-workers/workflows"
)

// signalConcurrency bounds the Signal-With-Start calls of one batch in flight.
const signalConcurrency = 16

// Deliver delivers a batch of the entity-diff bridge (one shard: it fans out itself) with one
// Signal-With-Start per entity, which starts the entity's EntityDiffWorkflow on taskQueue if
// it is not running and carries the entity's changes in order. A partial failure fails the
// whole batch, which the bridge delivers again; the workflows drop what they had.
func Deliver(c client.Client, taskQueue string) kafkabridge.Deliver {
	return func(ctx context.Context, _ int, evs []kafkabridge.Event) error {
		byEntity := map[string][]events.EntityChange{}
		var order []string
		for _, ev := range evs {
			id := ev.Change.EntityID
			if _, ok := byEntity[id]; !ok {
				order = append(order, id)
			}
			byEntity[id] = append(byEntity[id], ev.Change)
		}
		var wg sync.WaitGroup
		slots := make(chan struct{}, signalConcurrency)
		errs := make([]error, len(order))
		for i, entity := range order {
			slots <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-slots; wg.Done() }()
				id := workflows.EntityDiffWorkflowID(entity)
				_, errs[i] = c.SignalWithStartWorkflow(ctx, id, workflows.SignalEntityDiffChanges,
					workflows.EntityDiffBatch{Changes: byEntity[entity]},
					client.StartWorkflowOptions{
						ID:                    id,
						TaskQueue:             taskQueue,
						TypedSearchAttributes: temporal.NewSearchAttributes(workflows.JobAttr.ValueSet(workflows.JobEntityDiff)),
						Priority:              temporal.Priority{PriorityKey: workflows.EntityDiffPriority},
					},
					workflows.EntityDiffWorkflow, workflows.EntityDiffInput{EntityID: entity})
			}()
		}
		wg.Wait()
		return errors.Join(errs...)
	}
}
