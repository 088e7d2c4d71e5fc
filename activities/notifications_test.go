package activities

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/entitybase/entitybase-workers/internal/events"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/store/storetest"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// itemWith builds Q5 with a P31 statement pointing at p31 and a P17 statement, plus a P18
// statement when p18 is set.
func itemWith(t *testing.T, p31, p18 string) *wikibase.Entity {
	t.Helper()
	claims := fmt.Sprintf(`"P31":[{"mainsnak":{"snaktype":"value","property":"P31","datatype":"wikibase-item","datavalue":{"value":{"entity-type":"item","id":%q},"type":"wikibase-entityid"}},"type":"statement","id":"Q5$1","rank":"normal"}],
"P17":[{"mainsnak":{"snaktype":"value","property":"P17","datatype":"wikibase-item","datavalue":{"value":{"entity-type":"item","id":"Q183"},"type":"wikibase-entityid"}},"type":"statement","id":"Q5$2","rank":"normal"}]`, p31)
	if p18 != "" {
		claims += fmt.Sprintf(`,"P18":[{"mainsnak":{"snaktype":"value","property":"P18","datatype":"commonsMedia","datavalue":{"value":%q,"type":"string"}},"type":"statement","id":"Q5$3","rank":"normal"}]`, p18)
	}
	e, err := wikibase.ParseEntity([]byte(`{"type":"item","id":"Q5","labels":{},"claims":{` + claims + `}}`))
	require.NoError(t, err)
	return e
}

func TestCreateNotificationsAppliesTheWatchRules(t *testing.T) {
	if testing.Short() {
		t.Skip("needs MariaDB")
	}
	ctx := context.Background()
	db, _ := storetest.NewDB(t)
	entities := &store.Entities{DB: db}
	first, err := entities.Save(ctx, store.SaveRequest{Entity: itemWith(t, "Q1", ""), UserID: 6})
	require.NoError(t, err)
	second, err := entities.Save(ctx, store.SaveRequest{Entity: itemWith(t, "Q2", "a.jpg"), UserID: 6})
	require.NoError(t, err)

	for _, q := range []string{
		"INSERT INTO users (user_id, watchlist_enabled, last_activity) VALUES (1,1,'2020-01-01'),(2,1,'2020-01-01'),(3,1,'2020-01-01'),(4,1,'2020-01-01'),(5,0,'2020-01-01'),(6,1,'2020-01-01')",
		"INSERT INTO entity_id_mapping (entity_id, entity_type, numeric_id) VALUES ('Q77', 'Q', 77)",
	} {
		_, err := db.Exec(q)
		require.NoError(t, err)
	}
	watch := func(user int64, entity, props string) {
		_, err := db.Exec(`INSERT INTO watchlist (user_id, internal_entity_id, watched_properties)
 SELECT ?, internal_id, ? FROM entity_id_mapping WHERE entity_id = ?`, user, props, entity)
		require.NoError(t, err)
	}
	watch(1, "Q5", "P17")     // P17 unchanged
	watch(2, "Q5", "P31")     // P31 changed
	watch(2, "Q5", "")        // and the whole entity: still one notification
	watch(3, "Q18", "")       // another entity (not even mapped): nothing
	watch(3, "Q5", "P18,P99") // P18 added
	watch(4, "Q5", "")        // whole entity
	watch(5, "Q5", "")        // watchlist disabled
	watch(6, "Q5", "")        // the editor
	watch(7, "Q77", "P31")    // no users row: enabled by default

	at := time.Date(2026, 2, 3, 4, 5, 6, 789000000, time.UTC)
	edit := events.EntityChange{EntityID: "Q5", RevisionID: second.RevisionID, FromRevisionID: first.RevisionID,
		ChangeType: events.ChangeEdit, ChangedAt: at, UserID: 6}
	tests := []struct {
		name       string
		notifySelf bool
		revisions  RevisionSource
		changes    []events.EntityChange
		want       []string
		computed   int
		unknown    int
	}{
		{
			name:      "changed properties computed from the stored revisions",
			revisions: StoredRevisions{Entities: entities},
			changes:   []events.EntityChange{edit},
			want:      []string{"2 Q5 " + fmt.Sprint(second.RevisionID), "3 Q5 " + fmt.Sprint(second.RevisionID), "4 Q5 " + fmt.Sprint(second.RevisionID)},
			computed:  1,
		},
		{
			name:       "changed properties from the event; the editor asked for self edits",
			notifySelf: true,
			changes: []events.EntityChange{
				{EntityID: "Q5", RevisionID: 900, FromRevisionID: 899, ChangeType: events.ChangeEdit, ChangedAt: at, UserID: 6, ChangedProperties: []string{"P17"}},
				{EntityID: "Q77", RevisionID: 3, FromRevisionID: 2, ChangeType: events.ChangeEdit, ChangedAt: at, UserID: 1, ChangedProperties: []string{"P31", "P5"}},
				{EntityID: "Q77", RevisionID: 4, FromRevisionID: 3, ChangeType: events.ChangeEdit, ChangedAt: at, UserID: 1, ChangedProperties: []string{}},
			},
			want: []string{"1 Q5 900", "2 Q5 900", "4 Q5 900", "6 Q5 900", "7 Q77 3"},
		},
		{
			name:    "unknown changes: every property watch fires",
			changes: []events.EntityChange{{EntityID: "Q5", RevisionID: 950, FromRevisionID: 949, ChangeType: events.ChangeRevert, ChangedAt: at, UserID: 9}},
			want:    []string{"1 Q5 950", "2 Q5 950", "3 Q5 950", "4 Q5 950", "6 Q5 950"},
			unknown: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.Exec("DELETE FROM user_notifications")
			require.NoError(t, err)
			n := &Notifications{DB: db, NotifySelfEdits: tt.notifySelf, Revisions: tt.revisions}
			res, err := n.CreateNotifications(ctx, CreateNotificationsInput{Changes: tt.changes})
			require.NoError(t, err)
			require.Equal(t, CreateNotificationsResult{Notifications: len(tt.want), Inserted: len(tt.want),
				Computed: tt.computed, Unknown: tt.unknown}, res)
			require.Equal(t, tt.want, notificationRows(t, n))

			again, err := n.CreateNotifications(ctx, CreateNotificationsInput{Changes: tt.changes})
			require.NoError(t, err)
			require.Zero(t, again.Inserted, "a retry inserts nothing")
			require.Equal(t, tt.want, notificationRows(t, n))
		})
	}

	var ts time.Time
	require.NoError(t, db.QueryRow("SELECT event_timestamp FROM user_notifications WHERE user_id = 3").Scan(&ts))
	require.True(t, at.Equal(ts), "event_timestamp %s", ts)
	var nulls int
	require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM user_notifications WHERE changed_properties IS NULL").Scan(&nulls))
	require.Equal(t, 5, nulls, "unknown changed properties are stored as NULL")
	var touched int
	require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM users WHERE last_activity <> '2020-01-01'").Scan(&touched))
	require.Zero(t, touched, "users.last_activity is not touched")
}

func notificationRows(t *testing.T, n *Notifications) []string {
	t.Helper()
	rows, err := n.DB.Query("SELECT user_id, entity_id, revision_id FROM user_notifications ORDER BY user_id, entity_id, revision_id")
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u, r int64
		var e string
		require.NoError(t, rows.Scan(&u, &e, &r))
		out = append(out, fmt.Sprintf("%d %s %d", u, e, r))
	}
	require.NoError(t, rows.Err())
	return out
}

func TestChangedPropertiesComparesStatementsPerProperty(t *testing.T) {
	tests := []struct {
		name          string
		before, after *wikibase.Entity
		want          []string
	}{
		{"creation", &wikibase.Entity{}, itemWith(t, "Q1", "x.jpg"), []string{"P17", "P18", "P31"}},
		{"value changed and statement added", itemWith(t, "Q1", ""), itemWith(t, "Q2", "x.jpg"), []string{"P18", "P31"}},
		{"statement removed", itemWith(t, "Q1", "x.jpg"), itemWith(t, "Q1", ""), []string{"P18"}},
		{"nothing changed", itemWith(t, "Q1", "x.jpg"), itemWith(t, "Q1", "x.jpg"), []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, ChangedProperties(tt.before, tt.after))
		})
	}
}
