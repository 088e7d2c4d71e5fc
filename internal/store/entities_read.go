package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/entitybase/entitybase-workers/internal/events"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
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
		res.FromRevisionID, res.RevisionID, res.Status = head.rev.Int64, head.rev.Int64+1, StatusUpdated
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
		if _, err := tx.ExecContext(ctx, insertRevisionSQL+"(?,?,?,?,?,?,?,?,?,?,?,?,?,?,0,0,0,0,0,'{}','{}','{}','[]')",
			head.iid, res.RevisionID, res.FromRevisionID, at, nullUser(m.userID), m.editType, m.summary,
			m.redirectTo != nil, m.deleted, redirectsTo, ContentEncoding, EncodeContent(line), hash[:], len(line)); err != nil {
			return fmt.Errorf("insert revision: %w", err)
		}
		if _, err := tx.ExecContext(ctx, upsertHeadSQL+"(?,?,?,?,?)"+upsertHeadTail,
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

// Head returns the current state of an entity, or ErrNotFound.
func (s *Entities) Head(ctx context.Context, entityID string) (Head, error) {
	h := Head{EntityID: entityID}
	var to sql.NullString
	err := s.DB.QueryRowContext(ctx, `SELECT m.internal_id, m.entity_type, m.numeric_id, h.head_revision_id, h.is_deleted,
 h.is_redirect, t.entity_id FROM entity_id_mapping m JOIN entity_head h ON h.internal_id = m.internal_id
 LEFT JOIN entity_id_mapping t ON t.internal_id = h.redirects_to WHERE m.entity_id = ?`, entityID).
		Scan(&h.InternalID, &h.EntityType, &h.NumericID, &h.RevisionID, &h.IsDeleted, &h.IsRedirect, &to)
	if errors.Is(err, sql.ErrNoRows) {
		return Head{}, fmt.Errorf("entity %s: %w", entityID, ErrNotFound)
	}
	if err != nil {
		return Head{}, fmt.Errorf("read head of %s: %w", entityID, err)
	}
	h.RedirectsTo = to.String
	return h, nil
}

// Revision returns one revision of an entity with its uncompressed content, or ErrNotFound.
func (s *Entities) Revision(ctx context.Context, entityID string, revisionID int64) (Revision, error) {
	r := Revision{EntityID: entityID, RevisionID: revisionID}
	var (
		user     sql.NullInt64
		summary  sql.NullString
		to       sql.NullString
		encoding string
		content  []byte
		hash     []byte
	)
	err := s.DB.QueryRowContext(ctx, `SELECT r.internal_id, r.from_revision_id, r.created_at, r.user_id, r.edit_type,
 r.edit_summary, r.is_redirect, r.is_deleted, t.entity_id, r.content_encoding, r.content, r.content_hash,
 r.statements, r.qualifiers, r.references_count, r.sitelinks, r.identifiers
 FROM entity_id_mapping m JOIN entity_revisions r ON r.internal_id = m.internal_id
 LEFT JOIN entity_id_mapping t ON t.internal_id = r.redirects_to
 WHERE m.entity_id = ? AND r.revision_id = ?`, entityID, revisionID).
		Scan(&r.InternalID, &r.FromRevisionID, &r.CreatedAt, &user, &r.EditType, &summary, &r.IsRedirect, &r.IsDeleted,
			&to, &encoding, &content, &hash, &r.Statements, &r.Qualifiers, &r.References, &r.Sitelinks, &r.Identifiers)
	if errors.Is(err, sql.ErrNoRows) {
		return Revision{}, fmt.Errorf("revision %d of %s: %w", revisionID, entityID, ErrNotFound)
	}
	if err != nil {
		return Revision{}, fmt.Errorf("read revision %d of %s: %w", revisionID, entityID, err)
	}
	r.UserID, r.EditSummary, r.RedirectsTo = user.Int64, summary.String, to.String
	copy(r.ContentHash[:], hash)
	if r.Line, err = DecodeContent(encoding, content, nil); err != nil {
		return Revision{}, fmt.Errorf("revision %d of %s: %w", revisionID, entityID, err)
	}
	return r, nil
}

// EntitiesAsOf returns the entities ids, in that order, at their last revision created at or
// before at (what a dump cut at that moment shows). Entities that did not exist then, or
// were deleted or a redirect, are left out.
func (s *Entities) EntitiesAsOf(ctx context.Context, ids []string, at time.Time) ([]*wikibase.Entity, error) {
	lines := map[string][]byte{}
	for start := 0; start < len(ids); start += 1000 {
		batch := ids[start:min(start+1000, len(ids))]
		args := []any{at.UTC()}
		for _, id := range batch {
			args = append(args, id)
		}
		rows, err := s.DB.QueryContext(ctx, `SELECT m.entity_id, r.content_encoding, r.content
 FROM entity_id_mapping m JOIN entity_revisions r ON r.internal_id = m.internal_id AND r.revision_id = (
   SELECT MAX(r2.revision_id) FROM entity_revisions r2 WHERE r2.internal_id = m.internal_id AND r2.created_at <= ?)
 WHERE NOT r.is_deleted AND NOT r.is_redirect AND m.entity_id IN (`+Placeholders(len(batch))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("read entities as of %s: %w", at.UTC().Format(time.RFC3339), err)
		}
		for rows.Next() {
			var id, encoding string
			var content []byte
			if err := rows.Scan(&id, &encoding, &content); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read entities as of %s: %w", at.UTC().Format(time.RFC3339), err)
			}
			if lines[id], err = DecodeContent(encoding, content, nil); err != nil {
				rows.Close()
				return nil, fmt.Errorf("entity %s: %w", id, err)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("read entities as of %s: %w", at.UTC().Format(time.RFC3339), err)
		}
	}
	out := make([]*wikibase.Entity, 0, len(lines))
	for _, id := range ids {
		line, ok := lines[id]
		if !ok {
			continue
		}
		e, err := wikibase.ParseEntity(line)
		if err != nil {
			return nil, fmt.Errorf("entity %s: %w", id, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// Datatypes returns the datatype of every property recorded in property_datatypes.
func (s *Entities) Datatypes(ctx context.Context) (wikibase.DatatypeMap, error) {
	rows, err := s.DB.QueryContext(ctx, "SELECT property_id, datatype FROM property_datatypes")
	if err != nil {
		return nil, fmt.Errorf("read property datatypes: %w", err)
	}
	defer rows.Close()
	m := wikibase.DatatypeMap{}
	for rows.Next() {
		var pid, dt string
		if err := rows.Scan(&pid, &dt); err != nil {
			return nil, fmt.Errorf("read property datatypes: %w", err)
		}
		m[pid] = dt
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read property datatypes: %w", err)
	}
	return m, nil
}

// SaveDatatypes records property datatypes (e.g. from a --properties CSV) without revisions,
// so serializing items knows their snak datatypes before the property entities are stored.
func (s *Entities) SaveDatatypes(ctx context.Context, m wikibase.DatatypeMap) error {
	if len(m) == 0 {
		return nil
	}
	return retryTx(ctx, s.DB, func(tx *sql.Tx) error {
		pids := make([]string, 0, len(m))
		for pid := range m {
			pids = append(pids, pid)
		}
		// Sorted rows lock in one order, so concurrent writers cannot deadlock each other.
		slices.Sort(pids)
		var rows rowsBuilder
		for _, pid := range pids {
			rows.add(pid, m[pid])
		}
		if err := rows.exec(ctx, tx, upsertDatatypeSQL, 2); err != nil {
			return fmt.Errorf("record property datatypes: %w", err)
		}
		return nil
	})
}
