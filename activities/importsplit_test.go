package activities

import (
	"context"
	"os"
	"path/filepath"
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
	staging, err := dump.OpenFileStore(t.TempDir())
	require.NoError(t, err)
	imp := &Importer{DB: db, Staging: staging}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(imp)
	v, err := env.ExecuteActivity(imp.SplitImport, SplitImportInput{Source: dir, ChunkLines: 2, Staging: "import/w/r/"})
	require.NoError(t, err)
	var split SplitImportResult
	require.NoError(t, v.Get(&split))
	require.Len(t, split.Plan.Chunks, 5, "7 dump lines in chunks of 2, and the document")
	assert.Equal(t, "import/w/r/chunk-0000004.json.s2", split.Plan.Chunks[4].Key)
	assert.Equal(t, ImportFormatEntityData, split.Plan.Chunks[4].Format)
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
	for _, c := range split.Plan.Chunks {
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
