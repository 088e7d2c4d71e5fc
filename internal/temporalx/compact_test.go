package temporalx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/proto"

	"github.com/entitybase/entitybase-workers/internal/permanent"
)

// serverFailureLimit is the Temporal server's default limit.mutableStateActivityFailureSize.error:
// a retrying activity's last failure larger than this is replaced by "Failure exceeds size limit.".
const serverFailureLimit = 4 * 1024

// s3UploadFailure is an error as a dump part's upload to an unreachable S3 store returns it:
// the dial error wrapped by net/http, the AWS SDK, gocloud and the dump activity, each layer
// repeating the text of those below.
func s3UploadFailure() error {
	key := "20261201/parts/wikibase-20261201-all-BETA.ttl.gz/0594ef05de6d24cd/part-000002.gz"
	url := "http://127.0.0.1:9301/dumps/" + key + "?partNumber=2&uploadId=5&x-id=UploadPart"
	err := fmt.Errorf("connect: %w", errors.New("connection refused"))
	err = fmt.Errorf("dial tcp 127.0.0.1:9301: %w", err)
	err = fmt.Errorf("Put %q: %w", url, err)
	err = fmt.Errorf("request send failed, %w", err)
	err = fmt.Errorf("https response error StatusCode: 0, RequestID: , HostID: , %w", err)
	err = fmt.Errorf("exceeded maximum number of attempts, 3, %w", err)
	err = fmt.Errorf("operation error S3: UploadPart, %w", err)
	err = fmt.Errorf("upload multipart failed, upload id: 5, cause: %w", err)
	err = fmt.Errorf("blob (key %q) (code=Unknown): %w", key, err)
	err = fmt.Errorf("commit %s: %w", key, err)
	err = fmt.Errorf("part 2 of wikibase-20261201-all-BETA.ttl.gz: %w", err)
	return fmt.Errorf("chunk 2: %w", err)
}

func failureSize(err error) int {
	return proto.Size(temporal.GetDefaultFailureConverter().ErrorToFailure(err))
}

func TestCompactKeepsALongChainUnderTheServersLimit(t *testing.T) {
	err := s3UploadFailure()
	require.Greater(t, failureSize(err), serverFailureLimit, "the SDK's failure of the chain as it is")

	compact := Compact(err)
	assert.Less(t, failureSize(compact), len(err.Error())+200)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, compact, &appErr)
	assert.Equal(t, err.Error(), appErr.Message(), "the whole message, once")
	assert.Equal(t, "wrapError", appErr.Type(), "the Go type, as the SDK names it")
	assert.False(t, appErr.NonRetryable())
	assert.Nil(t, appErr.Unwrap())
}

func TestCompactKeepsTheApplicationErrorsOfTheChain(t *testing.T) {
	cause := permanent.Errorf(permanent.BadInput, "import source %s: %w", "dump.json.gz", io.ErrUnexpectedEOF)
	wrapped := fmt.Errorf("chunk 3: %w", cause)

	compact := Compact(wrapped)
	assert.True(t, permanent.Is(compact, permanent.BadInput), "the kind below the wrapper")
	var top *temporal.ApplicationError
	require.ErrorAs(t, compact, &top)
	assert.Equal(t, wrapped.Error(), top.Message())
	assert.False(t, top.NonRetryable(), "a wrapper is retryable, as the SDK sends it")
	var inner *temporal.ApplicationError
	require.ErrorAs(t, top.Unwrap(), &inner)
	assert.Equal(t, cause.(*temporal.ApplicationError).Message(), inner.Message())
	assert.True(t, inner.NonRetryable())
	assert.Nil(t, inner.Unwrap(), "io.ErrUnexpectedEOF is in the message")

	top = Compact(cause).(*temporal.ApplicationError)
	assert.Equal(t, "BadInput", top.Type())
	assert.True(t, top.NonRetryable())
	assert.Nil(t, top.Unwrap())

	benign := Compact(permanent.Expected(cause, permanent.BadInput)).(*temporal.ApplicationError)
	assert.Equal(t, temporal.ApplicationErrorCategoryBenign, benign.Category())

	delayed := Compact(temporal.NewApplicationErrorWithOptions("busy", "Busy", temporal.ApplicationErrorOptions{NextRetryDelay: time.Minute}))
	assert.Equal(t, time.Minute, delayed.(*temporal.ApplicationError).NextRetryDelay())
}

func TestCompactLeavesCancellationsDetailsAndPendingResults(t *testing.T) {
	canceled := fmt.Errorf("wait for staged chunks: %w", context.Canceled)
	assert.Same(t, canceled, Compact(canceled), "the SDK reports it as a cancellation")
	withDetails := temporal.NewApplicationError("conflict", "Conflict", 42)
	assert.Same(t, withDetails, Compact(withDetails))
	assert.Equal(t, activity.ErrResultPending, Compact(activity.ErrResultPending), "completed later, not failed")
	assert.NoError(t, Compact(nil))
}

// Through a worker: the workflow gets the activity's error in one piece, and a retrying
// activity's failure stays under the server's limit.
func TestCompactFailuresInterceptsActivities(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{CompactFailures()}})
	env.RegisterActivityWithOptions(func() error { return s3UploadFailure() }, activity.RegisterOptions{Name: "DumpChunk"})
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: time.Minute, RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1},
		})
		return workflow.ExecuteActivity(ctx, "DumpChunk").Get(ctx, nil)
	}, workflow.RegisterOptions{Name: "Dump"})
	env.ExecuteWorkflow("Dump")

	err := env.GetWorkflowError()
	var actErr *temporal.ActivityError
	require.ErrorAs(t, err, &actErr)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, actErr, &appErr)
	assert.Equal(t, s3UploadFailure().Error(), appErr.Message())
	assert.Nil(t, appErr.Unwrap(), "one failure, not one per wrapper")
	assert.Less(t, failureSize(appErr), serverFailureLimit)
}
