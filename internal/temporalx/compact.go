package temporalx

import (
	"context"
	"errors"
	"reflect"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
)

// CompactFailures is a worker interceptor that sends an activity's error to Temporal as
// Compact makes it. The SDK sends one failure per wrapped error, each repeating the message
// of those below it; an error wrapped a dozen times (an S3 request's, through the AWS SDK,
// gocloud and the job's own context) grows past the 4 KB the server keeps of a retrying
// activity's last failure, which it then replaces by "Failure exceeds size limit.": what
// `--wait`, `temporal workflow describe` and the Web UI show while the activity retries.
func CompactFailures() interceptor.WorkerInterceptor { return &compactFailures{} }

type compactFailures struct {
	interceptor.WorkerInterceptorBase
}

func (*compactFailures) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &compactActivity{interceptor.ActivityInboundInterceptorBase{Next: next}}
}

type compactActivity struct {
	interceptor.ActivityInboundInterceptorBase
}

func (a *compactActivity) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	res, err := a.Next.ExecuteActivity(ctx, in)
	return res, Compact(err)
}

// Compact returns err as the application errors of its chain only: the outermost error with
// its whole message, then each application error below it (a permanent error's kind, say)
// with its own. The wrappers between them, whose text the message above already holds, are
// left out. Retryability, type, category and retry delay are kept; a cancellation, an
// application error with details and activity.ErrResultPending are returned as they are.
func Compact(err error) error {
	var canceled *temporal.CanceledError
	if err == nil || err == activity.ErrResultPending || errors.Is(err, context.Canceled) || errors.As(err, &canceled) {
		return err
	}
	appErr, ok := err.(*temporal.ApplicationError)
	if !ok {
		// A wrapper: retryable, of its Go type, as the SDK would send it.
		return temporal.NewApplicationErrorWithOptions(err.Error(), errType(err),
			temporal.ApplicationErrorOptions{Cause: compactCause(err)})
	}
	if appErr.HasDetails() {
		return err
	}
	return temporal.NewApplicationErrorWithOptions(appErr.Message(), appErr.Type(), temporal.ApplicationErrorOptions{
		NonRetryable:   appErr.NonRetryable(),
		Category:       appErr.Category(),
		NextRetryDelay: appErr.NextRetryDelay(),
		Cause:          compactCause(appErr),
	})
}

// compactCause is the first application error wrapped by err, compacted; nil if there is none.
func compactCause(err error) error {
	var appErr *temporal.ApplicationError
	if !errors.As(errors.Unwrap(err), &appErr) {
		return nil
	}
	return Compact(appErr)
}

// errType is the name of err's type, as the SDK names a Go error's failure ("" for
// errors.New's).
func errType(err error) string {
	t := reflect.TypeOf(err)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Name() == "errorString" {
		return ""
	}
	return t.Name()
}
