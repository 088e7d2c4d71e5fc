package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/entitybase/entitybase-workers/activities"
	"github.com/entitybase/entitybase-workers/internal/permanent"
	"github.com/entitybase/entitybase-workers/internal/store"
)

// ScheduledStartTimeAttr is set by Temporal on every run a Schedule starts: the nominal time
// of the action, which the stats jobs take their stat date from.
var ScheduledStartTimeAttr = temporal.NewSearchAttributeKeyTime("TemporalScheduledStartTime")

// Memo keys the scheduled jobs set, shown in the Web UI and read by the worker's /health.
const (
	MemoJob      = "job"
	MemoStatDate = "stat_date"
	MemoTrigger  = "trigger" // "schedule" or "manual"
	MemoResult   = "result"  // set when the run succeeded: a summary of what it wrote
	MemoError    = "error"   // set when the run failed: why
)

// jobTime is when a job run is "for": its stat date and the instant rules are measured from.
type jobTime struct {
	StatDate string
	AsOf     time.Time
	Trigger  string
}

// resolveJobTime picks the day a run writes: an explicit date wins; else the schedule's
// nominal time (UTC), so a late run, a retry or a backfill writes the right day; else today
// (UTC) by the workflow clock. AsOf is the nominal time, the workflow start for today, or the
// end of an explicit earlier day.
func resolveJobTime(ctx workflow.Context, date string) (jobTime, error) {
	now := workflow.Now(ctx).UTC()
	trigger := "manual"
	scheduled, isScheduled := workflow.GetTypedSearchAttributes(ctx).GetTime(ScheduledStartTimeAttr)
	if isScheduled {
		trigger = "schedule"
	}
	switch {
	case date != "":
		day, err := time.Parse(store.StatDateLayout, date)
		if err != nil {
			return jobTime{}, permanent.Errorf(permanent.BadInput, "date %q is not a day in the form YYYY-MM-DD", date)
		}
		asOf := day.AddDate(0, 0, 1)
		if asOf.After(now) {
			asOf = now
		}
		return jobTime{StatDate: date, AsOf: asOf, Trigger: trigger}, nil
	case isScheduled:
		scheduled = scheduled.UTC()
		return jobTime{StatDate: scheduled.Format(store.StatDateLayout), AsOf: scheduled, Trigger: trigger}, nil
	default:
		return jobTime{StatDate: now.Format(store.StatDateLayout), AsOf: now, Trigger: trigger}, nil
	}
}

// startJob marks the run for the Web UI (EntitybaseJob, memo) and resolves its time.
func startJob(ctx workflow.Context, job, date string) (jobTime, error) {
	if err := workflow.UpsertTypedSearchAttributes(ctx, JobAttr.ValueSet(job)); err != nil {
		return jobTime{}, fmt.Errorf("set search attribute %s: %w", JobAttr.GetName(), err)
	}
	jt, err := resolveJobTime(ctx, date)
	if err != nil {
		finishJob(ctx, nil, err)
		return jobTime{}, err
	}
	if err := workflow.UpsertMemo(ctx, map[string]any{MemoJob: job, MemoStatDate: jt.StatDate, MemoTrigger: jt.Trigger}); err != nil {
		return jobTime{}, fmt.Errorf("set memo: %w", err)
	}
	return jt, nil
}

// finishJob records the outcome in the memo, so visibility shows each run's result.
func finishJob(ctx workflow.Context, result any, err error) {
	memo := map[string]any{MemoResult: result}
	if err != nil {
		memo = map[string]any{MemoError: err.Error()}
	}
	if uerr := workflow.UpsertMemo(ctx, memo); uerr != nil {
		workflow.GetLogger(ctx).Warn("cannot record the job's outcome in the memo", "Error", uerr)
	}
}

// statsActivityOptions bound a stats activity: a scan heartbeats every page, so a lost worker
// is noticed within a minute and the retry resumes from the last page. Retries stop after
// about an hour and a half, so a broken run does not block the next day's (overlap Skip).
func statsActivityOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 6 * time.Hour,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    5 * time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    5 * time.Minute,
			MaximumAttempts:    20,
		},
	})
}

// GeneralStatsWorkflowInput may name the day to write (YYYY-MM-DD); empty means the
// schedule's nominal day, or today.
type GeneralStatsWorkflowInput struct {
	Date     string
	PageSize int // entity_head rows per page; 0 for the default
}

// GeneralStatsSummary is what a general stats run reports in its memo.
type GeneralStatsSummary struct {
	StatDate   string `json:"stat_date"`
	Items      int64  `json:"items"`
	Properties int64  `json:"properties"`
	Lexemes    int64  `json:"lexemes"`
	Statements int64  `json:"statements"`
	Terms      int64  `json:"terms"`
	Pages      int    `json:"pages"`
}

// GeneralStatsWorkflow writes the general_daily_stats row of its day: current entities by
// type, their statements, qualifiers, references, sitelinks and terms.
func GeneralStatsWorkflow(ctx workflow.Context, in GeneralStatsWorkflowInput) (activities.GeneralStatsResult, error) {
	jt, err := startJob(ctx, JobGeneralStats, in.Date)
	if err != nil {
		return activities.GeneralStatsResult{}, err
	}
	var a *activities.Stats
	var out activities.GeneralStatsResult
	err = workflow.ExecuteActivity(statsActivityOptions(ctx), a.GeneralStats,
		activities.GeneralStatsInput{StatDate: jt.StatDate, PageSize: in.PageSize}).Get(ctx, &out)
	finishJob(ctx, GeneralStatsSummary{StatDate: out.StatDate, Items: out.Stats.Items, Properties: out.Stats.Properties,
		Lexemes: out.Stats.Lexemes, Statements: out.Stats.Statements, Terms: out.Stats.Terms, Pages: out.Pages}, err)
	return out, err
}

// UserStatsWorkflowInput may name the day to write and override USER_STATS_ACTIVE_DAYS.
type UserStatsWorkflowInput struct {
	Date       string
	ActiveDays int
}

// UserStatsWorkflow writes the user_daily_stats row of its day: all users and those active
// within the configured number of days before the run's nominal time.
func UserStatsWorkflow(ctx workflow.Context, in UserStatsWorkflowInput) (activities.UserStatsResult, error) {
	jt, err := startJob(ctx, JobUserStats, in.Date)
	if err != nil {
		return activities.UserStatsResult{}, err
	}
	var a *activities.Stats
	var out activities.UserStatsResult
	err = workflow.ExecuteActivity(statsActivityOptions(ctx), a.UserStats,
		activities.UserStatsInput{StatDate: jt.StatDate, AsOf: jt.AsOf, ActiveDays: in.ActiveDays}).Get(ctx, &out)
	finishJob(ctx, out, err)
	return out, err
}

// BacklinkStatsWorkflowInput may name the day to write and override BACKLINK_STATS_TOP_LIMIT.
type BacklinkStatsWorkflowInput struct {
	Date     string
	TopLimit int
}

// BacklinkStatsSummary is what a backlink stats run reports in its memo (the top list itself
// is in the table).
type BacklinkStatsSummary struct {
	StatDate              string `json:"stat_date"`
	TotalBacklinks        int64  `json:"total_backlinks"`
	EntitiesWithBacklinks int64  `json:"entities_with_backlinks"`
	TopListed             int    `json:"top_listed"`
}

// BacklinkStatsWorkflow writes the backlink_statistics row of its day.
func BacklinkStatsWorkflow(ctx workflow.Context, in BacklinkStatsWorkflowInput) (activities.BacklinkStatsResult, error) {
	jt, err := startJob(ctx, JobBacklinkStats, in.Date)
	if err != nil {
		return activities.BacklinkStatsResult{}, err
	}
	var a *activities.Stats
	var out activities.BacklinkStatsResult
	err = workflow.ExecuteActivity(statsActivityOptions(ctx), a.BacklinkStats,
		activities.BacklinkStatsInput{StatDate: jt.StatDate, TopLimit: in.TopLimit}).Get(ctx, &out)
	finishJob(ctx, BacklinkStatsSummary{StatDate: out.StatDate, TotalBacklinks: out.TotalBacklinks,
		EntitiesWithBacklinks: out.EntitiesWithBacklinks, TopListed: len(out.Top)}, err)
	return out, err
}
