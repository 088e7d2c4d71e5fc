package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

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
