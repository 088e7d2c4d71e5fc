package app

import (
	"github.com/nexus-rpc/sdk-go/nexus"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.uber.org/zap"

	"github.com/entitybase/entitybase-workers/internal/health"
)

// ReplayDeps are the dependencies Register gets when only workflows matter (replay tests):
// no connections, as no activity or service runs.
func ReplayDeps() Deps { return Deps{Log: zap.NewNop(), Health: health.New("replay")} }

// ReplayRegistry adapts a WorkflowReplayer to worker.Registry, so replay tests register
// exactly the workflows Register registers; activities are not needed to replay.
type ReplayRegistry struct{ Replayer worker.WorkflowReplayer }

var _ worker.Registry = ReplayRegistry{}

func (r ReplayRegistry) RegisterWorkflow(w any) { r.Replayer.RegisterWorkflow(w) }

func (r ReplayRegistry) RegisterWorkflowWithOptions(w any, o workflow.RegisterOptions) {
	r.Replayer.RegisterWorkflowWithOptions(w, o)
}

func (r ReplayRegistry) RegisterDynamicWorkflow(w any, o workflow.DynamicRegisterOptions) {
	r.Replayer.RegisterDynamicWorkflow(w, o)
}

func (ReplayRegistry) RegisterActivity(any)                                         {}
func (ReplayRegistry) RegisterActivityWithOptions(any, activity.RegisterOptions)    {}
func (ReplayRegistry) RegisterDynamicActivity(any, activity.DynamicRegisterOptions) {}
func (ReplayRegistry) RegisterNexusService(*nexus.Service)                          {}
