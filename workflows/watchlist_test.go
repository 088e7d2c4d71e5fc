package workflows

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/entitybase/entitybase-workers/activities"
	"github.com/entitybase/entitybase-workers/internal/events"
	"github.com/entitybase/entitybase-workers/internal/kafkabridge"
)

func ev(partition int, offset int64, entity string, rev int64) kafkabridge.Event {
	return kafkabridge.Event{Partition: partition, Offset: offset, Change: events.EntityChange{
		EntityID: entity, RevisionID: rev, ChangeType: events.ChangeEdit,
		ChangedAt: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC), UserID: 7,
	}}
}

// revisions lists "entity@revision" of the changes, to compare calls compactly.
func revisions(cs []events.EntityChange) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = fmt.Sprintf("%s@%d", c.EntityID, c.RevisionID)
	}
	return out
}

// runShard runs a shard with the batches signalled in order and returns the changes each
// CreateNotifications call received and how the run ended.
func runShard(t *testing.T, in WatchlistInput, batches ...WatchlistBatch) ([][]string, *testsuite.TestWorkflowEnvironment) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Notifications
	var calls [][]string
	env.OnActivity(a.CreateNotifications, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CreateNotificationsInput) (activities.CreateNotificationsResult, error) {
			calls = append(calls, revisions(in.Changes))
			return activities.CreateNotificationsResult{Notifications: len(in.Changes), Inserted: len(in.Changes)}, nil
		})
	for i, b := range batches {
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalWatchlistEvents, b) }, time.Duration(i+1)*time.Second)
	}
	// The shard never ends by itself; the test ends it after the last batch.
	env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, time.Duration(len(batches)+1)*time.Second)
	env.ExecuteWorkflow(WatchlistWorkflow, in)
	require.True(t, env.IsWorkflowCompleted())
	return calls, env
}

func TestWatchlistWorkflowDropsRedeliveredEvents(t *testing.T) {
	tests := []struct {
		name    string
		in      WatchlistInput
		batches []WatchlistBatch
		want    [][]string
		dups    int64
		hw      map[int]int64
	}{
		{
			name: "redelivered batch after a bridge restart",
			batches: []WatchlistBatch{
				{Events: []kafkabridge.Event{ev(0, 10, "Q1", 1), ev(1, 4, "Q2", 1)}},
				{Events: []kafkabridge.Event{ev(0, 10, "Q1", 1), ev(1, 4, "Q2", 1), ev(0, 11, "Q1", 2)}},
			},
			want: [][]string{{"Q1@1", "Q2@1"}, {"Q1@2"}},
			dups: 2,
			hw:   map[int]int64{0: 11, 1: 4},
		},
		{
			name: "stale messages after a rebalance and duplicates inside one batch",
			batches: []WatchlistBatch{
				{Events: []kafkabridge.Event{ev(2, 100, "Q3", 5), ev(2, 101, "Q3", 6)}},
				{Events: []kafkabridge.Event{ev(2, 99, "Q3", 4), ev(2, 102, "Q3", 7), ev(2, 102, "Q3", 7)}},
			},
			want: [][]string{{"Q3@5", "Q3@6"}, {"Q3@7"}},
			dups: 2,
			hw:   map[int]int64{2: 102},
		},
		{
			name: "high-water offsets carried over from an earlier run",
			in:   WatchlistInput{HighWater: map[int]int64{0: 50}},
			batches: []WatchlistBatch{
				{Events: []kafkabridge.Event{ev(0, 50, "Q1", 1), ev(3, 0, "Q9", 1)}},
				{Events: []kafkabridge.Event{ev(0, 49, "Q1", 1)}},
			},
			want: [][]string{{"Q9@1"}},
			dups: 2,
			hw:   map[int]int64{0: 50, 3: 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.Topic, in.Shard = "t", 3
			calls, env := runShard(t, in, tt.batches...)
			require.Equal(t, tt.want, calls)
			res, err := env.QueryWorkflow(QueryWatchlistState)
			require.NoError(t, err)
			var st WatchlistState
			require.NoError(t, res.Get(&st))
			require.Equal(t, tt.hw, st.HighWater)
			require.Equal(t, tt.dups, st.Stats.Duplicates)
			require.Equal(t, int64(len(tt.batches)), st.Stats.Batches)
		})
	}
}

func TestWatchlistWorkflowContinuesAsNewWithDrainedSignalsAndState(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Notifications
	var calls [][]string
	env.OnActivity(a.CreateNotifications, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CreateNotificationsInput) (activities.CreateNotificationsResult, error) {
			calls = append(calls, revisions(in.Changes))
			return activities.CreateNotificationsResult{Inserted: 2 * len(in.Changes)}, nil
		}).After(time.Second) // signals arrive while the first batch is applied
	batches := []WatchlistBatch{
		{Events: []kafkabridge.Event{ev(0, 1, "Q1", 1)}},
		{Events: []kafkabridge.Event{ev(0, 2, "Q1", 2), ev(1, 1, "Q2", 1)}},
		{Events: []kafkabridge.Event{ev(0, 2, "Q1", 2), ev(0, 3, "Q1", 3)}},
		{Events: []kafkabridge.Event{ev(1, 2, "Q2", 2)}},
		{Events: []kafkabridge.Event{ev(1, 3, "Q2", 3)}},
	}
	// Batch 0 starts the first step (1 s); batches 1 and 2 queue up meanwhile and are
	// applied together in the second step (1 s to 2 s); batches 3 and 4 arrive during it
	// and are still in the signal channel when the run ends.
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalWatchlistEvents, batches[0]) }, time.Millisecond)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalWatchlistEvents, batches[1])
		env.SignalWorkflow(SignalWatchlistEvents, batches[2])
	}, 500*time.Millisecond)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalWatchlistEvents, batches[3])
		env.SignalWorkflow(SignalWatchlistEvents, batches[4])
	}, 1500*time.Millisecond)
	env.ExecuteWorkflow(WatchlistWorkflow, WatchlistInput{Topic: "t", Shard: 1, BatchesPerRun: 2,
		Stats: WatchlistStats{Runs: 4, Events: 10}})
	require.True(t, env.IsWorkflowCompleted())

	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(env.GetWorkflowError(), &can), "want continue-as-new, got %v", env.GetWorkflowError())
	require.Equal(t, [][]string{{"Q1@1"}, {"Q1@2", "Q2@1", "Q1@3"}}, calls)
	var next WatchlistInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.Equal(t, WatchlistInput{
		Topic: "t", Shard: 1, BatchesPerRun: 2,
		HighWater: map[int]int64{0: 3, 1: 1},
		// Both batches that were still in the signal channel are carried, in order.
		Pending: batches[3:],
		Stats:   WatchlistStats{Batches: 3, Events: 14, Duplicates: 1, Notifications: 8, Runs: 5},
	}, next)
}

func TestWatchlistWorkflowContinuesAsNewWhenTheServerSuggests(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetContinueAsNewSuggested(true)
	pending := []WatchlistBatch{{Events: []kafkabridge.Event{ev(0, 1, "Q1", 1)}}}
	env.ExecuteWorkflow(WatchlistWorkflow, WatchlistInput{Topic: "t", Pending: pending})
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(env.GetWorkflowError(), &can))
	var next WatchlistInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.Equal(t, pending, next.Pending, "unapplied batches survive the new run")
	require.Equal(t, int64(1), next.Stats.Runs)
}

// A shard started on the jobs queue (before the streams had their own) moves to the stream
// queue its bridge names at its next continue-as-new.
func TestWatchlistShardMovesToTheBridgesQueueAtContinueAsNew(t *testing.T) {
	for _, tc := range []struct{ batchQueue, want string }{
		{"jobs-streams", "jobs-streams"},
		{"", ""}, // a bridge of an older release names none: the shard stays
	} {
		var s testsuite.WorkflowTestSuite
		env := s.NewTestWorkflowEnvironment()
		var a *activities.Notifications
		env.OnActivity(a.CreateNotifications, mock.Anything, mock.Anything).Return(activities.CreateNotificationsResult{}, nil)
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(SignalWatchlistEvents, WatchlistBatch{Events: []kafkabridge.Event{ev(0, 1, "Q1", 1)}, TaskQueue: tc.batchQueue})
		}, time.Second)
		env.ExecuteWorkflow(WatchlistWorkflow, WatchlistInput{Topic: "t", BatchesPerRun: 1})
		var can *workflow.ContinueAsNewError
		require.True(t, errors.As(env.GetWorkflowError(), &can), "want continue-as-new, got %v", env.GetWorkflowError())
		if tc.want == "" {
			require.NotEqual(t, "jobs-streams", can.TaskQueueName)
		} else {
			require.Equal(t, tc.want, can.TaskQueueName)
		}
		var next WatchlistInput
		require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
		require.Equal(t, tc.batchQueue, next.TaskQueue)
	}
}

// TestWatchlistShardWaitsOutAnOutage: MySQL fails every CreateNotifications for ten minutes
// (far longer than one attempt's timeout): the batch is applied once MySQL is back, not
// skipped.
func TestWatchlistShardWaitsOutAnOutage(t *testing.T) {
	env, down := outageEnv()
	var a *activities.Notifications
	var calls [][]string
	env.OnActivity(a.CreateNotifications, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CreateNotificationsInput) (activities.CreateNotificationsResult, error) {
			if down() {
				return activities.CreateNotificationsResult{}, errors.New("mysql: connection refused")
			}
			calls = append(calls, revisions(in.Changes))
			return activities.CreateNotificationsResult{Notifications: len(in.Changes), Inserted: len(in.Changes)}, nil
		})
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalWatchlistEvents, WatchlistBatch{Events: []kafkabridge.Event{ev(0, 1, "Q1", 5)}})
	}, time.Second)
	env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, time.Hour)
	env.ExecuteWorkflow(WatchlistWorkflow, WatchlistInput{})
	require.True(t, env.IsWorkflowCompleted())
	require.Equal(t, [][]string{{"Q1@5"}}, calls)
	v, err := env.QueryWorkflow(QueryWatchlistState)
	require.NoError(t, err)
	var st WatchlistState
	require.NoError(t, v.Get(&st))
	require.Equal(t, int64(1), st.Stats.Notifications)
}
