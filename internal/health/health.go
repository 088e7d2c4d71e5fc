// Package health serves a worker's HTTP endpoints: /health (JSON status with details, HTTP
// 503 when a dependency is down), /healthz (liveness), /readyz (every dependency checked) and
// /metrics (Prometheus text).
package health

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"sync"
	"time"
)

// Check reports whether one dependency works.
type Check func(ctx context.Context) error

// Report is the body of /health, the original's shape with real content.
type Report struct {
	Status      string         `json:"status"` // healthy or unhealthy
	WorkerID    string         `json:"worker_id"`
	Details     map[string]any `json:"details"`
	RangeStatus any            `json:"range_status"`
}

// Server holds the named checks and detail sources of one process.
type Server struct {
	WorkerID string
	Timeout  time.Duration // per check; default 2 s
	Metrics  http.Handler

	mu          sync.Mutex
	checks      map[string]Check
	details     map[string]func() any
	rangeStatus func(ctx context.Context) (any, error)
	fatal       error
}

// New returns a server for workerID.
func New(workerID string) *Server {
	return &Server{WorkerID: workerID, checks: map[string]Check{}, details: map[string]func() any{}}
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
	if len(failed) > 0 || fatal != nil {
		r.Status = "unhealthy"
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
