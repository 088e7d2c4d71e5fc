package integration

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestHealthNamesAStalledBridgeAndRelay: a bridge or relay that keeps failing for longer
// than HEALTH_STALL_GRACE turns /health and /readyz to 503 (status degraded) with the
// component and its last error, while every dependency check passes; both recover.
func TestHealthNamesAStalledBridgeAndRelay(t *testing.T) {
	cfg := testConfig(t)
	k := newTestKafka(t, cfg.EntityChangeTopic, cfg.EntityChangeTopic+".dlq")
	cfg.KafkaBrokers = k.ListenAddrs()
	cfg.EntityDiffEnabled = false // the same bridge code as the watchlist's; one is enough here
	cfg.HealthStallGrace = 2 * time.Second
	cfg.OutboxPollInterval = 50 * time.Millisecond
	db := openDB(t, cfg)
	w := startWorker(t, cfg)

	healthy := func() bool {
		code, body := getJSON(t, w.healthURL+"/health")
		return code == http.StatusOK && body["status"] == "healthy"
	}
	require.Eventually(t, healthy, 30*time.Second, 100*time.Millisecond)

	k.broken.Store(true)
	// An event to publish: the relay now fails too.
	_, err := db.Exec(`INSERT INTO entity_change_outbox (entity_id, revision_id, payload) VALUES ('Q1', 1, ?)`,
		`{"entity_id":"Q1","revision_id":1,"change_type":"creation","changed_at":"2026-01-01T00:00:00Z"}`)
	require.NoError(t, err)

	var body map[string]any
	require.Eventually(t, func() bool {
		var code int
		code, body = getJSON(t, w.healthURL+"/health")
		stalled, _ := body["details"].(map[string]any)["stalled"].(map[string]any)
		return code == http.StatusServiceUnavailable && stalled["kafka_bridge"] != nil && stalled["outbox_relay"] != nil
	}, 60*time.Second, 200*time.Millisecond, "a stalled bridge and relay turn /health to 503")
	require.Equal(t, "degraded", body["status"])
	details := body["details"].(map[string]any)
	require.Equal(t, map[string]any{"dump_store": "ok", "kafka": "ok", "mysql": "ok", "temporal": "ok"}, details["dependencies"], "no dependency check fails")
	for _, component := range []string{"kafka_bridge", "outbox_relay"} {
		st := details["stalled"].(map[string]any)[component].(map[string]any)
		require.NotEmpty(t, st["last_error"], component)
		since, err := time.Parse(time.RFC3339Nano, st["since"].(string))
		require.NoError(t, err, component)
		require.Less(t, time.Until(since), -cfg.HealthStallGrace, "%s has failed for longer than the grace", component)
	}
	code, ready := getJSON(t, w.healthURL+"/readyz")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, ready["failed"], "kafka_bridge")
	require.Contains(t, ready["failed"], "outbox_relay")
	code, _ = getJSON(t, w.healthURL+"/healthz")
	require.Equal(t, http.StatusOK, code, "a restart would not mend Kafka: liveness stays")

	k.broken.Store(false)
	require.Eventually(t, healthy, 60*time.Second, 200*time.Millisecond, "both recover once Kafka answers again")
	code, _ = getJSON(t, w.healthURL+"/readyz")
	require.Equal(t, http.StatusOK, code)
	var published int
	require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM entity_change_outbox WHERE published_at IS NOT NULL").Scan(&published))
	require.Equal(t, 1, published, "the event went out after all")
	require.NoError(t, w.stop())
}
