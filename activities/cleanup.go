package activities

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/entitybase/entitybase-workers/internal/permanent"
)

// Cleanup holds the notification cleanup activity and its caps (NOTIFICATION_MAX_AGE_DAYS,
// NOTIFICATION_MAX_PER_USER, NOTIFICATION_DELETE_BATCH).
type Cleanup struct {
	DB          *sql.DB
	MaxAgeDays  int
	MaxPerUser  int
	DeleteBatch int
}

// cleanupUserPage is how many users one query of the user scan returns.
const cleanupUserPage = 500

// NotificationCleanupInput fixes the instant the retention rule measures from, so a retry
// deletes exactly what the first attempt would have.
type NotificationCleanupInput struct {
	AsOf time.Time
}

// NotificationCleanupResult counts what each rule deleted.
type NotificationCleanupResult struct {
	Users          int   `json:"users"`            // users with notifications that were examined
	DeletedByAge   int64 `json:"deleted_by_age"`   // older than the user's retention (capped by NOTIFICATION_MAX_AGE_DAYS)
	DeletedByLimit int64 `json:"deleted_by_limit"` // beyond the user's notification_limit (capped by NOTIFICATION_MAX_PER_USER)
	Deletes        int   `json:"deletes"`          // DELETE statements run, each at most NOTIFICATION_DELETE_BATCH rows
}

// NotificationCleanupProgress is the heartbeat: the last user finished and the counts so far.
type NotificationCleanupProgress struct {
	Cursor int64
	Result NotificationCleanupResult
}

// cleanupUser is one user's effective limits.
type cleanupUser struct {
	id        int64
	retention time.Duration
	keep      int
}

// CleanupNotifications applies, user by user (keyset on user_id), the retention rule and then
// the count limit, deleting oldest first in batches so row locks stay short. Users without a
// users row, or with a setting below 1, get the caps. Idempotent: both rules are predicates on
// the table at AsOf, so a retry finds nothing more to delete where an attempt finished.
func (c *Cleanup) CleanupNotifications(ctx context.Context, in NotificationCleanupInput) (NotificationCleanupResult, error) {
	if in.AsOf.IsZero() {
		return NotificationCleanupResult{}, permanent.Errorf(permanent.BadInput, "notification cleanup needs an AsOf time")
	}
	if c.MaxAgeDays < 1 || c.MaxPerUser < 1 || c.DeleteBatch < 1 {
		return NotificationCleanupResult{}, permanent.Errorf(permanent.BadConfig,
			"NOTIFICATION_MAX_AGE_DAYS=%d, NOTIFICATION_MAX_PER_USER=%d, NOTIFICATION_DELETE_BATCH=%d: each must be at least 1",
			c.MaxAgeDays, c.MaxPerUser, c.DeleteBatch)
	}
	var p NotificationCleanupProgress
	if activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &p); err != nil {
			return NotificationCleanupResult{}, fmt.Errorf("read heartbeat details of notification cleanup: %w", err)
		}
	}
	for {
		users, err := c.usersAfter(ctx, p.Cursor)
		if err != nil {
			return NotificationCleanupResult{}, err
		}
		if len(users) == 0 {
			activity.GetLogger(ctx).Info("notification cleanup done", "users", p.Result.Users,
				"deleted_by_age", p.Result.DeletedByAge, "deleted_by_limit", p.Result.DeletedByLimit)
			return p.Result, nil
		}
		for _, u := range users {
			if err := ctx.Err(); err != nil {
				return NotificationCleanupResult{}, err
			}
			if err := c.cleanUser(ctx, u, in.AsOf.UTC(), &p.Result); err != nil {
				return NotificationCleanupResult{}, err
			}
			p.Result.Users++
			p.Cursor = u.id
			activity.RecordHeartbeat(ctx, p)
		}
	}
}

// usersAfter returns the next page of users that have notifications, with their limits.
func (c *Cleanup) usersAfter(ctx context.Context, cursor int64) ([]cleanupUser, error) {
	rows, err := c.DB.QueryContext(ctx, `SELECT n.user_id, COALESCE(u.retention_hours, 0), COALESCE(u.notification_limit, 0)
		FROM (SELECT DISTINCT user_id FROM user_notifications WHERE user_id > ? ORDER BY user_id LIMIT ?) n
		LEFT JOIN users u ON u.user_id = n.user_id ORDER BY n.user_id`, cursor, cleanupUserPage)
	if err != nil {
		return nil, fmt.Errorf("users with notifications after %d: %w", cursor, err)
	}
	maxAge := time.Duration(c.MaxAgeDays) * 24 * time.Hour
	var out []cleanupUser
	for rows.Next() {
		var id int64
		var hours, limit int
		if err := rows.Scan(&id, &hours, &limit); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan user limits: %w", err)
		}
		u := cleanupUser{id: id, retention: maxAge, keep: c.MaxPerUser}
		if r := time.Duration(hours) * time.Hour; hours >= 1 && r < maxAge {
			u.retention = r
		}
		if limit >= 1 && limit < c.MaxPerUser {
			u.keep = limit
		}
		out = append(out, u)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("users with notifications after %d: %w", cursor, err)
	}
	return out, nil
}

// cleanUser deletes one user's notifications that break the age rule, then those beyond the
// count limit, each oldest first (event_timestamp, then id) in batches.
func (c *Cleanup) cleanUser(ctx context.Context, u cleanupUser, asOf time.Time, res *NotificationCleanupResult) error {
	cutoff := asOf.Add(-u.retention)
	n, err := c.deleteBatched(ctx, res, `DELETE FROM user_notifications WHERE user_id = ? AND event_timestamp < ?
		ORDER BY event_timestamp, id LIMIT ?`, u.id, cutoff)
	if err != nil {
		return fmt.Errorf("delete notifications of user %d older than %s: %w", u.id, cutoff.Format(time.RFC3339), err)
	}
	res.DeletedByAge += n

	// The newest row beyond the limit; it and everything older go. The OFFSET walks at most
	// NOTIFICATION_MAX_PER_USER index entries of one user.
	var ts time.Time
	var id int64
	err = c.DB.QueryRowContext(ctx, `SELECT event_timestamp, id FROM user_notifications WHERE user_id = ?
		ORDER BY event_timestamp DESC, id DESC LIMIT 1 OFFSET ?`, u.id, u.keep).Scan(&ts, &id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("find notification limit of user %d: %w", u.id, err)
	}
	n, err = c.deleteBatched(ctx, res, `DELETE FROM user_notifications WHERE user_id = ?
		AND (event_timestamp < ? OR (event_timestamp = ? AND id <= ?)) ORDER BY event_timestamp, id LIMIT ?`,
		u.id, ts, ts, id)
	if err != nil {
		return fmt.Errorf("delete notifications of user %d beyond %d: %w", u.id, u.keep, err)
	}
	res.DeletedByLimit += n
	return nil
}

// deleteBatched runs query (whose last parameter is the batch size) until a batch comes back
// short, and returns the rows deleted.
func (c *Cleanup) deleteBatched(ctx context.Context, res *NotificationCleanupResult, query string, args ...any) (int64, error) {
	args = append(args, c.DeleteBatch)
	var total int64
	for {
		r, err := c.DB.ExecContext(ctx, query, args...)
		if err != nil {
			return total, err
		}
		res.Deletes++
		n, err := r.RowsAffected()
		if err != nil {
			return total, err
		}
		total += n
		if n < int64(c.DeleteBatch) {
			return total, nil
		}
	}
}
