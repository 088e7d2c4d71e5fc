// Package schedules keeps the project's Temporal Schedules in line with the configuration:
// one schedule per job of workflows.ScheduledJobs (stats, notification cleanup, dumps),
// created or updated idempotently by `starter schedules apply` and shown by `starter
// schedules list`.
package schedules

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/entitybase/entitybase-workers/internal/config"
	"github.com/entitybase/entitybase-workers/workflows"
)

// Memo keys of the schedules' workflow action. The cron string is kept there because the
// server compiles cron expressions into calendars and does not describe them back; the
// *_ENABLED value apply last carried out is kept there so that apply can tell a changed
// setting from a pause or unpause by an operator.
const (
	memoJob     = "job"
	memoCron    = "cron"
	memoEnabled = "enabled"
)

// Options say where the schedules start their workflows and how they are named.
type Options struct {
	TaskQueue     string
	CatchupWindow time.Duration
	Schedules     map[string]config.Schedule // by job name
	// IDPrefix is put before every schedule ID (and its workflow IDs); tests sharing one
	// server use it to keep apart.
	IDPrefix string
}

// OptionsFrom takes the options from the configuration.
func OptionsFrom(cfg config.Config) Options {
	return Options{TaskQueue: cfg.TaskQueue, CatchupWindow: cfg.CatchupWindow, Schedules: cfg.Schedules}
}

// ScheduleID is the ID of job's schedule.
func (o Options) ScheduleID(job string) string { return o.IDPrefix + job }

// Outcome is what Apply did to one schedule.
type Outcome string

// Outcomes of Apply.
const (
	Created   Outcome = "created"
	Updated   Outcome = "updated"
	Unchanged Outcome = "unchanged"
)

// Applied is the result of Apply for one job.
type Applied struct {
	ID      string
	Job     string
	Cron    string
	Paused  bool // the schedule's state after apply
	Outcome Outcome
	Changes []string // what differed, for an update
	// Note says what apply did or left about the pause state when that is not simply what
	// *_ENABLED says, e.g. "paused by an operator, left paused (GENERAL_STATS_ENABLED unchanged)".
	Note string
}

// desired is the schedule a job should have.
type desired struct {
	job        workflows.ScheduledJob
	id         string
	cron       string
	enabled    bool
	enabledVar string // the job's *_ENABLED variable
	input      *commonpb.Payload
}

func (o Options) desired(j workflows.ScheduledJob) (desired, error) {
	s, ok := o.Schedules[j.Name]
	if !ok {
		return desired{}, fmt.Errorf("no schedule configured for job %s", j.Name)
	}
	if err := config.ValidateCron(s.Cron); err != nil {
		return desired{}, fmt.Errorf("schedule %s: %w", j.Name, err)
	}
	input, err := converter.GetDefaultDataConverter().ToPayload(j.Input)
	if err != nil {
		return desired{}, fmt.Errorf("encode the input of %s: %w", j.Name, err)
	}
	return desired{job: j, id: o.ScheduleID(j.Name), cron: s.Cron, enabled: s.Enabled, enabledVar: j.Env + "_ENABLED", input: input}, nil
}

func (o Options) action(d desired) *client.ScheduleWorkflowAction {
	return &client.ScheduleWorkflowAction{
		// The server appends the nominal time, so every run has its own ID.
		ID:        d.id,
		Workflow:  d.job.WorkflowType,
		Args:      []any{d.job.Input},
		TaskQueue: o.TaskQueue,
		Memo:      map[string]any{memoJob: d.job.Name, memoCron: d.cron, memoEnabled: d.enabled},
	}
}

func (o Options) policy() *client.SchedulePolicies {
	return &client.SchedulePolicies{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, CatchupWindow: o.CatchupWindow}
}

// Apply creates every job's schedule that does not exist and updates those that differ from
// the configuration (cron, workflow, input, task queue, overlap, catch-up window). A schedule
// that already matches is left alone, so applying twice changes nothing.
//
// The pause state follows *_ENABLED only when the setting changed since the last apply (or
// at creation): apply runs at every start, and the README sends operators to the Web UI and
// the temporal CLI to pause and unpause, so a pause of theirs must outlive restarts.
func Apply(ctx context.Context, c client.Client, o Options) ([]Applied, error) {
	if o.TaskQueue == "" {
		return nil, errors.New("schedules: no task queue (TEMPORAL_TASK_QUEUE)")
	}
	if o.CatchupWindow < config.MinCatchupWindow {
		return nil, fmt.Errorf("SCHEDULE_CATCHUP_WINDOW=%s: want at least %s", o.CatchupWindow, config.MinCatchupWindow)
	}
	// Check every job before touching any schedule, so a bad cron changes nothing.
	all := make([]desired, 0, len(workflows.ScheduledJobs))
	for _, j := range workflows.ScheduledJobs {
		d, err := o.desired(j)
		if err != nil {
			return nil, err
		}
		all = append(all, d)
	}
	var out []Applied
	for _, d := range all {
		a, err := o.apply(ctx, c, d)
		if err != nil {
			return out, err
		}
		out = append(out, a)
	}
	return out, nil
}

func (o Options) apply(ctx context.Context, c client.Client, d desired) (Applied, error) {
	a := Applied{ID: d.id, Job: d.job.Name, Cron: d.cron, Paused: !d.enabled}
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:            d.id,
		Spec:          client.ScheduleSpec{CronExpressions: []string{d.cron}},
		Action:        o.action(d),
		Overlap:       enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		CatchupWindow: o.CatchupWindow,
		Paused:        !d.enabled,
		Note:          d.job.Note,
		Memo:          map[string]any{memoJob: d.job.Name},
	})
	if err == nil {
		a.Outcome = Created
		return a, nil
	}
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return a, fmt.Errorf("create schedule %s: %w", d.id, err)
	}
	h := c.ScheduleClient().GetHandle(ctx, d.id)
	desc, err := h.Describe(ctx)
	if err != nil {
		return a, fmt.Errorf("describe schedule %s: %w", d.id, err)
	}
	p := decidePause(d, desc)
	a.Paused, a.Note = p.paused, p.note
	a.Changes = o.differences(d, desc)
	if len(a.Changes) == 0 {
		a.Outcome = Unchanged
		return a, nil
	}
	err = h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		s := in.Description.Schedule
		s.Spec = &client.ScheduleSpec{CronExpressions: []string{d.cron}}
		s.Action = o.action(d)
		s.Policy = o.policy()
		// The state is what the server holds now (an operator's pause and note included);
		// it changes, in the same update as the memo that records why, only with *_ENABLED.
		if p.set {
			if s.State == nil {
				s.State = &client.ScheduleState{}
			}
			s.State.Paused = p.paused
			s.State.Note = p.stateNote
		}
		return &client.ScheduleUpdate{Schedule: &s}, nil
	}})
	if err != nil {
		return a, fmt.Errorf("update schedule %s: %w", d.id, err)
	}
	a.Outcome = Updated
	return a, nil
}

// pauseDecision is what apply does to a schedule's pause state.
type pauseDecision struct {
	set       bool   // change the state to paused
	paused    bool   // the state after apply
	stateNote string // the schedule's note when set
	note      string // for Applied.Note
}

// decidePause compares *_ENABLED with the value the last apply recorded in the action's
// memo and the schedule's state. A schedule without a recorded value was last applied by a
// version that forced the state every time, so a state differing from the setting is an
// operator's and is kept too.
func decidePause(d desired, desc *client.ScheduleDescription) pauseDecision {
	paused := desc.Schedule.State != nil && desc.Schedule.State.Paused
	var last, recorded bool
	if act, ok := desc.Schedule.Action.(*client.ScheduleWorkflowAction); ok {
		last, recorded = memoBool(act.Memo[memoEnabled])
	}
	return pauseFor(d.enabledVar, d.enabled, paused, last, recorded)
}

func pauseFor(enabledVar string, enabled, paused, last, recorded bool) pauseDecision {
	want := !enabled
	changed := recorded && last != enabled
	switch {
	case changed && paused == want:
		return pauseDecision{paused: paused, note: fmt.Sprintf("%s changed to %t: already %s", enabledVar, enabled, stateWord(paused))}
	case changed:
		verb := "unpaused"
		if want {
			verb = "paused"
		}
		return pauseDecision{set: true, paused: want,
			stateNote: fmt.Sprintf("%s by schedules apply: %s=%t", verb, enabledVar, enabled),
			note:      fmt.Sprintf("%s changed to %t: %s", enabledVar, enabled, verb)}
	case paused == want:
		return pauseDecision{paused: paused}
	case paused:
		return pauseDecision{paused: true, note: fmt.Sprintf("paused by an operator, left paused (%s unchanged)", enabledVar)}
	default:
		return pauseDecision{note: fmt.Sprintf("running although %s=false: unpaused by an operator, left running (%s unchanged)", enabledVar, enabledVar)}
	}
}

func stateWord(paused bool) string {
	if paused {
		return "paused"
	}
	return "running"
}

// differences lists what of the described schedule differs from d.
func (o Options) differences(d desired, desc *client.ScheduleDescription) []string {
	var diffs []string
	act, ok := desc.Schedule.Action.(*client.ScheduleWorkflowAction)
	if !ok {
		return []string{"action is not a workflow start"}
	}
	if cron := memoString(act.Memo[memoCron]); cron != d.cron {
		diffs = append(diffs, fmt.Sprintf("cron %q → %q", cron, d.cron))
	}
	if wf, _ := act.Workflow.(string); wf != d.job.WorkflowType {
		diffs = append(diffs, fmt.Sprintf("workflow %q → %q", wf, d.job.WorkflowType))
	}
	if act.TaskQueue != o.TaskQueue {
		diffs = append(diffs, fmt.Sprintf("task queue %q → %q", act.TaskQueue, o.TaskQueue))
	}
	if act.ID != d.id {
		diffs = append(diffs, fmt.Sprintf("workflow id %q → %q", act.ID, d.id))
	}
	if len(act.Args) != 1 || !samePayload(act.Args[0], d.input) {
		diffs = append(diffs, "input")
	}
	if memoString(act.Memo[memoJob]) != d.job.Name {
		diffs = append(diffs, "memo")
	}
	if last, ok := memoBool(act.Memo[memoEnabled]); !ok {
		diffs = append(diffs, fmt.Sprintf("record %s=%t", d.enabledVar, d.enabled))
	} else if last != d.enabled {
		diffs = append(diffs, fmt.Sprintf("%s %t → %t", d.enabledVar, last, d.enabled))
	}
	if p := desc.Schedule.Policy; p == nil || p.Overlap != enumspb.SCHEDULE_OVERLAP_POLICY_SKIP {
		diffs = append(diffs, "overlap policy → Skip")
	} else if p.CatchupWindow != o.CatchupWindow {
		diffs = append(diffs, fmt.Sprintf("catch-up window %s → %s", p.CatchupWindow, o.CatchupWindow))
	}
	return diffs
}

func memoString(v any) string {
	var s string
	memoValue(v, &s)
	return s
}

// memoBool decodes a boolean memo value; ok is false when there is none.
func memoBool(v any) (b, ok bool) {
	ok = memoValue(v, &b)
	return b, ok
}

func memoValue(v, out any) bool {
	p, ok := v.(*commonpb.Payload)
	return ok && converter.GetDefaultDataConverter().FromPayload(p, out) == nil
}

func samePayload(v any, want *commonpb.Payload) bool {
	p, ok := v.(*commonpb.Payload)
	return ok && bytes.Equal(p.GetData(), want.GetData())
}

// Status is one schedule as `schedules list` shows it.
type Status struct {
	ID           string      `json:"id"`
	Job          string      `json:"job"`
	Exists       bool        `json:"exists"`
	Cron         string      `json:"cron,omitempty"`
	WorkflowType string      `json:"workflow_type,omitempty"`
	Paused       bool        `json:"paused"`
	NextRuns     []time.Time `json:"next_runs,omitempty"`
	Actions      int         `json:"actions"`
	SkippedRuns  int         `json:"skipped_overlap"`
	LastRun      *Run        `json:"last_run,omitempty"`
}

// Run is one workflow run of a job and how it ended.
type Run struct {
	WorkflowID   string     `json:"workflow_id"`
	RunID        string     `json:"run_id"`
	ScheduledFor *time.Time `json:"scheduled_for,omitempty"`
	Started      time.Time  `json:"started"`
	Closed       *time.Time `json:"closed,omitempty"`
	Status       string     `json:"status"` // Running, Completed, Failed, ...
	Result       any        `json:"result,omitempty"`
	Error        string     `json:"error,omitempty"`
}

// List describes every job's schedule: cron, paused state, the next run times from the
// server and the last run with its result.
func List(ctx context.Context, c client.Client, o Options) ([]Status, error) {
	var out []Status
	for _, j := range workflows.ScheduledJobs {
		st := Status{ID: o.ScheduleID(j.Name), Job: j.Name}
		desc, err := c.ScheduleClient().GetHandle(ctx, st.ID).Describe(ctx)
		if err != nil {
			var notFound *serviceerror.NotFound
			if errors.As(err, &notFound) {
				out = append(out, st)
				continue
			}
			return out, fmt.Errorf("describe schedule %s: %w", st.ID, err)
		}
		st.Exists = true
		if act, ok := desc.Schedule.Action.(*client.ScheduleWorkflowAction); ok {
			st.Cron = memoString(act.Memo[memoCron])
			st.WorkflowType, _ = act.Workflow.(string)
		}
		st.Paused = desc.Schedule.State != nil && desc.Schedule.State.Paused
		st.NextRuns = desc.Info.NextActionTimes
		st.Actions = desc.Info.NumActions
		st.SkippedRuns = desc.Info.NumActionsSkippedOverlap
		if n := len(desc.Info.RecentActions); n > 0 {
			last := desc.Info.RecentActions[n-1]
			if last.StartWorkflowResult != nil {
				run, err := describeRun(ctx, c, last.StartWorkflowResult.WorkflowID, last.StartWorkflowResult.FirstExecutionRunID)
				if err != nil {
					return out, err
				}
				scheduled := last.ScheduleTime.UTC()
				run.ScheduledFor = &scheduled
				st.LastRun = &run
			}
		}
		out = append(out, st)
	}
	return out, nil
}
