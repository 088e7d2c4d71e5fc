package temporalx

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	failurepb "go.temporal.io/api/failure/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/entitybase/entitybase-workers/internal/permanent"
)

// failedRun runs a workflow that wraps the error of an activity failing with err, as the
// project's workflows do, and returns the workflow's error.
func failedRun(t *testing.T, err error) error {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivityWithOptions(func() error { return err }, activity.RegisterOptions{Name: "PlanImport"})
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: time.Minute, RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 2},
		})
		if err := workflow.ExecuteActivity(ctx, "PlanImport").Get(ctx, nil); err != nil {
			return fmt.Errorf("plan: %w", err)
		}
		return nil
	}, workflow.RegisterOptions{Name: "ImportWorkflow"})
	env.ExecuteWorkflow("ImportWorkflow")
	werr := env.GetWorkflowError()
	require.Error(t, werr)
	return werr
}

func TestFailureMessageIsTheCauseOnce(t *testing.T) {
	cause := "import source /d/t.json.gz: the gzip stream is truncated or corrupt"
	err := failedRun(t, permanent.Errorf(permanent.BadInput, "%s: %w", cause, io.ErrUnexpectedEOF))
	assert.Equal(t, "PlanImport: "+cause+": unexpected EOF", FailureMessage(err))
	// The raw chain names it more than once.
	assert.Greater(t, strings.Count(err.Error(), "truncated or corrupt"), 1)

	err = failedRun(t, fmt.Errorf("read /d/t.json: %w", fmt.Errorf("connection reset by peer")))
	assert.Equal(t, "PlanImport: read /d/t.json: connection reset by peer", FailureMessage(err))

	assert.Equal(t, `format "xml": want json, ttl or nt`,
		FailureMessage(permanent.Errorf(permanent.BadInput, `format "xml": want json, ttl or nt`)))
	assert.Equal(t, "canceled", FailureMessage(temporal.NewCanceledError()))
}

type describer struct {
	resp *workflowservice.DescribeWorkflowExecutionResponse
}

func (d describer) DescribeWorkflowExecution(context.Context, string, string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	return d.resp, nil
}

func TestRetryingActivityNamesTheLastFailure(t *testing.T) {
	pending := func(name string, attempt, max int32, failure string) *workflowpb.PendingActivityInfo {
		p := &workflowpb.PendingActivityInfo{ActivityType: &commonpb.ActivityType{Name: name}, Attempt: attempt, MaximumAttempts: max}
		if failure != "" {
			p.LastFailure = &failurepb.Failure{Message: failure}
		}
		return p
	}
	d := describer{&workflowservice.DescribeWorkflowExecutionResponse{PendingActivities: []*workflowpb.PendingActivityInfo{
		pending("ImportChunk", 1, 0, ""),
		pending("PlanImport", 3, 10, "fetch http://x/d.json: HTTP 503 Service Unavailable"),
	}}}
	msg, err := RetryingActivity(context.Background(), d, "import-1")
	require.NoError(t, err)
	assert.Equal(t, "PlanImport is retrying (attempt 3 of 10) after: fetch http://x/d.json: HTTP 503 Service Unavailable", msg)

	d.resp.PendingActivities[1] = pending("ImportChunk", 7, 0, "chunk 3 of d.json: begin transaction: driver: bad connection")
	msg, err = RetryingActivity(context.Background(), d, "import-1")
	require.NoError(t, err)
	assert.Equal(t, "ImportChunk is retrying (attempt 7) after: chunk 3 of d.json: begin transaction: driver: bad connection", msg)

	d.resp.PendingActivities = d.resp.PendingActivities[:1]
	msg, err = RetryingActivity(context.Background(), d, "import-1")
	require.NoError(t, err)
	assert.Empty(t, msg, "nothing has failed")
}

func TestRetryingActivityPicksTheLatestFailureOnOneLine(t *testing.T) {
	at := time.Date(2026, 1, 4, 12, 0, 5, 0, time.UTC)
	d := describer{&workflowservice.DescribeWorkflowExecutionResponse{PendingActivities: []*workflowpb.PendingActivityInfo{
		{ActivityType: &commonpb.ActivityType{Name: "DumpChunk"}, Attempt: 1},
		{ActivityType: &commonpb.ActivityType{Name: "DumpChunk"}, Attempt: 3, LastAttemptCompleteTime: timestamppb.New(at.Add(-time.Minute)),
			LastFailure: &failurepb.Failure{Message: "chunk 1: older"}},
		{ActivityType: &commonpb.ActivityType{Name: "DumpChunk"}, Attempt: 4, MaximumAttempts: 30, LastAttemptCompleteTime: timestamppb.New(at),
			LastFailure: &failurepb.Failure{Message: "chunk 2: write part:\n dial tcp: connection refused"}},
	}}}
	msg, err := RetryingActivity(context.Background(), d, "dump-json-full-20260104")
	require.NoError(t, err)
	assert.Equal(t, "DumpChunk is retrying (attempt 4 of 30) after: chunk 2: write part: dial tcp: connection refused", msg)
}
