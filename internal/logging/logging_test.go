package logging

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestTemporalAdapterKeepsKeyValuesAndContextInSnakeCase(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	l := Temporal(zap.New(core)).(*temporalLogger)
	l.With("WorkflowID", "wf-1", "RunID", "r-1").Info("started", "Attempt", 2, "dangling")
	l.Debug("d", "LostAtID", 7, "entity", "Q42")
	entries := logs.All()
	require.Len(t, entries, 2)
	require.Equal(t, "started", entries[0].Message)
	require.Equal(t, map[string]any{"workflow_id": "wf-1", "run_id": "r-1", "attempt": int64(2), "dangling": nil}, entries[0].ContextMap())
	require.Equal(t, zap.DebugLevel, entries[1].Level)
	require.Equal(t, map[string]any{"lost_at_id": int64(7), "entity": "Q42"}, entries[1].ContextMap())
}

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"WorkflowID": "workflow_id", "ActivityType": "activity_type", "RunID": "run_id", "TaskQueue": "task_queue",
		"Error": "error", "PanicStack": "panic_stack", "HTTPServer": "http_server", "workflow_id": "workflow_id", "Q42": "q42",
	} {
		assert.Equal(t, want, snakeCase(in), in)
	}
}

// TestAnErrorIsOneLineWithoutAStack logs what the SDK logs for a failed activity attempt, in
// JSON: one line, the error's message as a string field, no stack trace.
func TestAnErrorIsOneLineWithoutAStack(t *testing.T) {
	var buf bytes.Buffer
	z, err := NewTo(&buf, "info", "json")
	require.NoError(t, err)
	cause := fmt.Errorf("read revision 3 of Q42: %w", temporal.NewNonRetryableApplicationError("bad", "BadInput", nil))
	log.With(Temporal(z), "WorkflowID", "wf-1").Error("Activity error.", "ActivityType", "PublishEntityDiff", "Error", cause)
	z.Error("service stopped", zap.Error(cause))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2, buf.String())
	var first map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &first))
	assert.Equal(t, "wf-1", first["workflow_id"])
	assert.Equal(t, "PublishEntityDiff", first["activity_type"])
	assert.Equal(t, cause.Error(), first["error"])
	for _, line := range lines {
		assert.NotContains(t, line, "stacktrace")
		assert.NotContains(t, line, "errorVerbose")
	}
}

func TestNewRejectsUnknownLevelAndFormat(t *testing.T) {
	_, err := New("loud", "json")
	require.ErrorContains(t, err, `log level "loud"`)
	_, err = New("info", "xml")
	require.ErrorContains(t, err, "want console or json")
	l, err := New("warn", "json")
	require.NoError(t, err)
	require.False(t, l.Core().Enabled(zap.InfoLevel))
	require.True(t, l.Core().Enabled(zap.WarnLevel))
}
