package app

import (
	"context"
	"errors"
	"sync"

	"github.com/segmentio/kafka-go"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/entitybase/entitybase-workers/internal/entitydiff"
	"github.com/entitybase/entitybase-workers/internal/health"
	"github.com/entitybase/entitybase-workers/internal/kafkabridge"
	"github.com/entitybase/entitybase-workers/internal/kafkaconn"
	"github.com/entitybase/entitybase-workers/internal/outbox"
	"github.com/entitybase/entitybase-workers/internal/watchlist"
	"github.com/entitybase/entitybase-workers/workflows"
)

// Service is a long-running part of the worker process beside the Temporal worker. Run
// returns when ctx is cancelled.
type Service struct {
	Name    string
	Enabled bool
	Run     func(ctx context.Context, d Deps) error
}

// runWatchlistBridge feeds entity_change events to the watchlist shard workflows, starting a
// shard's workflow with its first signal (Signal-With-Start).
func runWatchlistBridge(ctx context.Context, d Deps) error {
	topic := d.Config.EntityChangeTopic
	deliver := func(ctx context.Context, shard int, evs []kafkabridge.Event) error {
		id := workflows.WatchlistWorkflowID(topic, shard)
		_, err := d.Temporal.SignalWithStartWorkflow(ctx, id, workflows.SignalWatchlistEvents,
			workflows.WatchlistBatch{Events: evs, TaskQueue: d.Config.StreamQueue()},
			client.StartWorkflowOptions{
				ID:                    id,
				TaskQueue:             d.Config.StreamQueue(),
				TypedSearchAttributes: temporal.NewSearchAttributes(workflows.JobAttr.ValueSet(workflows.JobWatchlist)),
			},
			workflows.WatchlistWorkflow, workflows.WatchlistInput{Topic: topic, Shard: shard})
		return err
	}
	return runBridge(ctx, d, "kafka_bridge", kafkabridge.Options{
		Name:    "watchlist",
		Group:   d.Config.KafkaConsumerGroup,
		Shards:  d.Config.WatchlistShards,
		Deliver: deliver,
		// The watchlist group dead-letters the topic's malformed messages (the entity-diff
		// group, reading the same ones, only counts them): it is the topic's consumer of
		// record, whose DLQ operators already watch, and the entity-diff stream can be
		// turned off or run elsewhere without changing where a bad message goes.
		DeadLetterInvalid: true,
	})
}

// runEntityDiffBridge feeds entity_change events to the entity-diff shard workflows through
// a bridge of its own consumer group (entitydiff.Deliver), starting a shard's workflow with
// its first signal.
func runEntityDiffBridge(ctx context.Context, d Deps) error {
	return runBridge(ctx, d, "entity_diff_bridge", kafkabridge.Options{
		Name:    "entity-diff",
		Group:   d.Config.EntityDiffGroup,
		Shards:  d.Config.EntityDiffShards,
		Deliver: entitydiff.Deliver(d.Temporal, d.Config.StreamQueue(), d.Config.EntityChangeTopic),
		// Malformed messages are the watchlist group's to dead-letter (see
		// runWatchlistBridge); this bridge counts them as skipped_invalid.
		DeadLetterInvalid: false,
	})
}

// runBridge runs a bridge of the entity_change topic with the worker's settings, showing
// its state in /health under healthName, where a bridge that fails without progress makes
// the worker degraded.
func runBridge(ctx context.Context, d Deps, healthName string, o kafkabridge.Options) error {
	o.Brokers, o.Topic = d.Kafka.Brokers, d.Config.EntityChangeTopic
	o.Dialer, o.Transport, o.Explain = d.Kafka.Dialer(), d.Kafka.Transport(), d.Kafka.Explain
	o.BatchSize, o.BatchWait, o.SessionTimeout = d.Config.BridgeBatchSize, d.Config.BridgeBatchWait, d.Config.KafkaSessionTimeout
	// Every group of the topic takes the same messages as malformed (see DeadLetterInvalid).
	o.Validate = watchlist.CheckStorable
	o.Log, o.Metrics = d.Log.Named(o.Name+"-bridge"), d.Metrics
	b, err := kafkabridge.New(o)
	if err != nil {
		return err
	}
	d.Health.AddDetail(healthName, func() any { return b.State() })
	d.Health.AddComponent(healthName, func() health.Stall {
		s := b.State()
		return health.Stall{Since: s.FailingSince, LastError: s.LastError}
	})
	return b.Run(ctx)
}

// runOutboxRelay publishes the entity_change events that saves write to the outbox; every
// worker runs one and a named lock lets exactly one of them publish.
func runOutboxRelay(ctx context.Context, d Deps) error {
	w := outbox.NewWriter(d.Kafka.Addr(), d.Kafka.Transport(), d.Config.EntityChangeTopic)
	defer w.Close()
	relay := &outbox.Relay{DB: d.DB, Writer: explainingWriter{w, d.Kafka}, Log: d.Log.Named("outbox"), PollInterval: d.Config.OutboxPollInterval,
		Metrics: d.Work}
	d.Health.AddDetail("outbox_relay", func() any { return relay.Status() })
	d.Health.AddComponent("outbox_relay", func() health.Stall {
		s := relay.Status()
		return health.Stall{Since: s.FailingSince, LastError: s.LastError}
	})
	return relay.Run(ctx)
}

type runningServices struct {
	wg   sync.WaitGroup
	mu   sync.Mutex
	errs []error
}

// startServices starts the enabled services in their order.
func startServices(ctx context.Context, services []Service, d Deps) *runningServices {
	rs := &runningServices{}
	for _, s := range services {
		if !s.Enabled {
			d.Log.Info("service disabled", zap.String("service", s.Name))
			continue
		}
		rs.wg.Add(1)
		go func() {
			defer rs.wg.Done()
			if err := s.Run(ctx, d); err != nil && !errors.Is(err, context.Canceled) {
				d.Log.Error("service stopped", zap.String("service", s.Name), zap.Error(err))
				rs.mu.Lock()
				rs.errs = append(rs.errs, err)
				rs.mu.Unlock()
			}
		}()
	}
	return rs
}

// Wait waits for every service to return after the context was cancelled.
func (rs *runningServices) Wait() error {
	rs.wg.Wait()
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return errors.Join(rs.errs...)
}

// explainingWriter adds to a failed write which Kafka setting to check (TLS, SASL).
type explainingWriter struct {
	w *kafka.Writer
	k kafkaconn.Cluster
}

func (e explainingWriter) WriteMessages(ctx context.Context, msgs ...kafka.Message) error {
	return e.k.Explain(e.w.WriteMessages(ctx, msgs...))
}
