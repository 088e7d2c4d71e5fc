package activities

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/store/storetest"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// TestStagedImportChunksGivesTheSplitsChunksFromAnIndex reads the plan a split published:
// the chunks from an index on, named as the split's own plan names them, and none past its
// end once the wait is over.
func TestStagedImportChunksGivesTheSplitsChunksFromAnIndex(t *testing.T) {
	db, _ := storetest.NewDB(t)
	src := filepath.Join(t.TempDir(), "dump.json")
	require.NoError(t, os.WriteFile(src, []byte(testDump), 0o644))
	imp, _, env, split := splitInto(t, db, src, 2)
	require.Equal(t, 4, split.Plan.Len())
	// The split publishes at most every splitPlanEvery, so its last plan may miss chunks (the
	// workflow has them from its result): publish the whole plan.
	(&splitter{importer: imp, in: SplitImportInput{Staging: "import/w/r/"}, p: splitProgress{Result: split}}).publishPlan(context.Background())
	from := func(i int, wait time.Duration) []SourceChunk {
		v, err := env.ExecuteActivity(imp.StagedImportChunks, StagedImportChunksInput{Staging: "import/w/r/", From: i, Wait: wait})
		require.NoError(t, err)
		var p PlanImportResult
		require.NoError(t, v.Get(&p))
		var chunks []SourceChunk
		for _, c := range p.All() {
			chunks = append(chunks, c)
		}
		return chunks
	}
	for _, i := range []int{0, 1, 3} {
		var want []SourceChunk
		for j, c := range split.Plan.All() {
			if j >= i {
				want = append(want, c)
			}
		}
		assert.Equal(t, want, from(i, 0), "from chunk %d", i)
	}
	start := time.Now()
	assert.Empty(t, from(4, 300*time.Millisecond), "no chunk past the end")
	assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond, "it waits for one")
}

// provisionalDump has an item whose snak of P2 has no datatype and one whose snak of P9 says
// string, then P2 and P9, both external-id.
const provisionalDump = `[
{"type":"item","id":"Q1","labels":{},"descriptions":{},"aliases":{},"claims":{"P2":[{"mainsnak":{"snaktype":"value","property":"P2","datavalue":{"value":"x","type":"string"}},"type":"statement","id":"Q1$a","rank":"normal"}]},"sitelinks":{}},
{"type":"item","id":"Q10","labels":{},"descriptions":{},"aliases":{},"claims":{"P9":[{"mainsnak":{"snaktype":"value","property":"P9","datavalue":{"value":"y","type":"string"},"datatype":"string"},"type":"statement","id":"Q10$a","rank":"normal"}]},"sitelinks":{}},
{"type":"property","datatype":"external-id","id":"P2","labels":{},"descriptions":{},"aliases":{},"claims":{}},
{"type":"property","datatype":"external-id","id":"P9","labels":{},"descriptions":{},"aliases":{},"claims":{}}
]
`

// TestProvisionalChunksAreSettled imports the first chunk of provisionalDump before the split
// has recorded P2 and P9, as a chunk imported while the split runs: Q1 (a snak of P2 with no
// datatype) is deferred, Q10 stored with P9 as string. Once both are recorded as external-id,
// the check lists the chunk, naming P9, and settling it stores Q1 and stores Q10 again, both
// as an import after the split would have stored them.
func TestProvisionalChunksAreSettled(t *testing.T) {
	db, _ := storetest.NewDB(t)
	src := filepath.Join(t.TempDir(), "dump.json")
	require.NoError(t, os.WriteFile(src, []byte(provisionalDump), 0o644))
	imp, staging, env, split := splitInto(t, db, src, 3)
	require.Equal(t, 2, split.Plan.Len())
	ctx := context.Background()
	entities := &store.Entities{DB: db}
	_, err := db.Exec("DELETE FROM property_datatypes") // the split has not reached P2 and P9
	require.NoError(t, err)
	importChunk := func(in ImportChunkInput) ImportChunkResult {
		v, err := env.ExecuteActivity(imp.ImportChunk, in)
		require.NoError(t, err)
		var res ImportChunkResult
		require.NoError(t, v.Get(&res))
		return res
	}
	exists := func(key string) bool {
		ok, err := staging.Exists(ctx, key)
		require.NoError(t, err)
		return ok
	}
	line := func(id string) string {
		h, err := entities.Head(ctx, id)
		require.NoError(t, err)
		rev, err := entities.Revision(ctx, id, h.RevisionID)
		require.NoError(t, err)
		return string(rev.Line)
	}
	chunk0, chunk1 := split.Plan.Chunk(0), split.Plan.Chunk(1)

	res := importChunk(ImportChunkInput{Chunk: chunk0, Provisional: true})
	assert.Equal(t, ImportCounts{Created: 1, Lines: 3, Bytes: chunk0.Bytes}, res.Counts, "Q10; Q1 is deferred")
	_, err = entities.Head(ctx, "Q1")
	assert.ErrorIs(t, err, store.ErrNotFound)
	assert.Contains(t, line("Q10"), `"datatype":"string"`)
	assert.True(t, exists(chunk0.Key), "kept to be settled")
	res = importChunk(ImportChunkInput{Chunk: chunk1, Provisional: true})
	assert.Equal(t, int64(2), res.Counts.Created)
	assert.False(t, exists(chunk1.Key), "the properties' chunk has no snak: nothing to settle, deleted")

	require.NoError(t, entities.SaveDatatypes(ctx, wikibase.DatatypeMap{"P2": "external-id", "P9": "external-id"}))
	v, err := env.ExecuteActivity(imp.CheckImportDatatypes, CheckImportDatatypesInput{Staging: "import/w/r/"})
	require.NoError(t, err)
	var check CheckImportDatatypesResult
	require.NoError(t, v.Get(&check))
	assert.Equal(t, CheckImportDatatypesResult{Settle: []int{0},
		Mismatches: []string{`chunk 0: P9 was read as "string", the property says "external-id"`}}, check)

	q10, err := entities.Head(ctx, "Q10")
	require.NoError(t, err)
	settled := importChunk(ImportChunkInput{Chunk: chunk0, Settle: true})
	assert.Equal(t, ImportCounts{Created: 1, Corrected: 1}, settled.Counts, "Q1 stored, Q10 stored again")
	assert.Contains(t, line("Q1"), `"property":"P2","datavalue":{"value":"x","type":"string"},"datatype":"external-id"`)
	assert.Contains(t, line("Q10"), `"property":"P9","datavalue":{"value":"y","type":"string"},"datatype":"external-id"`)
	again, err := entities.Head(ctx, "Q10")
	require.NoError(t, err)
	assert.Greater(t, again.RevisionID, q10.RevisionID)
	assert.False(t, exists(chunk0.Key), "settled, the chunk is deleted")
	assert.Equal(t, settled, importChunk(ImportChunkInput{Chunk: chunk0, Settle: true}), "a retry answers the recorded result")
}
