// Package app is the worker process: it opens MySQL, Temporal, the dump store and Kafka,
// registers every workflow and activity and starts the background services (Register lists
// them all), serves the health endpoints and shuts down gracefully. worker/main.go runs it
// alone; `starter dev up` runs it beside the embedded dev stack.
package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/segmentio/kafka-go"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/entitybase/entitybase-workers/internal/config"
	"github.com/entitybase/entitybase-workers/internal/dump"
	"github.com/entitybase/entitybase-workers/internal/health"
	"github.com/entitybase/entitybase-workers/internal/ids"
	"github.com/entitybase/entitybase-workers/internal/metrics"
	"github.com/entitybase/entitybase-workers/internal/schedules"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/temporalx"
)

// Run runs a worker until ctx is cancelled. ready, if not nil, is called with the health
// server's address once the worker polls. What it opens it closes on the way out, in the
// reverse order (its defers).
func Run(ctx context.Context, cfg config.Config, log *zap.Logger, ready func(healthAddr string)) error {
	sdkMetrics, err := temporalx.NewMetrics()
	if err != nil {
		return err
	}
	defer sdkMetrics.Close()
	work, err := metrics.New(sdkMetrics.Registry)
	if err != nil {
		return err
	}

	db, err := store.Open(ctx, cfg.MySQLDSN)
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := store.Migrate(ctx, db)
	if err != nil {
		return err
	}
	if len(applied) > 0 {
		log.Info("schema migrated", zap.Strings("applied", applied))
	}

	c, err := temporalx.Dial(ctx, cfg.TemporalAddress, cfg.TemporalNamespace, log, metrics.SDKHandler(sdkMetrics.Handler, work), 30*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()

	dumpStore, err := dump.OpenStore(ctx, cfg.DumpURL)
	if err != nil {
		return fmt.Errorf("DUMP_URL: %w", err)
	}
	defer dumpStore.Close()
	dumpStoreMonitor, err := newDumpStoreMonitor(ctx, dumpStore, log)
	if err != nil {
		return err
	}
	defer dumpStoreMonitor.start(ctx)()

	entityDiffWriter := newEntityDiffWriter(cfg)
	defer entityDiffWriter.Close()

	hs := health.New(cfg.WorkerID)
	hs.Metrics = sdkMetrics.HTTP
	hs.StallGrace = cfg.HealthStallGrace
	hs.AddCheck("mysql", db.PingContext)
	hs.AddCheck("temporal", func(ctx context.Context) error {
		_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	})
	hs.AddCheck("kafka", KafkaCheck(cfg.KafkaBrokers))
	hs.AddCheck("dump_store", dumpStoreMonitor.check)
	// Each scheduled job's last run and result.
	hs.AddDetail("jobs", schedules.HealthDetail(c, schedules.OptionsFrom(cfg), 10*time.Second))
	// Every ID allocator's status, as range_status. The client leases no IDs, so closing it
	// returns none.
	idClient, err := ids.NewClient(c, ids.Options{TaskQueue: cfg.TaskQueue, LeaseSize: cfg.IDLeaseSize, PrefetchAt: cfg.IDPrefetchAt})
	if err != nil {
		return fmt.Errorf("ID allocator client: %w", err)
	}
	defer idClient.Close(context.Background())
	hs.SetRangeStatus(func(ctx context.Context) (any, error) { return RangeStatus(ctx, idClient) })

	deps := Deps{Config: cfg, DB: db, Temporal: c, Log: log, Health: hs, Metrics: sdkMetrics.Registry, Work: work,
		DumpStore: dumpStore, EntityDiffWriter: entityDiffWriter}
	w := worker.New(c, cfg.TaskQueue, worker.Options{
		Identity:          cfg.WorkerID,
		WorkerStopTimeout: cfg.WorkerStopTimeout,
		Interceptors:      []interceptor.WorkerInterceptor{JobMetrics()},
		OnFatalError: func(err error) {
			log.Error("temporal worker stopped on a fatal error", zap.Error(err))
			hs.SetFatal(err)
		},
	})
	services := Register(w, deps)

	ln, err := net.Listen("tcp", cfg.HealthAddr)
	if err != nil {
		return fmt.Errorf("HEALTH_ADDR %s: %w", cfg.HealthAddr, err)
	}
	httpSrv := &http.Server{Handler: hs.Handler(), ReadHeaderTimeout: 5 * time.Second}
	httpErr := make(chan error, 1)
	go func() { httpErr <- httpSrv.Serve(ln) }()

	if err := w.Start(); err != nil {
		httpSrv.Close()
		return fmt.Errorf("start temporal worker on queue %s: %w", cfg.TaskQueue, err)
	}
	log.Info("worker started", zap.String("worker_id", cfg.WorkerID), zap.String("task_queue", cfg.TaskQueue),
		zap.String("temporal", cfg.TemporalAddress), zap.String("health", ln.Addr().String()))

	running := startServices(ctx, services, deps)
	if ready != nil {
		ready(ln.Addr().String())
	}

	select {
	case <-ctx.Done():
	case err := <-httpErr:
		w.Stop()
		return fmt.Errorf("health server: %w", err)
	}
	log.Info("stopping worker", zap.Duration("stop_timeout", cfg.WorkerStopTimeout))
	// Stop waits up to WorkerStopTimeout for running activities; they see the worker stop
	// channel and checkpoint through their heartbeats.
	w.Stop()
	errs := []error{running.Wait()}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := httpSrv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, err)
	}
	log.Info("worker stopped")
	return errors.Join(errs...)
}

// newEntityDiffWriter is the writer of the rdf_change events.
func newEntityDiffWriter(cfg config.Config) *kafka.Writer {
	return &kafka.Writer{
		Addr:         kafka.TCP(cfg.KafkaBrokers...),
		Topic:        cfg.EntityDiffTopic,
		Balancer:     &kafka.Hash{}, // by entity id: one entity's changes stay in order
		RequiredAcks: kafka.RequireAll,
		// The activity retries; the writer's own retries would only delay that.
		MaxAttempts:            1,
		BatchBytes:             int64(cfg.KafkaMaxMessageBytes) * 2,
		BatchTimeout:           time.Millisecond,
		WriteTimeout:           10 * time.Second,
		AllowAutoTopicCreation: true,
	}
}

// KafkaCheck asks the brokers for cluster metadata.
func KafkaCheck(brokers []string) health.Check {
	kc := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 2 * time.Second}
	return func(ctx context.Context) error {
		_, err := kc.Metadata(ctx, &kafka.MetadataRequest{})
		if err != nil {
			return fmt.Errorf("kafka metadata from %v: %w", brokers, err)
		}
		return nil
	}
}
