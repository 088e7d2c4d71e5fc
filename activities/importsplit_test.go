package activities

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/entitybase/entitybase-workers/internal/dump"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/store/storetest"
)

// TestSplitImportStagesChunksAndRecordsDatatypes splits a directory of a dump and a
// pretty-printed Special:EntityData document of a property: the chunks are staged, the
// datatypes of both properties recorded, and importing the staged chunks stores what the
// source holds, deleting each chunk file.
func TestSplitImportStagesChunksAndRecordsDatatypes(t *testing.T) {
	db, _ := storetest.NewDB(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.json"), []byte(testDump), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.json"), []byte(`{
  "entities": {
    "P7": {"type": "property", "datatype": "string", "id": "P7", "labels": {}, "descriptions": {}, "aliases": {}, "claims": {}}
  }
}
`), 0o644))
	imp, staging, env, split := splitInto(t, db, dir, 2)
	require.Equal(t, 5, split.Plan.Len(), "7 dump lines in chunks of 2, and the document")
	assert.Equal(t, "import/w/r/chunk-0000004.json.s2", split.Plan.Chunk(4).Key)
	assert.Equal(t, ImportFormatEntityData, split.Plan.Chunk(4).Format)
	assert.Equal(t, 2, split.Properties)
	dt, err := (&store.Entities{DB: db}).Datatypes(context.Background())
	require.NoError(t, err)
	for pid, want := range map[string]string{"P2": "external-id", "P7": "string"} {
		got, ok := dt.Datatype(pid)
		assert.True(t, ok, pid)
		assert.Equal(t, want, got, pid)
	}
	size := int64(len(testDump))
	st, err := os.Stat(filepath.Join(dir, "b.json"))
	require.NoError(t, err)
	size += st.Size()
	assert.Equal(t, ReadCounts{SourceBytes: size, FetchedBytes: size, DecompressedBytes: size}, split.Read)
	assert.Equal(t, size, split.Plan.TotalBytes)

	var total ImportCounts
	for _, c := range split.Plan.All() {
		v, err := env.ExecuteActivity(imp.ImportChunk, ImportChunkInput{Chunk: c, BatchSize: 1})
		require.NoError(t, err)
		var res ImportChunkResult
		require.NoError(t, v.Get(&res))
		total.Add(res.Counts)
		ok, err := staging.Exists(context.Background(), c.Key)
		require.NoError(t, err)
		assert.False(t, ok, "chunk %d is deleted once imported", c.Index)
		// A retry after the deletion answers the recorded result.
		v, err = env.ExecuteActivity(imp.ImportChunk, ImportChunkInput{Chunk: c, BatchSize: 1})
		require.NoError(t, err)
		var again ImportChunkResult
		require.NoError(t, v.Get(&again))
		assert.Equal(t, res, again)
	}
	assert.Equal(t, int64(4), total.Created, "Q1, P2, Q3 and P7")
	assert.Equal(t, int64(2), total.Rejected)

	_, err = env.ExecuteActivity(imp.RemoveImportStaging, RemoveImportStagingInput{Staging: "import/w/r/"})
	require.NoError(t, err)
	left, err := staging.List(context.Background(), "")
	require.NoError(t, err)
	assert.Empty(t, left)
}

// TestSplitImportReadsAGzipSourceOnce splits a gzip dump of a few MiB, which the split
// inflates ahead on a goroutine of its own (ReadAhead): the staged chunks hold the dump's
// lines exactly, and the read counts say each byte was fetched and inflated once.
func TestSplitImportReadsAGzipSourceOnce(t *testing.T) {
	db, _ := storetest.NewDB(t)
	var dumpText bytes.Buffer
	dumpText.WriteString("[\n")
	const items = 3000
	for i := 1; i <= items; i++ {
		fmt.Fprintf(&dumpText, `{"type":"item","id":"Q%d","labels":{"en":{"language":"en","value":"item %d %s"}},"descriptions":{},"aliases":{},"claims":{},"sitelinks":{}}`,
			i, i, strings.Repeat("x", 1000))
		if i < items {
			dumpText.WriteString(",")
		}
		dumpText.WriteString("\n")
	}
	dumpText.WriteString("]\n")
	data := dumpText.Bytes()
	gz := gzipped(t, data)
	src := filepath.Join(t.TempDir(), "dump.json.gz")
	require.NoError(t, os.WriteFile(src, gz, 0o644))

	imp, _, _, split := splitInto(t, db, src, 500)
	assert.Equal(t, ReadCounts{SourceBytes: int64(len(gz)), FetchedBytes: int64(len(gz)), DecompressedBytes: int64(len(data))}, split.Read)
	assert.Equal(t, int64(len(data)), split.Plan.TotalBytes)
	require.Equal(t, 7, split.Plan.Len(), "3,002 lines in chunks of 500")
	var staged bytes.Buffer
	for _, c := range split.Plan.All() {
		r, done, err := imp.stagedChunkReader(context.Background(), c)
		require.NoError(t, err)
		_, err = io.Copy(&staged, r)
		done()
		require.NoError(t, err)
	}
	assert.True(t, bytes.Equal(data, staged.Bytes()), "the staged chunks are the dump, byte for byte")
}

// TestSplitPlanStaysSmallAtWikidataScale splits a dump into many chunks and checks the plan
// the split heartbeats and returns (and the import workflow carries over continue-as-new):
// Temporal warns above 512 KiB and refuses 2 MiB, and Wikidata's dump has some 23,000 chunks
// of 5,000 lines. Each chunk must cost a few bytes, and the plan must still name every
// chunk exactly as the source planner does.
func TestSplitPlanStaysSmallAtWikidataScale(t *testing.T) {
	db, _ := storetest.NewDB(t)
	const lines = 2000
	var src strings.Builder
	for i := range lines {
		fmt.Fprintf(&src, `{"type":"item","id":"Q%d","labels":{},"descriptions":{},"aliases":{},"claims":{},"sitelinks":{}}`+"\n", i+1)
	}
	path := filepath.Join(t.TempDir(), "dump.json")
	require.NoError(t, os.WriteFile(path, []byte(src.String()), 0o644))
	imp, _, _, split := splitInto(t, db, path, 1)
	require.Equal(t, lines, split.Plan.Len())

	encoded, err := json.Marshal(split)
	require.NoError(t, err)
	perChunk := float64(len(encoded)) / lines
	assert.Less(t, perChunk*23000, float64(512<<10), "%.1f bytes per chunk", perChunk)

	planned, err := imp.PlanImport(context.Background(), PlanImportInput{Source: path, ChunkLines: 1})
	require.NoError(t, err)
	require.Len(t, planned.Chunks, lines)
	for i, c := range split.Plan.All() {
		assert.Equal(t, fmt.Sprintf("import/w/r/chunk-%07d.json.s2", i), c.Key)
		c.Key = ""
		require.Equal(t, planned.Chunks[i], c, "chunk %d", i)
		require.Equal(t, c, func() SourceChunk { c := split.Plan.Chunk(i); c.Key = ""; return c }())
	}
}

// splitInto splits src in chunks of chunkLines lines into a file staging store of its own,
// under import/w/r/.
func splitInto(t *testing.T, db *sql.DB, src string, chunkLines int) (*Importer, *dump.BlobStore, *testsuite.TestActivityEnvironment, SplitImportResult) {
	t.Helper()
	staging, err := dump.OpenFileStore(t.TempDir())
	require.NoError(t, err)
	imp := &Importer{DB: db, Staging: staging}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(imp)
	v, err := env.ExecuteActivity(imp.SplitImport, SplitImportInput{Source: src, ChunkLines: chunkLines, Staging: "import/w/r/"})
	require.NoError(t, err)
	var split SplitImportResult
	require.NoError(t, v.Get(&split))
	return imp, staging, env, split
}

func TestMayBeProperty(t *testing.T) {
	for json, want := range map[string]bool{
		`{"type":"property","datatype":"string","id":"P1"}`:                       true,
		`{"type":"item","id":"Q1","claims":{}}`:                                   false,
		`{"type":"lexeme","id":"L1"}`:                                             false,
		`{"type":"propertyless","id":"X1"}`:                                       false,
		`{"id":"P1","datatype":"string","type":"property"}`:                       true, // type last
		`{"id":"P1", "type": "property"}`:                                         true, // spaced
		`{"id":"Q1","type":"item","claims":{"P1":[{"type":"statement"}]}}`:        false,
		`{"id":"Q1","descriptions":{"en":{"value":"has \"type\":\"property\""}}}`: false,
	} {
		assert.Equal(t, want, mayBeProperty([]byte(json)), json)
	}
}
