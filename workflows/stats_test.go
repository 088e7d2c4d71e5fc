package workflows

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/entitybase/entitybase-workers/activities"
	"github.com/entitybase/entitybase-workers/internal/permanent"
)

// TestStatsWorkflowsTakeTheirDayFromTheSchedule checks the stat date rule on every trigger:
// an explicit date wins, else the schedule's nominal time (UTC), else today.
func TestStatsWorkflowsTakeTheirDayFromTheSchedule(t *testing.T) {
	clock := time.Date(2026, 3, 9, 5, 30, 0, 0, time.UTC) // a late run, the next day
	nominal := time.Date(2026, 3, 8, 23, 0, 0, 0, time.FixedZone("CET", 3600))
	for _, tc := range []struct {
		name      string
		scheduled bool
		date      string
		wantDate  string
		wantAsOf  time.Time
	}{
		{"scheduled run writes the nominal day in UTC", true, "", "2026-03-08", nominal},
		{"manual run writes today", false, "", "2026-03-09", clock},
		{"explicit earlier day is measured at its end", false, "2026-03-01", "2026-03-01", time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)},
		{"explicit date beats the schedule", true, "2026-03-05", "2026-03-05", time.Date(2026, 3, 6, 0, 0, 0, 0, time.UTC)},
		{"explicit today is measured now", false, "2026-03-09", "2026-03-09", clock},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			env.SetStartTime(clock)
			if tc.scheduled {
				env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(ScheduledStartTimeAttr.ValueSet(nominal)))
			}
			var a *activities.Stats
			want := activities.UserStatsInput{StatDate: tc.wantDate, AsOf: tc.wantAsOf.UTC(), ActiveDays: 7}
			env.OnActivity(a.UserStats, mock.Anything, mock.MatchedBy(func(in activities.UserStatsInput) bool {
				return in.StatDate == want.StatDate && in.AsOf.Equal(want.AsOf) && in.ActiveDays == 7
			})).Return(activities.UserStatsResult{StatDate: tc.wantDate, TotalUsers: 4, ActiveUsers: 2, ActiveDays: 7}, nil).Once()
			env.ExecuteWorkflow(UserStatsWorkflow, UserStatsWorkflowInput{Date: tc.date, ActiveDays: 7})
			require.True(t, env.IsWorkflowCompleted())
			require.NoError(t, env.GetWorkflowError())
			var out activities.UserStatsResult
			require.NoError(t, env.GetWorkflowResult(&out))
			require.Equal(t, activities.UserStatsResult{StatDate: tc.wantDate, TotalUsers: 4, ActiveUsers: 2, ActiveDays: 7}, out)
			env.AssertExpectations(t)
		})
	}
}

func TestStatsWorkflowRejectsABadDateWithoutRunningAnything(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.ExecuteWorkflow(GeneralStatsWorkflow, GeneralStatsWorkflowInput{Date: "09/03/2026"})
	require.True(t, env.IsWorkflowCompleted())
	err := env.GetWorkflowError()
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "%v", err)
	require.True(t, appErr.NonRetryable())
	require.Contains(t, appErr.Error(), `date "09/03/2026" is not a day in the form YYYY-MM-DD`)
}

func TestEachJobWorkflowPassesItsDayToItsActivity(t *testing.T) {
	nominal := time.Date(2026, 3, 8, 2, 0, 0, 0, time.UTC)
	var st *activities.Stats
	var cl *activities.Cleanup
	for _, tc := range []struct {
		name  string
		setup func(env *testsuite.TestWorkflowEnvironment)
		run   any
		input any
	}{
		{"general", func(env *testsuite.TestWorkflowEnvironment) {
			env.OnActivity(st.GeneralStats, mock.Anything, activities.GeneralStatsInput{StatDate: "2026-03-08", PageSize: 50}).
				Return(activities.GeneralStatsResult{StatDate: "2026-03-08"}, nil).Once()
		}, GeneralStatsWorkflow, GeneralStatsWorkflowInput{PageSize: 50}},
		{"backlinks", func(env *testsuite.TestWorkflowEnvironment) {
			env.OnActivity(st.BacklinkStats, mock.Anything, activities.BacklinkStatsInput{StatDate: "2026-03-08", TopLimit: 3}).
				Return(activities.BacklinkStatsResult{StatDate: "2026-03-08"}, nil).Once()
		}, BacklinkStatsWorkflow, BacklinkStatsWorkflowInput{TopLimit: 3}},
		{"cleanup", func(env *testsuite.TestWorkflowEnvironment) {
			env.OnActivity(cl.CleanupNotifications, mock.Anything, mock.MatchedBy(func(in activities.NotificationCleanupInput) bool {
				return in.AsOf.Equal(nominal)
			})).Return(activities.NotificationCleanupResult{Users: 2, DeletedByAge: 5}, nil).Once()
		}, NotificationCleanupWorkflow, NotificationCleanupWorkflowInput{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			env.SetStartTime(nominal.Add(3 * time.Hour))
			env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(ScheduledStartTimeAttr.ValueSet(nominal)))
			tc.setup(env)
			env.ExecuteWorkflow(tc.run, tc.input)
			require.True(t, env.IsWorkflowCompleted())
			require.NoError(t, env.GetWorkflowError())
			env.AssertExpectations(t)
		})
	}
}

func TestStatsWorkflowReportsActivityFailure(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var st *activities.Stats
	env.OnActivity(st.GeneralStats, mock.Anything, mock.Anything).
		Return(activities.GeneralStatsResult{}, permanent.Errorf(permanent.BadConfig, "table missing"))
	env.ExecuteWorkflow(GeneralStatsWorkflow, GeneralStatsWorkflowInput{Date: "2026-03-01"})
	require.True(t, env.IsWorkflowCompleted())
	require.ErrorContains(t, env.GetWorkflowError(), "table missing")
}
