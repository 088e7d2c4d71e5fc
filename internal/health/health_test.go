package health

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func get(t *testing.T, h http.Handler, path string) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	var body map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
	return rec.Code, body
}

func TestHealthNamesTheFailingDependencyAndSays503(t *testing.T) {
	s := New("w-1")
	mysqlDown := false
	s.AddCheck("mysql", func(context.Context) error {
		if mysqlDown {
			return errors.New("dial tcp 127.0.0.1:3306: connection refused")
		}
		return nil
	})
	s.AddCheck("temporal", func(context.Context) error { return nil })
	s.AddDetail("jobs", func() any { return map[string]string{"general-stats": "never run"} })
	s.SetRangeStatus(func(context.Context) (any, error) { return map[string]int{"Q": 5}, nil })
	h := s.Handler()

	code, body := get(t, h, "/health")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "healthy", body["status"])
	require.Equal(t, "w-1", body["worker_id"])
	require.Equal(t, map[string]any{"Q": float64(5)}, body["range_status"])
	details := body["details"].(map[string]any)
	require.Equal(t, map[string]any{"mysql": "ok", "temporal": "ok"}, details["dependencies"])
	require.Equal(t, map[string]any{"general-stats": "never run"}, details["jobs"])

	mysqlDown = true
	code, body = get(t, h, "/health")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, "unhealthy", body["status"])
	deps := body["details"].(map[string]any)["dependencies"].(map[string]any)
	require.Contains(t, deps["mysql"], "connection refused")
	require.Equal(t, "ok", deps["temporal"])

	code, body = get(t, h, "/readyz")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, body["failed"], "mysql")

	code, _ = get(t, h, "/healthz")
	require.Equal(t, http.StatusOK, code, "liveness does not depend on MySQL")
	s.SetFatal(errors.New("worker stopped"))
	code, body = get(t, h, "/healthz")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, "worker stopped", body["error"])
}

func TestAComponentStalledPastTheGraceDegradesHealthAndReadiness(t *testing.T) {
	s := New("w-1")
	s.StallGrace = time.Minute
	s.AddCheck("kafka", func(context.Context) error { return nil })
	var mu sync.Mutex
	bridge := Stall{}
	s.AddComponent("kafka_bridge", func() Stall { mu.Lock(); defer mu.Unlock(); return bridge })
	s.AddComponent("outbox_relay", func() Stall { return Stall{} })
	set := func(st Stall) { mu.Lock(); bridge = st; mu.Unlock() }
	h := s.Handler()

	code, body := get(t, h, "/health")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, map[string]any{}, body["details"].(map[string]any)["stalled"])

	// Failing, but within the grace: a rebalance or a broker restart changes nothing.
	set(Stall{Since: time.Now().Add(-50 * time.Second), LastError: "kafka: Failed to join group g: EOF"})
	code, body = get(t, h, "/health")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "healthy", body["status"])
	code, _ = get(t, h, "/readyz")
	require.Equal(t, http.StatusOK, code)

	since := time.Now().Add(-90 * time.Second)
	set(Stall{Since: since, LastError: "kafka: Failed to join group g: EOF"})
	code, body = get(t, h, "/health")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, "degraded", body["status"])
	stalled := body["details"].(map[string]any)["stalled"].(map[string]any)
	require.Len(t, stalled, 1, "only the stalled component is named")
	require.Equal(t, "kafka: Failed to join group g: EOF", stalled["kafka_bridge"].(map[string]any)["last_error"])
	require.Equal(t, "1m30s", stalled["kafka_bridge"].(map[string]any)["for"])
	require.Equal(t, since.UTC().Format(time.RFC3339Nano), stalled["kafka_bridge"].(map[string]any)["since"])
	code, body = get(t, h, "/readyz")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, map[string]any{"kafka_bridge": "failing without progress for 1m30s: kafka: Failed to join group g: EOF"}, body["failed"])
	code, _ = get(t, h, "/healthz")
	require.Equal(t, http.StatusOK, code, "liveness stays: a restart mends no broker")

	// A failing dependency outranks a stalled component.
	s.AddCheck("mysql", func(context.Context) error { return errors.New("connection refused") })
	_, body = get(t, h, "/health")
	require.Equal(t, "unhealthy", body["status"])

	set(Stall{})
	s.AddCheck("mysql", func(context.Context) error { return nil })
	code, body = get(t, h, "/health")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "healthy", body["status"])
}
