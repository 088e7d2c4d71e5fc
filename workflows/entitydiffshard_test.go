package workflows

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/entitybase/entitybase-workers/activities"
	"github.com/entitybase/entitybase-workers/internal/permanent"
)

// sc is entity@rev made from rev-1.
func sc(entity string, rev int64) ShardChange {
	return ShardChange{EntityID: entity, RevisionID: rev, FromRevisionID: rev - 1}
}

// shardSignal is one batch signalled after a delay from the start.
type shardSignal struct {
	after   time.Duration
	changes []ShardChange
}

// fakeDiffs publishes in entity_diff_state's place, with the activity's own per-entity
// logic (activities.PublishInOrder).
type fakeDiffs struct {
	stored    map[string]int64
	failing   map[string]bool // entity@rev that cannot be rendered
	published []string        // entity@rev in publication order
	calls     [][]string      // entity ids per PublishEntityDiffs call
	noWait    []string        // entity@first-rev sent with NoWait
}

func (f *fakeDiffs) publish(_ context.Context, in activities.PublishEntityDiffsInput) (activities.PublishEntityDiffsResult, error) {
	var out activities.PublishEntityDiffsResult
	var ids []string
	for _, e := range in.Entities {
		ids = append(ids, e.EntityID)
		if e.NoWait {
			f.noWait = append(f.noWait, fmt.Sprintf("%s@%d", e.EntityID, e.Changes[0].RevisionID))
		}
		o, err := activities.PublishInOrder(e, f.stored[e.EntityID], func(rev int64) (activities.PublishEntityDiffResult, error) {
			key := fmt.Sprintf("%s@%d", e.EntityID, rev)
			if f.failing[key] {
				return activities.PublishEntityDiffResult{}, permanent.Errorf(permanent.BadInput, "bad")
			}
			if rev <= f.stored[e.EntityID] {
				return activities.PublishEntityDiffResult{AlreadyPublished: true, PublishedRevisionID: f.stored[e.EntityID]}, nil
			}
			f.stored[e.EntityID] = rev
			f.published = append(f.published, key)
			return activities.PublishEntityDiffResult{PublishedRevisionID: rev}, nil
		})
		if err != nil {
			return out, err
		}
		out.Entities = append(out.Entities, o)
	}
	f.calls = append(f.calls, ids)
	return out, nil
}

func runShardDiff(t *testing.T, in EntityDiffShardInput, f *fakeDiffs, end time.Duration, signals ...shardSignal) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.EntityDiffs
	env.OnActivity(a.PublishEntityDiffs, mock.Anything, mock.Anything).Return(f.publish)
	for _, sig := range signals {
		b := EntityDiffShardBatch{Changes: sig.changes}
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalEntityDiffShardChanges, b) }, sig.after)
	}
	if end > 0 {
		env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, end)
	}
	env.ExecuteWorkflow(EntityDiffShardWorkflow, in)
	require.True(t, env.IsWorkflowCompleted())
	return env
}

func shardState(t *testing.T, env *testsuite.TestWorkflowEnvironment) EntityDiffShardState {
	t.Helper()
	v, err := env.QueryWorkflow(QueryEntityDiffShardState)
	require.NoError(t, err)
	var st EntityDiffShardState
	require.NoError(t, v.Get(&st))
	return st
}

func TestEntityDiffShardPublishesEachEntityInRevisionOrderInBatches(t *testing.T) {
	f := &fakeDiffs{stored: map[string]int64{"Q1": 1}, failing: map[string]bool{"P5@2": true}}
	var stats EntityDiffShardStats
	env := runShardDiff(t, EntityDiffShardInput{Topic: "t"}, f, time.Minute,
		// Q1@3 before its predecessor in the same batch; Q1@1 was published before; P5@2
		// cannot be rendered.
		shardSignal{time.Second, []ShardChange{sc("Q1", 3), sc("Q2", 1), sc("Q1", 2), sc("Q1", 1), sc("P5", 1), sc("P5", 2), sc("P5", 3)}},
		// Redelivered.
		shardSignal{10 * time.Second, []ShardChange{sc("Q1", 3), sc("Q2", 1), sc("Q2", 2)}},
	)
	require.Equal(t, []string{"Q1@2", "Q1@3", "Q2@1", "P5@1", "P5@3", "Q2@2"}, f.published)
	// One call per batch of entities. The shard keeps no published revision of an entity
	// with nothing pending (that would grow with the entities), so the redelivered Q1@3 is
	// dropped against entity_diff_state, in the activity.
	require.Equal(t, [][]string{{"Q1", "Q2", "P5"}, {"Q1", "Q2"}}, f.calls)
	stats = shardState(t, env).Stats
	require.Equal(t, EntityDiffShardStats{Changes: 10, Published: 6, Duplicates: 3, Failed: 1, Steps: 2}, stats)
	require.Zero(t, shardState(t, env).Pending)
}

func TestEntityDiffShardHoldsAChangeWhosePredecessorIsMissing(t *testing.T) {
	t.Run("the predecessor arrives within the window", func(t *testing.T) {
		f := &fakeDiffs{stored: map[string]int64{"Q1": 1}}
		env := runShardDiff(t, EntityDiffShardInput{Topic: "t"}, f, time.Minute,
			shardSignal{time.Second, []ShardChange{sc("Q1", 3), sc("Q9", 1)}},
			shardSignal{time.Second + 500*time.Millisecond, []ShardChange{sc("Q1", 2)}},
		)
		require.Equal(t, []string{"Q9@1", "Q1@2", "Q1@3"}, f.published, "Q9 does not wait for Q1")
		require.Empty(t, f.noWait)
		require.Equal(t, int64(1), shardState(t, env).Stats.Held)
	})
	t.Run("the predecessor never arrives", func(t *testing.T) {
		f := &fakeDiffs{stored: map[string]int64{"Q1": 1}}
		env := runShardDiff(t, EntityDiffShardInput{Topic: "t", HoldWindow: 5 * time.Second}, f, time.Minute,
			shardSignal{time.Second, []ShardChange{sc("Q1", 3)}},
			// An unrelated later change of the same entity does not restart the window.
			shardSignal{3 * time.Second, []ShardChange{sc("Q1", 4)}},
		)
		require.Equal(t, []string{"Q1@3", "Q1@4"}, f.published, "diffed against the last published revision")
		require.Equal(t, []string{"Q1@3"}, f.noWait)
		require.Equal(t, int64(1), shardState(t, env).Stats.Held)
	})
}

func TestEntityDiffShardContinuesAsNewWithItsPendingChanges(t *testing.T) {
	f := &fakeDiffs{stored: map[string]int64{"Q1": 1}}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.EntityDiffs
	env.OnActivity(a.PublishEntityDiffs, mock.Anything, mock.Anything).Return(f.publish)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalEntityDiffShardChanges, EntityDiffShardBatch{Changes: []ShardChange{sc("Q2", 1), sc("Q1", 3)}})
	}, time.Second)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalEntityDiffShardChanges, EntityDiffShardBatch{Changes: []ShardChange{sc("Q3", 1)}})
	}, 1500*time.Millisecond)
	// Step 1 waits for the first batch, step 2 publishes Q2 and holds Q1@3; the run ends
	// with Q1@3 held and Q3@1 received.
	env.ExecuteWorkflow(EntityDiffShardWorkflow, EntityDiffShardInput{Topic: "t", Shard: 3, StepsPerRun: 3, Stats: EntityDiffShardStats{Runs: 2}})
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(env.GetWorkflowError(), &can), "want continue-as-new, got %v", env.GetWorkflowError())
	var next EntityDiffShardInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.Equal(t, []string{"Q2@1"}, f.published)
	require.Equal(t, "t", next.Topic)
	require.Equal(t, 3, next.Shard)
	require.Equal(t, 3, next.StepsPerRun)
	require.Equal(t, []ShardChange{sc("Q1", 3), sc("Q3", 1)}, next.Pending)
	require.Equal(t, map[string]int64{"Q1": 1}, next.Published, "only the entities with pending changes are carried")
	require.Equal(t, int64(3), next.Stats.Runs)
	require.Equal(t, int64(3), next.Stats.Changes)
}

// TestEntityDiffShardWaitsOutAnOutage: Kafka or MySQL fails every publish for ten minutes
// (far longer than one attempt's timeout): the shard keeps its changes, publishes them once
// the outage ends, and does not fail. A shard that failed lost its pending changes, whose
// Kafka offsets the bridge had committed.
func TestEntityDiffShardWaitsOutAnOutage(t *testing.T) {
	f := &fakeDiffs{stored: map[string]int64{}}
	env, down := outageEnv()
	var a *activities.EntityDiffs
	failures := 0
	env.OnActivity(a.PublishEntityDiffs, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.PublishEntityDiffsInput) (activities.PublishEntityDiffsResult, error) {
			if down() {
				failures++
				return activities.PublishEntityDiffsResult{}, errors.New("kafka: broker unreachable")
			}
			return f.publish(ctx, in)
		})
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalEntityDiffShardChanges, EntityDiffShardBatch{Changes: []ShardChange{sc("Q1", 1), sc("Q2", 1)}})
	}, time.Second)
	env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, time.Hour)
	env.ExecuteWorkflow(EntityDiffShardWorkflow, EntityDiffShardInput{Topic: "t"})
	require.True(t, env.IsWorkflowCompleted())
	// The test ends the shard (which never ends by itself); it did not fail of the outage.
	require.NotContains(t, fmt.Sprint(env.GetWorkflowError()), "broker unreachable")
	require.Greater(t, failures, 5)
	require.Equal(t, []string{"Q1@1", "Q2@1"}, f.published)
	require.Zero(t, shardState(t, env).Pending)
}

// outageEnv is a workflow test environment for a shard whose activities fail for the first
// ten minutes (of workflow time) after their first call: down says whether the outage
// lasts. Retries whose backoff is within the workflow task timeout wait in real time, so
// that timeout is short.
func outageEnv() (*testsuite.TestWorkflowEnvironment, func() bool) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{WorkflowTaskTimeout: time.Second})
	env.SetTestTimeout(time.Minute)
	var start time.Time
	return env, func() bool {
		if start.IsZero() {
			start = env.Now()
		}
		return env.Now().Sub(start) < 10*time.Minute
	}
}
