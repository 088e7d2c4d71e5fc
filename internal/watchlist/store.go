package watchlist

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// ErrEntityNotFound is returned when a watch names an entity the store does not know.
var ErrEntityNotFound = errors.New("entity not found")

// Store reads and writes watchlist rows and reads notifications, for the CLI.
type Store struct {
	DB *sql.DB
}

// WatchRow is one watch of a user, as listed.
type WatchRow struct {
	EntityID   string    `json:"entity_id"`
	Properties []string  `json:"properties"` // empty: the whole entity
	CreatedAt  time.Time `json:"created_at"`
}

// NotificationRow is one notification, as listed.
type NotificationRow struct {
	EntityID          string    `json:"entity_id"`
	RevisionID        int64     `json:"revision_id"`
	ChangeType        string    `json:"change_type"`
	ChangedProperties []string  `json:"changed_properties"` // nil: unknown
	EventTimestamp    time.Time `json:"event_timestamp"`
	IsChecked         bool      `json:"is_checked"`
}

// CheckWatch reports what is wrong with a watch's user, entity or properties, if anything.
func CheckWatch(userID int64, entityID string, props []string) error {
	if userID < 1 {
		return fmt.Errorf("user id %d: must be a positive number", userID)
	}
	if entityID == "" {
		return errors.New("entity id is required")
	}
	if !wikibase.IsEntityID(entityID) {
		return fmt.Errorf("entity id %q: want an id like Q42, P31, L5 or E1", entityID)
	}
	for _, p := range props {
		if !wikibase.IsPropertyID(p) {
			return fmt.Errorf("property %q: want a property id like P31", p)
		}
	}
	return nil
}

// AddWatch watches an entity, or only the given properties of it. Adding an existing watch
// changes nothing; added says whether a row was created.
func (s *Store) AddWatch(ctx context.Context, userID int64, entityID string, props []string) (added bool, err error) {
	if err := CheckWatch(userID, entityID, props); err != nil {
		return false, err
	}
	res, err := s.DB.ExecContext(ctx, `INSERT IGNORE INTO watchlist (user_id, internal_entity_id, watched_properties)
 SELECT ?, internal_id, ? FROM entity_id_mapping WHERE entity_id = ?`, userID, FormatWatchedProperties(props), entityID)
	if err != nil {
		return false, fmt.Errorf("add watch of %s for user %d: %w", entityID, userID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("add watch of %s for user %d: %w", entityID, userID, err)
	}
	if n == 0 {
		var known int
		if err := s.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM entity_id_mapping WHERE entity_id = ?", entityID).Scan(&known); err != nil {
			return false, fmt.Errorf("look up %s: %w", entityID, err)
		}
		if known == 0 {
			return false, fmt.Errorf("%s: %w", entityID, ErrEntityNotFound)
		}
	}
	return n > 0, nil
}

// RemoveWatch removes exactly the watch (user, entity, properties); removed is false when
// there was none.
func (s *Store) RemoveWatch(ctx context.Context, userID int64, entityID string, props []string) (removed bool, err error) {
	if err := CheckWatch(userID, entityID, props); err != nil {
		return false, err
	}
	res, err := s.DB.ExecContext(ctx, `DELETE w FROM watchlist w JOIN entity_id_mapping m ON m.internal_id = w.internal_entity_id
 WHERE w.user_id = ? AND m.entity_id = ? AND w.watched_properties = ?`, userID, entityID, FormatWatchedProperties(props))
	if err != nil {
		return false, fmt.Errorf("remove watch of %s for user %d: %w", entityID, userID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("remove watch of %s for user %d: %w", entityID, userID, err)
	}
	return n > 0, nil
}

// Watches lists a user's watches by entity.
func (s *Store) Watches(ctx context.Context, userID int64) ([]WatchRow, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT m.entity_id, w.watched_properties, w.created_at
 FROM watchlist w JOIN entity_id_mapping m ON m.internal_id = w.internal_entity_id
 WHERE w.user_id = ? ORDER BY m.entity_type, m.numeric_id, w.watched_properties`, userID)
	if err != nil {
		return nil, fmt.Errorf("list watches of user %d: %w", userID, err)
	}
	defer rows.Close()
	out := []WatchRow{}
	for rows.Next() {
		var r WatchRow
		var props string
		if err := rows.Scan(&r.EntityID, &props, &r.CreatedAt); err != nil {
			return nil, fmt.Errorf("list watches of user %d: %w", userID, err)
		}
		r.Properties = ParseWatchedProperties(props)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list watches of user %d: %w", userID, err)
	}
	return out, nil
}

// Notifications lists a user's latest notifications, newest first.
func (s *Store) Notifications(ctx context.Context, userID int64, limit int) ([]NotificationRow, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT entity_id, revision_id, change_type, changed_properties, event_timestamp, is_checked
 FROM user_notifications WHERE user_id = ? ORDER BY event_timestamp DESC, id DESC LIMIT ?`, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("list notifications of user %d: %w", userID, err)
	}
	defer rows.Close()
	out := []NotificationRow{}
	for rows.Next() {
		var r NotificationRow
		var props sql.NullString
		if err := rows.Scan(&r.EntityID, &r.RevisionID, &r.ChangeType, &props, &r.EventTimestamp, &r.IsChecked); err != nil {
			return nil, fmt.Errorf("list notifications of user %d: %w", userID, err)
		}
		if props.Valid {
			var v struct {
				Properties []string `json:"properties"`
			}
			if err := json.Unmarshal([]byte(props.String), &v); err != nil {
				return nil, fmt.Errorf("notification %s@%d: changed_properties %q: %w", r.EntityID, r.RevisionID, props.String, err)
			}
			r.ChangedProperties = v.Properties
			if r.ChangedProperties == nil {
				r.ChangedProperties = []string{}
			}
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list notifications of user %d: %w", userID, err)
	}
	return out, nil
}
