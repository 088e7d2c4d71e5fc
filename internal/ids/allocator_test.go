package ids

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
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
		got, err := ParseEntityType(tc.in)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tc.want, got.Prefix, tc.in)
	}
	require.Equal(t, "Q42", EntityTypes[0].Format(42))
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
	require.ErrorIs(t, a.Return("p2", LeaseReturn{LeaseID: l1.ID}, now), ErrNotHolder)
	require.ErrorContains(t, a.CheckReturn("p1", LeaseReturn{LeaseID: l1.ID, Unused: []Run{{9, 12}}}), "not part of the lease")
	require.ErrorContains(t, a.CheckReturn("p1", LeaseReturn{LeaseID: l1.ID, Unused: []Run{{5, 8}, {7, 10}}}), "overlap")
	require.NoError(t, a.Return("p1", LeaseReturn{LeaseID: l1.ID, Unused: []Run{{5, 10}}}, now))
	require.NoError(t, a.Return("p1", LeaseReturn{LeaseID: l1.ID, Unused: []Run{{5, 10}}}, now), "a retried return changes nothing")
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
