package activities

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/store/storetest"
)

func newTestDB(t *testing.T) *sql.DB {
	t.Helper()
	if testing.Short() {
		t.Skip("needs MariaDB")
	}
	db, _ := storetest.NewDB(t)
	return db
}

// testRevision is one entity_revisions row of the known data set.
type testRevision struct {
	internalID, revisionID                        int64
	statements, qualifiers, references, sitelinks int
	labels, descriptions, aliases                 string
}

func insertEntity(t *testing.T, db *sql.DB, internalID int64, entityID string, head int64, deleted, redirect bool) {
	t.Helper()
	_, err := db.Exec(`INSERT INTO entity_id_mapping (entity_id, internal_id, entity_type, numeric_id) VALUES (?, ?, ?, ?)`,
		entityID, internalID, entityID[:1], entityID[1:])
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO entity_head (internal_id, head_revision_id, is_deleted, is_redirect) VALUES (?, ?, ?, ?)`,
		internalID, head, deleted, redirect)
	require.NoError(t, err)
}

func insertRevision(t *testing.T, db *sql.DB, r testRevision) {
	t.Helper()
	_, err := db.Exec(`INSERT INTO entity_revisions (internal_id, revision_id, content, content_hash, statements, qualifiers,
		references_count, sitelinks, labels, descriptions, aliases, properties) VALUES (?, ?, '', REPEAT('x', 32), ?, ?, ?, ?, ?, ?, ?, '[]')`,
		r.internalID, r.revisionID, r.statements, r.qualifiers, r.references, r.sitelinks, r.labels, r.descriptions, r.aliases)
	require.NoError(t, err)
}

// knownEntities builds the data set whose figures the tests assert: three current items,
// one property, one lexeme, a deleted and a redirected item (both excluded), and an older
// revision of Q1 (only head revisions count).
func knownEntities(t *testing.T, db *sql.DB) {
	t.Helper()
	insertEntity(t, db, 1, "Q1", 2, false, false)
	insertRevision(t, db, testRevision{1, 1, 99, 99, 99, 99, `{"xx":1}`, `{"xx":1}`, `{"xx":9}`})
	insertRevision(t, db, testRevision{1, 2, 3, 1, 2, 2, `{"en":1,"de":1}`, `{"en":1}`, `{"en":2}`})
	insertEntity(t, db, 2, "Q2", 3, false, false)
	insertRevision(t, db, testRevision{2, 3, 1, 0, 1, 0, `{"en":1}`, `{}`, `{}`})
	insertEntity(t, db, 3, "Q3", 4, true, false)
	insertRevision(t, db, testRevision{3, 4, 100, 100, 100, 100, `{"fr":1}`, `{"fr":1}`, `{"fr":1}`})
	insertEntity(t, db, 4, "Q4", 5, false, true)
	insertRevision(t, db, testRevision{4, 5, 50, 50, 50, 50, `{"es":1}`, `{"es":1}`, `{"es":1}`})
	insertEntity(t, db, 5, "P1", 6, false, false)
	insertRevision(t, db, testRevision{5, 6, 2, 0, 0, 0, `{"en":1,"fr":1}`, `{"fr":1}`, `{"fr":3}`})
	insertEntity(t, db, 6, "L1", 8, false, false)
	insertRevision(t, db, testRevision{6, 8, 1, 0, 0, 0, `{}`, `{}`, `{}`})
	insertEntity(t, db, 7, "Q5", 7, false, false)
	insertRevision(t, db, testRevision{7, 7, 4, 2, 3, 5, `{"de":1}`, `{}`, `{"de":1}`})
}

// wantGeneral are the figures of knownEntities, worked out by hand.
var wantGeneral = GeneralStats{
	Items: 3, Properties: 1, Lexemes: 1,
	Statements: 3 + 1 + 2 + 1 + 4, Qualifiers: 1 + 2, References: 2 + 1 + 3, Sitelinks: 2 + 5,
	Terms:            14,
	TermsPerLanguage: map[string]int64{"en": 1 + 1 + 1 + 1 + 2, "de": 1 + 1 + 1, "fr": 1 + 1 + 3},
	TermsByType:      map[string]int64{"labels": 6, "descriptions": 2, "aliases": 6},
}

var wantGeneralRow = store.GeneralStatsJSON{
	TotalStatements: 11, TotalQualifiers: 3, TotalReferences: 6, TotalItems: 3, TotalLexemes: 1, TotalProperties: 1,
	TotalSitelinks: 7, TotalTerms: 14,
	TermsPerLanguage: map[string]int64{"en": 6, "de": 3, "fr": 5},
	TermsByType:      map[string]int64{"labels": 6, "descriptions": 2, "aliases": 6},
}

func runGeneralStats(t *testing.T, env *testsuite.TestActivityEnvironment, s *Stats, in GeneralStatsInput) (GeneralStatsResult, error) {
	t.Helper()
	env.RegisterActivity(s)
	v, err := env.ExecuteActivity(s.GeneralStats, in)
	if err != nil {
		return GeneralStatsResult{}, err
	}
	var out GeneralStatsResult
	require.NoError(t, v.Get(&out))
	return out, nil
}

func TestGeneralStatsCountsHeadRevisionsOfCurrentEntities(t *testing.T) {
	db := newTestDB(t)
	knownEntities(t, db)
	s := &Stats{DB: db}
	for _, tc := range []struct {
		name      string
		pageSize  int
		wantPages int
	}{
		{"one page", 0, 1},
		{"page of one", 1, 7},
		{"pages of three", 3, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var suite testsuite.WorkflowTestSuite
			out, err := runGeneralStats(t, suite.NewTestActivityEnvironment(), s, GeneralStatsInput{StatDate: "2026-03-01", PageSize: tc.pageSize})
			require.NoError(t, err)
			require.Equal(t, wantGeneral, out.Stats)
			require.Equal(t, tc.wantPages, out.Pages)
			row, err := store.ReadGeneralStats(context.Background(), db, "2026-03-01")
			require.NoError(t, err)
			require.Equal(t, wantGeneralRow, row.GeneralStatsJSON)
		})
	}
	var n int
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM general_daily_stats`).Scan(&n))
	require.Equal(t, 1, n, "re-runs of a day replace its row")
}

func TestGeneralStatsOnEmptyStoreWritesZeros(t *testing.T) {
	db := newTestDB(t)
	var suite testsuite.WorkflowTestSuite
	out, err := runGeneralStats(t, suite.NewTestActivityEnvironment(), &Stats{DB: db}, GeneralStatsInput{StatDate: "2026-03-02"})
	require.NoError(t, err)
	require.Equal(t, GeneralStats{TermsPerLanguage: map[string]int64{}, TermsByType: map[string]int64{"labels": 0, "descriptions": 0, "aliases": 0}}, out.Stats)
	row, err := store.ReadGeneralStats(context.Background(), db, "")
	require.NoError(t, err)
	require.Equal(t, "2026-03-02", row.Date)
	require.Equal(t, map[string]int64{}, row.TermsPerLanguage)
}

func TestGeneralStatsRejectsBadDate(t *testing.T) {
	db := newTestDB(t)
	var suite testsuite.WorkflowTestSuite
	_, err := runGeneralStats(t, suite.NewTestActivityEnvironment(), &Stats{DB: db}, GeneralStatsInput{StatDate: "2026-13-01"})
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	require.True(t, appErr.NonRetryable())
	require.Contains(t, appErr.Error(), `stat date "2026-13-01" is not a day`)
}

// TestGeneralStatsResumesFromHeartbeatCursor stops the worker under a scan once its first
// page's heartbeat reached the (test) server, then starts a new attempt with the last heartbeat the server would hold: it must
// continue after that cursor (not rescan) and write the same row as an uninterrupted run.
func TestGeneralStatsResumesFromHeartbeatCursor(t *testing.T) {
	db := newTestDB(t)
	knownEntities(t, db)
	s := &Stats{DB: db}
	var suite testsuite.WorkflowTestSuite
	in := GeneralStatsInput{StatDate: "2026-03-03", PageSize: 2}

	stop := make(chan struct{})
	var mu sync.Mutex
	var last GeneralStatsProgress
	var stopOnce sync.Once
	killed := suite.NewTestActivityEnvironment()
	killed.SetWorkerStopChannel(stop)
	killed.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var p GeneralStatsProgress
		require.NoError(t, details.Get(&p))
		mu.Lock()
		defer mu.Unlock()
		last = p
		if p.Pages >= 1 {
			stopOnce.Do(func() { close(stop) })
		}
	})
	_, err := runGeneralStats(t, killed, s, in)
	require.ErrorContains(t, err, "worker stopping")
	mu.Lock()
	checkpoint := last
	mu.Unlock()
	require.Equal(t, 1, checkpoint.Pages)
	require.Equal(t, uint64(2), checkpoint.Cursor, "one page of two ids")
	_, err = store.ReadGeneralStats(context.Background(), db, in.StatDate)
	require.ErrorIs(t, err, store.ErrNoStatsRow, "a killed scan writes nothing")

	resumed := suite.NewTestActivityEnvironment()
	resumed.SetHeartbeatDetails(checkpoint)
	var cursors []uint64
	resumed.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var p GeneralStatsProgress
		require.NoError(t, details.Get(&p))
		mu.Lock()
		cursors = append(cursors, p.Cursor)
		mu.Unlock()
	})
	out, err := runGeneralStats(t, resumed, s, in)
	require.NoError(t, err)
	require.Equal(t, uint64(2), out.ResumedFromCursor)
	require.Equal(t, 4, out.Pages, "1 page before the kill + 3 after")
	require.Equal(t, wantGeneral, out.Stats)
	mu.Lock()
	require.NotEmpty(t, cursors)
	for _, c := range cursors {
		require.Greater(t, c, uint64(2), "no page at or before the checkpoint is scanned again")
	}
	mu.Unlock()
	row, err := store.ReadGeneralStats(context.Background(), db, in.StatDate)
	require.NoError(t, err)
	require.Equal(t, wantGeneralRow, row.GeneralStatsJSON)

	// The same row as an uninterrupted run.
	whole, err := runGeneralStats(t, suite.NewTestActivityEnvironment(), s, GeneralStatsInput{StatDate: "2026-03-04", PageSize: 2})
	require.NoError(t, err)
	require.Equal(t, whole.Stats, out.Stats)
}

func TestUserStatsCountsActiveUsersAsOfTheStatTime(t *testing.T) {
	db := newTestDB(t)
	asOf := time.Date(2026, 3, 10, 2, 0, 0, 0, time.UTC)
	for i, last := range []time.Time{
		asOf.Add(-time.Hour),                      // active
		asOf.AddDate(0, 0, -30),                   // exactly 30 days: active
		asOf.AddDate(0, 0, -30).Add(-time.Second), // inactive
		asOf.AddDate(0, 0, -90),                   // inactive
		asOf.AddDate(0, 0, -6),                    // active
	} {
		_, err := db.Exec(`INSERT INTO users (user_id, last_activity) VALUES (?, ?)`, i+1, last)
		require.NoError(t, err)
	}
	s := &Stats{DB: db, UserStatsActiveDays: 30}
	var suite testsuite.WorkflowTestSuite
	for _, tc := range []struct {
		name   string
		days   int
		active int64
	}{
		{"configured 30 days", 0, 3},
		{"input overrides to 7 days", 7, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := suite.NewTestActivityEnvironment()
			env.RegisterActivity(s)
			v, err := env.ExecuteActivity(s.UserStats, UserStatsInput{StatDate: "2026-03-10", AsOf: asOf, ActiveDays: tc.days})
			require.NoError(t, err)
			var out UserStatsResult
			require.NoError(t, v.Get(&out))
			require.Equal(t, int64(5), out.TotalUsers)
			require.Equal(t, tc.active, out.ActiveUsers)
			row, err := store.ReadUserStats(context.Background(), db, "2026-03-10")
			require.NoError(t, err)
			require.Equal(t, store.UserStatsRow{Date: "2026-03-10", TotalUsers: 5, ActiveUsers: tc.active, CreatedAt: row.CreatedAt}, row)
		})
	}
}

func TestBacklinkStatsTopListBreaksTiesByEntityID(t *testing.T) {
	db := newTestDB(t)
	ids := map[string]int64{"Q10": 1, "Q9": 2, "P2": 3, "Q1": 4, "L3": 5, "Q7": 6}
	for id, internal := range ids {
		_, err := db.Exec(`INSERT INTO entity_id_mapping (entity_id, internal_id, entity_type, numeric_id) VALUES (?, ?, ?, ?)`,
			id, internal, id[:1], id[1:])
		require.NoError(t, err)
	}
	links := map[string]int{"Q10": 3, "Q9": 3, "P2": 3, "Q1": 5, "L3": 1, "Q7": 1}
	n := 0
	for id, count := range links {
		for i := range count {
			n++
			_, err := db.Exec("INSERT INTO entity_backlinks (referenced_internal_id, referencing_internal_id, statement_id, property_id, `rank`) VALUES (?, ?, ?, 'P31', 'normal')",
				ids[id], 100+i, fmt.Sprintf("s%d", n))
			require.NoError(t, err)
		}
	}
	// A backlink to an internal id with no mapping counts in the totals but cannot be listed.
	_, err := db.Exec("INSERT INTO entity_backlinks (referenced_internal_id, referencing_internal_id, statement_id, property_id, `rank`) VALUES (999, 1, 'orphan', 'P31', 'normal')")
	require.NoError(t, err)

	s := &Stats{DB: db, BacklinkStatsTopLimit: 4}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(s)
	v, err := env.ExecuteActivity(s.BacklinkStats, BacklinkStatsInput{StatDate: "2026-03-11"})
	require.NoError(t, err)
	var out BacklinkStatsResult
	require.NoError(t, v.Get(&out))
	want := []store.BacklinkCount{{EntityID: "Q1", BacklinkCount: 5}, {EntityID: "P2", BacklinkCount: 3}, {EntityID: "Q9", BacklinkCount: 3}, {EntityID: "Q10", BacklinkCount: 3}}
	require.Equal(t, BacklinkStatsResult{StatDate: "2026-03-11", TotalBacklinks: 17, EntitiesWithBacklinks: 7, Top: want}, out)
	row, err := store.ReadBacklinkStats(context.Background(), db, "")
	require.NoError(t, err)
	require.Equal(t, store.BacklinkStatsRow{Date: "2026-03-11", TotalBacklinks: 17, UniqueEntitiesWithBacklinks: 7, TopEntitiesByBacklinks: want, CreatedAt: row.CreatedAt}, row)

	env = suite.NewTestActivityEnvironment()
	env.RegisterActivity(s)
	v, err = env.ExecuteActivity(s.BacklinkStats, BacklinkStatsInput{StatDate: "2026-03-11", TopLimit: 6})
	require.NoError(t, err)
	require.NoError(t, v.Get(&out))
	require.Equal(t, []store.BacklinkCount{{EntityID: "Q1", BacklinkCount: 5}, {EntityID: "P2", BacklinkCount: 3}, {EntityID: "Q9", BacklinkCount: 3}, {EntityID: "Q10", BacklinkCount: 3}, {EntityID: "L3", BacklinkCount: 1}, {EntityID: "Q7", BacklinkCount: 1}}, out.Top)
	var rows int
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM backlink_statistics`).Scan(&rows))
	require.Equal(t, 1, rows, "a re-run replaces the day's row")
}
