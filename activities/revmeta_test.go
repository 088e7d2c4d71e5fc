package activities

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"go.uber.org/zap/zaptest"

	"github.com/entitybase/entitybase-workers/internal/dump"
	"github.com/entitybase/entitybase-workers/internal/fixtures"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/store/storetest"
)

// importAndDumpJSON imports src into a new store and returns the lines of a JSON dump of
// everything in it, by entity id.
func importAndDumpJSON(t *testing.T, src string) (map[string]map[string]any, ImportCounts) {
	t.Helper()
	db, _ := storetest.NewDB(t)
	imp := &Importer{DB: db, Log: zaptest.NewLogger(t)}
	_, counts, rejections := importAll(t, imp, src, 100, 200)
	require.Empty(t, rejections)

	dir := t.TempDir()
	acts := &Dumps{DB: db, Store: openTestStore(t, "file://"+dir), Name: "wikibase", ChunkSize: 100, Parallelism: 1}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	now := time.Now().UTC()
	file := dump.Layout{Name: "wikibase", Date: now, Format: dump.FormatJSON, Flavor: dump.FlavorFull, Kind: dump.KindAll}
	v, err := env.ExecuteActivity(acts.DumpChunk, DumpChunkInput{File: file, Index: 0, AfterID: 0, UpToID: 1 << 40, SnapshotTime: now})
	require.NoError(t, err)
	var res DumpChunkResult
	require.NoError(t, v.Get(&res))
	part := gunzip(t, filepath.Join(dir, filepath.FromSlash(file.PartKey(0))))
	out := map[string]map[string]any{}
	for _, line := range strings.Split(part, ",\n") {
		var e map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &e), line)
		out[e["id"].(string)] = e
	}
	return out, counts
}

// TestImportedWikidataEntitiesDumpAsWikidata imports the real Wikidata entities (their
// Special:EntityData files) and dumps them as JSON: each dump line is Wikidata's own, its
// page metadata (pageid, ns, title, lastrevid, modified) included.
func TestImportedWikidataEntitiesDumpAsWikidata(t *testing.T) {
	dir := filepath.Join(fixtures.SharedDir(t), "fixtures", "wikidata", "entities")
	dumped, _ := importAndDumpJSON(t, dir)
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	require.NoError(t, err)
	require.Len(t, dumped, len(files))
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		var doc struct {
			Entities map[string]map[string]any `json:"entities"`
		}
		require.NoError(t, json.Unmarshal(data, &doc))
		for id, want := range doc.Entities {
			fixtures.DumpForm(want, true)
			got := dumped[id]
			for _, k := range []string{"pageid", "ns", "title", "lastrevid", "modified"} {
				assert.Equal(t, want[k], got[k], "%s %s", id, k)
			}
			assert.Equal(t, want, got, id)
		}
	}
}

// TestReimportComparesRevisionIDs imports a Wikidata entity, then the same entity with an
// older lastrevid and other content (kept out: counted as Older, not rejected), the same
// lastrevid (unchanged), and a newer one (written with its ID, time and page ID).
func TestReimportComparesRevisionIDs(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(fixtures.SharedDir(t), "fixtures", "wikidata", "entities", "P3111.json"))
	require.NoError(t, err)
	const lastrevid, modified = `"lastrevid": 2345585555`, `"modified": "2025-05-07T02:50:12Z"`
	require.Contains(t, string(data), lastrevid)
	require.Contains(t, string(data), modified)
	version := func(rev, at, label string) string {
		s := strings.Replace(string(data), lastrevid, `"lastrevid": `+rev, 1)
		s = strings.Replace(s, modified, `"modified": "`+at+`"`, 1)
		return strings.Replace(s, `"value": "FEI athlete ID"`, `"value": "`+label+`"`, 1)
	}
	db, _ := storetest.NewDB(t)
	imp := &Importer{DB: db, Log: zaptest.NewLogger(t)}
	dir := t.TempDir()
	importVersion := func(text string) ImportCounts {
		t.Helper()
		path := filepath.Join(dir, "P3111.json")
		require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
		_, counts, rejections := importAll(t, imp, path, 100, 200)
		require.Empty(t, rejections)
		return counts
	}
	assert.Equal(t, int64(1), importVersion(string(data)).Created)
	older := importVersion(version("2345585554", "2025-05-06T00:00:00Z", "older label"))
	assert.Equal(t, ImportCounts{Older: 1, Bytes: older.Bytes}, older)
	same := importVersion(version("2345585555", "2025-05-07T02:50:12Z", "same id, other label"))
	assert.Equal(t, ImportCounts{Unchanged: 1, Bytes: same.Bytes}, same)
	newer := importVersion(version("2345585600", "2025-06-01T00:00:00Z", "newer label"))
	assert.Equal(t, ImportCounts{Updated: 1, Bytes: newer.Bytes}, newer)

	s := &store.Entities{DB: db}
	head, err := s.Head(t.Context(), "P3111")
	require.NoError(t, err)
	assert.Equal(t, int64(2345585600), head.RevisionID)
	rev, err := s.Revision(t.Context(), "P3111", head.RevisionID)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), rev.Modified.UTC())
	assert.Equal(t, int64(28653342), rev.PageID)
	assert.Contains(t, string(rev.Line), `"newer label"`)
	assert.Equal(t, 2, countRows(t, db, "SELECT COUNT(*) FROM entity_revisions"))
}

// TestImportRejectsABadModifiedTime: an entity whose modified is not a time is rejected once,
// naming it; the rest is imported.
func TestImportRejectsABadModifiedTime(t *testing.T) {
	db, _ := storetest.NewDB(t)
	path := filepath.Join(t.TempDir(), "dump.json")
	require.NoError(t, os.WriteFile(path, []byte("[\n"+
		`{"type":"property","datatype":"string","id":"P1","labels":{},"descriptions":{},"aliases":{},"claims":{},"pageid":7,"ns":120,"title":"Property:P1","lastrevid":5,"modified":"yesterday"},`+"\n"+
		`{"type":"item","id":"Q2","labels":{},"descriptions":{},"aliases":{},"claims":{},"sitelinks":{},"pageid":8,"ns":0,"title":"Q2","lastrevid":6,"modified":"2025-01-01T00:00:00Z"}`+"\n]\n"), 0o644))
	_, counts, rejections := importAll(t, &Importer{DB: db, Log: zaptest.NewLogger(t)}, path, 100, 200)
	assert.Equal(t, int64(1), counts.Created)
	require.Len(t, rejections, 1)
	assert.Equal(t, "P1", rejections[0].EntityID, "rejected once, in the second pass")
	assert.Equal(t, `modified "yesterday" is not a time like 2025-12-27T16:06:06Z`, rejections[0].Reason)
}

func countRows(t *testing.T, db *sql.DB, query string) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow(query).Scan(&n))
	return n
}
