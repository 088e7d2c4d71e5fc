package integration

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/entitybase/entitybase-workers/internal/config"
	"github.com/entitybase/entitybase-workers/internal/schedules"
)

var scheduleSeq atomic.Int64

// scheduleOptions are the schedule options of cfg with an ID prefix of the test's own, and a
// cleanup that deletes the test's schedules from the shared server.
func scheduleOptions(t *testing.T, cfg config.Config) schedules.Options {
	t.Helper()
	o := schedules.OptionsFrom(cfg)
	o.IDPrefix = fmt.Sprintf("itest%d-%d-", time.Now().UnixNano()%1e6, scheduleSeq.Add(1))
	t.Cleanup(func() {
		for _, j := range schedules.Jobs {
			_ = stack.client.ScheduleClient().GetHandle(context.Background(), o.ScheduleID(j.Name)).Delete(context.Background())
		}
	})
	return o
}

func outcomes(applied []schedules.Applied) map[string]schedules.Outcome {
	m := map[string]schedules.Outcome{}
	for _, a := range applied {
		m[a.Job] = a.Outcome
	}
	return m
}

func describeSchedule(t *testing.T, o schedules.Options, job string) *client.ScheduleDescription {
	t.Helper()
	d, err := stack.client.ScheduleClient().GetHandle(context.Background(), o.ScheduleID(job)).Describe(context.Background())
	require.NoError(t, err)
	return d
}

func TestScheduleApplyIsIdempotentAndFollowsTheEnvironment(t *testing.T) {
	ctx := context.Background()
	base := testConfig(t)
	env := map[string]string{"USER_STATS_ENABLED": "false"}
	load := func() config.Config {
		cfg, err := config.LoadFrom(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		require.NoError(t, err)
		cfg.TaskQueue = base.TaskQueue
		return cfg
	}
	o := scheduleOptions(t, load())

	applied, err := schedules.Apply(ctx, stack.client, o)
	require.NoError(t, err)
	require.Equal(t, map[string]schedules.Outcome{
		"general-stats": schedules.Created, "user-stats": schedules.Created, "backlink-stats": schedules.Created,
		"notification-cleanup": schedules.Created, "json-dump": schedules.Created, "ttl-dump": schedules.Created,
	}, outcomes(applied))

	for _, tc := range []struct {
		job, workflow string
		paused        bool
		input         string
	}{
		{"general-stats", "GeneralStatsWorkflow", false, `{}`},
		{"user-stats", "UserStatsWorkflow", true, `{}`},
		{"backlink-stats", "BacklinkStatsWorkflow", false, `{}`},
		{"notification-cleanup", "NotificationCleanupWorkflow", false, `{}`},
		{"json-dump", "DumpWorkflow", false, `{"format":"json","flavor":"full","kind":"full"}`},
		{"ttl-dump", "DumpWorkflow", false, `{"format":"ttl","flavor":"full","kind":"full"}`},
	} {
		d := describeSchedule(t, o, tc.job)
		act := d.Schedule.Action.(*client.ScheduleWorkflowAction)
		require.Equal(t, tc.workflow, act.Workflow, tc.job)
		require.Equal(t, base.TaskQueue, act.TaskQueue, tc.job)
		require.Len(t, act.Args, 1)
		require.JSONEq(t, tc.input, string(act.Args[0].(interface{ GetData() []byte }).GetData()), tc.job)
		require.Equal(t, tc.paused, d.Schedule.State.Paused, tc.job)
		require.Equal(t, enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, d.Schedule.Policy.Overlap, tc.job)
		require.Equal(t, time.Hour, d.Schedule.Policy.CatchupWindow, tc.job)
	}

	// Weekly means weekly: the server's own next run times of `0 2 * * 0` are Sundays 02:00 UTC.
	for _, tc := range []struct {
		job  string
		hour int
	}{{"json-dump", 2}, {"ttl-dump", 3}} {
		next := describeSchedule(t, o, tc.job).Info.NextActionTimes
		require.GreaterOrEqual(t, len(next), 3, tc.job)
		for i, at := range next {
			at = at.UTC()
			require.Equal(t, time.Sunday, at.Weekday(), "%s run %d at %s", tc.job, i, at)
			require.Equal(t, tc.hour, at.Hour(), "%s run %d at %s", tc.job, i, at)
			require.Zero(t, at.Minute())
			if i > 0 {
				require.Equal(t, 7*24*time.Hour, at.Sub(next[i-1]), "%s runs a week apart", tc.job)
			}
		}
	}
	// Daily stats at 02:00 every day; cleanup every hour on the hour.
	next := describeSchedule(t, o, "general-stats").Info.NextActionTimes
	require.Equal(t, 24*time.Hour, next[1].Sub(next[0]))
	require.Equal(t, 2, next[0].UTC().Hour())
	next = describeSchedule(t, o, "notification-cleanup").Info.NextActionTimes
	require.Equal(t, time.Hour, next[1].Sub(next[0]))
	require.Zero(t, next[0].UTC().Minute())

	before := describeSchedule(t, o, "general-stats").Info.LastUpdateAt
	applied, err = schedules.Apply(ctx, stack.client, o)
	require.NoError(t, err)
	for job, outcome := range outcomes(applied) {
		require.Equal(t, schedules.Unchanged, outcome, job)
	}
	require.Equal(t, before, describeSchedule(t, o, "general-stats").Info.LastUpdateAt, "applying twice changes nothing")

	// A changed cron and a re-enabled job update exactly their schedules.
	env["GENERAL_STATS_SCHEDULE"] = "30 4 * * 1-5"
	delete(env, "USER_STATS_ENABLED")
	changed := load()
	o.Schedules = changed.Schedules
	applied, err = schedules.Apply(ctx, stack.client, o)
	require.NoError(t, err)
	got := outcomes(applied)
	require.Equal(t, schedules.Updated, got["general-stats"])
	require.Equal(t, schedules.Updated, got["user-stats"])
	for _, job := range []string{"backlink-stats", "notification-cleanup", "json-dump", "ttl-dump"} {
		require.Equal(t, schedules.Unchanged, got[job], job)
	}
	require.False(t, describeSchedule(t, o, "user-stats").Schedule.State.Paused, "USER_STATS_ENABLED back to true unpauses")
	require.Eventually(t, func() bool {
		next := describeSchedule(t, o, "general-stats").Info.NextActionTimes
		if len(next) == 0 {
			return false
		}
		for _, at := range next {
			at = at.UTC()
			if at.Hour() != 4 || at.Minute() != 30 || at.Weekday() == time.Saturday || at.Weekday() == time.Sunday {
				return false
			}
		}
		return true
	}, 10*time.Second, 200*time.Millisecond, "the new cron is in force: weekdays at 04:30")

	list, err := schedules.List(ctx, stack.client, o)
	require.NoError(t, err)
	require.Len(t, list, 6)
	require.Equal(t, "30 4 * * 1-5", list[0].Cron)
	require.True(t, list[0].Exists)
	require.NotEmpty(t, list[0].NextRuns)
	require.Nil(t, list[0].LastRun)

	applied, err = schedules.Apply(ctx, stack.client, o)
	require.NoError(t, err)
	for job, outcome := range outcomes(applied) {
		require.Equal(t, schedules.Unchanged, outcome, job)
	}
}

func TestScheduleApplyRejectsBadConfiguration(t *testing.T) {
	cfg := testConfig(t)
	o := scheduleOptions(t, cfg)
	o.Schedules = map[string]config.Schedule{}
	for k, v := range cfg.Schedules {
		o.Schedules[k] = v
	}
	o.Schedules["ttl-dump"] = config.Schedule{Cron: "0 3 * * mon-sun-x", Enabled: true}
	_, err := schedules.Apply(context.Background(), stack.client, o)
	require.ErrorContains(t, err, "day-of-week field")
	o.Schedules["ttl-dump"] = cfg.Schedules["ttl-dump"]
	o.CatchupWindow = time.Second
	_, err = schedules.Apply(context.Background(), stack.client, o)
	require.ErrorContains(t, err, "SCHEDULE_CATCHUP_WINDOW=1s")
}
