package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// Entities written with IDs of their own (imports, the seed, the sample, and the entities
// their statements link to) and the ID allocator share each type's ID space. They meet on the
// type's id_ranges row, whose lock orders them:
//
//   - A writer announces the new IDs of a batch before it creates their entity_id_mapping rows
//     (announceIDs): it raises id_ranges.floor_id to the batch's highest ID and, under the same
//     row lock, looks its IDs up in id_handouts. An ID found there was handed out by the
//     allocator: the writer does not create it, and the entity is rejected.
//   - The allocator records every hand-out in id_handouts before its caller gets it
//     (RecordHandOuts), under the same row lock, and only if none of its IDs is at or below the
//     floor (or stored); otherwise it skips past the floor and takes again.
//
// Either the writer's announcement commits first, and the allocator sees the floor, or the
// hand-out does, and the writer sees it: no ID is both handed out and written.

// IDRun is a contiguous, inclusive run of numeric IDs.
type IDRun struct{ Start, End int64 }

// announceIDs raises the floor of each type to the highest of ids (new IDs a batch is about to
// create) and returns those of them the allocator has handed out.
func announceIDs(ctx context.Context, db *sql.DB, ids []parsedID) (map[string]bool, error) {
	byType := map[string][]int64{}
	for _, id := range ids {
		byType[id.typ] = append(byType[id.typ], id.numeric)
	}
	types := make([]string, 0, len(byType))
	for typ, nums := range byType {
		slices.Sort(nums)
		types = append(types, typ)
	}
	slices.Sort(types) // rows locked in one order: concurrent writers do not deadlock
	var handedOut map[string]bool
	err := retryTx(ctx, db, func(tx *sql.Tx) error {
		handedOut = map[string]bool{}
		for _, typ := range types {
			nums := byType[typ]
			if _, err := tx.ExecContext(ctx, "UPDATE id_ranges SET floor_id = GREATEST(floor_id, ?) WHERE entity_type = ?",
				nums[len(nums)-1], typ); err != nil {
				return fmt.Errorf("raise the %s ID floor: %w", typ, err)
			}
			// Runs are few (adjacent hand-outs merge), so a batch's IDs above or below every
			// hand-out cost one indexed read.
			runs, err := handOutsWithin(ctx, tx, typ, nums[0], nums[len(nums)-1])
			if err != nil {
				return err
			}
			for _, n := range nums {
				i, _ := slices.BinarySearchFunc(runs, n, func(r IDRun, n int64) int {
					switch {
					case r.End < n:
						return -1
					case r.Start > n:
						return 1
					}
					return 0
				})
				if i < len(runs) && runs[i].Start <= n && n <= runs[i].End {
					handedOut[typ+strconv.FormatInt(n, 10)] = true
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("announce new entity IDs: %w", err)
	}
	return handedOut, nil
}

// handOutsWithin returns the recorded hand-outs of typ that overlap lo..hi, in order (and
// perhaps the one before). Hand-outs are disjoint, so the one containing lo is the last to
// start at or below it.
func handOutsWithin(ctx context.Context, tx *sql.Tx, typ string, lo, hi int64) ([]IDRun, error) {
	rows, err := tx.QueryContext(ctx, `SELECT range_start, range_end FROM id_handouts
 WHERE entity_type = ? AND range_start <= ? AND range_start >= (
   SELECT COALESCE(MAX(range_start), 0) FROM id_handouts WHERE entity_type = ? AND range_start <= ?)
 ORDER BY range_start`, typ, hi, typ, lo)
	if err != nil {
		return nil, fmt.Errorf("read %s hand-outs: %w", typ, err)
	}
	defer rows.Close()
	var out []IDRun
	for rows.Next() {
		var r IDRun
		if err := rows.Scan(&r.Start, &r.End); err != nil {
			return nil, fmt.Errorf("read %s hand-outs: %w", typ, err)
		}
		if r.End >= lo {
			out = append(out, r)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s hand-outs: %w", typ, err)
	}
	return out, nil
}

// HandOutChange is one allocate request's change to the hand-outs: the unused IDs leases gave
// back, and the IDs it is about to hand out.
type HandOutChange struct {
	Returned, HandOut []IDRun
}

// HandOutRecord is what RecordHandOuts found.
type HandOutRecord struct {
	// Floor is the type's floor: the higher of floor_id and the largest stored ID.
	Floor int64
	// Recorded says, for each change, that its hand-out was recorded; false when some of its
	// IDs are at or below Floor.
	Recorded []bool
}

// RecordHandOuts applies changes in order, in one transaction holding the type's id_ranges
// row: the IDs returned are no longer handed out, and each hand-out is recorded unless some of
// its IDs are at or below the floor or stored. Concurrent requests of an allocator share one
// transaction this way. Adding and removing runs are set operations, so a retry changes
// nothing; a retry that finds the floor raised over a hand-out its first attempt recorded
// leaves it recorded, which only keeps writers off IDs nobody will use.
func RecordHandOuts(ctx context.Context, db *sql.DB, typ string, changes []HandOutChange) (HandOutRecord, error) {
	var rec HandOutRecord
	err := retryTx(ctx, db, func(tx *sql.Tx) error {
		rec = HandOutRecord{Recorded: make([]bool, len(changes))}
		// Rows written without announcing (by hand, or before the floor existed) count too.
		err := tx.QueryRowContext(ctx, `SELECT GREATEST(floor_id,
   (SELECT COALESCE(MAX(numeric_id), 0) FROM entity_id_mapping WHERE entity_type = ?))
 FROM id_ranges WHERE entity_type = ? FOR UPDATE`, typ, typ).Scan(&rec.Floor)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("no id_ranges row for %s; run the migrations (`starter dev setup`)", typ)
		}
		if err != nil {
			return fmt.Errorf("read the %s ID floor: %w", typ, err)
		}
		for i, c := range changes {
			for _, r := range c.Returned {
				if err := removeHandOut(ctx, tx, typ, r); err != nil {
					return err
				}
			}
			if slices.ContainsFunc(c.HandOut, func(r IDRun) bool { return r.Start <= rec.Floor }) {
				continue // the allocator skips past the floor and takes again
			}
			for _, r := range c.HandOut {
				if err := addHandOut(ctx, tx, typ, r); err != nil {
					return err
				}
			}
			rec.Recorded[i] = true
		}
		return nil
	})
	if err != nil {
		return HandOutRecord{}, fmt.Errorf("record %s hand-outs: %w", typ, err)
	}
	return rec, nil
}

// addHandOut adds r to the hand-outs, merged with the runs it overlaps or touches (the
// previous lease, usually), so the table keeps about one row per stretch handed out.
func addHandOut(ctx context.Context, tx *sql.Tx, typ string, r IDRun) error {
	near, err := handOutsWithin(ctx, tx, typ, r.Start-1, r.End+1)
	if err != nil {
		return err
	}
	merged := r
	for _, h := range near {
		merged.Start, merged.End = min(merged.Start, h.Start), max(merged.End, h.End)
	}
	for _, h := range near {
		if h.Start != merged.Start {
			if _, err := tx.ExecContext(ctx, "DELETE FROM id_handouts WHERE entity_type = ? AND range_start = ?", typ, h.Start); err != nil {
				return fmt.Errorf("merge %s hand-outs: %w", typ, err)
			}
		}
	}
	return upsertHandOut(ctx, tx, typ, merged)
}

// removeHandOut removes r from the hand-outs, splitting the runs it cuts.
func removeHandOut(ctx context.Context, tx *sql.Tx, typ string, r IDRun) error {
	near, err := handOutsWithin(ctx, tx, typ, r.Start, r.End)
	if err != nil {
		return err
	}
	for _, h := range near {
		if h.Start < r.Start {
			if err := upsertHandOut(ctx, tx, typ, IDRun{h.Start, r.Start - 1}); err != nil {
				return err
			}
		} else if _, err := tx.ExecContext(ctx, "DELETE FROM id_handouts WHERE entity_type = ? AND range_start = ?", typ, h.Start); err != nil {
			return fmt.Errorf("remove returned %s IDs: %w", typ, err)
		}
		if h.End > r.End {
			if err := upsertHandOut(ctx, tx, typ, IDRun{r.End + 1, h.End}); err != nil {
				return err
			}
		}
	}
	return nil
}

func upsertHandOut(ctx context.Context, tx *sql.Tx, typ string, r IDRun) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO id_handouts (entity_type, range_start, range_end) VALUES (?, ?, ?)
 ON DUPLICATE KEY UPDATE range_end = VALUES(range_end)`, typ, r.Start, r.End); err != nil {
		return fmt.Errorf("record %s hand-out %d-%d: %w", typ, r.Start, r.End, err)
	}
	return nil
}

// ClaimIDSpan reserves span explicit IDs of typ that the allocator never handed out and never
// will: base+1..base+span, where base is the highest ID it has handed out; the floor is raised
// to base+span in the same transaction. A writer that makes up its IDs (the synthetic seed)
// numbers them from base, so it cannot clash with the allocator, and gets the same IDs again
// as long as the allocator hands out nothing in between.
func ClaimIDSpan(ctx context.Context, db *sql.DB, typ string, span int64) (base int64, err error) {
	err = retryTx(ctx, db, func(tx *sql.Tx) error {
		var floor int64
		if err := tx.QueryRowContext(ctx, "SELECT floor_id FROM id_ranges WHERE entity_type = ? FOR UPDATE", typ).Scan(&floor); err != nil {
			return fmt.Errorf("read the %s ID floor: %w", typ, err)
		}
		err := tx.QueryRowContext(ctx, "SELECT range_end FROM id_handouts WHERE entity_type = ? ORDER BY range_start DESC LIMIT 1", typ).Scan(&base)
		if errors.Is(err, sql.ErrNoRows) {
			base, err = 0, nil
		}
		if err != nil {
			return fmt.Errorf("highest %s ID handed out: %w", typ, err)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE id_ranges SET floor_id = GREATEST(floor_id, ?) WHERE entity_type = ?", base+span, typ); err != nil {
			return fmt.Errorf("raise the %s ID floor: %w", typ, err)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("claim %d %s IDs: %w", span, typ, err)
	}
	return base, nil
}
