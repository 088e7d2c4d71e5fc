package app

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/entitybase/entitybase-workers/activities"
	"github.com/entitybase/entitybase-workers/internal/events"
	"github.com/entitybase/entitybase-workers/internal/watchlist"
	"github.com/entitybase/entitybase-workers/workflows"
)

func init() {
	services = append(services, service{
		name:    "entity-diff-bridge",
		enabled: func(d Deps) bool { return d.Config.EntityDiffEnabled },
		run:     runEntityDiffBridge,
	})
}

// registerEntityDiff registers EntityDiffWorkflow and its activities, which publish to
// KAFKA_ENTITY_DIFF_TOPIC.
func registerEntityDiff(r worker.Registry, d Deps) {
	r.RegisterWorkflow(workflows.EntityDiffWorkflow)
	r.RegisterActivity(&activities.EntityDiffs{
		DB:            d.DB,
		RDFConfigPath: d.Config.WikibaseConfig,
		Writer: &kafka.Writer{
			Addr:         kafka.TCP(d.Config.KafkaBrokers...),
			Topic:        d.Config.EntityDiffTopic,
			Balancer:     &kafka.Hash{}, // by entity id: one entity's changes stay in order
			RequiredAcks: kafka.RequireAll,
			// The activity retries; the writer's own retries would only delay that.
			MaxAttempts:            1,
			BatchBytes:             int64(d.Config.KafkaMaxMessageBytes) * 2,
			BatchTimeout:           time.Millisecond,
			WriteTimeout:           10 * time.Second,
			AllowAutoTopicCreation: true,
		},
		Stream:          d.Config.EntityDiffTopic,
		MaxMessageBytes: d.Config.KafkaMaxMessageBytes,
		Log:             d.Log.Named("entity-diff"),
	})
}

// entityDiffSignalConcurrency bounds the Signal-With-Start calls of one batch in flight.
const entityDiffSignalConcurrency = 16

// runEntityDiffBridge feeds entity_change events to the per-entity EntityDiffWorkflows
// with a second instance of the watchlist bridge under its own consumer group: one
// Signal-With-Start per entity of a batch carries that entity's changes in order.
func runEntityDiffBridge(ctx context.Context, d Deps) error {
	deliver := func(ctx context.Context, _ int, evs []watchlist.Event) error {
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
		slots := make(chan struct{}, entityDiffSignalConcurrency)
		errs := make([]error, len(order))
		for i, entity := range order {
			slots <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-slots; wg.Done() }()
				id := workflows.EntityDiffWorkflowID(entity)
				_, errs[i] = d.Temporal.SignalWithStartWorkflow(ctx, id, workflows.SignalEntityDiffChanges,
					workflows.EntityDiffBatch{Changes: byEntity[entity]},
					client.StartWorkflowOptions{
						ID:                    id,
						TaskQueue:             d.Config.TaskQueue,
						TypedSearchAttributes: temporal.NewSearchAttributes(workflows.JobAttr.ValueSet(workflows.JobEntityDiff)),
						Priority:              temporal.Priority{PriorityKey: workflows.EntityDiffPriority},
					},
					workflows.EntityDiffWorkflow, workflows.EntityDiffInput{EntityID: entity})
			}()
		}
		wg.Wait()
		// A partial failure redelivers the whole batch; the workflows drop what they had.
		return errors.Join(errs...)
	}
	var metrics prometheus.Registerer
	if d.Metrics != nil {
		// The bridge's collectors are named for the watchlist; the prefix keeps this
		// second instance's apart on the same registry.
		metrics = prometheus.WrapRegistererWithPrefix("entity_diff_", d.Metrics)
	}
	b, err := watchlist.NewBridge(watchlist.BridgeOptions{
		Brokers:        d.Config.KafkaBrokers,
		Topic:          d.Config.EntityChangeTopic,
		Group:          d.Config.EntityDiffGroup,
		BatchSize:      d.Config.BridgeBatchSize,
		BatchWait:      d.Config.BridgeBatchWait,
		Shards:         1, // one delivery per batch; it fans out per entity itself
		SessionTimeout: d.Config.KafkaSessionTimeout,
		Deliver:        deliver,
		// Malformed messages are the watchlist group's to dead-letter (see
		// runWatchlistBridge); this bridge counts them as skipped_invalid.
		DeadLetterInvalid: false,
		Log:               d.Log.Named("entity-diff-bridge"),
		Metrics:           metrics,
	})
	if err != nil {
		return err
	}
	d.Health.AddDetail("entity_diff_bridge", func() any { return b.State() })
	d.Health.AddComponent("entity_diff_bridge", bridgeStall(b))
	return b.Run(ctx)
}
