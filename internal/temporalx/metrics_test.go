package temporalx

import (
	"io"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMetricsServeTheGoAndProcessCollectors: /metrics carries the runtime's and the process's
// metrics beside the SDK's.
func TestMetricsServeTheGoAndProcessCollectors(t *testing.T) {
	m, err := NewMetrics()
	require.NoError(t, err)
	m.Handler.WithTags(map[string]string{"task_queue": "entitybase-workers"}).Counter("temporal_request").Inc(1)
	require.NoError(t, m.closer.Close()) // flush the SDK's scope
	rec := httptest.NewRecorder()
	m.HTTP.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, err := io.ReadAll(rec.Body)
	require.NoError(t, err)
	for _, name := range []string{"go_goroutines ", "go_memstats_heap_alloc_bytes ", "process_resident_memory_bytes ", "process_start_time_seconds "} {
		assert.Contains(t, string(body), "\n"+name)
	}
	// The SDK's task-queue label keeps its sanitised value.
	assert.Contains(t, string(body), `temporal_request_total{task_queue="entitybase_workers"} 1`)
}
