package activities

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.uber.org/zap/zaptest"

	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/store/storetest"
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
	imp := &Importer{DB: db, Log: zaptest.NewLogger(t)}

	first := runImport(t, imp, src)
	assert.Equal(t, ImportCounts{Created: 3, Rejected: 2, Lines: 7, Bytes: int64(len(testDump))}, first)
	// P2's datatype was recorded in the first pass, so Q1's snak got its datatype although the dump line had none.
	rev, err := (&store.Entities{DB: db}).Revision(t.Context(), "Q1", 1)
	require.NoError(t, err)
	assert.Contains(t, string(rev.Line), `"datatype":"external-id"`)
	assert.Equal(t, 1, rev.Identifiers)

	second := runImport(t, imp, src)
	assert.Equal(t, ImportCounts{Unchanged: 3, Rejected: 2, Lines: 7, Bytes: int64(len(testDump))}, second)
	var revisions, events int
	require.NoError(t, db.QueryRow("SELECT (SELECT COUNT(*) FROM entity_revisions), (SELECT COUNT(*) FROM entity_change_outbox)").Scan(&revisions, &events))
	assert.Equal(t, []int{3, 3}, []int{revisions, events})
}

// TestImportGzipOverHTTP reads the same dump gzip-compressed from an http URL, and a 404 is a
// non-retryable error naming the URL.
func TestImportGzipOverHTTP(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(testDump))
	require.NoError(t, zw.Close())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/dump.json.gz" {
			http.NotFound(w, r)
			return
		}
		w.Write(gz.Bytes())
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
