package app

import (
	"go.temporal.io/sdk/worker"

	"github.com/entitybase/entitybase-workers/activities"
	"github.com/entitybase/entitybase-workers/workflows"
)

// Register registers every workflow and activity of the project on r.
func Register(r worker.Registry, d Deps) {
	r.RegisterWorkflow(workflows.ProbeWorkflow)
	r.RegisterActivity(&activities.System{DB: d.DB, WorkerID: d.Config.WorkerID})
}
