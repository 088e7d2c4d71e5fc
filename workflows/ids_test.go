package workflows

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/entitybase/entitybase-workers/activities"
	"github.com/entitybase/entitybase-workers/internal/ids"
)

// fakeRanges hands out consecutive blocks of size like id_ranges would, remembering the
// claim keys it saw, and records hand-outs like id_handouts would, against a floor that
// writers raise before given record calls.
type fakeRanges struct {
	mu   sync.Mutex
	size int64
	next int64
	keys []string

	floor       int64
	floorBefore map[int]int64 // record call number (from 1) → floor a writer announced just before
	records     []activities.RecordHandOutInput
	handedOut   []ids.Run // recorded hand-outs, in order
}

func (f *fakeRanges) record(_ context.Context, in activities.RecordHandOutInput) (activities.RecordHandOutOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.records = append(f.records, in)
	f.floor = max(f.floor, f.floorBefore[len(f.records)])
	out := activities.RecordHandOutOutput{Floor: f.floor}
	for _, c := range in.Changes {
		recorded := !slices.ContainsFunc(c.HandOut, func(r ids.Run) bool { return r.Start <= f.floor })
		if recorded {
			f.handedOut = append(f.handedOut, c.HandOut...)
		}
		out.Recorded = append(out.Recorded, recorded)
	}
	return out, nil
}

func (f *fakeRanges) reserve(_ context.Context, in activities.ReserveIDRangeInput) (activities.ReserveIDRangeOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys = append(f.keys, in.ClaimKey)
	start := f.next
	f.next += f.size
	return activities.ReserveIDRangeOutput{Start: start, End: start + f.size - 1, Version: int64(len(f.keys))}, nil
}

func (f *fakeRanges) claimKeys() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.keys...)
}

// allocatorEnv is a test environment whose ID range activities are f's.
func allocatorEnv(f *fakeRanges) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.IDRanges
	env.RegisterActivity(a)
	env.OnActivity(a.ReserveIDRange, mock.Anything, mock.Anything).Return(f.reserve)
	env.OnActivity(a.RecordHandOut, mock.Anything, mock.Anything).Return(f.record)
	return env
}

type updateOutcome struct {
	rejected error
	result   ids.AllocateResult
	err      error
}

// runAllocator runs the allocator with the given requests, one per simulated second, and
// returns each request's outcome, the status queried after each one, and the workflow's error.
func runAllocator(t *testing.T, in IDAllocatorInput, f *fakeRanges, reqs []ids.AllocateRequest) ([]updateOutcome, []ids.Status, error) {
	t.Helper()
	env := allocatorEnv(f)
	outcomes := make([]updateOutcome, len(reqs))
	statuses := make([]ids.Status, len(reqs))
	for i, req := range reqs {
		env.RegisterDelayedCallback(func() {
			env.UpdateWorkflow(ids.AllocateUpdate, fmt.Sprintf("u%d", i), &testsuite.TestUpdateCallback{
				OnReject: func(err error) { outcomes[i].rejected = err },
				OnAccept: func() {},
				OnComplete: func(v any, err error) {
					outcomes[i].err = err
					if v != nil {
						outcomes[i].result = v.(ids.AllocateResult)
					}
				},
			}, req)
		}, time.Duration(i+1)*time.Second)
		env.RegisterDelayedCallback(func() {
			v, err := env.QueryWorkflow(ids.StatusQuery)
			require.NoError(t, err)
			require.NoError(t, v.Get(&statuses[i]))
		}, time.Duration(i+1)*time.Second+500*time.Millisecond)
	}
	env.ExecuteWorkflow(IDAllocatorWorkflow, in)
	require.True(t, env.IsWorkflowCompleted())
	return outcomes, statuses, env.GetWorkflowError()
}

func TestIDAllocatorValidatorRejectsBadRequests(t *testing.T) {
	f := &fakeRanges{size: 100, next: 1}
	reqs := []ids.AllocateRequest{
		{Count: 0},
		{Count: ids.MaxCount + 1},
		{Count: -5},
		{EntityType: "property", Count: 1},
		{EntityType: "sense", Count: 1},
		{Count: 1, Returns: []ids.LeaseReturn{{LeaseID: 1}}}, // returns need the holder
		{EntityType: "item", Count: 3},
	}
	out, statuses, err := runAllocator(t, IDAllocatorInput{EntityType: "Q", PrefetchAt: 0.8, ContinueAfterUpdates: 1}, f, reqs)
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, err, &can)
	wantRejections := []string{
		"count must be between 1 and 10000, got 0",
		"count must be between 1 and 10000, got 10001",
		"count must be between 1 and 10000, got -5",
		"this allocator serves item (Q) IDs, not property (P)",
		`unknown entity type "sense"`,
		"returning leases needs the holder",
	}
	for i, want := range wantRejections {
		require.ErrorContains(t, out[i].rejected, want, "request %d", i)
		// Nothing was allocated by a rejected request.
		require.Equal(t, int64(0), statuses[i].Allocated)
	}
	require.NoError(t, out[6].rejected)
	require.NoError(t, out[6].err)
	require.Equal(t, []ids.Run{{Start: 1, End: 3}}, out[6].result.Runs)
}

func TestIDAllocatorPrefetchesNextBlockAndServesInOrder(t *testing.T) {
	f := &fakeRanges{size: 10, next: 1}
	reqs := []ids.AllocateRequest{{Count: 7}, {Count: 1}, {Count: 2}, {Count: 5}, {Count: 25}}
	out, statuses, err := runAllocator(t, IDAllocatorInput{EntityType: "Q", PrefetchAt: 0.8, ContinueAfterUpdates: len(reqs)}, f, reqs)
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, err, &can)
	var got [][]ids.Run
	for _, o := range out {
		require.NoError(t, o.rejected)
		require.NoError(t, o.err)
		got = append(got, o.result.Runs)
	}
	run := func(s, e int64) []ids.Run { return []ids.Run{{Start: s, End: e}} }
	require.Equal(t, [][]ids.Run{run(1, 7), run(8, 8), run(9, 10), run(11, 15), run(16, 40)}, got)
	// 7 of 10 used: below 80 %, no second block yet.
	require.Empty(t, statuses[0].NextBlocks)
	// 8 of 10 used: the next block was claimed in the background, before anyone needed it.
	require.Equal(t, []ids.Block{{Start: 11, End: 20, Version: 2}}, statuses[1].NextBlocks)
	require.Equal(t, ids.Status{CurrentStart: 1, CurrentEnd: 10, NextID: 9, IDsUsed: 8, Utilization: 80}, ids.Status{
		CurrentStart: statuses[1].CurrentStart, CurrentEnd: statuses[1].CurrentEnd, NextID: statuses[1].NextID,
		IDsUsed: statuses[1].IDsUsed, Utilization: statuses[1].Utilization})
	// After 10 the allocator moved on to 11..20 without waiting.
	require.Equal(t, int64(11), statuses[2].CurrentStart)
	owner := "default-test-namespace/default-test-workflow-id/default-test-run-id"
	keys := f.claimKeys()
	require.Equal(t, owner+"#1", keys[0])
	for i, k := range keys {
		require.Equal(t, fmt.Sprintf("%s#%d", owner, i+1), k, "claim keys number the claims")
	}
}

func TestIDAllocatorContinueAsNewCarriesState(t *testing.T) {
	f := &fakeRanges{size: 100, next: 1}
	reqs := []ids.AllocateRequest{
		{Count: 10, Holder: "p1", LeaseTTL: time.Hour},
		{Count: 5},
		{Count: 90},
	}
	out, _, err := runAllocator(t, IDAllocatorInput{EntityType: "Q", PrefetchAt: 0.8, ContinueAfterUpdates: len(reqs)}, f, reqs)
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, err, &can)
	require.Equal(t, "IDAllocatorWorkflow", can.WorkflowType.Name)
	var next IDAllocatorInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.Equal(t, int64(1), out[0].result.LeaseID)
	require.Equal(t, []ids.Run{{Start: 16, End: 105}}, out[2].result.Runs, "adjacent blocks give one run")

	st := next.State
	require.NotNil(t, st)
	require.Equal(t, "default-test-namespace/default-test-workflow-id/default-test-run-id", st.Owner)
	require.Equal(t, int64(106), st.NextID)
	require.Equal(t, []ids.Block{{Start: 101, End: 200, Version: 2}}, st.Blocks)
	require.Equal(t, int64(2), st.ClaimSeq)
	require.Equal(t, int64(105), st.Allocated)
	require.Len(t, st.Leases, 1)
	require.Equal(t, ids.Lease{ID: 1, Holder: "p1", Runs: []ids.Run{{Start: 1, End: 10}}, Count: 10, State: ids.LeaseOpen,
		GrantedAt: st.Leases[0].GrantedAt, Expires: st.Leases[0].GrantedAt.Add(time.Hour)}, st.Leases[0])

	// The next run continues exactly there: p1 returns 6..10, which are served first from the
	// next request on (once their return is recorded), then 106 and on.
	reqs = []ids.AllocateRequest{
		{Count: 7, Holder: "p1", Returns: []ids.LeaseReturn{{LeaseID: 1, Unused: []ids.Run{{Start: 6, End: 10}}}}},
		{Count: 7},
	}
	next.ContinueAfterUpdates = len(reqs)
	out, _, err = runAllocator(t, next, f, reqs)
	require.ErrorAs(t, err, &can)
	require.NoError(t, out[0].err)
	require.Equal(t, []ids.Run{{Start: 106, End: 112}}, out[0].result.Runs)
	require.Equal(t, int64(2), out[0].result.LeaseID)
	require.NoError(t, out[1].err)
	require.Equal(t, []ids.Run{{Start: 6, End: 10}, {Start: 113, End: 114}}, out[1].result.Runs)
	require.Len(t, f.claimKeys(), 2, "no block claimed again after continue-as-new")
}

func TestIDAllocatorUnknownTypeFailsRequests(t *testing.T) {
	f := &fakeRanges{size: 10, next: 1}
	env := allocatorEnv(f)
	var rejected error
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(ids.AllocateUpdate, "u", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { rejected = err }, OnAccept: func() {}, OnComplete: func(any, error) {},
		}, ids.AllocateRequest{Count: 1})
	}, time.Second)
	env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, 2*time.Second)
	env.ExecuteWorkflow(IDAllocatorWorkflow, IDAllocatorInput{EntityType: "X"})
	require.ErrorContains(t, rejected, `unknown entity type "X"`)
	require.Empty(t, f.claimKeys(), "no block claimed for an unknown type")
	require.True(t, temporal.IsCanceledError(env.GetWorkflowError()), "%v", env.GetWorkflowError())
}

// A writer announced IDs up to 50 after the allocator served 1..5: the next request's first
// take (6..10) is not recorded, and it is served from above the floor. IDs a lease gives back
// are recorded as returned before they are served again.
func TestIDAllocatorSkipsPastTheFloorAndRecordsReturnsFirst(t *testing.T) {
	f := &fakeRanges{size: 100, next: 1, floorBefore: map[int]int64{2: 50}}
	reqs := []ids.AllocateRequest{
		{Count: 5},
		{Count: 5},
		{Count: 10, Holder: "p1"},
		{Holder: "p1", Returns: []ids.LeaseReturn{{LeaseID: 1, Unused: []ids.Run{{Start: 60, End: 65}}}}},
		{Count: 3},
	}
	out, statuses, err := runAllocator(t, IDAllocatorInput{EntityType: "Q", PrefetchAt: 0.8, ContinueAfterUpdates: len(reqs)}, f, reqs)
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, err, &can)
	for i, o := range out {
		require.NoError(t, o.rejected, "request %d", i)
		require.NoError(t, o.err, "request %d", i)
	}
	run := func(s, e int64) []ids.Run { return []ids.Run{{Start: s, End: e}} }
	require.Equal(t, run(1, 5), out[0].result.Runs)
	require.Equal(t, run(51, 55), out[1].result.Runs, "6..50 are at or below the floor")
	require.Equal(t, run(56, 65), out[2].result.Runs)
	require.Equal(t, run(60, 62), out[4].result.Runs, "the returned IDs are served first")

	require.Equal(t, []ids.Run{{Start: 1, End: 5}, {Start: 51, End: 55}, {Start: 56, End: 65}, {Start: 60, End: 62}}, f.handedOut)
	change := func(c activities.HandOutChange) activities.RecordHandOutInput {
		return activities.RecordHandOutInput{EntityType: "Q", Changes: []activities.HandOutChange{c}}
	}
	require.Equal(t, []activities.RecordHandOutInput{
		change(activities.HandOutChange{HandOut: run(1, 5)}),
		change(activities.HandOutChange{HandOut: run(6, 10)}),
		change(activities.HandOutChange{HandOut: run(51, 55)}),
		change(activities.HandOutChange{HandOut: run(56, 65)}),
		change(activities.HandOutChange{Returned: run(60, 65)}),
		change(activities.HandOutChange{HandOut: run(60, 62)}),
	}, f.records)

	require.Equal(t, int64(50), statuses[1].Floor)
	require.Equal(t, int64(45), statuses[1].SkippedIDs, "6..10 taken back and skipped, 11..50 skipped")
	require.Equal(t, int64(10), statuses[1].Allocated, "the take that was not recorded does not count")
	require.Equal(t, run(60, 65), statuses[3].Free)
	var next IDAllocatorInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.Equal(t, run(63, 65), next.State.Free)
	require.Equal(t, int64(50), next.State.Floor, "the floor carries over continue-as-new")
}

// Requests that take their IDs while a record is in flight are recorded together by the next
// one: one transaction, in the order they took their IDs.
func TestIDAllocatorRecordsConcurrentRequestsTogether(t *testing.T) {
	f := &fakeRanges{size: 100, next: 1}
	env := allocatorEnv(f)
	results := make([]ids.AllocateResult, 3)
	env.RegisterDelayedCallback(func() {
		for i := range results {
			env.UpdateWorkflow(ids.AllocateUpdate, fmt.Sprintf("u%d", i), &testsuite.TestUpdateCallback{
				OnReject: func(err error) { t.Errorf("request %d rejected: %v", i, err) },
				OnAccept: func() {},
				OnComplete: func(v any, err error) {
					require.NoError(t, err)
					results[i] = v.(ids.AllocateResult)
				},
			}, ids.AllocateRequest{Count: 2})
		}
	}, time.Second)
	env.ExecuteWorkflow(IDAllocatorWorkflow, IDAllocatorInput{EntityType: "Q", PrefetchAt: 0.8, ContinueAfterUpdates: 3})
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, env.GetWorkflowError(), &can)
	var got []ids.Run
	for _, r := range results {
		got = append(got, r.Runs...)
	}
	require.ElementsMatch(t, []ids.Run{{Start: 1, End: 2}, {Start: 3, End: 4}, {Start: 5, End: 6}}, got)
	require.Len(t, f.records, 2, "the first request alone, then the two that waited for it")
	require.Len(t, f.records[1].Changes, 2)
	require.Equal(t, []ids.Run{{Start: 1, End: 2}, {Start: 3, End: 4}, {Start: 5, End: 6}}, f.handedOut)
}
