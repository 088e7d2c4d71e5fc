package schedules

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/entitybase/entitybase-workers/internal/config"
	"github.com/entitybase/entitybase-workers/workflows"
)

func TestDesiredRejectsBadCronNamingTheField(t *testing.T) {
	for _, tc := range []struct {
		cron, want string
	}{
		{"0 2 * * 8", "day-of-week field"},
		{"61 * * * *", "minute field"},
		{"0 2 * *", "has 4 fields"},
	} {
		t.Run(tc.cron, func(t *testing.T) {
			o := Options{TaskQueue: "q", CatchupWindow: time.Hour, Schedules: map[string]config.Schedule{"general-stats": {Cron: tc.cron, Enabled: true}}}
			_, err := o.desired(workflows.ScheduledJobs[0])
			require.ErrorContains(t, err, tc.want)
			require.ErrorContains(t, err, "schedule general-stats")
		})
	}
}

func TestDesiredEncodesTheDumpInput(t *testing.T) {
	o := Options{TaskQueue: "q", CatchupWindow: time.Hour, IDPrefix: "t-", Schedules: map[string]config.Schedule{"ttl-dump": {Cron: "0 3 * * 0", Enabled: false}}}
	d, err := o.desired(workflows.ScheduledJobs[5])
	require.NoError(t, err)
	require.Equal(t, "t-ttl-dump", d.id)
	require.False(t, d.enabled)
	require.Equal(t, "TTL_DUMP_ENABLED", d.enabledVar)
	// The bytes of the payload schedules hold: an input that encodes differently would count as
	// changed and update every existing schedule.
	require.Equal(t, `{"format":"ttl","flavor":"full","kind":"full"}`, string(d.input.GetData()))
	require.Equal(t, "DumpWorkflow", d.job.WorkflowType)
}

func TestPauseStateChangesOnlyWithTheSetting(t *testing.T) {
	for _, tc := range []struct {
		name                            string
		enabled, paused, last, recorded bool
		want                            pauseDecision
	}{
		{"as configured, running", true, false, true, true, pauseDecision{}},
		{"as configured, paused", false, true, false, true, pauseDecision{paused: true}},
		{"operator paused", true, true, true, true, pauseDecision{paused: true,
			note: "paused by an operator, left paused (X_ENABLED unchanged)"}},
		{"operator unpaused", false, false, false, true, pauseDecision{
			note: "running although X_ENABLED=false: unpaused by an operator, left running (X_ENABLED unchanged)"}},
		{"disabled now", false, false, true, true, pauseDecision{set: true, paused: true,
			stateNote: "paused by schedules apply: X_ENABLED=false", note: "X_ENABLED changed to false: paused"}},
		{"enabled now", true, true, false, true, pauseDecision{set: true,
			stateNote: "unpaused by schedules apply: X_ENABLED=true", note: "X_ENABLED changed to true: unpaused"}},
		{"disabled now, operator had paused", false, true, true, true, pauseDecision{paused: true,
			note: "X_ENABLED changed to false: already paused"}},
		{"nothing recorded, operator paused", true, true, false, false, pauseDecision{paused: true,
			note: "paused by an operator, left paused (X_ENABLED unchanged)"}},
		{"nothing recorded, as configured", false, true, false, false, pauseDecision{paused: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, pauseFor("X_ENABLED", tc.enabled, tc.paused, tc.last, tc.recorded))
		})
	}
}

func TestStatusName(t *testing.T) {
	require.Equal(t, "Completed", statusName("WORKFLOW_EXECUTION_STATUS_COMPLETED"))
	require.Equal(t, "ContinuedAsNew", statusName("WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW"))
}
