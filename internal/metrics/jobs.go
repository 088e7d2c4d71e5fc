package metrics

import (
	"errors"
	"maps"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// JobInterceptor returns a worker interceptor that counts the runs of jobs: a workflow run
// whose search attribute attr names a job (other than the skipped ones: services that run
// without end, such as the ID allocators) records, when it returns, its outcome, duration and
// success time through workflow.GetMetricsHandler, which drops what a replay records. It
// adds no command, so histories replay unchanged. A run that continues as new is not counted:
// its successor is.
func JobInterceptor(attr temporal.SearchAttributeKeyKeyword, skip ...string) interceptor.WorkerInterceptor {
	skipped := map[string]bool{}
	for _, s := range skip {
		skipped[s] = true
	}
	return &jobInterceptor{attr: attr, skip: skipped}
}

type jobInterceptor struct {
	interceptor.WorkerInterceptorBase
	attr temporal.SearchAttributeKeyKeyword
	skip map[string]bool
}

func (j *jobInterceptor) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &jobRun{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, job: j}
}

type jobRun struct {
	interceptor.WorkflowInboundInterceptorBase
	job *jobInterceptor
}

func (r *jobRun) ExecuteWorkflow(ctx workflow.Context, in *interceptor.ExecuteWorkflowInput) (any, error) {
	out, err := r.Next.ExecuteWorkflow(ctx, in)
	name, ok := workflow.GetTypedSearchAttributes(ctx).GetKeyword(r.job.attr)
	if !ok || name == "" || r.job.skip[name] || workflow.IsContinueAsNewError(err) {
		return out, err
	}
	outcome := OutcomeSucceeded
	var canceled *temporal.CanceledError
	switch {
	case errors.As(err, &canceled):
		outcome = OutcomeCanceled
	case err != nil:
		outcome = OutcomeFailed
	}
	now := workflow.Now(ctx)
	h := workflow.GetMetricsHandler(ctx).WithTags(map[string]string{TagJob: name, TagOutcome: outcome})
	h.Counter(JobRuns).Inc(1)
	h.Timer(JobDuration).Record(now.Sub(workflow.GetInfo(ctx).WorkflowStartTime))
	if outcome == OutcomeSucceeded {
		h.Gauge(JobLastSuccess).Update(float64(now.UnixNano()) / float64(time.Second))
	}
	return out, err
}

// SDKHandler returns the SDK's metrics handler next with the job metrics of w routed to w:
// the job interceptor records them with the tags TagJob and TagOutcome, and they are served
// under their own names and labels (not the SDK's naming and sanitising, nor its tags). Every
// other metric goes to next.
func SDKHandler(next client.MetricsHandler, w *Work) client.MetricsHandler {
	return sdkHandler{next: next, w: w}
}

type sdkHandler struct {
	next client.MetricsHandler
	w    *Work
	tags map[string]string
}

func (h sdkHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := maps.Clone(h.tags)
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, tags)
	return sdkHandler{next: h.next.WithTags(tags), w: h.w, tags: merged}
}

func (h sdkHandler) Counter(name string) client.MetricsCounter {
	if name == JobRuns && h.w != nil {
		c := h.w.jobRuns.WithLabelValues(h.tags[TagJob], h.tags[TagOutcome])
		return counterFunc(func(n int64) { c.Add(float64(n)) })
	}
	return h.next.Counter(name)
}

func (h sdkHandler) Gauge(name string) client.MetricsGauge {
	if name == JobLastSuccess && h.w != nil {
		return gaugeFunc(h.w.jobLastSuccess.WithLabelValues(h.tags[TagJob]).Set)
	}
	return h.next.Gauge(name)
}

func (h sdkHandler) Timer(name string) client.MetricsTimer {
	if name == JobDuration && h.w != nil {
		o := h.w.jobDuration.WithLabelValues(h.tags[TagJob], h.tags[TagOutcome])
		return timerFunc(func(d time.Duration) { o.Observe(d.Seconds()) })
	}
	return h.next.Timer(name)
}

// Unwrap is the wrapped handler, as the SDK's handler wrappers expose it.
func (h sdkHandler) Unwrap() client.MetricsHandler { return h.next }

type counterFunc func(int64)

func (f counterFunc) Inc(n int64) { f(n) }

type gaugeFunc func(float64)

func (f gaugeFunc) Update(v float64) { f(v) }

type timerFunc func(time.Duration)

func (f timerFunc) Record(d time.Duration) { f(d) }
