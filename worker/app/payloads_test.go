package app

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/entitybase/entitybase-workers/internal/ids"
	"github.com/entitybase/entitybase-workers/workflows"
)

// The payload types of the signals and updates the recorded histories carry.
var (
	signalPayloads = map[string]reflect.Type{
		workflows.SignalWatchlistEvents:        reflect.TypeFor[workflows.WatchlistBatch](),
		workflows.SignalEntityDiffChanges:      reflect.TypeFor[workflows.EntityDiffBatch](),
		workflows.SignalEntityDiffShardChanges: reflect.TypeFor[workflows.EntityDiffShardBatch](),
	}
	updatePayloads = map[string][2]reflect.Type{
		ids.AllocateUpdate: {reflect.TypeFor[ids.AllocateRequest](), reflect.TypeFor[ids.AllocateResult]()},
	}
)

// TestRecordedPayloadsDecodeIntoTodaysTypes decodes every payload of the recorded histories
// (workflow inputs and results, activity inputs and results, signals, updates) into the type
// today's code gives it and encodes it again: every field recorded must come back with its
// value. The replayer decodes only what the workflow code reads, so a type change that
// renames a field of an activity's input would pass it unnoticed while a worker running an
// activity scheduled before the change would read a zero value.
func TestRecordedPayloadsDecodeIntoTodaysTypes(t *testing.T) {
	reg := newRecordingRegistry()
	Register(reg, ReplayDeps())
	files, err := filepath.Glob("testdata/histories/*.json")
	require.NoError(t, err)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r, err := os.Open(f)
			require.NoError(t, err)
			defer r.Close()
			h, err := client.HistoryFromJSON(r, client.HistoryJSONOptions{})
			require.NoError(t, err)
			var workflowType reflect.Type
			activityOf := map[int64]reflect.Type{}
			updateOf := map[string][2]reflect.Type{}
			for _, ev := range h.GetEvents() {
				where := fmt.Sprintf("event %d (%s)", ev.GetEventId(), ev.GetEventType())
				switch {
				case ev.GetWorkflowExecutionStartedEventAttributes() != nil:
					a := ev.GetWorkflowExecutionStartedEventAttributes()
					workflowType = reg.workflows[a.GetWorkflowType().GetName()]
					require.NotNil(t, workflowType, "%s: workflow %s is not registered", where, a.GetWorkflowType().GetName())
					checkPayloads(t, where, a.GetInput(), workflowType.In(1))
				case ev.GetWorkflowExecutionContinuedAsNewEventAttributes() != nil:
					checkPayloads(t, where, ev.GetWorkflowExecutionContinuedAsNewEventAttributes().GetInput(), workflowType.In(1))
				case ev.GetWorkflowExecutionCompletedEventAttributes() != nil:
					checkPayloads(t, where, ev.GetWorkflowExecutionCompletedEventAttributes().GetResult(), workflowType.Out(0))
				case ev.GetActivityTaskScheduledEventAttributes() != nil:
					a := ev.GetActivityTaskScheduledEventAttributes()
					fn := reg.activities[a.GetActivityType().GetName()]
					require.NotNil(t, fn, "%s: activity %s is not registered", where, a.GetActivityType().GetName())
					activityOf[ev.GetEventId()] = fn
					checkPayloads(t, where, a.GetInput(), fn.In(1))
				case ev.GetActivityTaskCompletedEventAttributes() != nil:
					a := ev.GetActivityTaskCompletedEventAttributes()
					checkPayloads(t, where, a.GetResult(), activityOf[a.GetScheduledEventId()].Out(0))
				case ev.GetWorkflowExecutionSignaledEventAttributes() != nil:
					a := ev.GetWorkflowExecutionSignaledEventAttributes()
					typ, ok := signalPayloads[a.GetSignalName()]
					require.True(t, ok, "%s: signal %s has no payload type here", where, a.GetSignalName())
					checkPayloads(t, where, a.GetInput(), typ)
				case ev.GetWorkflowExecutionUpdateAcceptedEventAttributes() != nil:
					a := ev.GetWorkflowExecutionUpdateAcceptedEventAttributes()
					in := a.GetAcceptedRequest().GetInput()
					types, ok := updatePayloads[in.GetName()]
					require.True(t, ok, "%s: update %s has no payload types here", where, in.GetName())
					updateOf[a.GetProtocolInstanceId()] = types
					checkPayloads(t, where, in.GetArgs(), types[0])
				case ev.GetWorkflowExecutionUpdateCompletedEventAttributes() != nil:
					a := ev.GetWorkflowExecutionUpdateCompletedEventAttributes()
					if ok := a.GetOutcome().GetSuccess(); ok != nil {
						checkPayloads(t, where, ok, updateOf[a.GetMeta().GetUpdateId()][1])
					}
				}
			}
		})
	}
}

// checkPayloads decodes the single payload of ps into a value of typ, encodes that again
// and checks that every field of the recorded JSON kept its value.
func checkPayloads(t *testing.T, where string, ps *commonpb.Payloads, typ reflect.Type) {
	t.Helper()
	if len(ps.GetPayloads()) == 0 {
		return
	}
	require.Len(t, ps.GetPayloads(), 1, where)
	p := ps.GetPayloads()[0]
	v := reflect.New(typ)
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(p, v.Interface()), "%s: decode into %s", where, typ)
	again, err := json.Marshal(v.Interface())
	require.NoError(t, err, where)
	var recorded, decoded any
	require.NoError(t, json.Unmarshal(p.GetData(), &recorded), where)
	require.NoError(t, json.Unmarshal(again, &decoded), where)
	if path, ok := keeps(recorded, decoded, "$"); !ok {
		t.Errorf("%s: %s lost %s of the recorded %s", where, typ, path, p.GetData())
	}
}

// keeps reports whether got holds every value of recorded (a field left out of got stands
// for a zero value, as omitempty leaves it out); path names the first value that differs.
func keeps(recorded, got any, path string) (string, bool) {
	switch r := recorded.(type) {
	case map[string]any:
		g, _ := got.(map[string]any)
		for k, v := range r {
			gv, ok := g[k]
			if !ok {
				if isZero(v) {
					continue
				}
				return path + "." + k, false
			}
			if p, ok := keeps(v, gv, path+"."+k); !ok {
				return p, false
			}
		}
		return "", true
	case []any:
		g, _ := got.([]any)
		if len(g) != len(r) {
			return path, false
		}
		for i := range r {
			if p, ok := keeps(r[i], g[i], fmt.Sprintf("%s[%d]", path, i)); !ok {
				return p, false
			}
		}
		return "", true
	default:
		if got == nil && isZero(recorded) {
			return "", true
		}
		return path, reflect.DeepEqual(recorded, got)
	}
}

func isZero(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == "" || v == "0001-01-01T00:00:00Z"
	case float64:
		return v == 0
	case bool:
		return !v
	case map[string]any:
		for _, e := range v {
			if !isZero(e) {
				return false
			}
		}
		return true
	case []any:
		return len(v) == 0
	}
	return false
}
