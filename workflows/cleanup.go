package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/entitybase/entitybase-workers/activities"
)

// NotificationCleanupWorkflowInput may fix the day the retention rule is measured at
// (YYYY-MM-DD, the end of that day or now if earlier); empty means the schedule's nominal
// time, or now.
type NotificationCleanupWorkflowInput struct {
	Date string
}

// NotificationCleanupWorkflow deletes, per user, notifications older than the user's
// retention and beyond the user's limit (both capped by configuration), in short batches,
// and reports what each rule deleted.
func NotificationCleanupWorkflow(ctx workflow.Context, in NotificationCleanupWorkflowInput) (activities.NotificationCleanupResult, error) {
	jt, err := startJob(ctx, JobNotificationCleanup, in.Date)
	if err != nil {
		return activities.NotificationCleanupResult{}, err
	}
	var a *activities.Cleanup
	var out activities.NotificationCleanupResult
	err = workflow.ExecuteActivity(statsActivityOptions(ctx), a.CleanupNotifications,
		activities.NotificationCleanupInput{AsOf: jt.AsOf}).Get(ctx, &out)
	finishJob(ctx, out, err)
	return out, err
}
