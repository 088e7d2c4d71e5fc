package schedules

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/entitybase/entitybase-workers/workflows"
)

// Memo keys the job workflows set when they finish (see workflows.MemoResult, MemoError).
const (
	memoResult = "result"
	memoError  = "error"
)

// describeRun reads one run's status, times and memo result.
func describeRun(ctx context.Context, c client.Client, workflowID, runID string) (Run, error) {
	resp, err := c.DescribeWorkflowExecution(ctx, workflowID, runID)
	if err != nil {
		return Run{}, fmt.Errorf("describe run %s: %w", workflowID, err)
	}
	return runOf(resp.GetWorkflowExecutionInfo()), nil
}

// runOf is what a person wants to know of a run: when, how it ended, what it wrote or why
// it failed.
func runOf(info *workflowpb.WorkflowExecutionInfo) Run {
	run := Run{
		WorkflowID: info.GetExecution().GetWorkflowId(),
		RunID:      info.GetExecution().GetRunId(),
		Started:    info.GetStartTime().AsTime().UTC(),
		Status:     statusName(info.GetStatus().String()),
	}
	if info.GetCloseTime() != nil {
		closed := info.GetCloseTime().AsTime().UTC()
		run.Closed = &closed
	}
	run.Result, run.Error = outcome(info.GetMemo())
	return run
}

// statusName turns WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW into ContinuedAsNew, as the
// Web UI and the CLI say it.
func statusName(s string) string {
	s = strings.TrimPrefix(s, "WORKFLOW_EXECUTION_STATUS_")
	var b strings.Builder
	for _, w := range strings.Split(strings.ToLower(s), "_") {
		if w != "" {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String()
}

func outcome(memo *commonpb.Memo) (any, string) {
	var result any
	var errText string
	dc := converter.GetDefaultDataConverter()
	if p, ok := memo.GetFields()[memoResult]; ok {
		_ = dc.FromPayload(p, &result) // an unreadable result is shown as absent
	}
	if p, ok := memo.GetFields()[memoError]; ok {
		_ = dc.FromPayload(p, &errText)
	}
	return result, errText
}

// LastRuns finds each job's most recent run on taskQueue in Temporal's visibility store, by
// the EntitybaseJob search attribute the job workflows set or, for runs a schedule started
// before their first task (or whose workflow does not set it, such as the dumps), by the
// schedule that started them. Jobs that never ran are absent.
func LastRuns(ctx context.Context, c client.Client, o Options) (map[string]Run, error) {
	out := map[string]Run{}
	for _, j := range workflows.ScheduledJobs {
		query := fmt.Sprintf(`(EntitybaseJob = '%s' OR TemporalScheduledById = '%s') AND TaskQueue = '%s'`,
			j.Name, o.ScheduleID(j.Name), o.TaskQueue)
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: 1})
		if err != nil {
			return out, fmt.Errorf("last run of %s: %w", j.Name, err)
		}
		if len(resp.GetExecutions()) == 0 {
			continue
		}
		out[j.Name] = runOf(resp.GetExecutions()[0])
	}
	return out, nil
}

// HealthDetail returns a source for the worker's /health details: each job's last run and
// result. Visibility is asked at most every refresh; a failure is reported in place of the
// runs rather than failing the health check, since job history is not a dependency.
func HealthDetail(c client.Client, o Options, refresh time.Duration) func() any {
	var mu sync.Mutex
	var cached any
	var at time.Time
	return func() any {
		mu.Lock()
		defer mu.Unlock()
		if cached != nil && time.Since(at) < refresh {
			return cached
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		runs, err := LastRuns(ctx, c, o)
		if err != nil {
			return map[string]any{"error": err.Error()}
		}
		view := map[string]any{}
		for _, j := range workflows.ScheduledJobs {
			if r, ok := runs[j.Name]; ok {
				view[j.Name] = r
			} else {
				view[j.Name] = "never ran"
			}
		}
		cached, at = view, time.Now()
		return view
	}
}
