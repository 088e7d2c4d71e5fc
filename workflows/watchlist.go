package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/entitybase/entitybase-workers/activities"
	"github.com/entitybase/entitybase-workers/internal/events"
	"github.com/entitybase/entitybase-workers/internal/kafkabridge"
)

// WatchlistInput starts a watchlist shard, or continues one with the state carried over.
type WatchlistInput struct {
	Topic string
	Shard int
	// HighWater is the highest offset applied per partition of Topic; an event at or below
	// it was applied before (Kafka redelivered it) and is dropped.
	HighWater map[int]int64 `json:",omitempty"`
	// Pending are batches received but not yet applied, drained from the signal channel
	// before continue-as-new so that none is lost.
	Pending []WatchlistBatch `json:",omitempty"`
	Stats   WatchlistStats
	// TaskQueue is the queue the bridge starts shards on (the stream queue), learned from
	// its batches: a shard started elsewhere (on the jobs queue, before the streams had
	// their own) continues-as-new there.
	TaskQueue string `json:",omitempty"`
	// BatchesPerRun bounds the steps (each one CreateNotifications for one or more queued
	// batches) before continue-as-new even if the server has not suggested it yet; 0 means
	// DefaultWatchlistBatchesPerRun.
	BatchesPerRun int `json:",omitempty"`
}

// WatchlistBatch is the payload of one SignalWatchlistEvents: events of one shard in the
// order the bridge read them (partition order preserved).
type WatchlistBatch struct {
	Events []kafkabridge.Event
	// TaskQueue is the stream queue of the bridge that sent the batch.
	TaskQueue string `json:",omitempty"`
}

// WatchlistStats are the shard's counters over all its runs.
type WatchlistStats struct {
	Batches       int64 // batches applied
	Events        int64 // events applied (passed to CreateNotifications)
	Duplicates    int64 // events dropped as redelivered
	Notifications int64 // rows inserted
	Runs          int64 // continue-as-new count
}

// WatchlistState answers QueryWatchlistState.
type WatchlistState struct {
	Topic     string
	Shard     int
	HighWater map[int]int64
	Pending   int
	Stats     WatchlistStats
}

// WatchlistResult is never returned in practice: the shard lives on through continue-as-new.
type WatchlistResult struct{}

// DefaultWatchlistBatchesPerRun keeps a run's history far below the 51 200-event limit even
// when the server's continue-as-new suggestion comes late: a batch costs about 10 events.
const DefaultWatchlistBatchesPerRun = 500

// maxEventsPerActivity bounds the events of queued batches merged into one
// CreateNotifications call, keeping its input far below the 2 MiB payload limit.
const maxEventsPerActivity = 1000

// WatchlistWorkflowID is the ID of a shard's workflow; the topic is part of it because the
// high-water offsets are positions in that topic.
func WatchlistWorkflowID(topic string, shard int) string {
	return fmt.Sprintf("watchlist-%s-shard-%d", topic, shard)
}

// WatchlistWorkflow applies the entity changes of one shard, batch by batch in arrival order
// (one CreateNotifications activity per batch, or per run of batches that queued up meanwhile),
// creating the watchers' notifications; it drops events Kafka delivered twice by their
// (partition, offset), and carries its state through continue-as-new.
func WatchlistWorkflow(ctx workflow.Context, in WatchlistInput) (WatchlistResult, error) {
	log := workflow.GetLogger(ctx)
	state := in
	if state.HighWater == nil {
		state.HighWater = map[int]int64{}
	}
	perRun := state.BatchesPerRun
	if perRun <= 0 {
		perRun = DefaultWatchlistBatchesPerRun
	}
	err := workflow.SetQueryHandler(ctx, QueryWatchlistState, func() (WatchlistState, error) {
		return WatchlistState{Topic: state.Topic, Shard: state.Shard, HighWater: state.HighWater,
			Pending: len(state.Pending), Stats: state.Stats}, nil
	})
	if err != nil {
		return WatchlistResult{}, fmt.Errorf("register query %s: %w", QueryWatchlistState, err)
	}
	signals := workflow.GetSignalChannel(ctx, SignalWatchlistEvents)
	// A local activity: one short, idempotent INSERT per step, run by the worker that runs the
	// workflow task, which saves the scheduling round trips of a regular activity (the
	// latency and throughput budget of the watchlist). A re-run after a worker crash is
	// harmless (INSERT IGNORE).
	actx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: time.Minute,
		// No attempt limit: a shard must not skip a batch because MySQL was down for a while.
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 30 * time.Second},
	})
	var a *activities.Notifications

	for applied := 0; ; applied++ {
		if applied >= perRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			// Drain what the server already delivered, or it is lost with this run.
			var b WatchlistBatch
			for signals.ReceiveAsync(&b) {
				state.Pending = append(state.Pending, b)
				b = WatchlistBatch{}
			}
			state.Stats.Runs++
			return WatchlistResult{}, workflow.NewContinueAsNewError(onQueue(ctx, state.TaskQueue), WatchlistWorkflow, state)
		}
		if len(state.Pending) == 0 {
			var b WatchlistBatch
			signals.Receive(ctx, &b)
			state.Pending = append(state.Pending, b)
		}
		// Batches that queued up while the last one was applied go into one activity: a
		// shard that falls behind catches up in fewer, larger steps instead of one
		// round trip per batch.
		for {
			var b WatchlistBatch
			if !signals.ReceiveAsync(&b) {
				break
			}
			state.Pending = append(state.Pending, b)
		}
		for _, b := range state.Pending {
			if b.TaskQueue != "" {
				state.TaskQueue = b.TaskQueue
			}
		}
		take, size := 1, len(state.Pending[0].Events)
		for take < len(state.Pending) && size+len(state.Pending[take].Events) <= maxEventsPerActivity {
			size += len(state.Pending[take].Events)
			take++
		}
		var batch []kafkabridge.Event
		for _, b := range state.Pending[:take] {
			batch = append(batch, b.Events...)
		}
		fresh, highWater := freshEvents(batch, state.HighWater)
		state.Stats.Duplicates += int64(len(batch) - len(fresh))
		if len(fresh) > 0 {
			changes := make([]events.EntityChange, len(fresh))
			for i, ev := range fresh {
				changes[i] = ev.Change
			}
			var out activities.CreateNotificationsResult
			err := workflow.ExecuteLocalActivity(actx, a.CreateNotifications, activities.CreateNotificationsInput{Changes: changes}).Get(ctx, &out)
			if err != nil && !isNonRetryable(err) {
				// MySQL has been failing for longer than the activity's retry window (its
				// StartToCloseTimeout, which bounds a local activity's retries too): wait and
				// apply the batch again, never skip it.
				log.Error("watchlist batch failed; trying again in a minute", "shard", state.Shard, "events", len(fresh), "error", err)
				if err := workflow.Sleep(ctx, time.Minute); err != nil {
					return WatchlistResult{}, err
				}
				continue
			}
			if err != nil {
				// Retrying the batch cannot help, and blocking the shard would stop every
				// later notification.
				log.Error("watchlist batch skipped", "shard", state.Shard, "events", len(fresh), "error", err)
			}
			state.Stats.Events += int64(len(fresh))
			state.Stats.Notifications += int64(out.Inserted)
		}
		state.HighWater = highWater
		state.Stats.Batches += int64(take)
		state.Pending = slices.Delete(state.Pending, 0, take)
	}
}

// freshEvents returns the events above the high-water offset of their partition and the
// high-water offsets after them; duplicates within the batch are dropped too.
func freshEvents(evs []kafkabridge.Event, highWater map[int]int64) ([]kafkabridge.Event, map[int]int64) {
	next := make(map[int]int64, len(highWater))
	for p, o := range highWater {
		next[p] = o
	}
	var fresh []kafkabridge.Event
	for _, ev := range evs {
		if hw, seen := next[ev.Partition]; seen && ev.Offset <= hw {
			continue
		}
		next[ev.Partition] = ev.Offset
		fresh = append(fresh, ev)
	}
	return fresh, next
}

// onQueue is ctx with the workflow's next run on queue; empty keeps the current one.
func onQueue(ctx workflow.Context, queue string) workflow.Context {
	if queue == "" || queue == workflow.GetInfo(ctx).TaskQueueName {
		return ctx
	}
	return workflow.WithWorkflowTaskQueue(ctx, queue)
}

// isNonRetryable says whether an activity failed with an error that retrying cannot fix.
func isNonRetryable(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.NonRetryable()
}
