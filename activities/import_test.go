package activities

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.uber.org/zap/zaptest"

	"github.com/entitybase/entitybase-workers/internal/metrics"
	"github.com/entitybase/entitybase-workers/internal/permanent"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/store/storetest"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

const testDump = `[
{"type":"item","id":"Q1","labels":{"en":{"language":"en","value":"one"}},"descriptions":{},"aliases":{},"claims":{"P2":[{"mainsnak":{"snaktype":"value","property":"P2","datavalue":{"value":"x","type":"string"}},"type":"statement","id":"Q1$a","rank":"normal"}]},"sitelinks":{}},
{"type":"item","id":"Q2","labels":{}, this is not json
{"type":"property","datatype":"external-id","id":"P2","labels":{},"descriptions":{},"aliases":{},"claims":{}},
{"type":"item","labels":{"en":{"language":"en","value":"no id"}}},
{"type":"item","id":"Q3","labels":{},"descriptions":{},"aliases":{},"claims":{},"sitelinks":{}}
]
`

// runImport plans and runs both passes the way ImportWorkflow does.
func runImport(t *testing.T, imp *Importer, src string) ImportCounts {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(imp)
	v, err := env.ExecuteActivity(imp.PlanImport, PlanImportInput{Source: src, ChunkLines: 2})
	require.NoError(t, err)
	var plan PlanImportResult
	require.NoError(t, v.Get(&plan))
	require.Len(t, plan.Chunks, 4, "7 lines in chunks of 2")
	assert.Equal(t, int64(7), plan.TotalLines)
	var total ImportCounts
	var rejections []Rejection
	for _, props := range []bool{true, false} {
		for _, c := range plan.Chunks {
			v, err := env.ExecuteActivity(imp.ImportChunk, ImportChunkInput{Chunk: c, DatatypesOnly: props, BatchSize: 1})
			require.NoError(t, err)
			var res ImportChunkResult
			require.NoError(t, v.Get(&res))
			total.Add(res.Counts)
			rejections = append(rejections, res.Rejections...)
		}
	}
	require.Len(t, rejections, 2)
	assert.Equal(t, 3, rejections[0].Line)
	assert.Equal(t, "Q2", rejections[0].EntityID)
	assert.Equal(t, 5, rejections[1].Line)
	assert.Contains(t, rejections[1].Reason, "entity has no id")
	return total
}

func TestImportDumpTwice(t *testing.T) {
	db, _ := storetest.NewDB(t)
	src := filepath.Join(t.TempDir(), "dump.json")
	require.NoError(t, os.WriteFile(src, []byte(testDump), 0o644))
	reg := prometheus.NewRegistry()
	work, err := metrics.New(reg)
	require.NoError(t, err)
	imp := &Importer{DB: db, Log: zaptest.NewLogger(t), Metrics: work}

	first := runImport(t, imp, src)
	assert.Equal(t, ImportCounts{Created: 3, Rejected: 2, Lines: 7, Bytes: int64(len(testDump))}, first)
	assertMetrics(t, reg, fmt.Sprintf(`
# HELP entitybase_import_bytes_total Bytes of the import sources whose chunks finished (as stored, compressed or not).
# TYPE entitybase_import_bytes_total counter
entitybase_import_bytes_total %d
# HELP entitybase_import_entities_total Entities and redirects an import committed, by outcome: created, updated or unchanged.
# TYPE entitybase_import_entities_total counter
entitybase_import_entities_total{outcome="created"} 3
entitybase_import_entities_total{outcome="unchanged"} 0
entitybase_import_entities_total{outcome="updated"} 0
# HELP entitybase_import_rejections_total Entities and redirects an import rejected (not valid, over a limit, unknown redirect target).
# TYPE entitybase_import_rejections_total counter
entitybase_import_rejections_total 2
`, len(testDump)), "entitybase_import_bytes_total", "entitybase_import_entities_total", "entitybase_import_rejections_total")
	// P2's datatype was recorded in the first pass, so Q1's snak got its datatype although the dump line had none.
	rev, err := (&store.Entities{DB: db}).Revision(t.Context(), "Q1", 1)
	require.NoError(t, err)
	assert.Contains(t, string(rev.Line), `"datatype":"external-id"`)
	assert.Equal(t, 1, rev.Identifiers)

	second := runImport(t, imp, src)
	assert.Equal(t, ImportCounts{Unchanged: 3, Rejected: 2, Lines: 7, Bytes: int64(len(testDump))}, second)
	assertMetrics(t, reg, `
# HELP entitybase_import_entities_total Entities and redirects an import committed, by outcome: created, updated or unchanged.
# TYPE entitybase_import_entities_total counter
entitybase_import_entities_total{outcome="created"} 3
entitybase_import_entities_total{outcome="unchanged"} 3
entitybase_import_entities_total{outcome="updated"} 0
# HELP entitybase_import_rejections_total Entities and redirects an import rejected (not valid, over a limit, unknown redirect target).
# TYPE entitybase_import_rejections_total counter
entitybase_import_rejections_total 4
`, "entitybase_import_entities_total", "entitybase_import_rejections_total")
	var revisions, events int
	require.NoError(t, db.QueryRow("SELECT (SELECT COUNT(*) FROM entity_revisions), (SELECT COUNT(*) FROM entity_change_outbox)").Scan(&revisions, &events))
	assert.Equal(t, []int{3, 3}, []int{revisions, events})
}

// TestImportGzipOverHTTP reads the same dump gzip-compressed from an http URL, and a 404 is a
// non-retryable error naming the URL.
func TestImportGzipOverHTTP(t *testing.T) {
	gz := gzipped(t, []byte(testDump))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/dump.json.gz" {
			http.NotFound(w, r)
			return
		}
		w.Write(gz)
	}))
	defer srv.Close()
	db, _ := storetest.NewDB(t)
	imp := &Importer{DB: db, Log: zaptest.NewLogger(t)}
	counts := runImport(t, imp, srv.URL+"/dump.json.gz")
	assert.Equal(t, ImportCounts{Created: 3, Rejected: 2, Lines: 7, Bytes: int64(len(testDump))}, counts)

	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(imp)
	_, err := env.ExecuteActivity(imp.PlanImport, PlanImportInput{Source: srv.URL + "/missing.json"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "/missing.json: HTTP 404")
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	assert.True(t, appErr.NonRetryable())
}

// planError runs PlanImport of src and returns its error.
func planError(t *testing.T, imp *Importer, src string) error {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(imp)
	_, err := env.ExecuteActivity(imp.PlanImport, PlanImportInput{Source: src})
	require.Error(t, err)
	return err
}

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, err := zw.Write(data)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return gz.Bytes()
}

// TestATruncatedOrCorruptStreamIsPermanent: bytes that do not decode fail the same way at
// every attempt, so they are a permanent error naming the file.
func TestATruncatedOrCorruptStreamIsPermanent(t *testing.T) {
	dir := t.TempDir()
	gz := gzipped(t, bytes.Repeat([]byte(testDump), 50))
	bz2, err := os.ReadFile("../internal/wikibase/testdata/two-streams.json.bz2")
	require.NoError(t, err)
	corrupt := append([]byte(nil), gz...)
	for i := len(corrupt) / 3; i < len(corrupt)/2; i++ {
		corrupt[i] ^= 0x55
	}
	imp := &Importer{Log: zaptest.NewLogger(t)}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"truncated.json.gz", gz[:len(gz)/2], "the gzip stream is truncated or corrupt: unexpected EOF"},
		{"corrupt.json.gz", corrupt, "the gzip stream is truncated or corrupt"},
		{"truncated.json.bz2", bz2[:len(bz2)*2/3], "the bzip2 stream is truncated or corrupt"},
		{"header.json.gz", []byte{0x1f, 0x8b, 0, 0}, "open gzip stream"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := filepath.Join(dir, tc.name)
			require.NoError(t, os.WriteFile(src, tc.data, 0o644))
			err := planError(t, imp, src)
			assert.True(t, permanent.Is(err, permanent.BadInput), "%v", err)
			assert.Contains(t, err.Error(), "import source "+src+": ")
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestAConnectionCutShortIsRetried: a gzip dump whose HTTP response ends before its
// Content-Length is a failure to read, not a bad file: it is retried.
func TestAConnectionCutShortIsRetried(t *testing.T) {
	gz := gzipped(t, bytes.Repeat([]byte(testDump), 50))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(gz)))
		w.Write(gz[:len(gz)/2])
		// Returning early with the body short of its length makes the server close the
		// connection.
	}))
	defer srv.Close()
	err := planError(t, &Importer{Log: zaptest.NewLogger(t)}, srv.URL+"/dump.json.gz")
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	assert.False(t, appErr.NonRetryable(), "%v", err)
	assert.Contains(t, err.Error(), "read import source "+srv.URL+"/dump.json.gz: ")
}

func TestImportSourcesNamesWhatIsWrong(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.json.gz"), nil, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.json"), nil, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), nil, 0o644))
	got, err := ImportSources(dir)
	require.NoError(t, err)
	assert.Equal(t, []string{filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json.gz")}, got)
	got, err = ImportSources("file://" + filepath.Join(dir, "a.json"))
	require.NoError(t, err)
	assert.Equal(t, []string{filepath.Join(dir, "a.json")}, got)

	for src, want := range map[string]string{
		"/nonexistent":                       "/nonexistent: no such file or directory",
		filepath.Join(dir, "notes.txt", "x"): filepath.Join(dir, "notes.txt", "x") + ": not a directory",
		t.TempDir():                          ": directory has no .json, .json.gz or .json.bz2 files",
		"https://":                           `"https://": not a valid URL (no host)`,
		"http://exa mple.org/x.json":         `"http://exa mple.org/x.json": not a valid URL: invalid character " " in host name`,
	} {
		_, err := ImportSources(src)
		assert.ErrorContains(t, err, want, src)
	}
	if os.Geteuid() != 0 { // root reads every file
		unreadable := filepath.Join(dir, "secret.json")
		require.NoError(t, os.WriteFile(unreadable, nil, 0o000))
		_, err := ImportSources(unreadable)
		assert.EqualError(t, err, unreadable+": permission denied")
	}
}

// TestRejectionsNameTheEntityNotAStatement: the id of a rejected line is its entity's, even
// when a statement with an id comes first; a line without one names none. An entity of a type
// the store does not know is rejected like any other.
func TestRejectionsNameTheEntityNotAStatement(t *testing.T) {
	db, _ := storetest.NewDB(t)
	statement := `{"P2":[{"mainsnak":{"snaktype":"value","property":"P2","datavalue":{"value":"x","type":"string"}},"type":"statement","id":"%s$a","rank":"normal"}]}`
	src := filepath.Join(t.TempDir(), "dump.json")
	require.NoError(t, os.WriteFile(src, []byte("[\n"+
		`{"type":"item","claims":`+fmt.Sprintf(statement, "Q7")+`,"id":"Q7","labels":{"en":{"language":"en"}}},`+"\n"+
		`{"type":"item","claims":`+fmt.Sprintf(statement, "Q8")+`},`+"\n"+
		`{"type":"item","id":"Q9","labels":{"en":{"language":"en","value":"`+strings.Repeat("x", 300)+`"}}},`+"\n"+
		`{"type":"spaceship","id":"S1","labels":{}}`+"\n]\n"), 0o644))
	imp := &Importer{DB: db, Log: zaptest.NewLogger(t)}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(imp)
	v, err := env.ExecuteActivity(imp.ImportChunk, ImportChunkInput{Chunk: SourceChunk{Source: src, Format: ImportFormatDump, FirstLine: 1, Lines: 6}})
	require.NoError(t, err)
	var res ImportChunkResult
	require.NoError(t, v.Get(&res))
	require.Len(t, res.Rejections, 4)
	var ids []string
	var lines []int
	for _, r := range res.Rejections {
		ids, lines = append(ids, r.EntityID), append(lines, r.Line)
	}
	assert.Equal(t, []string{"Q7", "", "Q9", "S1"}, ids)
	assert.Equal(t, []int{2, 3, 4, 5}, lines)
	assert.Contains(t, res.Rejections[1].Reason, "entity has no id: the importer does not allocate ids yet")
	assert.Equal(t, "label (en) is 300 characters, over the limit of 250 (LABEL_MAX_CHARS)", res.Rejections[2].Reason)
	assert.Equal(t, `"S1" is not an entity id like Q42, P31, L7 or E1`, res.Rejections[3].Reason, "an unknown entity type")
	assert.Equal(t, ImportCounts{Rejected: 4, Lines: 6}, res.Counts)
}

// importAll plans src and runs both passes of every chunk, as ImportWorkflow does.
func importAll(t *testing.T, imp *Importer, src string, chunkLines, batch int) (PlanImportResult, ImportCounts, []Rejection) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(imp)
	v, err := env.ExecuteActivity(imp.PlanImport, PlanImportInput{Source: src, ChunkLines: chunkLines})
	require.NoError(t, err)
	var plan PlanImportResult
	require.NoError(t, v.Get(&plan))
	var total ImportCounts
	var rejections []Rejection
	for _, props := range []bool{true, false} {
		for _, c := range plan.Chunks {
			v, err := env.ExecuteActivity(imp.ImportChunk, ImportChunkInput{Chunk: c, DatatypesOnly: props, BatchSize: batch})
			require.NoError(t, err)
			var res ImportChunkResult
			require.NoError(t, v.Get(&res))
			total.Add(res.Counts)
			rejections = append(rejections, res.Rejections...)
		}
	}
	return plan, total, rejections
}

// TestImportReadsEveryInputForm: one import of a directory holding a JSON array on one line,
// a pretty-printed Special:EntityData file and JSON documents one per line stores every
// entity, with the rejections on their lines.
func TestImportReadsEveryInputForm(t *testing.T) {
	db, _ := storetest.NewDB(t)
	dir := t.TempDir()
	q := func(id string) string {
		return `{"type":"item","id":"` + id + `","labels":{"en":{"language":"en","value":"` + id + `"}},"descriptions":{},"aliases":{},"claims":{},"sitelinks":{}}`
	}
	files := map[string]string{
		"a-array.json": "[" + q("Q1") + "," + q("Q2") + "," + q("Q3") + "]",
		"b-entitydata.json": "{\n  \"entities\": {\n    \"Q4\": {\n      \"type\": \"item\",\n      \"id\": \"Q4\",\n      \"labels\": {}\n    },\n" +
			"    \"Q5\": {\n      \"type\": \"item\"\n    }\n  }\n}\n",
		"c-documents.json": `{"entities":{"Q6":` + q("Q6") + "}}\n" + `{"entities":{"Q7":` + q("Q7") + `,"Q8":` + q("Q8") + "}}\n",
		"d-empty.json":     `{"entities":{}}`,
	}
	for name, text := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
	}
	imp := &Importer{DB: db, Log: zaptest.NewLogger(t)}
	plan, counts, rejections := importAll(t, imp, dir, 1, 1)
	require.Len(t, plan.Chunks, 5, "the array and the empty document are one line each, the pretty file one chunk, the documents two lines")
	assert.Equal(t, ImportFormatEntityData, plan.Chunks[1].Format)
	assert.Equal(t, int64(7), counts.Created)
	require.Len(t, rejections, 2)
	assert.Equal(t, Rejection{Source: filepath.Join(dir, "b-entitydata.json"), Line: 8, EntityID: "Q5", Reason: "entity has no id: the importer does not allocate ids yet; give every entity its id"}, rejections[0])
	assert.Equal(t, filepath.Join(dir, "d-empty.json"), rejections[1].Source)
	assert.Equal(t, wikibase.ErrNoEntities.Error(), rejections[1].Reason)
	for _, id := range []string{"Q1", "Q2", "Q3", "Q4", "Q6", "Q7", "Q8"} {
		_, err := (&store.Entities{DB: db}).Head(t.Context(), id)
		assert.NoError(t, err, id)
	}
}

// TestImportStoresRedirects: a redirect given as Wikibase's redirect content, or as an
// entity under the key of the redirected id (a wbgetentities answer), is stored as a
// redirect, once; one to an entity of another type is rejected.
func TestImportStoresRedirects(t *testing.T) {
	db, _ := storetest.NewDB(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.json"), []byte("[\n"+
		`{"entity":"Q5","redirect":"Q2"},`+"\n"+
		`{"entity":"Q6","redirect":"P2"}`+"\n]\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.json"), []byte(
		`{"entities":{"Q1":{"type":"item","id":"Q2","labels":{},"descriptions":{},"aliases":{},"claims":{},"sitelinks":{},"redirects":{"from":"Q1","to":"Q2"}}}}`), 0o644))
	imp := &Importer{DB: db, Log: zaptest.NewLogger(t)}
	_, counts, rejections := importAll(t, imp, dir, 100, 200)
	assert.Equal(t, ImportCounts{Created: 3, Redirects: 2, Rejected: 1, Lines: 5, Bytes: counts.Bytes}, counts)
	require.Len(t, rejections, 1)
	assert.Equal(t, 3, rejections[0].Line)
	assert.Contains(t, rejections[0].Reason, "Q6 cannot redirect to P2")

	s := &store.Entities{DB: db}
	for from, to := range map[string]string{"Q1": "Q2", "Q5": "Q2"} {
		head, err := s.Head(t.Context(), from)
		require.NoError(t, err)
		assert.True(t, head.IsRedirect, from)
		assert.Equal(t, to, head.RedirectsTo, from)
	}
	q2, err := s.Head(t.Context(), "Q2")
	require.NoError(t, err)
	rev, err := s.Revision(t.Context(), "Q2", q2.RevisionID)
	require.NoError(t, err)
	assert.NotContains(t, string(rev.Line), "redirects", "the answer's redirects member is not stored")

	_, again, _ := importAll(t, imp, dir, 100, 200)
	assert.Equal(t, int64(3), again.Unchanged)
	assert.Zero(t, again.Created+again.Updated+again.Redirects)
}

// assertMetrics compares the named metrics of reg with want, in the text exposition format.
func assertMetrics(t *testing.T, reg prometheus.Gatherer, want string, names ...string) {
	t.Helper()
	assert.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want), names...))
}
