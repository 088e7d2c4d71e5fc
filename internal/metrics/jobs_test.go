package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

var jobAttr = temporal.NewSearchAttributeKeyKeyword("EntitybaseJob")

// sdkCounts is a stand-in for the SDK's own handler: what reached it, by name.
type sdkCounts struct {
	client.MetricsHandler
	names *[]string
}

func (s sdkCounts) WithTags(map[string]string) client.MetricsHandler { return s }
func (s sdkCounts) Counter(name string) client.MetricsCounter {
	*s.names = append(*s.names, name)
	return client.MetricsNopHandler.Counter(name)
}
func (s sdkCounts) Timer(name string) client.MetricsTimer {
	*s.names = append(*s.names, name)
	return client.MetricsNopHandler.Timer(name)
}
func (s sdkCounts) Gauge(name string) client.MetricsGauge {
	*s.names = append(*s.names, name)
	return client.MetricsNopHandler.Gauge(name)
}

// runJob runs a workflow that marks itself as job, waits an hour of workflow time and ends
// with err, under the job interceptor, and returns the metrics and the names the SDK's own
// handler received.
func runJob(t *testing.T, job string, err error) (*Work, []string) {
	t.Helper()
	w, e := New(prometheus.NewRegistry())
	require.NoError(t, e)
	var sdkNames []string
	var s testsuite.WorkflowTestSuite
	s.SetMetricsHandler(SDKHandler(sdkCounts{names: &sdkNames}, w))
	env := s.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{JobInterceptor(jobAttr, "id-allocator")}})
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		if job != "" {
			if err := workflow.UpsertTypedSearchAttributes(ctx, jobAttr.ValueSet(job)); err != nil {
				return err
			}
		}
		if err := workflow.Sleep(ctx, time.Hour); err != nil {
			return err
		}
		return err
	}, workflow.RegisterOptions{Name: "JobWorkflow"})
	env.ExecuteWorkflow("JobWorkflow")
	require.True(t, env.IsWorkflowCompleted())
	return w, sdkNames
}

func TestJobInterceptorRecordsASuccess(t *testing.T) {
	before := time.Now()
	w, sdkNames := runJob(t, "general-stats", nil)
	// One series, and its label value is the job's name as it is, not sanitised as the SDK's
	// tally scope does.
	assert.Equal(t, 1, testutil.CollectAndCount(w.jobRuns))
	assert.Equal(t, 1.0, testutil.ToFloat64(w.jobRuns.WithLabelValues("general-stats", OutcomeSucceeded)))
	last := testutil.ToFloat64(w.jobLastSuccess.WithLabelValues("general-stats"))
	// The test environment's clock starts at the real time and the run slept an hour of it.
	assert.InDelta(t, float64(before.Add(time.Hour).Unix()), last, 120)
	assertDuration(t, w, "general-stats", OutcomeSucceeded, time.Hour)
	assert.NotContains(t, sdkNames, JobRuns, "the job metrics must not reach the SDK's handler")
}

func TestJobInterceptorRecordsAFailureWithoutSuccessTime(t *testing.T) {
	w, _ := runJob(t, "json-dump", temporal.NewNonRetryableApplicationError("disk full", "test", nil))
	assert.Equal(t, 1.0, testutil.ToFloat64(w.jobRuns.WithLabelValues("json-dump", OutcomeFailed)))
	assert.Equal(t, 0, testutil.CollectAndCount(w.jobLastSuccess), "a failure sets no success time")
	assertDuration(t, w, "json-dump", OutcomeFailed, time.Hour)
}

func TestJobInterceptorSkipsServicesAndUnmarkedRuns(t *testing.T) {
	for _, job := range []string{"id-allocator", ""} {
		w, _ := runJob(t, job, nil)
		assert.Equal(t, 0, testutil.CollectAndCount(w.jobRuns), "job %q", job)
		assert.Equal(t, 0, testutil.CollectAndCount(w.jobDuration), "job %q", job)
	}
}

func TestJobOutcomeOfACanceledRun(t *testing.T) {
	w, _ := runJob(t, "import", temporal.NewCanceledError())
	assert.Equal(t, 1.0, testutil.ToFloat64(w.jobRuns.WithLabelValues("import", OutcomeCanceled)))
}

// assertDuration checks that the job's duration histogram holds one observation of d.
func assertDuration(t *testing.T, w *Work, job, outcome string, d time.Duration) {
	t.Helper()
	var m dto.Metric
	require.NoError(t, w.jobDuration.WithLabelValues(job, outcome).(prometheus.Metric).Write(&m))
	assert.Equal(t, uint64(1), m.GetHistogram().GetSampleCount())
	assert.InDelta(t, d.Seconds(), m.GetHistogram().GetSampleSum(), 1)
}

func TestSDKHandlerPassesOtherMetricsOn(t *testing.T) {
	w, err := New(prometheus.NewRegistry())
	require.NoError(t, err)
	var names []string
	h := SDKHandler(sdkCounts{names: &names}, w).WithTags(map[string]string{TagJob: "user-stats", TagOutcome: OutcomeSucceeded})
	h.Counter("temporal_request").Inc(1)
	h.Timer("temporal_request_latency").Record(time.Second)
	h.Gauge("temporal_worker_task_slots_available").Update(3)
	h.Counter(JobRuns).Inc(2)
	h.WithTags(map[string]string{"namespace": "default"}).Gauge(JobLastSuccess).Update(1700000000)
	assert.Equal(t, []string{"temporal_request", "temporal_request_latency", "temporal_worker_task_slots_available"}, names)
	assert.Equal(t, 2.0, testutil.ToFloat64(w.jobRuns.WithLabelValues("user-stats", OutcomeSucceeded)))
	assert.Equal(t, 1700000000.0, testutil.ToFloat64(w.jobLastSuccess.WithLabelValues("user-stats")))
}
