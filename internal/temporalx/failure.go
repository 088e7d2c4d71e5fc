package temporalx

import (
	"context"
	"errors"
	"fmt"
	"strings"

	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/temporal"
)

// FailureMessage is why a workflow run failed, in one line: the failing activity and its
// error's message, or the workflow's own error. The SDK's error chain (run, activity,
// application error, and each wrapper again) states the same cause several times.
func FailureMessage(err error) string {
	var actErr *temporal.ActivityError
	if errors.As(err, &actErr) {
		return actErr.ActivityType().GetName() + ": " + causeMessage(actErr.Unwrap())
	}
	return causeMessage(err)
}

func causeMessage(err error) string {
	var (
		canceled   *temporal.CanceledError
		terminated *temporal.TerminatedError
		timeout    *temporal.TimeoutError
		appErr     *temporal.ApplicationError
	)
	switch {
	case err == nil:
		return "no error"
	case errors.As(err, &canceled):
		return "canceled"
	case errors.As(err, &terminated):
		return "terminated"
	case errors.As(err, &timeout):
		kind := strings.ToLower(strings.TrimPrefix(timeout.TimeoutType().String(), "TIMEOUT_TYPE_"))
		return "timed out (" + strings.ReplaceAll(kind, "_", "-") + ")"
	case errors.As(err, &appErr):
		return appErr.Message()
	}
	return err.Error()
}

// Describer is what RetryingActivity needs of a client.Client.
type Describer interface {
	DescribeWorkflowExecution(ctx context.Context, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error)
}

// RetryingActivity describes, in one line, the pending activity of the latest run of
// workflowID that failed most recently (see Retrying); "" when none has failed. A job whose
// progress stands still may be retrying an error.
func RetryingActivity(ctx context.Context, c Describer, workflowID string) (string, error) {
	desc, err := c.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		return "", fmt.Errorf("describe %s: %w", workflowID, err)
	}
	return Retrying(desc), nil
}

// Retrying describes, in one line, the pending activity of a described run that failed most
// recently: its name, attempt and last failure; "" when none has failed.
func Retrying(desc *workflowservice.DescribeWorkflowExecutionResponse) string {
	var last *workflowpb.PendingActivityInfo
	for _, a := range desc.GetPendingActivities() {
		if a.GetLastFailure() == nil {
			continue
		}
		if last == nil || a.GetLastAttemptCompleteTime().AsTime().After(last.GetLastAttemptCompleteTime().AsTime()) {
			last = a
		}
	}
	if last == nil {
		return ""
	}
	attempt := fmt.Sprint(last.GetAttempt())
	if limit := last.GetMaximumAttempts(); limit > 0 {
		attempt += fmt.Sprintf(" of %d", limit)
	}
	msg := strings.Join(strings.Fields(last.GetLastFailure().GetMessage()), " ")
	return fmt.Sprintf("%s is retrying (attempt %s) after: %s", last.GetActivityType().GetName(), attempt, msg)
}
