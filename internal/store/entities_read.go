package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/entitybase/entitybase-workers/internal/wikibase"
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

// revisionColumns are what scanRevision reads, from entity_id_mapping m (the entity),
// entity_revisions r, entity_head h and entity_id_mapping t (the redirect target).
const revisionColumns = `m.entity_id, r.revision_id, r.internal_id, r.from_revision_id, r.created_at, COALESCE(r.modified_at, r.created_at),
 COALESCE(h.page_id, r.internal_id), r.user_id, r.edit_type, r.edit_summary, r.is_redirect, r.is_deleted, t.entity_id,
 r.content_encoding, r.content, r.content_hash, r.statements, r.qualifiers, r.references_count, r.sitelinks, r.identifiers`

const revisionJoins = ` JOIN entity_revisions r ON r.internal_id = m.internal_id
 LEFT JOIN entity_head h ON h.internal_id = m.internal_id
 LEFT JOIN entity_id_mapping t ON t.internal_id = r.redirects_to`

func scanRevision(row interface{ Scan(...any) error }) (Revision, error) {
	var (
		r        Revision
		user     sql.NullInt64
		summary  sql.NullString
		to       sql.NullString
		encoding string
		content  []byte
		hash     []byte
	)
	if err := row.Scan(&r.EntityID, &r.RevisionID, &r.InternalID, &r.FromRevisionID, &r.CreatedAt, &r.Modified, &r.PageID, &user, &r.EditType,
		&summary, &r.IsRedirect, &r.IsDeleted, &to, &encoding, &content, &hash, &r.Statements, &r.Qualifiers, &r.References, &r.Sitelinks, &r.Identifiers); err != nil {
		return Revision{}, err
	}
	r.UserID, r.EditSummary, r.RedirectsTo = user.Int64, summary.String, to.String
	copy(r.ContentHash[:], hash)
	var err error
	if r.Line, err = DecodeContent(encoding, content, nil); err != nil {
		return Revision{}, fmt.Errorf("revision %d of %s: %w", r.RevisionID, r.EntityID, err)
	}
	return r, nil
}

// Revision returns one revision of an entity with its uncompressed content, or ErrNotFound.
func (s *Entities) Revision(ctx context.Context, entityID string, revisionID int64) (Revision, error) {
	r, err := scanRevision(s.DB.QueryRowContext(ctx, "SELECT "+revisionColumns+" FROM entity_id_mapping m"+revisionJoins+
		" WHERE m.entity_id = ? AND r.revision_id = ?", entityID, revisionID))
	if errors.Is(err, sql.ErrNoRows) {
		return Revision{}, fmt.Errorf("revision %d of %s: %w", revisionID, entityID, ErrNotFound)
	}
	if err != nil {
		return Revision{}, fmt.Errorf("read revision %d of %s: %w", revisionID, entityID, err)
	}
	return r, nil
}

// RevisionKey names one revision of an entity.
type RevisionKey struct {
	EntityID   string
	RevisionID int64
}

// revisionsPerQuery bounds the revisions one query of Revisions asks for.
const revisionsPerQuery = 500

// Revisions returns the revisions keys name that exist, as Revision does, in a few queries
// rather than one per revision. A missing key is missing from the map.
func (s *Entities) Revisions(ctx context.Context, keys []RevisionKey) (map[RevisionKey]Revision, error) {
	out := make(map[RevisionKey]Revision, len(keys))
	for start := 0; start < len(keys); start += revisionsPerQuery {
		if err := s.readRevisions(ctx, keys[start:min(start+revisionsPerQuery, len(keys))], out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readRevisions reads the revisions batch names into out, in one query: the wanted
// revisions as a derived table joined on the two keys, one index lookup each, however many
// revisions the entities have.
func (s *Entities) readRevisions(ctx context.Context, batch []RevisionKey, out map[RevisionKey]Revision) error {
	var q strings.Builder
	args := make([]any, 0, 2*len(batch))
	q.WriteString("SELECT " + revisionColumns + " FROM (")
	for i, k := range batch {
		if i > 0 {
			q.WriteString(" UNION ALL ")
		}
		q.WriteString("SELECT ? AS entity_id, ? AS revision_id")
		args = append(args, k.EntityID, k.RevisionID)
	}
	q.WriteString(") w JOIN entity_id_mapping m ON m.entity_id = w.entity_id" + revisionJoins + " WHERE r.revision_id = w.revision_id")
	rows, err := s.DB.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return fmt.Errorf("read %d revisions: %w", len(batch), err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRevision(rows)
		if err != nil {
			return fmt.Errorf("read %d revisions: %w", len(batch), err)
		}
		out[RevisionKey{r.EntityID, r.RevisionID}] = r
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %d revisions: %w", len(batch), err)
	}
	return nil
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
