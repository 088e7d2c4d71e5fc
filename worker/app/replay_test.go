package app

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestReplayRecordedHistories replays every history recorded from a real server run
// (integration tests write them with UPDATE_HISTORIES=1) against today's workflow code: a
// change to a workflow's command sequence without workflow.GetVersion fails here.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob("testdata/histories/*.json")
	require.NoError(t, err)
	if len(files) == 0 {
		t.Skip("no recorded histories")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			Register(ReplayRegistry{Replayer: r}, ReplayDeps())
			require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(nil, f))
		})
	}
}

func TestReplayDetectsAChangedWorkflow(t *testing.T) {
	f := "testdata/histories/ProbeWorkflow.json"
	if _, err := os.Stat(f); err != nil {
		t.Skip("ProbeWorkflow history not recorded")
	}
	r := worker.NewWorkflowReplayer()
	// A different function under the recorded type name must not replay cleanly.
	r.RegisterWorkflowWithOptions(changedProbe, workflow.RegisterOptions{Name: "ProbeWorkflow"})
	require.Error(t, r.ReplayWorkflowHistoryFromJSONFile(nil, f))
}

// changedProbe sleeps where ProbeWorkflow runs an activity.
func changedProbe(ctx workflow.Context, _ struct{}) (struct{}, error) {
	return struct{}{}, workflow.Sleep(ctx, time.Second)
}
