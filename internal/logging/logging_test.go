package logging

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestTemporalAdapterKeepsKeyValuesAndContext(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	l := Temporal(zap.New(core)).(*temporalLogger)
	l.With("WorkflowID", "wf-1").Info("started", "Attempt", 2, "dangling")
	l.Debug("d")
	entries := logs.All()
	require.Len(t, entries, 2)
	require.Equal(t, "started", entries[0].Message)
	require.Equal(t, map[string]any{"WorkflowID": "wf-1", "Attempt": int64(2), "dangling": nil}, entries[0].ContextMap())
	require.Equal(t, zap.DebugLevel, entries[1].Level)
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
