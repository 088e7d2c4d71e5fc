package activities

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
)

func TestCleanupLeavesTheNewestAllowedNotificationsPerUser(t *testing.T) {
	db := newTestDB(t)
	asOf := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	hoursAgo := func(h int) time.Time { return asOf.Add(-time.Duration(h) * time.Hour) }
	// user 1: keeps 24 h, asks for 50 (capped to 5); user 2: asks for 1000 h (capped to 30
	// days) and 3 rows; user 3 has no users row and gets both caps; user 4 has no notifications.
	for _, u := range []struct{ id, hours, limit int }{{1, 24, 50}, {2, 1000, 3}, {4, 24, 50}} {
		_, err := db.Exec(`INSERT INTO users (user_id, retention_hours, notification_limit) VALUES (?, ?, ?)`, u.id, u.hours, u.limit)
		require.NoError(t, err)
	}
	type note struct {
		user, rev int
		at        time.Time
	}
	notes := []note{
		{1, 1, hoursAgo(1)}, {1, 2, hoursAgo(2)}, {1, 3, hoursAgo(3)}, {1, 4, hoursAgo(4)},
		{1, 5, hoursAgo(5)}, {1, 6, hoursAgo(6)}, {1, 7, hoursAgo(7)}, {1, 8, hoursAgo(8)},
		{1, 9, hoursAgo(25)}, {1, 10, hoursAgo(48)}, {1, 11, hoursAgo(100)},
		{2, 20, hoursAgo(1)},
		// three at the same instant: the lowest id counts as the oldest
		{2, 21, hoursAgo(120)}, {2, 22, hoursAgo(120)}, {2, 23, hoursAgo(120)},
		{2, 24, hoursAgo(240)}, {2, 25, hoursAgo(241)}, {2, 26, hoursAgo(40 * 24)},
		{3, 30, hoursAgo(31 * 24)}, {3, 31, hoursAgo(32 * 24)},
		{3, 32, hoursAgo(1)}, {3, 33, hoursAgo(29 * 24)}, {3, 34, hoursAgo(2)},
	}
	for _, n := range notes {
		_, err := db.Exec(`INSERT INTO user_notifications (user_id, entity_id, revision_id, change_type, event_timestamp)
			VALUES (?, 'Q1', ?, 'edit', ?)`, n.user, n.rev, n.at)
		require.NoError(t, err)
	}
	c := &Cleanup{DB: db, MaxAgeDays: 30, MaxPerUser: 5, DeleteBatch: 2}
	run := func() NotificationCleanupResult {
		var suite testsuite.WorkflowTestSuite
		env := suite.NewTestActivityEnvironment()
		env.RegisterActivity(c)
		v, err := env.ExecuteActivity(c.CleanupNotifications, NotificationCleanupInput{AsOf: asOf})
		require.NoError(t, err)
		var out NotificationCleanupResult
		require.NoError(t, v.Get(&out))
		return out
	}
	// Deletes: user 1 age 3 rows (2+1), limit 3 (2+1); user 2 age 1, limit 3 (2+1);
	// user 3 age 2 (2, then an empty batch), nothing beyond its limit.
	require.Equal(t, NotificationCleanupResult{Users: 3, DeletedByAge: 3 + 1 + 2, DeletedByLimit: 3 + 3, Deletes: 9}, run())

	left := map[int][]int{}
	rows, err := db.Query(`SELECT user_id, revision_id FROM user_notifications ORDER BY user_id, revision_id`)
	require.NoError(t, err)
	for rows.Next() {
		var u, r int
		require.NoError(t, rows.Scan(&u, &r))
		left[u] = append(left[u], r)
	}
	require.NoError(t, rows.Err())
	rows.Close()
	require.Equal(t, map[int][]int{1: {1, 2, 3, 4, 5}, 2: {20, 22, 23}, 3: {32, 33, 34}}, left)

	require.Equal(t, NotificationCleanupResult{Users: 3, Deletes: 3}, run(), "a second run finds nothing to delete")
}

func TestCleanupRejectsMissingCaps(t *testing.T) {
	db := newTestDB(t)
	c := &Cleanup{DB: db, MaxAgeDays: 30, MaxPerUser: 0, DeleteBatch: 10}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(c)
	_, err := env.ExecuteActivity(c.CleanupNotifications, NotificationCleanupInput{AsOf: time.Now()})
	require.ErrorContains(t, err, "NOTIFICATION_MAX_PER_USER=0")
}
