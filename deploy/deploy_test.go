package deploy

import (
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/entitybase/entitybase-workers/internal/metrics"
	"github.com/entitybase/entitybase-workers/workflows"
)

// TestAlertsAndDashboardParse parses the rules with Prometheus' rule parser and every
// expression, the dashboard's too, with its PromQL parser.
func TestAlertsAndDashboardParse(t *testing.T) {
	groups, err := Rules()
	require.NoError(t, err)
	alerts := 0
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			alerts++
			assert.NotEmpty(t, r.Labels["severity"], "alert %s has a severity", r.Alert)
			assert.NotEmpty(t, r.Annotations["summary"], "alert %s has a summary", r.Alert)
		}
	}
	exprs, err := Expressions()
	require.NoError(t, err)
	panels := 0
	for _, e := range exprs {
		if strings.HasPrefix(e.Where, "panel ") {
			panels++
		}
	}
	assert.GreaterOrEqual(t, alerts, 10)
	assert.GreaterOrEqual(t, panels, 25)
	assert.Equal(t, alerts+panels, len(exprs))
}

// TestAParseErrorNamesWhere: a broken expression is reported with its place (negative control
// of the parse check).
func TestAParseErrorNamesWhere(t *testing.T) {
	_, err := newParser().ParseExpr(withGrafanaVariables(`sum by (job_name) (rate(entitybase_job_runs_total[$__rate_interval])`))
	require.Error(t, err)
	_, err = newParser().ParseExpr(withGrafanaVariables(`sum by (job_name) (rate(entitybase_job_runs_total[$__rate_interval]))`))
	require.NoError(t, err)
}

// TestDashboardCoversTheJobMetrics: the job metrics and the worker's health are on the
// dashboard and in the alerts, under the names internal/metrics serves.
func TestDashboardCoversTheJobMetrics(t *testing.T) {
	exprs, err := Expressions()
	require.NoError(t, err)
	names := MetricNames(exprs)
	for _, want := range []string{metrics.JobRuns, metrics.JobLastSuccess, metrics.JobDuration + "_sum",
		"entitybase_dump_entities_total", "entitybase_import_rejections_total", "entitybase_kafka_bridge_partition_lag_messages",
		"entitybase_outbox_backlog_events", "entitybase_id_blocks_claimed_total", "entitybase_id_block_utilisation_ratio",
		"up", "process_resident_memory_bytes", "go_goroutines"} {
		assert.Contains(t, names, want)
	}
}

// TestEveryScheduledJobHasAStalenessAlert: each job of workflows.ScheduledJobs is matched by
// an alert on its last success time, so a schedule that stops succeeding is seen.
func TestEveryScheduledJobHasAStalenessAlert(t *testing.T) {
	exprs, err := Expressions()
	require.NoError(t, err)
	for _, job := range workflows.ScheduledJobs {
		var by []string
		for _, e := range exprs {
			if !strings.HasPrefix(e.Where, "alert ") {
				continue
			}
			for _, m := range Matchers(e, metrics.JobLastSuccess) {
				if m.Name == metrics.TagJob && m.Type != labels.MatchNotEqual && m.Type != labels.MatchNotRegexp && m.Matches(job.Name) {
					by = append(by, e.Where)
				}
			}
		}
		assert.Len(t, by, 1, "one staleness alert for scheduled job %s", job.Name)
	}
}
