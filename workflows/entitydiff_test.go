package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/entitybase/entitybase-workers/activities"
	"github.com/entitybase/entitybase-workers/internal/events"
	"github.com/entitybase/entitybase-workers/internal/permanent"
)

func change(rev int64) events.EntityChange {
	c := events.EntityChange{EntityID: "Q42", RevisionID: rev, FromRevisionID: rev - 1, ChangeType: events.ChangeEdit,
		ChangedAt: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	if rev == 1 {
		c.ChangeType = events.ChangeCreation
	}
	return c
}

// signalAt is one batch of revisions signalled after a delay from the start.
type signalAt struct {
	after time.Duration
	revs  []int64
}

// runEntityDiff runs the workflow with a fake publisher that records the published
// revisions in entity_diff_state's place, as the activity does.
func runEntityDiff(t *testing.T, in EntityDiffInput, stored int64, failing map[int64]bool, signals ...signalAt) ([]int64, *testsuite.TestWorkflowEnvironment) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.EntityDiffs
	env.OnActivity(a.EntityDiffState, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.EntityDiffStateInput) (activities.EntityDiffStateResult, error) {
			return activities.EntityDiffStateResult{RevisionID: stored}, nil
		})
	var published []int64
	env.OnActivity(a.PublishEntityDiff, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.PublishEntityDiffInput) (activities.PublishEntityDiffResult, error) {
			if failing[in.RevisionID] {
				return activities.PublishEntityDiffResult{}, permanent.Errorf(permanent.BadInput, "bad")
			}
			if in.RevisionID <= stored {
				return activities.PublishEntityDiffResult{AlreadyPublished: true, PublishedRevisionID: stored}, nil
			}
			stored = in.RevisionID
			published = append(published, in.RevisionID)
			return activities.PublishEntityDiffResult{PublishedRevisionID: in.RevisionID, Operation: events.RDFDiff}, nil
		})
	for _, sig := range signals {
		b := EntityDiffBatch{}
		for _, r := range sig.revs {
			b.Changes = append(b.Changes, change(r))
		}
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalEntityDiffChanges, b) }, sig.after)
	}
	env.ExecuteWorkflow(EntityDiffWorkflow, in)
	require.True(t, env.IsWorkflowCompleted())
	return published, env
}

func TestEntityDiffWorkflow(t *testing.T) {
	tests := []struct {
		name      string
		stored    int64
		failing   map[int64]bool
		signals   []signalAt
		want      []int64
		wantStats EntityDiffStats
	}{
		{
			name:    "in order, with redelivery",
			signals: []signalAt{{time.Second, []int64{1, 2}}, {2 * time.Second, []int64{2, 3}}, {3 * time.Second, []int64{1, 3}}},
			want:    []int64{1, 2, 3}, wantStats: EntityDiffStats{Published: 3, Duplicates: 3},
		},
		{
			name:   "a revision before its predecessor is held until the predecessor comes",
			stored: 1,
			// 3 arrives first; 2 comes within the hold window and is published before it.
			signals: []signalAt{{time.Second, []int64{3}}, {time.Second + 500*time.Millisecond, []int64{2}}},
			want:    []int64{2, 3}, wantStats: EntityDiffStats{Published: 2, Held: 1},
		},
		{
			name:   "a predecessor that never comes is covered by the next revision",
			stored: 1,
			// 3 waits out the hold window and is diffed against 1; 2 comes late and is dropped.
			signals: []signalAt{{time.Second, []int64{3}}, {10 * time.Second, []int64{2}}},
			want:    []int64{3}, wantStats: EntityDiffStats{Published: 1, Held: 1, Duplicates: 1},
		},
		{
			name:    "a new run drops what an earlier run published",
			stored:  5,
			signals: []signalAt{{time.Second, []int64{4, 5, 6}}},
			want:    []int64{6}, wantStats: EntityDiffStats{Published: 1, Duplicates: 2},
		},
		{
			name:    "a revision that cannot be rendered is skipped and the next diffed",
			failing: map[int64]bool{2: true},
			signals: []signalAt{{time.Second, []int64{1, 2, 3}}},
			want:    []int64{1, 3}, wantStats: EntityDiffStats{Published: 2, Failed: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, env := runEntityDiff(t, EntityDiffInput{EntityID: "Q42", IdleTimeout: 30 * time.Second}, tt.stored, tt.failing, tt.signals...)
			require.NoError(t, env.GetWorkflowError())
			require.Equal(t, tt.want, got)
			var res EntityDiffResult
			require.NoError(t, env.GetWorkflowResult(&res))
			require.Equal(t, tt.wantStats, res.Stats)
			require.Equal(t, tt.want[len(tt.want)-1], res.PublishedRevisionID)
		})
	}
}

func TestEntityDiffWorkflowContinuesAsNewWithPendingChanges(t *testing.T) {
	_, env := runEntityDiff(t, EntityDiffInput{EntityID: "Q42", ChangesPerRun: 2}, 0, nil,
		signalAt{time.Second, []int64{1, 2, 3, 4}})
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(env.GetWorkflowError(), &can))
	var next EntityDiffInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.True(t, next.Loaded)
	require.Equal(t, int64(2), next.PublishedRevisionID)
	require.Len(t, next.Pending, 2)
	require.Equal(t, int64(3), next.Pending[0].RevisionID)
	require.Equal(t, int64(1), next.Stats.Runs)
}
