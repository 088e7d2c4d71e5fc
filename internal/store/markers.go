package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/entitybase/entitybase-workers/internal/events"
)

// SaveRedirect turns req.From into a redirect to req.To: a revision marking the redirect
// (content {"entity":From,"redirect":To}), head.is_redirect, an entity_redirects row, the
// backlinks of From removed and a redirect event. Both entities must exist, unless
// req.Create; the target must not be deleted or a redirect itself. Redirecting again to the
// same target is a no-op. A redirect the store refuses for what it is (not an entity id, a
// target deleted or redirected, an ID the allocator handed out) is an error wrapping
// ErrRejected.
func (s *Entities) SaveRedirect(ctx context.Context, req RedirectRequest) (SaveResult, error) {
	from, ok := parseEntityID(req.From)
	if !ok {
		return SaveResult{}, fmt.Errorf("redirect from %q: %w: not an entity id", req.From, ErrRejected)
	}
	to, ok := parseEntityID(req.To)
	if !ok {
		return SaveResult{}, fmt.Errorf("redirect %s to %q: %w: not an entity id", req.From, req.To, ErrRejected)
	}
	if from.id == to.id || from.typ != to.typ {
		return SaveResult{}, fmt.Errorf("redirect %s to %s: %w: an entity redirects to another entity of its type", from.id, to.id, ErrRejected)
	}
	if req.Create {
		_, handedOut, err := ensureMappings(ctx, s.DB, []parsedID{from, to})
		if err != nil {
			return SaveResult{}, err
		}
		for _, id := range []string{from.id, to.id} {
			if handedOut[id] {
				return SaveResult{}, fmt.Errorf("redirect %s to %s: %w: %s was handed out by the ID allocator; not written, so that it cannot overwrite the entity it was handed out for",
					from.id, to.id, ErrRejected, id)
			}
		}
	}
	line := []byte(`{"entity":"` + from.id + `","redirect":"` + to.id + `"}`)
	return s.writeMarker(ctx, from, marker{
		line: line, redirectTo: &to, change: events.ChangeRedirect, create: req.Create,
		userID: req.UserID, summary: req.EditSummary, at: req.At, editType: "redirect",
	})
}

// Delete soft-deletes an entity: a revision marked deleted (keeping the last content, so it
// can be restored), head.is_deleted, its backlinks removed and a soft_delete event. Deleting
// a deleted entity is a no-op.
func (s *Entities) Delete(ctx context.Context, req DeleteRequest) (SaveResult, error) {
	id, ok := parseEntityID(req.EntityID)
	if !ok {
		return SaveResult{}, fmt.Errorf("delete %q: not an entity id", req.EntityID)
	}
	return s.writeMarker(ctx, id, marker{
		deleted: true, change: events.ChangeSoftDelete,
		userID: req.UserID, summary: req.EditSummary, at: req.At, editType: "delete",
	})
}

// marker is a revision that changes an entity's state rather than its content.
type marker struct {
	line       []byte // nil: keep the head's content
	redirectTo *parsedID
	deleted    bool
	// create lets the entity (and a redirect's target) have no head yet: their mapping rows
	// exist (ensureMappings).
	create   bool
	change   events.ChangeType
	userID   int64
	summary  string
	editType string
	at       time.Time
}

func (s *Entities) writeMarker(ctx context.Context, id parsedID, m marker) (SaveResult, error) {
	at := m.at
	if at.IsZero() {
		at = time.Now()
	}
	at = at.UTC()
	var res SaveResult
	err := retryTx(ctx, s.DB, func(tx *sql.Tx) error {
		res = SaveResult{EntityID: id.id}
		var head struct {
			iid              int64
			rev              sql.NullInt64 // null: the entity has no head yet
			deleted, redirct sql.NullBool
			redirectsTo      sql.NullInt64
		}
		// The mapping row is locked too, so that two markers creating one entity serialise.
		err := tx.QueryRowContext(ctx, `SELECT m.internal_id, h.head_revision_id, h.is_deleted, h.is_redirect, h.redirects_to
 FROM entity_id_mapping m LEFT JOIN entity_head h ON h.internal_id = m.internal_id WHERE m.entity_id = ? FOR UPDATE`, id.id).
			Scan(&head.iid, &head.rev, &head.deleted, &head.redirct, &head.redirectsTo)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !head.rev.Valid && !m.create) {
			return fmt.Errorf("entity %s: %w", id.id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("read head of %s: %w", id.id, err)
		}
		res.InternalID = head.iid
		var target sql.NullInt64
		if m.redirectTo != nil {
			var toRev sql.NullInt64
			var toDeleted, toRedirect sql.NullBool
			err := tx.QueryRowContext(ctx, `SELECT m.internal_id, h.head_revision_id, h.is_deleted, h.is_redirect FROM entity_id_mapping m
 LEFT JOIN entity_head h ON h.internal_id = m.internal_id WHERE m.entity_id = ?`, m.redirectTo.id).Scan(&target, &toRev, &toDeleted, &toRedirect)
			if errors.Is(err, sql.ErrNoRows) || (err == nil && !toRev.Valid && !m.create) {
				return fmt.Errorf("redirect %s to %s: target %w", id.id, m.redirectTo.id, ErrNotFound)
			}
			if err != nil {
				return fmt.Errorf("read head of %s: %w", m.redirectTo.id, err)
			}
			if toDeleted.Bool || toRedirect.Bool {
				return fmt.Errorf("redirect %s to %s: %w: the target is deleted or itself a redirect", id.id, m.redirectTo.id, ErrRejected)
			}
			if head.redirct.Bool && head.redirectsTo.Valid && head.redirectsTo.Int64 == target.Int64 {
				res.RevisionID, res.FromRevisionID, res.Status = head.rev.Int64, head.rev.Int64, StatusUnchanged
				return nil
			}
		} else if head.deleted.Bool {
			res.RevisionID, res.FromRevisionID, res.Status = head.rev.Int64, head.rev.Int64, StatusUnchanged
			return nil
		}
		line := m.line
		if line == nil {
			if line, err = loadContent(ctx, tx, head.iid, head.rev.Int64); err != nil {
				return err
			}
		}
		hash := sha256.Sum256(line)
		rev, err := reserveRevisionIDs(ctx, tx, 1, head.rev.Int64)
		if err != nil {
			return err
		}
		res.FromRevisionID, res.RevisionID, res.Status = head.rev.Int64, rev, StatusUpdated
		if !head.rev.Valid {
			res.Status = StatusCreated
		}
		payload, err := events.EntityChange{
			EntityID: id.id, RevisionID: res.RevisionID, FromRevisionID: res.FromRevisionID,
			ChangeType: m.change, ChangedAt: at, UserID: m.userID, EditSummary: m.summary,
		}.Marshal()
		if err != nil {
			return err
		}
		var redirectsTo any
		if target.Valid {
			redirectsTo = target.Int64
		}
		// A marker revision carries no statements: its counts are zero so the stats do not
		// count a deleted or redirected entity's content.
		if _, err := tx.ExecContext(ctx, insertRevisionSQL+"(?,?,?,?,?,?,?,?,?,?,?,?,?,?,0,0,0,0,0,'{}','{}','{}','[]',NULL)",
			head.iid, res.RevisionID, res.FromRevisionID, at, nullUser(m.userID), m.editType, m.summary,
			m.redirectTo != nil, m.deleted, redirectsTo, ContentEncoding, EncodeContent(line), hash[:], len(line)); err != nil {
			return fmt.Errorf("insert revision: %w", err)
		}
		if _, err := tx.ExecContext(ctx, upsertHeadSQL+"(?,?,?,?,?,NULL)"+upsertHeadTail,
			head.iid, res.RevisionID, m.deleted, m.redirectTo != nil, redirectsTo); err != nil {
			return fmt.Errorf("update head: %w", err)
		}
		if m.redirectTo != nil {
			if _, err := tx.ExecContext(ctx, `INSERT IGNORE INTO entity_redirects (redirect_from_id, redirect_to_id, created_by)
 VALUES (?, ?, ?)`, head.iid, target.Int64, strconv.FormatInt(m.userID, 10)); err != nil {
				return fmt.Errorf("record redirect: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM entity_backlinks WHERE referencing_internal_id = ?", head.iid); err != nil {
			return fmt.Errorf("remove backlinks: %w", err)
		}
		if _, err := tx.ExecContext(ctx, insertOutboxSQL+"(?,?,?,?)", id.id, res.RevisionID, payload, at); err != nil {
			return fmt.Errorf("write outbox: %w", err)
		}
		return nil
	})
	if err != nil {
		return SaveResult{}, err
	}
	return res, nil
}
