package workflows

import (
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/entitybase/entitybase-workers/activities"
)

func TestProbeWorkflowReturnsWhatTheWorkerSaw(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.System
	env.OnActivity(a.Ping, mock.Anything, activities.PingInput{}).Return(activities.PingResult{WorkerID: "w-9", SchemaVersion: 3}, nil)
	env.ExecuteWorkflow(ProbeWorkflow, ProbeInput{})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var out ProbeResult
	require.NoError(t, env.GetWorkflowResult(&out))
	require.Equal(t, ProbeResult{WorkerID: "w-9", SchemaVersion: 3}, out)
}
