package app

import (
	"context"
	"time"

	"github.com/segmentio/kafka-go"
	"go.temporal.io/sdk/worker"

	"github.com/entitybase/entitybase-workers/activities"
	"github.com/entitybase/entitybase-workers/internal/entitydiff"
	"github.com/entitybase/entitybase-workers/internal/kafkabridge"
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

// runEntityDiffBridge feeds entity_change events to the per-entity EntityDiffWorkflows
// through a bridge of its own consumer group (entitydiff.Deliver).
func runEntityDiffBridge(ctx context.Context, d Deps) error {
	b, err := kafkabridge.New(kafkabridge.Options{
		Name:           "entity-diff",
		Brokers:        d.Config.KafkaBrokers,
		Topic:          d.Config.EntityChangeTopic,
		Group:          d.Config.EntityDiffGroup,
		BatchSize:      d.Config.BridgeBatchSize,
		BatchWait:      d.Config.BridgeBatchWait,
		Shards:         1, // one delivery per batch; it fans out per entity itself
		SessionTimeout: d.Config.KafkaSessionTimeout,
		Deliver:        entitydiff.Deliver(d.Temporal, d.Config.TaskQueue),
		// What the watchlist group dead-letters, this one must count as malformed too.
		Validate: watchlist.CheckStorable,
		// Malformed messages are the watchlist group's to dead-letter (see
		// runWatchlistBridge); this bridge counts them as skipped_invalid.
		DeadLetterInvalid: false,
		Log:               d.Log.Named("entity-diff-bridge"),
		Metrics:           d.Metrics,
	})
	if err != nil {
		return err
	}
	d.Health.AddDetail("entity_diff_bridge", func() any { return b.State() })
	d.Health.AddComponent("entity_diff_bridge", bridgeStall(b))
	return b.Run(ctx)
}
