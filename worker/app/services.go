package app

import (
	"context"
	"errors"
	"sync"

	"go.uber.org/zap"
)

// service is a long-running part of the worker process beside the Temporal worker (the Kafka
// bridge, the outbox relay). It runs until ctx is cancelled.
type service struct {
	name    string
	enabled func(Deps) bool
	run     func(ctx context.Context, d Deps) error
}

// services lists the background services; each issue's service adds itself here.
var services []service

type runningServices struct {
	wg   sync.WaitGroup
	mu   sync.Mutex
	errs []error
}

func startServices(ctx context.Context, d Deps) *runningServices {
	rs := &runningServices{}
	for _, s := range services {
		if !s.enabled(d) {
			d.Log.Info("service disabled", zap.String("service", s.name))
			continue
		}
		rs.wg.Add(1)
		go func() {
			defer rs.wg.Done()
			if err := s.run(ctx, d); err != nil && !errors.Is(err, context.Canceled) {
				d.Log.Error("service stopped", zap.String("service", s.name), zap.Error(err))
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
