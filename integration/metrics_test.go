package integration

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/entitybase/entitybase-workers/deploy"
	"github.com/entitybase/entitybase-workers/workflows"
)

// servedNames are the sample names of a /metrics answer (a histogram's _bucket, _sum and
// _count each).
func servedNames(text string) map[string]bool {
	names := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			names[line[:i]] = true
		}
	}
	return names
}

// TestDashboardAndAlertMetricsAreServed runs a few jobs on a worker (imports that succeed and
// fail, a dump, general statistics, ID allocations, the outbox relay and the watchlist bridge
// on the events the import wrote) and checks that every metric the dashboard and the alerts
// use is on its /metrics, and that the job metrics count the runs.
func TestDashboardAndAlertMetricsAreServed(t *testing.T) {
	exprs, err := deploy.Expressions()
	require.NoError(t, err)
	want := deploy.MetricNames(exprs)

	cfg := wlConfig(t, testConfig(t))
	cfg.DumpURL = "file://" + t.TempDir()
	w := startWorker(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	startImport := func(id, source string) client.WorkflowRun {
		// As `starter import` starts it: the run names its job.
		run, err := stack.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: id, TaskQueue: cfg.TaskQueue, WorkflowExecutionTimeout: 4 * time.Minute,
			TypedSearchAttributes: temporal.NewSearchAttributes(workflows.JobAttr.ValueSet(workflows.JobImport)),
		}, workflows.ImportWorkflow, workflows.ImportInput{Source: source})
		require.NoError(t, err)
		return run
	}
	src, _ := writeSyntheticDump(t, 30)
	var imported workflows.ImportResult
	require.NoError(t, startImport("metrics-import-"+cfg.TaskQueue, src).Get(ctx, &imported))
	require.Positive(t, imported.Counts.Created)
	require.Positive(t, imported.Counts.Rejected)
	require.Error(t, startImport("metrics-import-missing-"+cfg.TaskQueue, filepath.Join(t.TempDir(), "missing.json")).Get(ctx, nil))

	require.NoError(t, startDump(t, cfg, "metrics-dump-"+cfg.TaskQueue, workflows.DumpInput{Format: "json"}).Get(ctx, nil))
	stats, err := stack.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: "metrics-stats-" + cfg.TaskQueue, TaskQueue: cfg.TaskQueue,
	}, workflows.GeneralStatsWorkflow, workflows.GeneralStatsWorkflowInput{})
	require.NoError(t, err)
	require.NoError(t, stats.Get(ctx, nil))
	got, err := idsClient(t, cfg, "metrics", time.Minute).Next(ctx, "item", 3)
	require.NoError(t, err)
	require.Len(t, got, 3)

	// The relay publishes the import's events and the bridge consumes them; the lag gauges
	// appear with the bridge's first batch.
	var text string
	var missing []string
	require.Eventually(t, func() bool {
		text = getText(t, w.healthURL+"/metrics")
		served := servedNames(text)
		missing = missing[:0]
		for _, name := range want {
			if !served[name] && !deploy.ScrapeSynthesized[name] {
				missing = append(missing, name)
			}
		}
		return len(missing) == 0
	}, 60*time.Second, 500*time.Millisecond, "metrics used by the dashboard or alerts but not served: %v", &missing)
	sort.Strings(want)
	t.Logf("served: %s", strings.Join(want, ", "))

	for _, series := range []string{
		`entitybase_job_runs_total{job_name="import",outcome="succeeded"} 1`,
		`entitybase_job_runs_total{job_name="import",outcome="failed"} 1`,
		`entitybase_job_runs_total{job_name="json-dump",outcome="succeeded"} 1`,
		`entitybase_job_runs_total{job_name="general-stats",outcome="succeeded"} 1`,
		`entitybase_id_blocks_claimed_total{entity_type="Q"} 1`,
		fmt.Sprintf(`entitybase_import_entities_total{outcome="created"} %d`, imported.Counts.Created),
		fmt.Sprintf(`entitybase_import_rejections_total %d`, imported.Counts.Rejected),
	} {
		assert.Contains(t, text, series+"\n")
	}
	// No run of a service counts as a job run.
	assert.NotContains(t, text, `job_name="id-allocator"`)
	assert.NotContains(t, text, `job_name="watchlist"`)
}
