package activities

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/entitybase/entitybase-workers/internal/ids"
	"github.com/entitybase/entitybase-workers/internal/metrics"
	"github.com/entitybase/entitybase-workers/internal/store/storetest"
)

func minIDs(q int64) map[string]int64 { return map[string]int64{"Q": q, "P": 1, "L": 1, "E": 1} }

func TestReserveIDRangeStartsAboveEverythingUsed(t *testing.T) {
	cases := []struct {
		name      string
		min       int64
		imported  []int64 // numeric Q IDs already in entity_id_mapping
		prevEnd   int64   // id_ranges.current_range_end before
		floor     int64   // id_ranges.floor_id: announced by writers, not stored yet
		wantStart int64
		wantFloor int64
	}{
		{name: "fresh database", min: 1, wantStart: 1},
		{name: "configured minimum", min: 300_000_000, wantStart: 300_000_000},
		{name: "above imported IDs", min: 1, imported: []int64{5, 4242, 17}, wantStart: 4243, wantFloor: 4242},
		{name: "above previous block", min: 1, imported: []int64{50}, prevEnd: 2000, wantStart: 2001, wantFloor: 50},
		{name: "minimum wins over smaller", min: 10_000, imported: []int64{500}, prevEnd: 999, wantStart: 10_000, wantFloor: 500},
		{name: "above the floor", min: 1, imported: []int64{500}, prevEnd: 999, floor: 7000, wantStart: 7001, wantFloor: 7000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := storetest.NewDB(t)
			ctx := context.Background()
			for _, n := range tc.imported {
				_, err := db.ExecContext(ctx, "INSERT INTO entity_id_mapping (entity_id, entity_type, numeric_id) VALUES (?, 'Q', ?)", fmt.Sprintf("Q%d", n), n)
				require.NoError(t, err)
			}
			// Another type's larger IDs must not matter.
			_, err := db.ExecContext(ctx, "INSERT INTO entity_id_mapping (entity_id, entity_type, numeric_id) VALUES ('P999999', 'P', 999999)")
			require.NoError(t, err)
			_, err = db.ExecContext(ctx, "UPDATE id_ranges SET current_range_end = ?, floor_id = ? WHERE entity_type = 'Q'", tc.prevEnd, tc.floor)
			require.NoError(t, err)

			r := &IDRanges{DB: db, RangeSize: 100, MinIDs: minIDs(tc.min)}
			out, err := r.ReserveIDRange(ctx, ReserveIDRangeInput{EntityType: "Q", Owner: "ns/id-allocator-item/run1", ClaimKey: "k1", HandOutsRecorded: true})
			require.NoError(t, err)
			require.Equal(t, ReserveIDRangeOutput{Start: tc.wantStart, End: tc.wantStart + 99, Version: 1, Floor: tc.wantFloor}, out)
			var handedOut int
			require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM id_handouts").Scan(&handedOut))
			require.Zero(t, handedOut, "an allocator that records its hand-outs claims a block with none")

			var start, end, version int64
			var owner string
			require.NoError(t, db.QueryRowContext(ctx, "SELECT current_range_start, current_range_end, version, worker_id FROM id_ranges WHERE entity_type='Q'").Scan(&start, &end, &version, &owner))
			require.Equal(t, []any{tc.wantStart, tc.wantStart + 99, int64(1), "ns/id-allocator-item/run1"}, []any{start, end, version, owner})
			require.NoError(t, db.QueryRowContext(ctx, "SELECT range_start, range_end, worker_id FROM id_range_claims WHERE entity_type='Q' AND version=1").Scan(&start, &end, &owner))
			require.Equal(t, []any{tc.wantStart, tc.wantStart + 99, "ns/id-allocator-item/run1"}, []any{start, end, owner})
		})
	}
}

// An allocator started before hand-outs were recorded does not record them: the whole block it
// claims counts as handed out, so no writer writes inside it.
func TestReserveIDRangeForAnAllocatorNotRecordingHandOuts(t *testing.T) {
	db, _ := storetest.NewDB(t)
	ctx := context.Background()
	r := &IDRanges{DB: db, RangeSize: 10, MinIDs: minIDs(1)}
	out, err := r.ReserveIDRange(ctx, ReserveIDRangeInput{EntityType: "Q", Owner: "a", ClaimKey: "a#1"})
	require.NoError(t, err)
	var start, end int64
	require.NoError(t, db.QueryRowContext(ctx, "SELECT range_start, range_end FROM id_handouts WHERE entity_type = 'Q'").Scan(&start, &end))
	require.Equal(t, []int64{out.Start, out.End}, []int64{start, end})
}

// RecordHandOut is store.RecordHandOuts behind an activity (its cases are tested there).
func TestRecordHandOut(t *testing.T) {
	db, _ := storetest.NewDB(t)
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	work, err := metrics.New(reg)
	require.NoError(t, err)
	r := &IDRanges{DB: db, RangeSize: 10, MinIDs: minIDs(1), Metrics: work}
	_, err = db.ExecContext(ctx, "UPDATE id_ranges SET floor_id = 20 WHERE entity_type = 'Q'")
	require.NoError(t, err)
	block, err := r.ReserveIDRange(ctx, ReserveIDRangeInput{EntityType: "Q", Owner: "a", ClaimKey: "a#1", HandOutsRecorded: true})
	require.NoError(t, err)
	require.Equal(t, []int64{21, 30}, []int64{block.Start, block.End})
	out, err := r.RecordHandOut(ctx, RecordHandOutInput{EntityType: "Q", Changes: []HandOutChange{
		{HandOut: []ids.Run{{Start: 15, End: 25}}},
		{HandOut: []ids.Run{{Start: 21, End: 24}}},
	}})
	require.NoError(t, err)
	require.Equal(t, RecordHandOutOutput{Floor: 20, Recorded: []bool{false, true}}, out)
	// Only the recorded change counts: 4 IDs, 21..24 of the block 21..30.
	assertMetrics(t, reg, `
# HELP entitybase_id_block_size IDs in the last block claimed on this worker, by entity type.
# TYPE entitybase_id_block_size gauge
entitybase_id_block_size{entity_type="Q"} 10
# HELP entitybase_id_block_utilisation_ratio Share of the current ID block of a type that is handed out (0 to 1), as of the last hand-out recorded on this worker.
# TYPE entitybase_id_block_utilisation_ratio gauge
entitybase_id_block_utilisation_ratio{entity_type="Q"} 0.4
# HELP entitybase_id_blocks_claimed_total Blocks of entity IDs claimed in id_ranges, by entity type (a retried claim that found its block is not counted again).
# TYPE entitybase_id_blocks_claimed_total counter
entitybase_id_blocks_claimed_total{entity_type="Q"} 1
# HELP entitybase_ids_handed_out_total Entity IDs the allocators recorded as handed out, by entity type.
# TYPE entitybase_ids_handed_out_total counter
entitybase_ids_handed_out_total{entity_type="Q"} 4
`, "entitybase_id_block_size", "entitybase_id_block_utilisation_ratio", "entitybase_id_blocks_claimed_total", "entitybase_ids_handed_out_total")
	// A retried claim that finds its block claims nothing new.
	_, err = r.ReserveIDRange(ctx, ReserveIDRangeInput{EntityType: "Q", Owner: "a", ClaimKey: "a#1", HandOutsRecorded: true})
	require.NoError(t, err)
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP entitybase_id_blocks_claimed_total Blocks of entity IDs claimed in id_ranges, by entity type (a retried claim that found its block is not counted again).
# TYPE entitybase_id_blocks_claimed_total counter
entitybase_id_blocks_claimed_total{entity_type="Q"} 1
`), "entitybase_id_blocks_claimed_total"))
	_, err = r.RecordHandOut(ctx, RecordHandOutInput{EntityType: "X"})
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	require.True(t, appErr.NonRetryable())
}

func TestReserveIDRangeRetryReturnsTheSameBlock(t *testing.T) {
	db, _ := storetest.NewDB(t)
	ctx := context.Background()
	r := &IDRanges{DB: db, RangeSize: 10, MinIDs: minIDs(1)}
	first, err := r.ReserveIDRange(ctx, ReserveIDRangeInput{EntityType: "Q", Owner: "a", ClaimKey: "a#1"})
	require.NoError(t, err)
	again, err := r.ReserveIDRange(ctx, ReserveIDRangeInput{EntityType: "Q", Owner: "a", ClaimKey: "a#1"})
	require.NoError(t, err)
	require.Equal(t, ReserveIDRangeOutput{Start: 1, End: 10, Version: 1, Reused: true}, again)
	require.False(t, first.Reused)
	second, err := r.ReserveIDRange(ctx, ReserveIDRangeInput{EntityType: "Q", Owner: "a", ClaimKey: "a#2"})
	require.NoError(t, err)
	require.Equal(t, ReserveIDRangeOutput{Start: 11, End: 20, Version: 2}, second)
	var claims int
	require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM id_range_claims").Scan(&claims))
	require.Equal(t, 2, claims)
}

func TestReserveIDRangeRejectsBadInputWithoutRetry(t *testing.T) {
	db, _ := storetest.NewDB(t)
	ctx := context.Background()
	r := &IDRanges{DB: db, RangeSize: 10, MinIDs: minIDs(1)}
	cases := []struct {
		name string
		in   ReserveIDRangeInput
		want string
	}{
		{"unknown type", ReserveIDRangeInput{EntityType: "X", Owner: "a", ClaimKey: "k"}, `unknown entity type "X"`},
		{"no owner", ReserveIDRangeInput{EntityType: "Q", ClaimKey: "k"}, "owner and claim key are required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.ReserveIDRange(ctx, tc.in)
			var appErr *temporal.ApplicationError
			require.ErrorAs(t, err, &appErr)
			require.True(t, appErr.NonRetryable())
			require.Contains(t, err.Error(), tc.want)
		})
	}
	// A known type whose id_ranges row is missing cannot be fixed by retrying either.
	_, err := db.ExecContext(ctx, "DELETE FROM id_ranges WHERE entity_type = 'L'")
	require.NoError(t, err)
	_, err = r.ReserveIDRange(ctx, ReserveIDRangeInput{EntityType: "L", Owner: "a", ClaimKey: "k"})
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	require.True(t, appErr.NonRetryable())
	require.Contains(t, err.Error(), "no id_ranges row")
}

// Two (or more) allocators racing on one id_ranges row: every lost race is a retryable
// conflict, and no block is ever owned twice.
func TestReserveIDRangeRacingAllocatorsNeverShareABlock(t *testing.T) {
	db, _ := storetest.NewDB(t)
	ctx := context.Background()
	const allocators, claimsEach = 4, 25
	r := &IDRanges{DB: db, RangeSize: 1000, MinIDs: minIDs(1)}
	var mu sync.Mutex
	var got []ReserveIDRangeOutput
	var conflicts int
	var wg sync.WaitGroup
	for a := range allocators {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprintf("deployment-%d", a)
			for i := 1; i <= claimsEach; {
				out, err := r.ReserveIDRange(ctx, ReserveIDRangeInput{EntityType: "Q", Owner: owner, ClaimKey: fmt.Sprintf("%s#%d", owner, i)})
				var appErr *temporal.ApplicationError
				if errors.As(err, &appErr) && appErr.Type() == ErrTypeIDRangeConflict {
					require.False(t, appErr.NonRetryable())
					mu.Lock()
					conflicts++
					mu.Unlock()
					continue // what Temporal's retry policy does, minus the backoff
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				got = append(got, out)
				mu.Unlock()
				i++
			}
		}()
	}
	wg.Wait()
	require.Len(t, got, allocators*claimsEach)
	sort.Slice(got, func(i, j int) bool { return got[i].Start < got[j].Start })
	for i, b := range got {
		// Blocks tile the ID space in claim (version) order: none shared, none skipped.
		require.Equal(t, int64(i*1000+1), b.Start, "block %d", i)
		require.Equal(t, int64(i+1), b.Version)
	}
	var claims, distinctStarts int
	require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*), COUNT(DISTINCT range_start) FROM id_range_claims WHERE entity_type='Q'").Scan(&claims, &distinctStarts))
	require.Equal(t, allocators*claimsEach, claims)
	require.Equal(t, claims, distinctStarts)
	t.Logf("%d conflicts retried", conflicts)
}
