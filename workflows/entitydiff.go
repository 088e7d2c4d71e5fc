package workflows

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/entitybase/entitybase-workers/activities"
	"github.com/entitybase/entitybase-workers/internal/events"
)

// EntityDiffInput starts the entity-diff workflow of one entity, or continues it with the
// state carried over.
type EntityDiffInput struct {
	EntityID string
	// Loaded is true once PublishedRevisionID was read from entity_diff_state; a fresh run
	// (the previous one ended when the entity went idle) reads it first.
	Loaded              bool `json:",omitempty"`
	PublishedRevisionID int64
	// Pending are changes received but not yet published, in revision order, drained from
	// the signal channel before continue-as-new so that none is lost.
	Pending []events.EntityChange `json:",omitempty"`
	// HoldWindow is how long a change whose predecessor has not been published waits for
	// it before it is diffed against the last published revision anyway; 0 means
	// DefaultEntityDiffHoldWindow.
	HoldWindow time.Duration `json:",omitempty"`
	// IdleTimeout is how long a run with nothing to do waits for a change before it ends;
	// 0 means DefaultEntityDiffIdleTimeout.
	IdleTimeout time.Duration `json:",omitempty"`
	// ChangesPerRun bounds the revisions published before continue-as-new; 0 means
	// DefaultEntityDiffChangesPerRun.
	ChangesPerRun int `json:",omitempty"`
	Stats         EntityDiffStats
}

// EntityDiffBatch is the payload of one SignalEntityDiffChanges: changes of one entity.
type EntityDiffBatch struct {
	Changes []events.EntityChange
}

// EntityDiffStats are the entity's counters over the runs of one workflow execution chain.
type EntityDiffStats struct {
	Published  int64 // revisions whose rdf_change events this chain published
	Duplicates int64 // changes dropped as already published or already pending
	Covered    int64 // changes dropped because a later revision was published first
	Failed     int64 // revisions that could not be rendered (see the workflow log)
	Held       int64 // changes that waited for a missing predecessor
	Runs       int64 // continue-as-new count
}

// EntityDiffState answers QueryEntityDiffState.
type EntityDiffState struct {
	EntityID            string
	PublishedRevisionID int64
	Pending             []int64
	Stats               EntityDiffStats
}

// EntityDiffResult is what a run that went idle returns.
type EntityDiffResult struct {
	PublishedRevisionID int64
	Stats               EntityDiffStats
}

// Defaults of EntityDiffInput.
const (
	// DefaultEntityDiffHoldWindow is short: events of one entity share a Kafka partition and
	// arrive in order unless a producer reordered them.
	DefaultEntityDiffHoldWindow = 2 * time.Second
	// DefaultEntityDiffIdleTimeout keeps a busy entity's run alive between edits while
	// letting the millions of quiet entities hold no open workflow.
	DefaultEntityDiffIdleTimeout = time.Minute
	// DefaultEntityDiffChangesPerRun keeps a run's history small: a change costs about 10
	// events.
	DefaultEntityDiffChangesPerRun = 500
)

// EntityDiffWorkflowID is the ID of an entity's diff workflow: one per entity, so its
// changes are published one after the other, in revision order.
func EntityDiffWorkflowID(entityID string) string { return "entity-diff-" + entityID }

// EntityDiffWorkflow publishes the RDF change of every revision of one entity, in revision
// order: each revision is diffed against the last published one, so a revision that never
// arrives is covered by the next, and one that arrives after its successor was published
// is dropped. A change whose predecessor is missing waits up to HoldWindow for it.
// Redelivered changes are dropped by revision. The run ends when the entity has been idle
// for IdleTimeout; the last published revision lives on in entity_diff_state.
func EntityDiffWorkflow(ctx workflow.Context, in EntityDiffInput) (EntityDiffResult, error) {
	log := workflow.GetLogger(ctx)
	state := in
	hold := durationOr(state.HoldWindow, DefaultEntityDiffHoldWindow)
	idle := durationOr(state.IdleTimeout, DefaultEntityDiffIdleTimeout)
	perRun := state.ChangesPerRun
	if perRun <= 0 {
		perRun = DefaultEntityDiffChangesPerRun
	}
	err := workflow.SetQueryHandler(ctx, QueryEntityDiffState, func() (EntityDiffState, error) {
		s := EntityDiffState{EntityID: state.EntityID, PublishedRevisionID: state.PublishedRevisionID, Stats: state.Stats}
		for _, c := range state.Pending {
			s.Pending = append(s.Pending, c.RevisionID)
		}
		return s, nil
	})
	if err != nil {
		return EntityDiffResult{}, fmt.Errorf("register query %s: %w", QueryEntityDiffState, err)
	}
	signals := workflow.GetSignalChannel(ctx, SignalEntityDiffChanges)
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		// No attempt limit: an entity must not skip a revision because Kafka or MySQL was
		// down for a while.
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 500 * time.Millisecond, MaximumInterval: 30 * time.Second},
	})
	var a *activities.EntityDiffs

	if !state.Loaded {
		var st activities.EntityDiffStateResult
		if err := workflow.ExecuteActivity(actx, a.EntityDiffState, activities.EntityDiffStateInput{EntityID: state.EntityID}).Get(ctx, &st); err != nil {
			return EntityDiffResult{}, fmt.Errorf("read entity diff state of %s: %w", state.EntityID, err)
		}
		state.PublishedRevisionID, state.Loaded = st.RevisionID, true
	}
	receive := func(b EntityDiffBatch) {
		for _, c := range b.Changes {
			switch {
			case c.RevisionID <= state.PublishedRevisionID,
				slices.ContainsFunc(state.Pending, func(p events.EntityChange) bool { return p.RevisionID == c.RevisionID }):
				state.Stats.Duplicates++
			default:
				state.Pending = append(state.Pending, c)
			}
		}
		slices.SortFunc(state.Pending, func(x, y events.EntityChange) int { return cmp.Compare(x.RevisionID, y.RevisionID) })
	}
	drain := func() {
		var b EntityDiffBatch
		for signals.ReceiveAsync(&b) {
			receive(b)
			b = EntityDiffBatch{}
		}
	}
	// waitFor waits for a signal up to d and reports whether one came.
	waitFor := func(d time.Duration) bool {
		timerCtx, cancel := workflow.WithCancel(ctx)
		defer cancel()
		got := false
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(signals, func(ch workflow.ReceiveChannel, _ bool) {
			var b EntityDiffBatch
			ch.Receive(ctx, &b)
			receive(b)
			got = true
		})
		sel.AddFuture(workflow.NewTimer(timerCtx, d), func(workflow.Future) {})
		sel.Select(ctx)
		return got
	}

	var heldRevision int64
	var heldUntil time.Time
	// skippedUpTo is the latest revision skipped as unrenderable: its successor does not
	// wait for it.
	var skippedUpTo int64
	for published := 0; ; {
		drain()
		if published >= perRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			state.Stats.Runs++
			return EntityDiffResult{}, workflow.NewContinueAsNewError(ctx, EntityDiffWorkflow, state)
		}
		if len(state.Pending) == 0 {
			if !waitFor(idle) {
				drain()
				if len(state.Pending) == 0 {
					return EntityDiffResult{PublishedRevisionID: state.PublishedRevisionID, Stats: state.Stats}, nil
				}
			}
			continue
		}
		next := state.Pending[0]
		// The predecessor has not been published: give it a moment to arrive.
		if next.FromRevisionID > max(state.PublishedRevisionID, skippedUpTo) && state.PublishedRevisionID > 0 {
			now := workflow.Now(ctx)
			if heldRevision != next.RevisionID {
				heldRevision, heldUntil = next.RevisionID, now.Add(hold)
				state.Stats.Held++
			}
			if now.Before(heldUntil) {
				waitFor(heldUntil.Sub(now))
				continue
			}
		}
		var out activities.PublishEntityDiffResult
		err := workflow.ExecuteActivity(actx, a.PublishEntityDiff, activities.PublishEntityDiffInput{
			EntityID: state.EntityID, RevisionID: next.RevisionID,
		}).Get(ctx, &out)
		state.Pending = state.Pending[1:]
		if err != nil {
			if !isNonRetryable(err) {
				return EntityDiffResult{}, fmt.Errorf("publish rdf change of %s@%d: %w", state.EntityID, next.RevisionID, err)
			}
			// Only a revision that cannot be rendered gets here. Skipping it keeps the
			// stream consistent: the next revision is diffed against the last published.
			log.Info("entity diff: revision skipped", "entity", state.EntityID, "revision", next.RevisionID, "error", err)
			state.Stats.Failed++
			skippedUpTo = next.RevisionID
			continue
		}
		if !out.AlreadyPublished {
			state.Stats.Published++
		} else {
			state.Stats.Duplicates++
		}
		published++
		state.PublishedRevisionID = max(state.PublishedRevisionID, out.PublishedRevisionID)
		before := len(state.Pending)
		state.Pending = slices.DeleteFunc(state.Pending, func(c events.EntityChange) bool {
			return c.RevisionID <= state.PublishedRevisionID
		})
		state.Stats.Covered += int64(before - len(state.Pending))
	}
}

func durationOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
