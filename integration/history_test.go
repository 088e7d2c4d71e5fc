package integration

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/entitybase/entitybase-workers/worker/app"
)

// checkReplay fetches the history of a run (runID "" is the latest), replays it against the
// registered workflows (a non-deterministic workflow fails here), and with UPDATE_HISTORIES=1
// stores it as worker/app/testdata/histories/<name>.json for the unit-level replay test
// (an empty name replays without recording).
func checkReplay(t *testing.T, name, workflowID, runID string) {
	t.Helper()
	ctx := context.Background()
	it := stack.client.GetWorkflowHistory(ctx, workflowID, runID, false, 0)
	h := &history.History{}
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		h.Events = append(h.Events, ev)
	}
	require.NotEmpty(t, h.Events)
	r := worker.NewWorkflowReplayer()
	app.Register(app.ReplayRegistry{Replayer: r}, app.ReplayDeps())
	require.NoError(t, r.ReplayWorkflowHistory(nil, h), "replay %s run %q (%d events)", workflowID, runID, len(h.Events))
	if name == "" || os.Getenv("UPDATE_HISTORIES") == "" {
		return
	}
	data, err := protojson.MarshalOptions{Indent: "  "}.Marshal(h)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join("..", "worker", "app", "testdata", "histories", name+".json"), data, 0o644))
}
