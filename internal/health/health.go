// Package health serves a worker's HTTP endpoints: /health (JSON status with details),
// /healthz (liveness), /readyz (readiness) and /metrics (Prometheus text).
//
// A dependency that fails its check (MySQL, Temporal, Kafka) makes /health "unhealthy" and
// /readyz fail. A background component (a Kafka bridge, the outbox relay) that has failed
// without progress for longer than the stall grace makes /health "degraded", naming the
// component, since when and its last error, and fails /readyz too: both answer 503, so a
// Kubernetes readiness probe marks the pod not ready (a worker takes no traffic, but a
// rollout stops instead of replacing working pods with stuck ones) and an alert on the
// status code fires without parsing the body. Within the grace a retrying component changes
// nothing: a rebalance or a broker restart must not flap the probe. /healthz stays 200
// throughout, because restarting the process mends neither a broker outage nor a stuck
// group, and restarts would only add rebalances.
package health

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"
)

// Check reports whether one dependency works.
type Check func(ctx context.Context) error

// Report is the body of /health: the shape of the health response of entitybase-backend's
// workers, with real content.
type Report struct {
	Status      string         `json:"status"` // healthy, degraded (a component stalled) or unhealthy (a dependency failed)
	WorkerID    string         `json:"worker_id"`
	Details     map[string]any `json:"details"`
	RangeStatus any            `json:"range_status"`
}

// Stall is how a background component stands: Since is when its current run of failures
// without progress began (zero while it works), LastError the latest of those failures.
type Stall struct {
	Since     time.Time
	LastError string
}

// Server holds the named checks and detail sources of one process.
type Server struct {
	WorkerID string
	Timeout  time.Duration // per check; default 2 s
	// StallGrace is how long a component may fail without progress before it degrades the
	// worker (HEALTH_STALL_GRACE); zero means one minute.
	StallGrace time.Duration
	Metrics    http.Handler

	mu          sync.Mutex
	checks      map[string]Check
	components  map[string]func() Stall
	details     map[string]func() any
	rangeStatus func(ctx context.Context) (any, error)
	fatal       error
}

// New returns a server for workerID.
func New(workerID string) *Server {
	return &Server{WorkerID: workerID, checks: map[string]Check{}, components: map[string]func() Stall{}, details: map[string]func() any{}}
}

// AddComponent registers a background component (a Kafka bridge, the outbox relay) whose
// stall, once longer than StallGrace, degrades /health and fails /readyz.
func (s *Server) AddComponent(name string, stall func() Stall) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.components[name] = stall
}

// Stalled is a component past its grace, as /health shows it.
type Stalled struct {
	Since     time.Time `json:"since"`
	For       string    `json:"for"`
	LastError string    `json:"last_error"`
}

// stalled returns the components that have failed without progress for longer than the
// grace, by name.
func (s *Server) stalled(now time.Time) map[string]Stalled {
	s.mu.Lock()
	components := make(map[string]func() Stall, len(s.components))
	for k, v := range s.components {
		components[k] = v
	}
	grace := s.StallGrace
	s.mu.Unlock()
	if grace <= 0 {
		grace = time.Minute
	}
	out := map[string]Stalled{}
	for name, f := range components {
		st := f()
		if st.Since.IsZero() || now.Sub(st.Since) <= grace {
			continue
		}
		out[name] = Stalled{Since: st.Since.UTC(), For: now.Sub(st.Since).Round(time.Second).String(), LastError: st.LastError}
	}
	return out
}

// AddCheck registers a dependency check under name (mysql, temporal, kafka, ...).
func (s *Server) AddCheck(name string, c Check) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks[name] = c
}

// AddDetail registers a source of the details map, e.g. each job's last run.
func (s *Server) AddDetail(name string, f func() any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.details[name] = f
}

// SetRangeStatus sets the source of range_status (the ID allocators' state).
func (s *Server) SetRangeStatus(f func(ctx context.Context) (any, error)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rangeStatus = f
}

// SetFatal marks the process as dead for liveness, e.g. when the Temporal worker stopped on a
// fatal error.
func (s *Server) SetFatal(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fatal = err
}

// Handler returns the HTTP handler of all endpoints.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", s.serveHealth)
	mux.HandleFunc("GET /healthz", s.serveLive)
	mux.HandleFunc("GET /readyz", s.serveReady)
	if s.Metrics != nil {
		mux.Handle("GET /metrics", s.Metrics)
	}
	return mux
}

// Run runs the checks in parallel and returns the failures by name.
func (s *Server) Run(ctx context.Context) map[string]string {
	s.mu.Lock()
	checks := make(map[string]Check, len(s.checks))
	for k, v := range s.checks {
		checks[k] = v
	}
	s.mu.Unlock()
	timeout := s.Timeout
	if timeout == 0 {
		timeout = 2 * time.Second
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	failed := map[string]string{}
	for name, check := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			if err := check(cctx); err != nil {
				mu.Lock()
				failed[name] = err.Error()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return failed
}

func (s *Server) report(ctx context.Context) (Report, int) {
	failed := s.Run(ctx)
	stalled := s.stalled(time.Now())
	s.mu.Lock()
	details := map[string]any{}
	for name, f := range s.details {
		details[name] = f()
	}
	rangeStatus := s.rangeStatus
	fatal := s.fatal
	names := make([]string, 0, len(s.checks))
	for name := range s.checks {
		names = append(names, name)
	}
	s.mu.Unlock()
	sort.Strings(names)

	deps := map[string]string{}
	for _, name := range names {
		deps[name] = "ok"
		if msg, bad := failed[name]; bad {
			deps[name] = msg
		}
	}
	details["dependencies"] = deps
	details["stalled"] = stalled
	if fatal != nil {
		details["fatal"] = fatal.Error()
	}
	r := Report{Status: "healthy", WorkerID: s.WorkerID, Details: details, RangeStatus: map[string]any{}}
	if rangeStatus != nil {
		if rs, err := rangeStatus(ctx); err != nil {
			r.RangeStatus = map[string]any{"error": err.Error()}
		} else {
			r.RangeStatus = rs
		}
	}
	code := http.StatusOK
	switch {
	case len(failed) > 0 || fatal != nil:
		r.Status = "unhealthy"
		code = http.StatusServiceUnavailable
	case len(stalled) > 0:
		r.Status = "degraded"
		code = http.StatusServiceUnavailable
	}
	return r, code
}

func (s *Server) serveHealth(w http.ResponseWriter, req *http.Request) {
	r, code := s.report(req.Context())
	writeJSON(w, code, r)
}

func (s *Server) serveLive(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	fatal := s.fatal
	s.mu.Unlock()
	if fatal != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "dead", "error": fatal.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "alive"})
}

func (s *Server) serveReady(w http.ResponseWriter, req *http.Request) {
	failed := s.Run(req.Context())
	for name, st := range s.stalled(time.Now()) {
		failed[name] = fmt.Sprintf("failing without progress for %s: %s", st.For, st.LastError)
	}
	if len(failed) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "failed": failed})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready"})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
