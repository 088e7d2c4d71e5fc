package schedules

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/entitybase/entitybase-workers/internal/config"
)

func TestJobsCoverEveryScheduledJobOfTheConfiguration(t *testing.T) {
	require.Len(t, Jobs, len(config.ScheduledJobs))
	for i, j := range config.ScheduledJobs {
		require.Equal(t, j.Name, Jobs[i].Name)
	}
}

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
			_, err := o.desired(Jobs[0])
			require.ErrorContains(t, err, tc.want)
			require.ErrorContains(t, err, "schedule general-stats")
		})
	}
}

func TestDesiredEncodesTheDumpInput(t *testing.T) {
	o := Options{TaskQueue: "q", CatchupWindow: time.Hour, IDPrefix: "t-", Schedules: map[string]config.Schedule{"ttl-dump": {Cron: "0 3 * * 0", Enabled: false}}}
	d, err := o.desired(Jobs[5])
	require.NoError(t, err)
	require.Equal(t, "t-ttl-dump", d.id)
	require.True(t, d.paused)
	require.JSONEq(t, `{"format":"ttl","flavor":"full","kind":"full"}`, string(d.input.GetData()))
	require.Equal(t, "DumpWorkflow", d.job.WorkflowType)
}

func TestStatusName(t *testing.T) {
	require.Equal(t, "Completed", statusName("WORKFLOW_EXECUTION_STATUS_COMPLETED"))
	require.Equal(t, "ContinuedAsNew", statusName("WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW"))
}
