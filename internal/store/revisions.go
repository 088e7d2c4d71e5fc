package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Revision IDs. An imported revision keeps its source's ID (Wikidata's lastrevid); a local
// edit (any save without a SourceRevision, redirects and deletions included) takes the next
// ID of revision_sequence. Every transaction that writes a revision keeps that sequence at or
// above the IDs it writes, before it commits and while it holds the locks of its entities, so
//
//   - a local edit's ID is above every revision ID stored when it is given out: it never
//     reuses an imported (or earlier local) ID, and it is above its entity's head;
//   - an entity's revision IDs increase in the order they are written (an import writes only
//     a source revision newer than the head, see SaveBatch), which the dumps' cuts rely on.
//
// Transactions take their entities' locks first and the sequence's row last, so imports and
// local edits cannot deadlock on it; an import holds the row only from its last statement to
// its commit.

// SourceRevision is the revision metadata an import copies from its source: Wikidata's
// lastrevid, modified and pageid.
type SourceRevision struct {
	// RevisionID is the source's revision ID (lastrevid), positive.
	RevisionID int64
	// Modified is the source's time of the revision; zero means the save's time.
	Modified time.Time
	// PageID is the source's page ID; 0 means none (dumps show the internal id).
	PageID int64
}

// errNoSequence: the migrations that create revision_sequence's row have not run.
var errNoSequence = errors.New("revision_sequence has no row (run the migrations: `starter migrate` or a worker's start)")

// reserveRevisionIDs reserves n revision IDs for local edits above floor and above every ID
// the sequence has seen, and returns the first. The row stays locked until the transaction
// ends, so the IDs are given out once.
func reserveRevisionIDs(ctx context.Context, tx *sql.Tx, n, floor int64) (int64, error) {
	res, err := tx.ExecContext(ctx, "UPDATE revision_sequence SET last_revision_id = LAST_INSERT_ID(GREATEST(last_revision_id, ?) + ?) WHERE id = 1", floor, n)
	if err != nil {
		return 0, fmt.Errorf("reserve revision ids: %w", err)
	}
	if rows, err := res.RowsAffected(); err != nil || rows == 0 {
		return 0, errNoSequence
	}
	last, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("reserve revision ids: %w", err)
	}
	return last - n + 1, nil
}

// raiseRevisionSequence keeps the sequence at or above id, an imported revision's ID written
// in the transaction.
func raiseRevisionSequence(ctx context.Context, tx *sql.Tx, id int64) error {
	res, err := tx.ExecContext(ctx, "UPDATE revision_sequence SET last_revision_id = GREATEST(last_revision_id, ?) WHERE id = 1", id)
	if err != nil {
		return fmt.Errorf("raise revision sequence to %d: %w", id, err)
	}
	// An unchanged row counts as affected only with CLIENT_FOUND_ROWS; check that it exists.
	if rows, err := res.RowsAffected(); err == nil && rows == 0 {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM revision_sequence WHERE id = 1").Scan(&n); err != nil {
			return fmt.Errorf("raise revision sequence to %d: %w", id, err)
		}
		if n == 0 {
			return errNoSequence
		}
	}
	return nil
}
