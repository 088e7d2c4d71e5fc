package integration

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/entitybase/entitybase-workers/worker/app"
)

// checkReplay fetches the history of a run (runID "" is the latest), replays it against the
// registered workflows (a non-deterministic workflow fails here), and with UPDATE_HISTORIES=1
// stores it as worker/app/testdata/histories/<name>.json for the unit-level replay test
// (an empty name replays without recording).
func checkReplay(t testing.TB, name, workflowID, runID string) {
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
	// A long history is recorded as a prefix that ends where a workflow task is about to be
	// scheduled (its predecessor's commands recorded): a valid history of a running
	// workflow, and a small fixture.
	const keep = 400
	if len(h.Events) > keep {
		for i := keep; i > 0; i-- {
			if h.Events[i].GetEventType() == enums.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED {
				h.Events = h.Events[:i]
				break
			}
		}
	}
	data, err := protojson.MarshalOptions{Indent: "  "}.Marshal(h)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join("..", "worker", "app", "testdata", "histories", name+".json"), data, 0o644))
}
