package activities

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/entitybase/entitybase-workers/internal/events"
	"github.com/entitybase/entitybase-workers/internal/logging"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/watchlist"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// RevisionSource reads the compact JSON line of a stored entity revision; found is false
// when the store has no such revision.
type RevisionSource interface {
	RevisionLine(ctx context.Context, entityID string, revisionID int64) (line []byte, found bool, err error)
}

// StoredRevisions reads revisions from the entity store for RevisionSource.
type StoredRevisions struct {
	Entities *store.Entities
}

// RevisionLine returns the compact JSON line of a stored revision.
func (s StoredRevisions) RevisionLine(ctx context.Context, entityID string, revisionID int64) ([]byte, bool, error) {
	r, err := s.Entities.Revision(ctx, entityID, revisionID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if r.IsRedirect || r.IsDeleted {
		return nil, false, nil
	}
	return r.Line, true, nil
}

// Notifications creates watchlist notifications.
type Notifications struct {
	DB              *sql.DB
	NotifySelfEdits bool
	// Revisions computes changed properties for events that lack them; nil leaves them
	// unknown, which lets every property watch of the entity fire.
	Revisions RevisionSource
	Log       *zap.Logger
}

// CreateNotificationsInput are entity changes of one watchlist batch, in order.
type CreateNotificationsInput struct {
	Changes []events.EntityChange
}

// CreateNotificationsResult counts what one batch produced.
type CreateNotificationsResult struct {
	Notifications int // notifications the rules called for
	Inserted      int // rows new in user_notifications (the rest existed from an earlier attempt)
	// Computed and Unknown count events without changed_properties whose changes were
	// computed from the stored revisions, or could not be.
	Computed, Unknown int
}

// notification is one row of user_notifications.
type notification struct {
	userID     int64
	change     *events.EntityChange
	properties []string // nil: unknown
}

const (
	entitiesPerQuery = 500
	rowsPerInsert    = 500
)

// CreateNotifications inserts a notification for every watcher the rules select.
// Idempotent: INSERT IGNORE on the unique key (user_id, entity_id, revision_id), so a retry
// or a redelivered event adds nothing; users.last_activity is not touched.
func (n *Notifications) CreateNotifications(ctx context.Context, in CreateNotificationsInput) (CreateNotificationsResult, error) {
	var res CreateNotificationsResult
	ids := make([]string, 0, len(in.Changes))
	for _, c := range in.Changes {
		ids = append(ids, c.EntityID)
	}
	slices.Sort(ids)
	watches, err := n.watchesOf(ctx, slices.Compact(ids))
	if err != nil {
		return res, err
	}
	var rows []notification
	for i := range in.Changes {
		c := &in.Changes[i]
		ws := watches[c.EntityID]
		if len(ws) == 0 {
			continue
		}
		changed := c.ChangedProperties
		if changed == nil && hasPropertyWatch(ws) {
			changed, err = n.computeChanged(ctx, c)
			if err != nil {
				return res, err
			}
			if changed == nil {
				res.Unknown++
			} else {
				res.Computed++
			}
		}
		for _, u := range watchlist.Recipients(*c, changed, ws, n.NotifySelfEdits) {
			rows = append(rows, notification{userID: u, change: c, properties: changed})
		}
	}
	res.Notifications = len(rows)
	for start := 0; start < len(rows); start += rowsPerInsert {
		inserted, err := n.insert(ctx, rows[start:min(start+rowsPerInsert, len(rows))])
		if err != nil {
			return res, err
		}
		res.Inserted += inserted
	}
	return res, nil
}

func hasPropertyWatch(ws []watchlist.Watch) bool {
	for _, w := range ws {
		if w.Properties != nil {
			return true
		}
	}
	return false
}

// watchesOf returns the watchlist rows of the entities, with each watcher's
// watchlist_enabled (true for a watcher without a users row, the column's default).
func (n *Notifications) watchesOf(ctx context.Context, entityIDs []string) (map[string][]watchlist.Watch, error) {
	out := map[string][]watchlist.Watch{}
	for start := 0; start < len(entityIDs); start += entitiesPerQuery {
		part := entityIDs[start:min(start+entitiesPerQuery, len(entityIDs))]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		rows, err := n.DB.QueryContext(ctx, `SELECT m.entity_id, w.user_id, w.watched_properties, COALESCE(u.watchlist_enabled, TRUE)
 FROM entity_id_mapping m JOIN watchlist w ON w.internal_entity_id = m.internal_id
 LEFT JOIN users u ON u.user_id = w.user_id
 WHERE m.entity_id IN (`+store.Placeholders(len(part))+`) ORDER BY w.id`, args...)
		if err != nil {
			return nil, fmt.Errorf("read watchers of %d entities: %w", len(part), err)
		}
		for rows.Next() {
			var entity, props string
			var w watchlist.Watch
			if err := rows.Scan(&entity, &w.UserID, &props, &w.Enabled); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read watchers: %w", err)
			}
			w.Properties = watchlist.ParseWatchedProperties(props)
			out[entity] = append(out[entity], w)
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("read watchers: %w", err)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read watchers: %w", err)
		}
	}
	return out, nil
}

func (n *Notifications) insert(ctx context.Context, rows []notification) (int, error) {
	var q strings.Builder
	q.WriteString(`INSERT IGNORE INTO user_notifications
 (user_id, entity_id, revision_id, change_type, changed_properties, event_timestamp) VALUES `)
	args := make([]any, 0, len(rows)*6)
	for i, r := range rows {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString("(?,?,?,?,?,?)")
		var props any // NULL when unknown
		if r.properties != nil {
			b, err := json.Marshal(struct {
				Properties []string `json:"properties"`
			}{r.properties})
			if err != nil {
				return 0, fmt.Errorf("encode changed properties: %w", err)
			}
			props = string(b)
		}
		args = append(args, r.userID, r.change.EntityID, r.change.RevisionID, string(r.change.ChangeType), props,
			r.change.ChangedAt.UTC().Truncate(time.Microsecond))
	}
	result, err := n.DB.ExecContext(ctx, q.String(), args...)
	if err != nil {
		return 0, fmt.Errorf("insert %d notifications: %w", len(rows), err)
	}
	affected, err := result.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("insert %d notifications: %w", len(rows), err)
	}
	return int(affected), nil
}

// computeChanged compares the statements of the event's two revisions per property. It
// returns nil (unknown) when a revision is not stored or cannot be read as an entity.
func (n *Notifications) computeChanged(ctx context.Context, c *events.EntityChange) ([]string, error) {
	if n.Revisions == nil {
		return nil, nil
	}
	after, ok, err := n.entityAt(ctx, c.EntityID, c.RevisionID)
	if err != nil || !ok {
		return nil, err
	}
	before := &wikibase.Entity{}
	if c.FromRevisionID > 0 {
		if before, ok, err = n.entityAt(ctx, c.EntityID, c.FromRevisionID); err != nil || !ok {
			return nil, err
		}
	}
	return ChangedProperties(before, after), nil
}

func (n *Notifications) entityAt(ctx context.Context, entityID string, revisionID int64) (*wikibase.Entity, bool, error) {
	line, found, err := n.Revisions.RevisionLine(ctx, entityID, revisionID)
	if err != nil {
		return nil, false, fmt.Errorf("read revision %d of %s: %w", revisionID, entityID, err)
	}
	if !found {
		return nil, false, nil
	}
	e, err := wikibase.ParseEntity(line)
	if err != nil {
		// A redirect or deletion marker has no statements to compare.
		if n.Log != nil {
			logging.ForActivity(ctx, n.Log).Debug("revision is not an entity; changed properties unknown", zap.String("entity", entityID),
				zap.Int64("revision", revisionID), zap.Error(err))
		}
		return nil, false, nil
	}
	return e, true, nil
}

// ChangedProperties returns, sorted, the properties whose statements differ between two
// versions of an entity (added, removed or changed in any part).
func ChangedProperties(before, after *wikibase.Entity) []string {
	old := map[string][]wikibase.Statement{}
	for _, g := range before.Claims {
		old[g.Property] = g.Statements
	}
	changed := []string{}
	for _, g := range after.Claims {
		prev, ok := old[g.Property]
		delete(old, g.Property)
		if !ok || !reflect.DeepEqual(prev, g.Statements) {
			changed = append(changed, g.Property)
		}
	}
	for p := range old {
		changed = append(changed, p)
	}
	slices.Sort(changed)
	return changed
}
