package ids

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

func TestParseEntityType(t *testing.T) {
	cases := []struct {
		in, want, err string
	}{
		{in: "item", want: "Q"}, {in: "Q", want: "Q"}, {in: "q", want: "Q"}, {in: "Property", want: "P"},
		{in: "lexeme", want: "L"}, {in: "E", want: "E"}, {in: "entityschema", want: "E"},
		{in: "sense", err: `unknown entity type "sense"`}, {in: "", err: `unknown entity type ""`},
	}
	for _, tc := range cases {
		got, err := wikibase.ParseEntityType(tc.in)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tc.want, got.Letter, tc.in)
	}
	require.Equal(t, "Q42", wikibase.EntityTypes[0].ID(42))
}

func TestAllocatorTakesInOrderAcrossBlocks(t *testing.T) {
	a := &Allocator{EntityType: "Q", Owner: "o"}
	require.Equal(t, "o#1", a.ClaimKey())
	require.NoError(t, a.AddBlock(Block{Start: 1, End: 10, Version: 1}))
	require.NoError(t, a.AddBlock(Block{Start: 21, End: 30, Version: 2})) // another allocator took 11..20
	require.Equal(t, int64(20), a.Available())

	cases := []struct {
		n    int64
		want []Run
	}{
		{3, []Run{{1, 3}}},
		{7, []Run{{4, 10}}},
		{2, []Run{{21, 22}}},
		{8, []Run{{23, 30}}},
	}
	for _, tc := range cases {
		got, err := a.Take(tc.n)
		require.NoError(t, err)
		require.Equal(t, tc.want, got)
	}
	_, err := a.Take(1)
	require.ErrorContains(t, err, "0 available")
	require.Equal(t, int64(20), a.Allocated)
	require.Equal(t, "o#3", a.ClaimKey())
	// A used-up block is replaced by the next one claimed.
	require.NoError(t, a.AddBlock(Block{Start: 31, End: 40, Version: 3}))
	require.Equal(t, []Block{{31, 40, 3}}, a.Blocks)
	got, err := a.Take(1)
	require.NoError(t, err)
	require.Equal(t, []Run{{31, 31}}, got)
}

func TestAllocatorTakeSpansBlocksAsRuns(t *testing.T) {
	a := &Allocator{}
	require.NoError(t, a.AddBlock(Block{Start: 1, End: 5, Version: 1}))
	require.NoError(t, a.AddBlock(Block{Start: 6, End: 10, Version: 2}))
	require.NoError(t, a.AddBlock(Block{Start: 20, End: 29, Version: 3}))
	got, err := a.Take(12)
	require.NoError(t, err)
	// Adjacent blocks give one contiguous run.
	require.Equal(t, []Run{{1, 10}, {20, 21}}, got)
	require.Equal(t, int64(22), a.NextID)
	require.Len(t, a.Blocks, 1)
}

func TestAllocatorRejectsBlocksOutOfOrder(t *testing.T) {
	a := &Allocator{}
	require.NoError(t, a.AddBlock(Block{Start: 100, End: 199, Version: 1}))
	require.ErrorContains(t, a.AddBlock(Block{Start: 150, End: 249, Version: 2}), "does not follow")
	require.ErrorContains(t, a.AddBlock(Block{Start: 50, End: 49}), "empty")
	require.Equal(t, int64(1), a.ClaimSeq)
}

func TestAllocatorNeedsBlock(t *testing.T) {
	cases := []struct {
		name    string
		blocks  []Block
		taken   int64
		waiting int64
		want    bool
	}{
		{name: "none yet", want: true},
		{name: "79 of 100 used", blocks: []Block{{1, 100, 1}}, taken: 79, want: false},
		{name: "80 of 100 used", blocks: []Block{{1, 100, 1}}, taken: 80, want: true},
		{name: "next already claimed", blocks: []Block{{1, 100, 1}, {101, 200, 2}}, taken: 90, want: false},
		{name: "waiting for more than held", blocks: []Block{{1, 100, 1}, {101, 200, 2}}, taken: 90, waiting: 111, want: true},
		{name: "used up", blocks: []Block{{1, 100, 1}}, taken: 100, want: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := &Allocator{}
			for _, b := range tc.blocks {
				require.NoError(t, a.AddBlock(b))
			}
			if tc.taken > 0 {
				_, err := a.Take(tc.taken)
				require.NoError(t, err)
			}
			require.Equal(t, tc.want, a.NeedsBlock(0.8, tc.waiting))
		})
	}
}

func TestAllocatorLeasesReturnAndExpire(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := &Allocator{}
	require.NoError(t, a.AddBlock(Block{Start: 1, End: 100, Version: 1}))
	runs, _ := a.Take(10)
	l1 := a.Grant("p1", runs, now, time.Minute)
	runs, _ = a.Take(10)
	l2 := a.Grant("p2", runs, now, time.Minute)
	require.Equal(t, []Run{{11, 20}}, l2.Runs)

	// p1 used 1..4 and gives 5..10 back; they are served before 21.
	_, err := a.Return("p2", LeaseReturn{LeaseID: l1.ID}, now)
	require.ErrorIs(t, err, ErrNotHolder)
	require.ErrorContains(t, a.CheckReturn("p1", LeaseReturn{LeaseID: l1.ID, Unused: []Run{{9, 12}}}), "not part of the lease")
	require.ErrorContains(t, a.CheckReturn("p1", LeaseReturn{LeaseID: l1.ID, Unused: []Run{{5, 8}, {7, 10}}}), "overlap")
	unused, err := a.Return("p1", LeaseReturn{LeaseID: l1.ID, Unused: []Run{{5, 10}}}, now)
	require.NoError(t, err)
	require.Equal(t, []Run{{5, 10}}, unused)
	require.Empty(t, a.Free, "returned IDs are served once released (after their return is recorded)")
	a.Release(unused)
	unused, err = a.Return("p1", LeaseReturn{LeaseID: l1.ID, Unused: []Run{{5, 10}}}, now)
	require.NoError(t, err)
	require.Empty(t, unused, "a retried return changes nothing")
	require.Equal(t, []Run{{5, 10}}, a.Free)
	got, err := a.Take(8)
	require.NoError(t, err)
	require.Equal(t, []Run{{5, 10}, {21, 22}}, got)

	// p2 dies: after the TTL its lease is abandoned, counted, and its IDs never come back.
	a.ExpireLeases(now.Add(30 * time.Second))
	require.Equal(t, LeaseOpen, a.Leases[0].State)
	a.ExpireLeases(now.Add(2 * time.Minute))
	s := a.Status()
	require.Len(t, s.Leases, 1)
	require.Equal(t, LeaseAbandoned, s.Leases[0].State)
	require.Equal(t, int64(10), s.AbandonedIDs)
	require.Equal(t, Status{
		CurrentStart: 1, CurrentEnd: 100, NextID: 23, IDsUsed: 22, Utilization: 22, Allocated: 28,
		AbandonedIDs: 10, BlocksClaimed: 1, Leases: s.Leases,
	}, s)
}

// A writer announced IDs up to the floor: the allocator skips them wherever they are (free
// runs, the current block, blocks claimed ahead, blocks claimed later) and serves above.
func TestAllocatorSkipsPastTheFloor(t *testing.T) {
	a := &Allocator{}
	require.NoError(t, a.AddBlock(Block{Start: 1, End: 10, Version: 1}))
	require.NoError(t, a.AddBlock(Block{Start: 11, End: 20, Version: 2}))
	require.NoError(t, a.AddBlock(Block{Start: 31, End: 40, Version: 3}))
	got, err := a.Take(4)
	require.NoError(t, err)
	require.Equal(t, []Run{{1, 4}}, got)
	a.Release([]Run{{2, 3}}) // a lease gave 2..3 back
	require.Equal(t, int64(28), a.Available())

	cases := []struct {
		floor     int64
		next      int64 // first ID served after the floor rose
		available int64 // after that take
		skipped   int64
		free      []Run
	}{
		// The floor below everything held changes nothing.
		{floor: 1, next: 2, available: 27, skipped: 0},
		// Inside the current block: the free run 2..3 and 5..6 are skipped.
		{floor: 6, next: 7, available: 23, skipped: 3},
		// Past the current block into the next: 8..10 and 11..14 go.
		{floor: 14, next: 15, available: 15, skipped: 10},
		// Past every block held: nothing left until a block above the floor is claimed.
		{floor: 45, next: 0, available: 0, skipped: 25},
	}
	for _, tc := range cases {
		a.RaiseFloor(tc.floor)
		require.Equal(t, tc.floor, a.Floor)
		if tc.next == 0 {
			require.Zero(t, a.Available())
			require.True(t, a.NeedsBlock(0.8, 0))
		} else {
			got, err := a.Take(1)
			require.NoError(t, err)
			require.Equal(t, []Run{{tc.next, tc.next}}, got, "floor %d", tc.floor)
			require.Equal(t, tc.available, a.Available(), "floor %d", tc.floor)
		}
		require.Equal(t, tc.skipped, a.SkippedIDs, "floor %d", tc.floor)
	}
	// A lower floor seen later (an older answer) changes nothing.
	a.RaiseFloor(30)
	require.Equal(t, int64(45), a.Floor)

	// A block claimed before the floor rose is served from above the floor.
	require.NoError(t, a.AddBlock(Block{Start: 41, End: 60, Version: 4}))
	require.Equal(t, int64(46), a.NextID)
	require.Equal(t, int64(25+5), a.SkippedIDs)
	got, err = a.Take(3)
	require.NoError(t, err)
	require.Equal(t, []Run{{46, 48}}, got)
	// A lease gives 47..48 back; a writer announces 47: only 48 is served again.
	a.Release([]Run{{47, 48}})
	a.RaiseFloor(47)
	require.Equal(t, []Run{{48, 48}}, a.Free)
	got, err = a.Take(2)
	require.NoError(t, err)
	require.Equal(t, []Run{{48, 49}}, got)
	require.Equal(t, Status{
		CurrentStart: 41, CurrentEnd: 60, NextID: 50, IDsUsed: 9, Utilization: 45, Floor: 47,
		Allocated: 12, SkippedIDs: 31, BlocksClaimed: 4, Leases: []Lease{},
	}, a.Status())
}

// Untake gives back what a caller never got: it is served again, in order.
func TestAllocatorUntakeServesAgain(t *testing.T) {
	a := &Allocator{}
	require.NoError(t, a.AddBlock(Block{Start: 1, End: 100, Version: 1}))
	got, err := a.Take(10)
	require.NoError(t, err)
	a.Untake(got)
	require.Equal(t, int64(0), a.Allocated)
	a.RaiseFloor(4)
	got, err = a.Take(3)
	require.NoError(t, err)
	require.Equal(t, []Run{{5, 7}}, got)
	require.Equal(t, int64(4), a.SkippedIDs)
}
