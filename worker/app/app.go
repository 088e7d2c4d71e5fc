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
	"github.com/entitybase/entitybase-workers/internal/kafkaconn"
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

	conn, err := temporalx.ConnectionFrom(cfg)
	if err != nil {
		return err
	}
	c, err := temporalx.Dial(ctx, conn, log, metrics.SDKHandler(sdkMetrics.Handler, work), 30*time.Second)
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

	kc, err := kafkaconn.FromConfig(cfg)
	if err != nil {
		return err
	}
	importStaging := dump.Store(dumpStore)
	if cfg.ImportStagingURL != "" {
		s, err := dump.OpenStore(ctx, cfg.ImportStagingURL)
		if err != nil {
			return fmt.Errorf("IMPORT_STAGING_URL: %w", err)
		}
		defer s.Close()
		importStaging = s
	}

	entityDiffWriter := newEntityDiffWriter(cfg, kc)
	defer entityDiffWriter.Close()

	hs := health.New(cfg.WorkerID)
	hs.Metrics = sdkMetrics.HTTP
	hs.StallGrace = cfg.HealthStallGrace
	hs.AddCheck("mysql", db.PingContext)
	hs.AddCheck("temporal", func(ctx context.Context) error {
		_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	})
	hs.AddCheck("kafka", KafkaCheck(kc))
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
		DumpStore: dumpStore, ImportStaging: importStaging, EntityDiffWriter: explainingWriter{entityDiffWriter, kc}, Kafka: kc}
	onFatal := func(err error) {
		log.Error("temporal worker stopped on a fatal error", zap.Error(err))
		hs.SetFatal(err)
	}
	// One Temporal worker per role, each on its own queue with its own slots: a backlog of
	// entity changes fills the stream worker's slots and queue, never the jobs'.
	var workers []queueWorker
	var services []Service
	if cfg.Serves(config.RoleJobs) {
		w := worker.New(c, cfg.TaskQueue, worker.Options{Identity: cfg.WorkerID, WorkerStopTimeout: cfg.WorkerStopTimeout, OnFatalError: onFatal,
			Interceptors: []interceptor.WorkerInterceptor{JobMetrics(), temporalx.CompactFailures()}})
		services = append(services, RegisterJobs(w, deps)...)
		RegisterDraining(w, deps)
		workers = append(workers, queueWorker{cfg.TaskQueue, w})
	}
	if cfg.Serves(config.RoleStreams) {
		w := worker.New(c, cfg.StreamQueue(), worker.Options{
			Identity: cfg.WorkerID, WorkerStopTimeout: cfg.WorkerStopTimeout, OnFatalError: onFatal,
			MaxConcurrentWorkflowTaskExecutionSize:  cfg.StreamWorkflowSlots,
			MaxConcurrentActivityExecutionSize:      cfg.StreamActivitySlots,
			MaxConcurrentLocalActivityExecutionSize: cfg.StreamActivitySlots,
			Interceptors:                            []interceptor.WorkerInterceptor{temporalx.CompactFailures()},
		})
		services = append(services, RegisterStreams(w, deps)...)
		workers = append(workers, queueWorker{cfg.StreamQueue(), w})
	}
	stopWorkers := func() {
		for _, w := range workers {
			w.Stop()
		}
	}

	ln, err := net.Listen("tcp", cfg.HealthAddr)
	if err != nil {
		return fmt.Errorf("HEALTH_ADDR %s: %w", cfg.HealthAddr, err)
	}
	httpSrv := &http.Server{Handler: hs.Handler(), ReadHeaderTimeout: 5 * time.Second}
	httpErr := make(chan error, 1)
	go func() { httpErr <- httpSrv.Serve(ln) }()

	for i, w := range workers {
		if err := w.Start(); err != nil {
			for _, started := range workers[:i] {
				started.Stop()
			}
			httpSrv.Close()
			return fmt.Errorf("start temporal worker on queue %s: %w", w.queue, err)
		}
	}
	log.Info("worker started", zap.String("worker_id", cfg.WorkerID), zap.Strings("roles", cfg.Roles),
		zap.String("task_queue", cfg.TaskQueue), zap.String("stream_task_queue", cfg.StreamQueue()),
		zap.String("temporal", cfg.TemporalAddress), zap.String("health", ln.Addr().String()))

	running := startServices(ctx, services, deps)
	if ready != nil {
		ready(ln.Addr().String())
	}

	select {
	case <-ctx.Done():
	case err := <-httpErr:
		stopWorkers()
		return fmt.Errorf("health server: %w", err)
	}
	log.Info("stopping worker", zap.Duration("stop_timeout", cfg.WorkerStopTimeout))
	// Stop waits up to WorkerStopTimeout for running activities; they see the worker stop
	// channel and checkpoint through their heartbeats.
	stopWorkers()
	errs := []error{running.Wait()}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := httpSrv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, err)
	}
	log.Info("worker stopped")
	return errors.Join(errs...)
}

// queueWorker is a Temporal worker and the queue it polls.
type queueWorker struct {
	queue string
	worker.Worker
}

// newEntityDiffWriter is the writer of the rdf_change events.
func newEntityDiffWriter(cfg config.Config, kc kafkaconn.Cluster) *kafka.Writer {
	return &kafka.Writer{
		Addr:         kc.Addr(),
		Transport:    kc.Transport(),
		Topic:        cfg.EntityDiffTopic,
		Balancer:     &kafka.Hash{}, // by entity id: one entity's changes stay in order
		RequiredAcks: kafka.RequireAll,
		// The activity retries; the writer's own retries would only delay that.
		MaxAttempts: 1,
		// A request to a partition is one record batch, which the broker bounds like a
		// message (message.max.bytes, 1 MiB by default): one part of a split change at
		// most, never two.
		BatchBytes:             int64(cfg.KafkaMaxMessageBytes) + 1024,
		BatchTimeout:           time.Millisecond,
		WriteTimeout:           10 * time.Second,
		AllowAutoTopicCreation: true,
	}
}

// KafkaCheck asks the brokers for cluster metadata, over TLS and SASL as configured.
func KafkaCheck(k kafkaconn.Cluster) health.Check {
	kc := &kafka.Client{Addr: k.Addr(), Timeout: 2 * time.Second, Transport: k.Transport()}
	return func(ctx context.Context) error {
		_, err := kc.Metadata(ctx, &kafka.MetadataRequest{})
		if err != nil {
			return fmt.Errorf("kafka metadata from %v: %w", k.Brokers, k.Explain(err))
		}
		return nil
	}
}
