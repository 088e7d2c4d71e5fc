package temporalx

import (
	"context"
	"errors"
	"fmt"
	"strings"

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

// RetryingActivity describes, in one line, the first pending activity of the latest run of
// workflowID that has failed at least once (see Retrying); "" when none has. A job whose
// progress stands still may be retrying an error.
func RetryingActivity(ctx context.Context, c Describer, workflowID string) (string, error) {
	desc, err := c.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		return "", fmt.Errorf("describe %s: %w", workflowID, err)
	}
	return Retrying(desc), nil
}

// Retrying describes, in one line, the first pending activity of a described run that has
// failed at least once: its name, attempt and last failure; "" when none has.
func Retrying(desc *workflowservice.DescribeWorkflowExecutionResponse) string {
	for _, a := range desc.GetPendingActivities() {
		f := a.GetLastFailure()
		if f == nil {
			continue
		}
		attempt := fmt.Sprint(a.GetAttempt())
		if limit := a.GetMaximumAttempts(); limit > 0 {
			attempt += fmt.Sprintf(" of %d", limit)
		}
		return fmt.Sprintf("%s is retrying (attempt %s) after: %s", a.GetActivityType().GetName(), attempt, f.GetMessage())
	}
	return ""
}
