package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/entitybase/entitybase-workers/activities"
)

// ProbeInput asks a worker to prove it is polling and can reach its database.
type ProbeInput struct{}

// ProbeResult says which worker answered and what it saw.
type ProbeResult struct {
	WorkerID      string
	SchemaVersion int
}

// ProbeWorkflow runs one short activity on whichever worker polls the queue. `starter dev
// health` uses it to check that a worker is really there, not only the server.
func ProbeWorkflow(ctx workflow.Context, _ ProbeInput) (ProbeResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		// Three attempts: the probe asks whether a worker answers now, not eventually.
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 3},
	})
	var a *activities.System
	var out activities.PingResult
	if err := workflow.ExecuteActivity(ctx, a.Ping, activities.PingInput{}).Get(ctx, &out); err != nil {
		return ProbeResult{}, err
	}
	return ProbeResult{WorkerID: out.WorkerID, SchemaVersion: out.SchemaVersion}, nil
}
