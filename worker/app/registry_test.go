package app

import (
	"reflect"
	"runtime"
	"strings"

	"github.com/nexus-rpc/sdk-go/nexus"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// recordingRegistry records what is registered on it under the names Temporal gives: a
// workflow or activity function by its function name, and every exported method of an
// activity struct by the method's name (as worker.Registry.RegisterActivity does, whatever
// the method is for).
type recordingRegistry struct {
	workflows  map[string]reflect.Type // the function
	activities map[string]reflect.Type // the function or bound method
}

var _ worker.Registry = (*recordingRegistry)(nil)

func newRecordingRegistry() *recordingRegistry {
	return &recordingRegistry{workflows: map[string]reflect.Type{}, activities: map[string]reflect.Type{}}
}

// functionName is the SDK's name of a registered function: its name without the package path.
func functionName(fn any) string {
	name := runtime.FuncForPC(reflect.ValueOf(fn).Pointer()).Name()
	return strings.TrimSuffix(name[strings.LastIndex(name, ".")+1:], "-fm")
}

func (r *recordingRegistry) RegisterWorkflow(w any) {
	r.workflows[functionName(w)] = reflect.TypeOf(w)
}

func (r *recordingRegistry) RegisterWorkflowWithOptions(w any, o workflow.RegisterOptions) {
	name := o.Name
	if name == "" {
		name = functionName(w)
	}
	r.workflows[name] = reflect.TypeOf(w)
}

func (r *recordingRegistry) RegisterDynamicWorkflow(w any, _ workflow.DynamicRegisterOptions) {
	r.workflows["(dynamic)"] = reflect.TypeOf(w)
}

func (r *recordingRegistry) RegisterActivity(a any) {
	r.RegisterActivityWithOptions(a, activity.RegisterOptions{})
}

func (r *recordingRegistry) RegisterActivityWithOptions(a any, o activity.RegisterOptions) {
	v := reflect.ValueOf(a)
	if v.Kind() == reflect.Func {
		name := o.Name
		if name == "" {
			name = functionName(a)
		}
		r.activities[name] = v.Type()
		return
	}
	for i := range v.NumMethod() {
		r.activities[o.Name+v.Type().Method(i).Name] = v.Method(i).Type()
	}
}

func (r *recordingRegistry) RegisterDynamicActivity(a any, _ activity.DynamicRegisterOptions) {
	r.activities["(dynamic)"] = reflect.TypeOf(a)
}

func (r *recordingRegistry) RegisterNexusService(s *nexus.Service) {
	r.activities["(nexus) "+s.Name] = nil
}
