package integration

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/entitybase/entitybase-workers/internal/logging"
	"github.com/entitybase/entitybase-workers/workflows"
)

// TestWorkerJSONLogsNameTheRunAndKeepStacksForBugs runs a worker logging JSON (as with
// LOG_FORMAT=json) into a buffer, through an expected outcome (malformed Kafka messages,
// dead-lettered), a job whose activity logs (notification cleanup) and a job that fails on
// its input (an import of a missing file). Every line names its workflow and activity as
// fields, expected outcomes are info lines, the failure is one error line, and no line
// carries a stack trace.
func TestWorkerJSONLogsNameTheRunAndKeepStacksForBugs(t *testing.T) {
	cfg := wlConfig(t, testConfig(t))
	var buf processLog
	log, err := logging.NewTo(&buf, "info", "json")
	require.NoError(t, err)
	w := startWorkerLogging(t, cfg, log)
	ctx := context.Background()

	bad, _ := malformed(3)
	producer := newProducer(cfg.EntityChangeTopic)
	defer producer.Close()
	require.NoError(t, producer.WriteMessages(ctx, bad...))
	require.Eventually(t, func() bool {
		_, body := getJSON(t, w.healthURL+"/health")
		state, _ := body["details"].(map[string]any)["kafka_bridge"].(map[string]any)
		return state["dead_lettered"] == float64(len(bad))
	}, 60*time.Second, 200*time.Millisecond, "the bridge dead-letters the malformed messages")

	cleanup, err := stack.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "cleanup-" + cfg.TaskQueue, TaskQueue: cfg.TaskQueue},
		workflows.NotificationCleanupWorkflow, workflows.NotificationCleanupWorkflowInput{})
	require.NoError(t, err)
	require.NoError(t, cleanup.Get(ctx, nil))

	missing := "/nonexistent/" + cfg.TaskQueue + ".json"
	imp, err := stack.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "import-" + cfg.TaskQueue, TaskQueue: cfg.TaskQueue},
		workflows.ImportWorkflow, workflows.ImportInput{Source: missing})
	require.NoError(t, err)
	require.Error(t, imp.Get(ctx, nil))
	require.NoError(t, w.stop())

	var deadLetters, cleanupLines, importErrors int
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var entry map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &entry), "one JSON object per line: %s", line)
		assert.NotContains(t, entry, "stacktrace", "no stack trace: %s", line)
		assert.NotContains(t, line, "goroutine ", "no stack trace: %s", line)
		switch {
		case entry["msg"] == "entity_change message dead-lettered":
			deadLetters++
			assert.Equal(t, "info", entry["level"], line)
		case entry["msg"] == "notification cleanup done":
			cleanupLines++
			assert.Equal(t, "info", entry["level"], line)
			assert.Equal(t, cleanup.GetID(), entry["workflow_id"], line)
			assert.Equal(t, cleanup.GetRunID(), entry["run_id"], line)
			assert.Equal(t, "NotificationCleanupWorkflow", entry["workflow_type"], line)
			assert.Equal(t, "CleanupNotifications", entry["activity_type"], line)
			assert.NotEmpty(t, entry["activity_id"], line)
			assert.Contains(t, entry, "deleted_by_age", line)
		case entry["msg"] == "Activity error." && entry["workflow_id"] == imp.GetID():
			importErrors++
			assert.Equal(t, "error", entry["level"], line)
			assert.Equal(t, imp.GetRunID(), entry["run_id"], line)
			assert.Equal(t, "SplitImport", entry["activity_type"], line)
			assert.Contains(t, entry["error"], missing, line)
		}
	}
	assert.Equal(t, len(bad), deadLetters, "one line per dead letter")
	assert.Equal(t, 1, cleanupLines)
	assert.Equal(t, 1, importErrors, "the failed attempt is logged once, as one line")
}
