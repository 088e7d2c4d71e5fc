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
	"github.com/entitybase/entitybase-workers/workflows"
)

var scheduleSeq atomic.Int64

// scheduleOptions are the schedule options of cfg with an ID prefix of the test's own, and a
// cleanup that deletes the test's schedules from the shared server.
func scheduleOptions(t *testing.T, cfg config.Config) schedules.Options {
	t.Helper()
	o := schedules.OptionsFrom(cfg)
	o.IDPrefix = fmt.Sprintf("itest%d-%d-", time.Now().UnixNano()%1e6, scheduleSeq.Add(1))
	t.Cleanup(func() {
		for _, j := range workflows.ScheduledJobs {
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

// scheduleConfig is the configuration env gives, on the test's own task queue.
func scheduleConfig(t *testing.T, taskQueue string, env map[string]string) config.Config {
	t.Helper()
	cfg, err := config.LoadFrom(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, err)
	cfg.TaskQueue = taskQueue
	return cfg
}

func TestScheduleApplyIsIdempotentAndFollowsTheEnvironment(t *testing.T) {
	ctx := context.Background()
	base := testConfig(t)
	env := map[string]string{"USER_STATS_ENABLED": "false"}
	load := func() config.Config { return scheduleConfig(t, base.TaskQueue, env) }
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

// appliedJob is job's entry of an Apply result.
func appliedJob(t *testing.T, applied []schedules.Applied, job string) schedules.Applied {
	t.Helper()
	for _, a := range applied {
		if a.Job == job {
			return a
		}
	}
	t.Fatalf("apply said nothing of %s", job)
	return schedules.Applied{}
}

// TestScheduleApplyKeepsAnOperatorsPause: apply runs at every start of the dev stack and of
// deployments, so it may change a schedule's pause state only when the *_ENABLED setting
// itself changed; a pause or unpause by an operator (Web UI, temporal CLI) stays.
func TestScheduleApplyKeepsAnOperatorsPause(t *testing.T) {
	ctx := context.Background()
	base := testConfig(t)
	env := map[string]string{"USER_STATS_ENABLED": "false"}
	o := scheduleOptions(t, scheduleConfig(t, base.TaskQueue, env))
	apply := func() []schedules.Applied {
		t.Helper()
		o.Schedules = scheduleConfig(t, base.TaskQueue, env).Schedules
		applied, err := schedules.Apply(ctx, stack.client, o)
		require.NoError(t, err)
		return applied
	}
	state := func(job string) (bool, string) {
		t.Helper()
		s := describeSchedule(t, o, job).Schedule.State
		return s.Paused, s.Note
	}
	apply()

	// An operator pauses general statistics and runs user statistics although the
	// configuration disables them, each with a note, as the Web UI and the CLI ask for.
	const pauseNote, unpauseNote = "replica overloaded, INC-4711", "one run for the quarterly report"
	require.NoError(t, stack.client.ScheduleClient().GetHandle(ctx, o.ScheduleID("general-stats")).
		Pause(ctx, client.SchedulePauseOptions{Note: pauseNote}))
	require.NoError(t, stack.client.ScheduleClient().GetHandle(ctx, o.ScheduleID("user-stats")).
		Unpause(ctx, client.ScheduleUnpauseOptions{Note: unpauseNote}))

	// Two restarts later both are as the operator left them, notes included, and apply says so.
	for range 2 {
		applied := apply()
		gs := appliedJob(t, applied, "general-stats")
		require.Equal(t, schedules.Unchanged, gs.Outcome)
		require.True(t, gs.Paused)
		require.Equal(t, "paused by an operator, left paused (GENERAL_STATS_ENABLED unchanged)", gs.Note)
		us := appliedJob(t, applied, "user-stats")
		require.Equal(t, schedules.Unchanged, us.Outcome)
		require.False(t, us.Paused)
		require.Equal(t, "running although USER_STATS_ENABLED=false: unpaused by an operator, left running (USER_STATS_ENABLED unchanged)", us.Note)
		require.Empty(t, appliedJob(t, applied, "backlink-stats").Note, "a schedule as configured needs no word")

		paused, note := state("general-stats")
		require.True(t, paused, "the operator's pause survives apply")
		require.Equal(t, pauseNote, note)
		paused, note = state("user-stats")
		require.False(t, paused, "the operator's unpause survives apply")
		require.Equal(t, unpauseNote, note)
	}

	// A changed setting is a decision of its own: apply carries it out.
	env["GENERAL_STATS_ENABLED"] = "false"
	gs := appliedJob(t, apply(), "general-stats")
	require.Equal(t, schedules.Updated, gs.Outcome)
	require.Contains(t, gs.Changes, "GENERAL_STATS_ENABLED true → false")
	require.True(t, gs.Paused)
	require.Equal(t, "GENERAL_STATS_ENABLED changed to false: already paused", gs.Note)
	paused, note := state("general-stats")
	require.True(t, paused)
	require.Equal(t, pauseNote, note, "a schedule already paused keeps its operator's note")

	env["GENERAL_STATS_ENABLED"] = "true"
	gs = appliedJob(t, apply(), "general-stats")
	require.Equal(t, schedules.Updated, gs.Outcome)
	require.False(t, gs.Paused)
	require.Equal(t, "GENERAL_STATS_ENABLED changed to true: unpaused", gs.Note)
	paused, note = state("general-stats")
	require.False(t, paused)
	require.Equal(t, "unpaused by schedules apply: GENERAL_STATS_ENABLED=true", note)

	delete(env, "USER_STATS_ENABLED")
	env["BACKLINK_STATS_ENABLED"] = "false"
	applied := apply()
	require.Equal(t, "USER_STATS_ENABLED changed to true: already running", appliedJob(t, applied, "user-stats").Note)
	bs := appliedJob(t, applied, "backlink-stats")
	require.True(t, bs.Paused)
	require.Equal(t, "BACKLINK_STATS_ENABLED changed to false: paused", bs.Note)
	paused, note = state("backlink-stats")
	require.True(t, paused)
	require.Equal(t, "paused by schedules apply: BACKLINK_STATS_ENABLED=false", note)

	// Settled: nothing to do, nothing to say.
	for _, a := range apply() {
		require.Equal(t, schedules.Unchanged, a.Outcome, a.Job)
		require.Empty(t, a.Note, a.Job)
	}
}
