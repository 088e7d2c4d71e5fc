package activities

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/entitybase/entitybase-workers/internal/ids"
	"github.com/entitybase/entitybase-workers/internal/metrics"
	"github.com/entitybase/entitybase-workers/internal/permanent"
	"github.com/entitybase/entitybase-workers/internal/store"
)

// IDRanges claims blocks of entity IDs in id_ranges.
type IDRanges struct {
	DB        *sql.DB
	RangeSize int64            // ID_RANGE_SIZE
	MinIDs    map[string]int64 // ID_MIN_<prefix>
	// Metrics counts the blocks claimed and the IDs handed out; nil counts nothing.
	Metrics *metrics.Work
}

// ReserveIDRangeInput names the type and the claim.
type ReserveIDRangeInput struct {
	EntityType string // prefix: Q, P, L or E
	// Owner is the allocator that will hold the block; it is written to id_ranges.worker_id.
	Owner string
	// ClaimKey is unique per claim an allocator makes: a retry with the same key returns the
	// block claimed before instead of a new one.
	ClaimKey string
	// HandOutsRecorded says the allocator records each hand-out (RecordHandOut). An allocator
	// started before it did leaves it false, and the whole block counts as handed out.
	HandOutsRecorded bool
}

// ReserveIDRangeOutput is the claimed block.
type ReserveIDRangeOutput struct {
	Start, End, Version int64
	Reused              bool  // a retry found the block this key had claimed already
	Floor               int64 // the type's floor when the block was claimed (see store.RecordHandOuts)
}

// ErrTypeIDRangeConflict is the type of ReserveIDRange's retryable error for a lost race.
const ErrTypeIDRangeConflict = "IDRangeConflict"

// ReserveIDRange claims the next block of IDs for a type with a compare-and-swap on
// id_ranges.version, recording the claim in id_range_claims in the same transaction.
// Idempotent by ClaimKey: a retry after a commit whose answer was lost finds its claim and
// returns the same block, so no block is claimed and then thrown away.
func (r *IDRanges) ReserveIDRange(ctx context.Context, in ReserveIDRangeInput) (ReserveIDRangeOutput, error) {
	if _, ok := r.MinIDs[in.EntityType]; !ok {
		return ReserveIDRangeOutput{}, permanent.Errorf(permanent.BadInput, "reserve ID range: unknown entity type %q (want Q, P, L or E)", in.EntityType)
	}
	if in.Owner == "" || in.ClaimKey == "" {
		return ReserveIDRangeOutput{}, permanent.Errorf(permanent.BadInput, "reserve ID range: owner and claim key are required")
	}
	out, err := r.reserve(ctx, in)
	if err != nil {
		var conflict *rangeConflict
		if errors.As(err, &conflict) {
			return ReserveIDRangeOutput{}, temporal.NewApplicationError(err.Error(), ErrTypeIDRangeConflict)
		}
		if errors.Is(err, errNoRangeRow) {
			return ReserveIDRangeOutput{}, permanent.Errorf(permanent.BadConfig, "%w", err)
		}
		return ReserveIDRangeOutput{}, err
	}
	if !out.Reused {
		r.Metrics.IDBlockClaimed(in.EntityType, out.End-out.Start+1)
	}
	return out, nil
}

var errNoRangeRow = errors.New("no id_ranges row")

// rangeConflict is a lost compare-and-swap: someone else claimed a block meanwhile.
type rangeConflict struct {
	entityType string
	version    int64
}

func (e *rangeConflict) Error() string {
	return fmt.Sprintf("reserve ID range for %s: id_ranges version %d was claimed by another allocator meanwhile", e.entityType, e.version)
}

func (r *IDRanges) reserve(ctx context.Context, in ReserveIDRangeInput) (ReserveIDRangeOutput, error) {
	tx, err := r.DB.BeginTx(ctx, nil)
	if err != nil {
		return ReserveIDRangeOutput{}, fmt.Errorf("reserve ID range for %s: begin: %w", in.EntityType, err)
	}
	defer tx.Rollback()

	var prev ReserveIDRangeOutput
	err = tx.QueryRowContext(ctx,
		"SELECT range_start, range_end, version FROM id_range_claims WHERE entity_type = ? AND claim_key = ?",
		in.EntityType, in.ClaimKey).Scan(&prev.Start, &prev.End, &prev.Version)
	switch {
	case err == nil:
		prev.Reused = true
		return prev, nil
	case !errors.Is(err, sql.ErrNoRows):
		return ReserveIDRangeOutput{}, fmt.Errorf("reserve ID range for %s: look up claim %s: %w", in.EntityType, in.ClaimKey, err)
	}

	// A plain read, not FOR UPDATE: the version check in the UPDATE is the guard, so two
	// allocators never block each other, and the loser retries with backoff.
	var end, floor uint64
	var version int64
	err = tx.QueryRowContext(ctx, "SELECT current_range_end, floor_id, version FROM id_ranges WHERE entity_type = ?", in.EntityType).Scan(&end, &floor, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return ReserveIDRangeOutput{}, fmt.Errorf("reserve ID range for %s: %w for the type; run the migrations (`starter dev setup`)", in.EntityType, errNoRangeRow)
	}
	if err != nil {
		return ReserveIDRangeOutput{}, fmt.Errorf("reserve ID range for %s: read id_ranges: %w", in.EntityType, err)
	}
	// Imported entities carry their own IDs: never hand out one at or below the largest, nor at
	// or below the floor writers announced. Either may rise after this read; the allocator checks
	// both again when it hands IDs out.
	var maxUsed uint64
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(numeric_id), 0) FROM entity_id_mapping WHERE entity_type = ?", in.EntityType).Scan(&maxUsed); err != nil {
		return ReserveIDRangeOutput{}, fmt.Errorf("reserve ID range for %s: largest ID in entity_id_mapping: %w", in.EntityType, err)
	}
	start := max(int64(end)+1, int64(maxUsed)+1, int64(floor)+1, r.MinIDs[in.EntityType], 1)
	size := r.RangeSize
	if size <= 0 {
		size = 1_000_000
	}
	out := ReserveIDRangeOutput{Start: start, End: start + size - 1, Version: version + 1, Floor: int64(max(floor, maxUsed))}

	res, err := tx.ExecContext(ctx, `UPDATE id_ranges SET current_range_start = ?, current_range_end = ?, range_size = ?,
		allocated_at = CURRENT_TIMESTAMP, worker_id = ?, version = version + 1 WHERE entity_type = ? AND version = ?`,
		out.Start, out.End, size, in.Owner, in.EntityType, version)
	if err != nil {
		return ReserveIDRangeOutput{}, fmt.Errorf("reserve ID range for %s: update id_ranges: %w", in.EntityType, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return ReserveIDRangeOutput{}, fmt.Errorf("reserve ID range for %s: update id_ranges: %w", in.EntityType, err)
	} else if n == 0 {
		return ReserveIDRangeOutput{}, &rangeConflict{entityType: in.EntityType, version: version}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO id_range_claims (entity_type, version, range_start, range_end, worker_id, claim_key)
		VALUES (?, ?, ?, ?, ?, ?)`, in.EntityType, out.Version, out.Start, out.End, in.Owner, in.ClaimKey); err != nil {
		return ReserveIDRangeOutput{}, fmt.Errorf("reserve ID range for %s: record claim: %w", in.EntityType, err)
	}
	if !in.HandOutsRecorded {
		if _, err := tx.ExecContext(ctx, "INSERT IGNORE INTO id_handouts (entity_type, range_start, range_end) VALUES (?, ?, ?)",
			in.EntityType, out.Start, out.End); err != nil {
			return ReserveIDRangeOutput{}, fmt.Errorf("reserve ID range for %s: record the block as handed out: %w", in.EntityType, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return ReserveIDRangeOutput{}, fmt.Errorf("reserve ID range for %s: commit: %w", in.EntityType, err)
	}
	return out, nil
}

// RecordHandOutInput is what allocate requests changed in the hand-outs of a type, in the
// order they changed it.
type RecordHandOutInput struct {
	EntityType string // prefix: Q, P, L or E
	Changes    []HandOutChange
}

// HandOutChange is one request's change: the IDs leases gave back unused, and the IDs it is
// about to hand out.
type HandOutChange struct {
	Returned []ids.Run `json:",omitempty"`
	HandOut  []ids.Run `json:",omitempty"`
}

// RecordHandOutOutput says which hand-outs were recorded, and the floor they were checked
// against.
type RecordHandOutOutput struct {
	Floor int64
	// Recorded is, for each change, whether its hand-out was recorded; false when some of its
	// IDs are at or below Floor: nothing of it was handed out.
	Recorded []bool
}

// RecordHandOut records the allocator's hand-outs (and the IDs it got back) before its callers
// get the IDs, except those a writer's floor has passed (store.RecordHandOuts). Idempotent:
// the hand-outs are a set, adding or removing a run twice changes nothing.
func (r *IDRanges) RecordHandOut(ctx context.Context, in RecordHandOutInput) (RecordHandOutOutput, error) {
	if _, ok := r.MinIDs[in.EntityType]; !ok {
		return RecordHandOutOutput{}, permanent.Errorf(permanent.BadInput, "record hand-out: unknown entity type %q (want Q, P, L or E)", in.EntityType)
	}
	changes := make([]store.HandOutChange, len(in.Changes))
	for i, c := range in.Changes {
		changes[i] = store.HandOutChange{Returned: storeRuns(c.Returned), HandOut: storeRuns(c.HandOut)}
	}
	rec, err := store.RecordHandOuts(ctx, r.DB, in.EntityType, changes)
	if err != nil {
		return RecordHandOutOutput{}, err
	}
	if r.Metrics != nil {
		r.countHandOuts(ctx, in, rec.Recorded)
	}
	return RecordHandOutOutput{Floor: rec.Floor, Recorded: rec.Recorded}, nil
}

// countHandOuts records the IDs the recorded changes hand out, and how far into the type's
// current block the highest of them is. The block is read after the hand-outs were recorded;
// a failed read leaves the utilisation as it was (it is a metric, not the hand-out).
func (r *IDRanges) countHandOuts(ctx context.Context, in RecordHandOutInput, recorded []bool) {
	var n, highest int64
	for i, c := range in.Changes {
		if i >= len(recorded) || !recorded[i] {
			continue
		}
		for _, run := range c.HandOut {
			n += run.Len()
			highest = max(highest, run.End)
		}
	}
	if n == 0 {
		return
	}
	var start, end int64
	if err := r.DB.QueryRowContext(ctx, "SELECT current_range_start, current_range_end FROM id_ranges WHERE entity_type = ?",
		in.EntityType).Scan(&start, &end); err != nil {
		start, end = 0, -1
	}
	r.Metrics.IDsHandedOut(in.EntityType, n, start, end, highest)
}

func storeRuns(runs []ids.Run) []store.IDRun {
	out := make([]store.IDRun, len(runs))
	for i, r := range runs {
		out[i] = store.IDRun{Start: r.Start, End: r.End}
	}
	return out
}
