// Package watchlist holds what the watchlist needs outside Temporal: the notification rules
// (who hears about an entity change) and the storage of watches and notifications. The
// events reach the WatchlistWorkflow shards through a kafkabridge.Bridge.
package watchlist

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/entitybase/entitybase-workers/internal/events"
)

// Watch is one watchlist row of an entity: Properties nil watches the whole entity.
type Watch struct {
	UserID     int64
	Properties []string
	// Enabled is users.watchlist_enabled of the watcher (true when the user has no row).
	Enabled bool
}

// ParseWatchedProperties splits the stored form of watchlist.watched_properties; the empty string is a
// whole-entity watch (nil).
func ParseWatchedProperties(stored string) []string {
	if stored == "" {
		return nil
	}
	return strings.Split(stored, ",")
}

// FormatWatchedProperties is the stored form: sorted, deduplicated, comma-joined, so that the
// unique key (user, entity, properties) sees one spelling per set.
func FormatWatchedProperties(props []string) string {
	p := slices.Clone(props)
	slices.Sort(p)
	return strings.Join(slices.Compact(p), ",")
}

// Recipients returns the users to notify of change, each once, in ascending order.
// changed is the set of changed properties, nil when unknown; a property watch fires when it
// intersects changed, or when changed is unknown (the change may touch the property, and a
// missed notification is worse than a spare one). Watchers with the watchlist disabled hear
// nothing; the editor hears nothing of their own edit unless notifySelf.
func Recipients(change events.EntityChange, changed []string, watches []Watch, notifySelf bool) []int64 {
	var users []int64
	for _, w := range watches {
		if !w.Enabled {
			continue
		}
		if !notifySelf && change.UserID != 0 && w.UserID == change.UserID {
			continue
		}
		if w.Properties != nil && changed != nil && !intersects(w.Properties, changed) {
			continue
		}
		users = append(users, w.UserID)
	}
	slices.Sort(users)
	return slices.Compact(users)
}

func intersects(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// TIMESTAMP columns (user_notifications.event_timestamp) hold 1970-01-01 00:00:01 to
// 2038-01-19 03:14:07 UTC.
var (
	minStorableTime = time.Date(1970, 1, 1, 0, 0, 1, 0, time.UTC)
	maxStorableTime = time.Date(2038, 1, 19, 3, 14, 7, 0, time.UTC)
)

// CheckStorable rejects a valid event that a notification row cannot hold, so it goes to the
// dead-letter topic instead of failing the notification insert forever.
func CheckStorable(c events.EntityChange) error {
	if c.ChangedAt.Before(minStorableTime) || c.ChangedAt.After(maxStorableTime) {
		return fmt.Errorf("changed_at %s: outside the range a notification timestamp can hold (1970-01-01 to 2038-01-19)",
			c.ChangedAt.UTC().Format(time.RFC3339Nano))
	}
	return nil
}
