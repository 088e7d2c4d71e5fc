package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/entitybase/entitybase-workers/internal/temporalx"
)

// followEvery is how often --wait looks at the run.
const followEvery = time.Second

// quietEvery is the least time between two progress lines when the output is not a terminal
// (a pipe, a log file): an hour-long job writes a few hundred lines, not thousands.
const quietEvery = 10 * time.Second

// progressReport is one state of a job as --wait shows it.
type progressReport struct {
	counts string // what the job has done; a line is printed only when it changes
	speed  string // rate and ETA, printed after counts but no change of their own
}

func (r progressReport) line() string {
	if r.speed == "" {
		return r.counts
	}
	return r.counts + "  " + r.speed
}

// jobProgress reports a job's progress, given the latest description of its run (whose
// pending activities heartbeat what the chunks in flight have done so far); ok is false
// while there is nothing to show yet.
type jobProgress func(desc *workflowservice.DescribeWorkflowExecutionResponse) (r progressReport, ok bool)

// follow waits for run's result into result, showing its progress once a second, unless an
// activity of the run retries after a failure: then it prints that failure, once for each
// attempt, instead of a progress line that stands still.
func follow(ctx context.Context, e *env, c temporalx.Describer, run client.WorkflowRun, result any, progress jobProgress) error {
	done := make(chan error, 1)
	go func() { done <- run.Get(ctx, result) }()
	tick := time.NewTicker(followEvery)
	defer tick.Stop()
	line := &progressLine{w: e.out, tty: e.tty}
	defer line.end()
	var retrying string
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			desc, err := c.DescribeWorkflowExecution(ctx, run.GetID(), "")
			if err != nil {
				continue // the next tick asks again; run.Get reports what is final
			}
			msg := temporalx.Retrying(desc)
			switch {
			case msg != "":
				if msg != retrying {
					line.note(msg)
				}
			case progress != nil:
				if r, ok := progress(desc); ok {
					line.show(time.Now(), r)
				}
			}
			retrying = msg
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// progressLine prints a job's progress: on a terminal one line redrawn in place, ended when
// the job ends; elsewhere a line when the counts changed, at most every quietEvery.
type progressLine struct {
	w       io.Writer
	tty     bool
	shown   string    // counts last printed
	shownAt time.Time // when they were printed
	drawn   bool      // a line is drawn on the terminal and not yet ended
}

// clearLine returns the cursor to the start of the line and erases the line (ANSI EL).
const clearLine = "\r\x1b[K"

func (p *progressLine) show(now time.Time, r progressReport) {
	if p.tty {
		fmt.Fprint(p.w, clearLine+r.line())
		p.drawn = true
		return
	}
	if r.counts == p.shown || (!p.shownAt.IsZero() && now.Sub(p.shownAt) < quietEvery) {
		return
	}
	fmt.Fprintln(p.w, r.line())
	p.shown, p.shownAt = r.counts, now
}

// note prints msg on a line of its own; on a terminal the next show draws below it.
func (p *progressLine) note(msg string) {
	if p.drawn {
		fmt.Fprint(p.w, clearLine)
		p.drawn = false
	}
	fmt.Fprintln(p.w, msg)
}

// end leaves the last line drawn on a terminal as the final one.
func (p *progressLine) end() {
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

// heartbeats decodes the latest heartbeat of every pending activity of type activityType into
// a T each; activities that have not heartbeated yet are left out.
func heartbeats[T any](desc *workflowservice.DescribeWorkflowExecutionResponse, activityType string) []T {
	var out []T
	for _, a := range desc.GetPendingActivities() {
		if a.GetActivityType().GetName() != activityType || a.GetHeartbeatDetails() == nil {
			continue
		}
		var v T
		if converter.GetDefaultDataConverter().FromPayloads(a.GetHeartbeatDetails(), &v) == nil {
			out = append(out, v)
		}
	}
	return out
}

// formatETA is a remaining duration for a progress line, "?" while unknown (negative).
func formatETA(d time.Duration) string {
	if d < 0 {
		return "?"
	}
	return d.Round(time.Second).String()
}

// jobFailed is the error of a job that follow saw fail: the cause in one line and the
// workflow to look at.
func jobFailed(job, workflowID string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("stopped waiting for %s; it goes on as workflow %s", job, workflowID)
	}
	if errors.As(err, new(*temporal.CanceledError)) {
		return fmt.Errorf("%s was canceled (workflow %s)", job, workflowID)
	}
	return fmt.Errorf("%s failed: %s (workflow %s)", job, temporalx.FailureMessage(err), workflowID)
}

// rateMeter measures a job's speed from what this command has seen of it, since the first
// report (--wait may attach to a job that has been running for hours).
type rateMeter struct {
	key   string // what is counted; another key starts over
	since time.Time
	from  int64
}

// perSecond is how fast n grew since the first call with this key.
func (m *rateMeter) perSecond(now time.Time, key string, n int64) float64 {
	if m.since.IsZero() || key != m.key || n < m.from {
		m.key, m.since, m.from = key, now, n
		return 0
	}
	elapsed := now.Sub(m.since).Seconds()
	if elapsed <= 0 {
		return 0
	}
	return float64(n-m.from) / elapsed
}

// eta is the time left to count from n to total at rate per second; negative while unknown.
func eta(rate float64, n, total int64) time.Duration {
	if n >= total {
		return 0
	}
	if rate <= 0 {
		return -1
	}
	return time.Duration(float64(total-n) / rate * float64(time.Second))
}
