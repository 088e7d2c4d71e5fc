package app

import (
	"context"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/entitybase/entitybase-workers/internal/health"
	"github.com/entitybase/entitybase-workers/internal/kafkabridge"
	"github.com/entitybase/entitybase-workers/internal/watchlist"
	"github.com/entitybase/entitybase-workers/workflows"
)

func init() {
	services = append(services, service{
		name:    "kafka-bridge",
		enabled: func(d Deps) bool { return d.Config.KafkaBridgeEnabled },
		run:     runWatchlistBridge,
	})
}

// runWatchlistBridge feeds entity_change events to the watchlist shard workflows, starting a
// shard's workflow with its first signal (Signal-With-Start).
func runWatchlistBridge(ctx context.Context, d Deps) error {
	topic := d.Config.EntityChangeTopic
	deliver := func(ctx context.Context, shard int, evs []kafkabridge.Event) error {
		id := workflows.WatchlistWorkflowID(topic, shard)
		_, err := d.Temporal.SignalWithStartWorkflow(ctx, id, workflows.SignalWatchlistEvents,
			workflows.WatchlistBatch{Events: evs},
			client.StartWorkflowOptions{
				ID:                    id,
				TaskQueue:             d.Config.TaskQueue,
				TypedSearchAttributes: temporal.NewSearchAttributes(workflows.JobAttr.ValueSet(workflows.JobWatchlist)),
			},
			workflows.WatchlistWorkflow, workflows.WatchlistInput{Topic: topic, Shard: shard})
		return err
	}
	b, err := kafkabridge.New(kafkabridge.Options{
		Name:           "watchlist",
		Brokers:        d.Config.KafkaBrokers,
		Topic:          topic,
		Group:          d.Config.KafkaConsumerGroup,
		BatchSize:      d.Config.BridgeBatchSize,
		BatchWait:      d.Config.BridgeBatchWait,
		Shards:         d.Config.WatchlistShards,
		SessionTimeout: d.Config.KafkaSessionTimeout,
		Deliver:        deliver,
		Validate:       watchlist.CheckStorable,
		// The watchlist group dead-letters the topic's malformed messages (the entity-diff
		// group, reading the same ones, only counts them): it is the topic's consumer of
		// record, whose DLQ operators already watch, and the entity-diff stream can be
		// turned off or run elsewhere without changing where a bad message goes.
		DeadLetterInvalid: true,
		Log:               d.Log.Named("watchlist-bridge"),
		Metrics:           d.Metrics,
	})
	if err != nil {
		return err
	}
	d.Health.AddDetail("kafka_bridge", func() any { return b.State() })
	d.Health.AddComponent("kafka_bridge", bridgeStall(b))
	return b.Run(ctx)
}

// bridgeStall is what /health needs to tell a stuck bridge.
func bridgeStall(b *kafkabridge.Bridge) func() health.Stall {
	return func() health.Stall {
		s := b.State()
		return health.Stall{Since: s.FailingSince, LastError: s.LastError}
	}
}
