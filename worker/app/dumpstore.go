package app

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/entitybase/entitybase-workers/internal/dump"
)

// The dump store probe's pace. The probe has a timeout of its own, longer than a health
// check's, because the S3 client retries a refused connection three times (about 5 s)
// before it reports the cause.
const (
	dumpStoreProbeEvery   = 15 * time.Second
	dumpStoreProbeTimeout = 15 * time.Second
)

// dumpStoreMonitor probes the dump store (DUMP_URL) with a small write and delete, which
// checks reachability, credentials and permissions, and answers health checks with the
// last result: health polls cost no writes and are not held up by a slow store.
type dumpStoreMonitor struct {
	store *dump.BlobStore
	mu    sync.Mutex
	err   error
	done  chan struct{}
}

// newDumpStoreMonitor probes the dump store once. A store that refuses access (dump.IsDenied:
// credentials, permissions, no such bucket) is an error, which stops the worker: no dump
// could succeed until the configuration changes. A store that cannot be reached is logged
// and reported by /readyz and /health until a probe succeeds; the worker runs, as its other
// jobs do not need the store.
func newDumpStoreMonitor(ctx context.Context, s *dump.BlobStore, log *zap.Logger) (*dumpStoreMonitor, error) {
	m := &dumpStoreMonitor{store: s, done: make(chan struct{})}
	if err := m.probe(ctx); err != nil {
		if dump.IsDenied(err) {
			return nil, fmt.Errorf("DUMP_URL: the dump store refuses access (check the URL, the AWS credentials and permissions): %w", err)
		}
		log.Warn("dump store unreachable; dumps retry until it is, /readyz reports it", zap.Error(err))
	}
	return m, nil
}

// start probes the store every dumpStoreProbeEvery until stop is called.
func (m *dumpStoreMonitor) start(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	go m.run(ctx)
	return func() {
		cancel()
		<-m.done
	}
}

func (m *dumpStoreMonitor) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, dumpStoreProbeTimeout)
	defer cancel()
	err := m.store.Probe(ctx)
	m.mu.Lock()
	m.err = err
	m.mu.Unlock()
	return err
}

func (m *dumpStoreMonitor) run(ctx context.Context) {
	defer close(m.done)
	t := time.NewTicker(dumpStoreProbeEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = m.probe(ctx)
		}
	}
}

// check is the health check: the last probe's error.
func (m *dumpStoreMonitor) check(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}
