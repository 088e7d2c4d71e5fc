// Package app is the worker process: it connects to MySQL, Temporal and Kafka, registers every
// workflow and activity, serves the health endpoints and shuts down gracefully. worker/main.go
// runs it alone; `starter dev up` runs it beside the embedded dev stack.
package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/entitybase/entitybase-workers/internal/config"
	"github.com/entitybase/entitybase-workers/internal/health"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/temporalx"
)

// Deps are what the registered activities and background services need.
type Deps struct {
	Config   config.Config
	DB       *sql.DB
	Temporal client.Client
	Log      *zap.Logger
	Health   *health.Server
	// Metrics is the registry /metrics serves, for the services' own collectors.
	Metrics prometheus.Registerer
}

// Run runs a worker until ctx is cancelled. ready, if not nil, is called with the health
// server's address once the worker polls.
func Run(ctx context.Context, cfg config.Config, log *zap.Logger, ready func(healthAddr string)) error {
	metrics, err := temporalx.NewMetrics()
	if err != nil {
		return err
	}
	defer metrics.Close()

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

	c, err := temporalx.Dial(ctx, cfg.TemporalAddress, cfg.TemporalNamespace, log, metrics.Handler, 30*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()

	hs := health.New(cfg.WorkerID)
	hs.Metrics = metrics.HTTP
	hs.StallGrace = cfg.HealthStallGrace
	hs.AddCheck("mysql", db.PingContext)
	hs.AddCheck("temporal", func(ctx context.Context) error {
		_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	})
	hs.AddCheck("kafka", KafkaCheck(cfg.KafkaBrokers))
	dumpStore, stopDumpStore, err := startDumpStoreMonitor(ctx, cfg.DumpURL, log)
	if err != nil {
		return err
	}
	defer stopDumpStore()
	hs.AddCheck("dump_store", dumpStore.check)

	deps := Deps{Config: cfg, DB: db, Temporal: c, Log: log, Health: hs, Metrics: metrics.Registry}
	w := worker.New(c, cfg.TaskQueue, worker.Options{
		Identity:          cfg.WorkerID,
		WorkerStopTimeout: cfg.WorkerStopTimeout,
		OnFatalError: func(err error) {
			log.Error("temporal worker stopped on a fatal error", zap.Error(err))
			hs.SetFatal(err)
		},
	})
	Register(w, deps)

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

	services := startServices(ctx, deps)
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
	errs := []error{services.Wait()}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := httpSrv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, err)
	}
	log.Info("worker stopped")
	return errors.Join(errs...)
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
