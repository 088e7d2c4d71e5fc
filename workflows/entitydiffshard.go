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

// EntityDiffShardInput starts an entity-diff shard, or continues one with the state carried
// over.
type EntityDiffShardInput struct {
	// Topic is the entity_change topic the shard's bridge reads (part of the workflow ID).
	Topic string
	Shard int
	// Pending are changes received but not yet published, in arrival order, drained from
	// the signal channel before continue-as-new so that none is lost.
	Pending []ShardChange `json:",omitempty"`
	// Published is the last published revision of the entities with pending changes, as
	// far as this shard knows (entity_diff_state is the truth; this saves activities for
	// redelivered changes).
	Published map[string]int64 `json:",omitempty"`
	// HoldWindow is how long a change whose predecessor has not been published waits for
	// it before it is diffed against the last published revision anyway; 0 means
	// DefaultEntityDiffHoldWindow.
	HoldWindow time.Duration `json:",omitempty"`
	// StepsPerRun bounds the steps (a PublishEntityDiffs call or a wait) before
	// continue-as-new; 0 means DefaultEntityDiffStepsPerRun.
	StepsPerRun int `json:",omitempty"`
	// ChangesPerStep bounds the changes of one PublishEntityDiffs call; 0 means
	// DefaultEntityDiffChangesPerStep.
	ChangesPerStep int `json:",omitempty"`
	Stats          EntityDiffShardStats
}

// ShardChange is what a shard keeps of an entity_change event. Its short JSON names keep the
// signals, and the pending changes a run carries into the next, small: a shard behind a
// bulk import holds thousands.
type ShardChange struct {
	EntityID       string `json:"e"`
	RevisionID     int64  `json:"r"`
	FromRevisionID int64  `json:"f,omitempty"`
}

// ShardChangeOf is the ShardChange of an entity_change event.
func ShardChangeOf(c events.EntityChange) ShardChange {
	return ShardChange{EntityID: c.EntityID, RevisionID: c.RevisionID, FromRevisionID: c.FromRevisionID}
}

// EntityDiffShardBatch is the payload of one SignalEntityDiffShardChanges: changes of
// the shard's entities in the order the bridge read them (per entity, the partition order).
type EntityDiffShardBatch struct {
	Changes []ShardChange
}

// EntityDiffShardStats are the shard's counters over all its runs.
type EntityDiffShardStats struct {
	Changes    int64 // changes received
	Published  int64 // revisions whose rdf_change events this shard published
	Duplicates int64 // changes dropped as already published or already pending
	Failed     int64 // revisions that could not be rendered (see the workflow log)
	Held       int64 // times an entity waited for a missing predecessor
	Steps      int64 // PublishEntityDiffs calls
	Runs       int64 // continue-as-new count
}

// EntityDiffShardState answers QueryEntityDiffShardState.
type EntityDiffShardState struct {
	Topic    string
	Shard    int
	Pending  int
	Entities int // entities with pending changes
	Stats    EntityDiffShardStats
}

// EntityDiffShardResult is never returned in practice: the shard lives on through
// continue-as-new.
type EntityDiffShardResult struct{}

// Defaults of EntityDiffShardInput.
const (
	// DefaultEntityDiffStepsPerRun keeps a run's history small: a step costs about 6 events.
	DefaultEntityDiffStepsPerRun = 500
	// DefaultEntityDiffChangesPerStep keeps a step's input and result far below the 2 MiB
	// payload limit and its duration at a few seconds.
	DefaultEntityDiffChangesPerStep = 500
)

// EntityDiffShardWorkflowID is the ID of a shard's workflow; the topic is part of it so
// that two deployments reading different topics in one namespace do not share shards.
func EntityDiffShardWorkflowID(topic string, shard int) string {
	return fmt.Sprintf("entity-diff-%s-shard-%d", topic, shard)
}

// EntityDiffShardWorkflow publishes the RDF change of every revision of the entities of one
// shard (ENTITY_DIFF_SHARDS of them, kafkabridge.ShardOf): per entity in revision order,
// many entities per step. Each revision is diffed against the entity's last published one,
// so a revision that never arrives is covered by the next, and one that arrives after its
// successor was published is dropped. A change whose predecessor is missing waits up to
// HoldWindow for it. Redelivered changes are dropped by revision, here and against
// entity_diff_state in the activity. It replaces the per-entity EntityDiffWorkflow, whose
// open workflows grew with the entities changed.
func EntityDiffShardWorkflow(ctx workflow.Context, in EntityDiffShardInput) (EntityDiffShardResult, error) {
	log := workflow.GetLogger(ctx)
	state := in
	if state.Published == nil {
		state.Published = map[string]int64{}
	}
	hold := durationOr(state.HoldWindow, DefaultEntityDiffHoldWindow)
	perRun := state.StepsPerRun
	if perRun <= 0 {
		perRun = DefaultEntityDiffStepsPerRun
	}
	perStep := state.ChangesPerStep
	if perStep <= 0 {
		perStep = DefaultEntityDiffChangesPerStep
	}
	q := newShardQueue(state.Pending)
	err := workflow.SetQueryHandler(ctx, QueryEntityDiffShardState, func() (EntityDiffShardState, error) {
		return EntityDiffShardState{Topic: state.Topic, Shard: state.Shard, Pending: q.len(), Entities: len(q.order),
			Stats: state.Stats}, nil
	})
	if err != nil {
		return EntityDiffShardResult{}, fmt.Errorf("register query %s: %w", QueryEntityDiffShardState, err)
	}
	signals := workflow.GetSignalChannel(ctx, SignalEntityDiffShardChanges)
	// A local activity: run by the worker that runs the workflow task, which saves the
	// scheduling round trips of a regular activity (the latency budget of the stream).
	actx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		// No attempt limit: an entity must not skip a revision because Kafka or MySQL was
		// down for a while.
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 500 * time.Millisecond, MaximumInterval: 30 * time.Second},
	})
	var a *activities.EntityDiffs

	receive := func(b EntityDiffShardBatch) {
		state.Stats.Changes += int64(len(b.Changes))
		for _, c := range b.Changes {
			if c.RevisionID <= state.Published[c.EntityID] || !q.add(c) {
				state.Stats.Duplicates++
			}
		}
	}
	drain := func() {
		var b EntityDiffShardBatch
		for signals.ReceiveAsync(&b) {
			receive(b)
			b = EntityDiffShardBatch{}
		}
	}
	// waitFor waits for a signal, up to d if d > 0.
	waitFor := func(d time.Duration) {
		timerCtx, cancel := workflow.WithCancel(ctx)
		defer cancel()
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(signals, func(ch workflow.ReceiveChannel, _ bool) {
			var b EntityDiffShardBatch
			ch.Receive(ctx, &b)
			receive(b)
		})
		if d > 0 {
			sel.AddFuture(workflow.NewTimer(timerCtx, d), func(workflow.Future) {})
		}
		sel.Select(ctx)
	}

	for steps := 0; ; steps++ {
		drain()
		if steps >= perRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			state.Pending = q.changes()
			carried := map[string]int64{}
			for _, id := range q.order {
				if r, ok := state.Published[id]; ok {
					carried[id] = r
				}
			}
			state.Published = carried
			state.Stats.Runs++
			return EntityDiffShardResult{}, workflow.NewContinueAsNewError(ctx, EntityDiffShardWorkflow, state)
		}
		now := workflow.Now(ctx)
		batch, wake := q.ready(now, hold, perStep)
		if len(batch) == 0 {
			var d time.Duration
			if !wake.IsZero() {
				d = max(wake.Sub(now), time.Millisecond)
			}
			waitFor(d)
			continue
		}
		var out activities.PublishEntityDiffsResult
		if err := workflow.ExecuteLocalActivity(actx, a.PublishEntityDiffs, activities.PublishEntityDiffsInput{Entities: batch}).Get(ctx, &out); err != nil {
			// Kafka or MySQL has been failing for longer than the activity's retry window
			// (its StartToCloseTimeout, which bounds a local activity's retries too); what
			// cannot be fixed by retrying is reported per revision. The shard must neither
			// skip the changes nor fail, which would lose them all (the bridge has committed
			// their offsets): it logs and tries again.
			log.Error("entity diff: publishing failed; trying again in a minute", "shard", state.Shard, "error", err)
			if err := workflow.Sleep(ctx, time.Minute); err != nil {
				return EntityDiffShardResult{}, err
			}
			continue
		}
		state.Stats.Steps++
		for _, o := range out.Entities {
			state.Stats.Published += int64(o.Published)
			state.Stats.Duplicates += int64(o.Duplicates)
			state.Stats.Failed += int64(o.Failed)
			for _, s := range o.Skipped {
				log.Info("entity diff: revision skipped", "entity", o.EntityID, "revision", s)
			}
			if o.Held && q.hold(o.EntityID, now) {
				state.Stats.Held++
			}
			if !o.Held {
				q.release(o.EntityID)
			}
			done := max(o.DoneUpTo, o.PublishedRevisionID)
			if q.drop(o.EntityID, done) {
				state.Published[o.EntityID] = o.PublishedRevisionID
			} else {
				delete(state.Published, o.EntityID) // nothing pending: entity_diff_state has it
			}
		}
	}
}

// shardQueue holds a shard's pending changes per entity, entities in first-arrival order,
// each entity's changes in revision order. It is workflow state: deterministic, no map
// iteration.
type shardQueue struct {
	order   []string // entities with pending changes, oldest first
	pending map[string][]ShardChange
	// heldSince is when an entity's next change began waiting for its predecessor;
	// retry marks a held entity that received a change since (maybe the predecessor).
	heldSince map[string]time.Time
	retry     map[string]bool
}

func newShardQueue(changes []ShardChange) *shardQueue {
	q := &shardQueue{pending: map[string][]ShardChange{}, heldSince: map[string]time.Time{}, retry: map[string]bool{}}
	for _, c := range changes {
		q.add(c)
	}
	return q
}

// add queues c and reports whether it was new.
func (q *shardQueue) add(c ShardChange) bool {
	cs, ok := q.pending[c.EntityID]
	i, found := slices.BinarySearchFunc(cs, c.RevisionID, func(p ShardChange, r int64) int { return cmp.Compare(p.RevisionID, r) })
	if found {
		return false
	}
	if !ok {
		q.order = append(q.order, c.EntityID)
	}
	q.pending[c.EntityID] = slices.Insert(cs, i, c)
	if _, held := q.heldSince[c.EntityID]; held {
		q.retry[c.EntityID] = true
	}
	return true
}

// ready picks up to limit changes of the entities that can go now, whole entities in
// arrival order (an entity's changes are never split across concurrent calls: a shard has
// one call in flight). An entity whose predecessor has been missing for hold goes with
// NoWait. With nothing ready, wake is when the earliest held entity's window ends (zero:
// none is held).
func (q *shardQueue) ready(now time.Time, hold time.Duration, limit int) (batch []activities.EntityRevisions, wake time.Time) {
	n := 0
	for _, id := range q.order {
		e := activities.EntityRevisions{EntityID: id}
		if since, held := q.heldSince[id]; held && !q.retry[id] {
			until := since.Add(hold)
			if now.Before(until) {
				if wake.IsZero() || until.Before(wake) {
					wake = until
				}
				continue
			}
			e.NoWait = true
		}
		cs := q.pending[id]
		if n > 0 && n+len(cs) > limit {
			break
		}
		for _, c := range cs {
			e.Changes = append(e.Changes, activities.RevisionChange{RevisionID: c.RevisionID, FromRevisionID: c.FromRevisionID})
		}
		n += len(cs)
		batch = append(batch, e)
	}
	return batch, wake
}

// hold marks the entity held from now unless it already was; it reports whether it is new.
func (q *shardQueue) hold(id string, now time.Time) bool {
	delete(q.retry, id)
	if _, ok := q.heldSince[id]; ok {
		return false
	}
	q.heldSince[id] = now
	return true
}

func (q *shardQueue) release(id string) {
	delete(q.heldSince, id)
	delete(q.retry, id)
}

// drop removes the entity's changes at or below upTo and reports whether any remain.
func (q *shardQueue) drop(id string, upTo int64) bool {
	cs := slices.DeleteFunc(q.pending[id], func(c ShardChange) bool { return c.RevisionID <= upTo })
	if len(cs) > 0 {
		q.pending[id] = cs
		return true
	}
	delete(q.pending, id)
	q.release(id)
	q.order = slices.DeleteFunc(q.order, func(e string) bool { return e == id })
	return false
}

func (q *shardQueue) len() int {
	n := 0
	for _, id := range q.order {
		n += len(q.pending[id])
	}
	return n
}

// changes lists the pending changes, entity by entity in arrival order.
func (q *shardQueue) changes() []ShardChange {
	var out []ShardChange
	for _, id := range q.order {
		out = append(out, q.pending[id]...)
	}
	return out
}
