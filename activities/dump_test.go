package activities

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/entitybase/entitybase-workers/internal/dump"
	"github.com/entitybase/entitybase-workers/internal/dump/dumptest"
	"github.com/entitybase/entitybase-workers/internal/metrics"
	"github.com/entitybase/entitybase-workers/internal/permanent"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/store/storetest"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

func TestAppendDumpLineSplicesPageMetadata(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 678000, time.UTC)
	for _, tc := range []struct {
		typ, id, line, want string
	}{
		{"Q", "Q42", `{"type":"item","id":"Q42"}`,
			`{"type":"item","id":"Q42","pageid":7,"ns":0,"title":"Q42","lastrevid":3,"modified":"2026-01-02T03:04:05Z"}`},
		{"P", "P31", `{"type":"property","datatype":"wikibase-item","id":"P31"}` + "\n",
			`{"type":"property","datatype":"wikibase-item","id":"P31","pageid":7,"ns":120,"title":"Property:P31","lastrevid":3,"modified":"2026-01-02T03:04:05Z"}`},
		{"L", "L1", `{"type":"lexeme","id":"L1"}`,
			`{"type":"lexeme","id":"L1","pageid":7,"ns":146,"title":"Lexeme:L1","lastrevid":3,"modified":"2026-01-02T03:04:05Z"}`},
		{"E", "E1", `{}`,
			`{"pageid":7,"ns":640,"title":"EntitySchema:E1","lastrevid":3,"modified":"2026-01-02T03:04:05Z"}`},
	} {
		got, err := AppendDumpLine(nil, &DumpRevision{InternalID: 7, EntityID: tc.id, EntityType: tc.typ, RevisionID: 3, CreatedAt: at, Line: []byte(tc.line)})
		require.NoError(t, err, tc.id)
		assert.Equal(t, tc.want, string(got))
	}
	// An imported revision shows its source's page ID and time, not the internal id and the
	// time it was written.
	got, err := AppendDumpLine(nil, &DumpRevision{InternalID: 7, EntityID: "Q42", EntityType: "Q", RevisionID: 2448396619, CreatedAt: at,
		Modified: time.Date(2025, 12, 27, 16, 6, 6, 0, time.UTC), PageID: 138, Line: []byte(`{"type":"item","id":"Q42"}`)})
	require.NoError(t, err)
	assert.Equal(t, `{"type":"item","id":"Q42","pageid":138,"ns":0,"title":"Q42","lastrevid":2448396619,"modified":"2025-12-27T16:06:06Z"}`, string(got))

	_, err = AppendDumpLine(nil, &DumpRevision{EntityType: "Q", Line: []byte(`[1]`)})
	assert.EqualError(t, err, "stored content is not a JSON object")
	_, err = AppendDumpLine(nil, &DumpRevision{EntityType: "X", Line: []byte(`{}`)})
	assert.EqualError(t, err, `entity type "X" has no page namespace`)
}

func entity(t *testing.T, js string) *wikibase.Entity {
	t.Helper()
	es, err := wikibase.ParseEntities([]byte(js))
	require.NoError(t, err)
	return es[0]
}

func gunzip(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	b, err := io.ReadAll(zr)
	require.NoError(t, err)
	return string(b)
}

// TestDumpChunkShowsEachEntityAsOfTheSnapshot stores revisions before and after a cut,
// a redirect and a deletion, and checks what full and incremental chunks contain.
func TestDumpChunkShowsEachEntityAsOfTheSnapshot(t *testing.T) {
	db, _ := storetest.NewDB(t)
	ctx := context.Background()
	s := &store.Entities{DB: db}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	save := func(js string, at time.Time) {
		_, err := s.Save(ctx, store.SaveRequest{Entity: entity(t, js), At: at})
		require.NoError(t, err)
	}
	// Revision IDs come from one sequence: 1, 2, 3, … in the order of the saves.
	save(`{"type":"item","id":"Q1","labels":{"en":{"language":"en","value":"one"}}}`, t0)                       // iid 1
	save(`{"type":"item","id":"Q2","labels":{"en":{"language":"en","value":"two"}}}`, t0)                       // iid 2
	save(`{"type":"property","datatype":"string","id":"P1","labels":{"en":{"language":"en","value":"p"}}}`, t0) // iid 3
	save(`{"type":"item","id":"Q3","labels":{"en":{"language":"en","value":"three"}}}`, t0)                     // iid 4
	save(`{"type":"item","id":"Q1","labels":{"en":{"language":"en","value":"one v2"}}}`, t0.Add(2*time.Hour))
	_, err := s.SaveRedirect(ctx, store.RedirectRequest{From: "Q2", To: "Q1", At: t0.Add(time.Hour)})
	require.NoError(t, err)
	_, err = s.Delete(ctx, store.DeleteRequest{EntityID: "Q3", At: t0.Add(time.Hour)})
	require.NoError(t, err)
	snapshot := t0.Add(90 * time.Minute)                                                                    // after the redirect and delete, before Q1's second revision
	save(`{"type":"item","id":"Q4","labels":{"en":{"language":"en","value":"late"}}}`, t0.Add(3*time.Hour)) // iid 5

	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	work, err := metrics.New(reg)
	require.NoError(t, err)
	acts := &Dumps{DB: db, Store: openTestStore(t, "file://"+dir), Name: "wikibase", ChunkSize: 10, Parallelism: 2, Metrics: work}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(acts)

	file := dump.Layout{Name: "wikibase", Date: t0, Format: dump.FormatJSON, Flavor: dump.FlavorFull, Kind: dump.KindAll}
	run := func(in DumpChunkInput) (DumpChunkResult, string) {
		t.Helper()
		v, err := env.ExecuteActivity(acts.DumpChunk, in)
		require.NoError(t, err)
		var res DumpChunkResult
		require.NoError(t, v.Get(&res))
		return res, gunzip(t, filepath.Join(dir, filepath.FromSlash(in.File.PartKey(in.Index))))
	}
	q1v1 := `{"type":"item","id":"Q1","labels":{"en":{"language":"en","value":"one"}},"descriptions":{},"aliases":{},"claims":{},"sitelinks":{},"pageid":1,"ns":0,"title":"Q1","lastrevid":1,"modified":"2026-01-01T00:00:00Z"}`
	p1 := `{"type":"property","datatype":"string","id":"P1","labels":{"en":{"language":"en","value":"p"}},"descriptions":{},"aliases":{},"claims":{},"pageid":3,"ns":120,"title":"Property:P1","lastrevid":3,"modified":"2026-01-01T00:00:00Z"}`

	res, part := run(DumpChunkInput{File: file, Index: 0, AfterID: 0, UpToID: 5, SnapshotTime: snapshot})
	assert.Equal(t, q1v1+",\n"+p1, part)
	assert.Equal(t, DumpChunkResult{Index: 0, Entities: 2, EntityCounts: map[string]int64{"item": 1, "property": 1},
		UncompressedBytes: int64(len(part)), CompressedBytes: res.CompressedBytes}, res)

	// A finished part is kept, even when asked with other bounds.
	again, part2 := run(DumpChunkInput{File: file, Index: 0, AfterID: 0, UpToID: 1, SnapshotTime: snapshot})
	assert.True(t, again.AlreadyDone)
	assert.Equal(t, part, part2)
	assert.Equal(t, res.CompressedBytes, again.CompressedBytes)
	// The kept part is not counted again.
	assertMetrics(t, reg, fmt.Sprintf(`
# HELP entitybase_dump_compressed_bytes_total Compressed bytes of the dump parts written, by format.
# TYPE entitybase_dump_compressed_bytes_total counter
entitybase_dump_compressed_bytes_total{format="json"} %d
# HELP entitybase_dump_entities_total Entities written into dump parts, by format and entity type (a part kept from an earlier attempt is not counted again).
# TYPE entitybase_dump_entities_total counter
entitybase_dump_entities_total{entity_type="item",format="json"} 1
entitybase_dump_entities_total{entity_type="property",format="json"} 1
# HELP entitybase_dump_uncompressed_bytes_total Bytes written into dump parts before compression, by format.
# TYPE entitybase_dump_uncompressed_bytes_total counter
entitybase_dump_uncompressed_bytes_total{format="json"} %d
`, res.CompressedBytes, len(part)), "entitybase_dump_compressed_bytes_total", "entitybase_dump_entities_total", "entitybase_dump_uncompressed_bytes_total")

	// A part rewritten after its record was lost has the same bytes.
	before, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(file.PartKey(0))))
	require.NoError(t, err)
	require.NoError(t, os.Remove(filepath.Join(dir, filepath.FromSlash(file.PartInfoKey(0)))))
	rewritten, _ := run(DumpChunkInput{File: file, Index: 0, AfterID: 0, UpToID: 5, SnapshotTime: snapshot})
	assert.False(t, rewritten.AlreadyDone)
	after, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(file.PartKey(0))))
	require.NoError(t, err)
	assert.Equal(t, before, after)

	// Only properties.
	_, part = run(DumpChunkInput{File: file, Index: 1, AfterID: 0, UpToID: 5, SnapshotTime: snapshot, EntityTypes: []string{"P"}})
	assert.Equal(t, p1, part)

	// Incremental since t0+30m: Q1's shown revision is older, Q2 is a redirect and Q3 deleted.
	inc := file
	inc.Kind, inc.Since = dump.KindIncremental, t0.Add(30*time.Minute)
	res, part = run(DumpChunkInput{File: inc, Index: 0, AfterID: 0, UpToID: 5, SnapshotTime: t0.Add(4 * time.Hour)})
	q1v2 := `{"type":"item","id":"Q1","labels":{"en":{"language":"en","value":"one v2"}},"descriptions":{},"aliases":{},"claims":{},"sitelinks":{},"pageid":1,"ns":0,"title":"Q1","lastrevid":5,"modified":"2026-01-01T02:00:00Z"}`
	q4 := `{"type":"item","id":"Q4","labels":{"en":{"language":"en","value":"late"}},"descriptions":{},"aliases":{},"claims":{},"sitelinks":{},"pageid":5,"ns":0,"title":"Q4","lastrevid":8,"modified":"2026-01-01T03:00:00Z"}`
	assert.Equal(t, q1v2+",\n"+q4, part)
	assert.Equal(t, int64(2), res.Entities)

	// Assemble the full dump of parts 0..1 (part 1 holds P1 only) and read it back.
	v, err := env.ExecuteActivity(acts.DumpAssemble, DumpAssembleInput{File: file, Parts: 2, SnapshotTime: snapshot, StartedAt: t0})
	require.NoError(t, err)
	var out DumpAssembleResult
	require.NoError(t, v.Get(&out))
	assert.Equal(t, "20260101/wikibase-20260101-all.json.gz", out.Key)
	assert.Equal(t, map[string]int64{"item": 1, "property": 2}, out.EntityCounts)
	whole := gunzip(t, filepath.Join(dir, "20260101", "wikibase-20260101-all.json.gz"))
	assert.Equal(t, "[\n"+q1v1+",\n"+p1+",\n"+p1+"\n]\n", whole)
	sums, err := os.ReadFile(filepath.Join(dir, "20260101", "wikibase-20260101-sha256sums.txt"))
	require.NoError(t, err)
	assert.Equal(t, out.SHA256+"  wikibase-20260101-all.json.gz\n", string(sums))
	assert.Equal(t, []string{"20260101/wikibase-20260101-md5sums.txt", "20260101/wikibase-20260101-sha1sums.txt",
		"20260101/wikibase-20260101-sha256sums.txt"}, out.ChecksumKeys)
	_, err = os.Stat(filepath.Join(dir, filepath.FromSlash(file.PartsPrefix())))
	assert.True(t, os.IsNotExist(err) || isEmptyDir(t, filepath.Join(dir, filepath.FromSlash(file.PartsPrefix()))))
	r, err := wikibase.NewEntityReader(bytes.NewReader(mustRead(t, filepath.Join(dir, "20260101", "wikibase-20260101-all.json.gz"))))
	require.NoError(t, err)
	var ids []string
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		e, _, err := rec.Parse()
		require.NoError(t, err)
		ids = append(ids, e.ID)
	}
	assert.Equal(t, []string{"Q1", "P1", "P1"}, ids)
}

func TestDumpSnapshotReadsTheHighestInternalID(t *testing.T) {
	db, _ := storetest.NewDB(t)
	ctx := context.Background()
	acts := &Dumps{DB: db, Name: "wikibase", ChunkSize: 7, Parallelism: 3}
	before := time.Now().UTC()
	snap, err := acts.DumpSnapshot(ctx, DumpSnapshotInput{})
	require.NoError(t, err)
	assert.Equal(t, int64(0), snap.MaxInternalID)
	assert.Equal(t, 7, snap.ChunkSize)
	assert.Equal(t, 3, snap.Parallelism)
	assert.Equal(t, "wikibase", snap.Name)
	assert.False(t, snap.Time.Before(before.Truncate(time.Microsecond)))
	s := &store.Entities{DB: db}
	for _, id := range []string{"Q5", "Q9"} {
		_, err := s.Save(ctx, store.SaveRequest{Entity: entity(t, `{"type":"item","id":"`+id+`"}`)})
		require.NoError(t, err)
	}
	snap, err = acts.DumpSnapshot(ctx, DumpSnapshotInput{})
	require.NoError(t, err)
	assert.Equal(t, int64(2), snap.MaxInternalID)
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

func isEmptyDir(t *testing.T, dir string) bool {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	return len(entries) == 0
}

// TestDumpRDFWritesEntitiesAndRedirects dumps N-Triples: the header node, the entities'
// triples with their data node, and the redirect as owl:sameAs.
func TestDumpRDFWritesEntitiesAndRedirects(t *testing.T) {
	db, _ := storetest.NewDB(t)
	ctx := context.Background()
	s := &store.Entities{DB: db}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, js := range []string{
		`{"type":"item","id":"Q1","labels":{"en":{"language":"en","value":"one"}}}`,
		`{"type":"item","id":"Q2","labels":{"en":{"language":"en","value":"two"}}}`,
	} {
		_, err := s.Save(ctx, store.SaveRequest{Entity: entity(t, js), At: t0})
		require.NoError(t, err)
	}
	_, err := s.SaveRedirect(ctx, store.RedirectRequest{From: "Q2", To: "Q1", At: t0.Add(time.Minute)})
	require.NoError(t, err)

	dir := t.TempDir()
	acts := &Dumps{DB: db, Store: openTestStore(t, "file://"+dir), Name: "wikibase", ChunkSize: 10, Parallelism: 1}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	snapshot := t0.Add(time.Hour)
	file := dump.Layout{Name: "wikibase", Date: t0, Format: dump.FormatNTriples, Flavor: dump.FlavorFull, Kind: dump.KindAll}
	v, err := env.ExecuteActivity(acts.DumpChunk, DumpChunkInput{File: file, Index: 0, AfterID: 0, UpToID: 2, SnapshotTime: snapshot})
	require.NoError(t, err)
	var res DumpChunkResult
	require.NoError(t, v.Get(&res))
	assert.Equal(t, map[string]int64{"item": 1, "redirect": 1}, res.EntityCounts)
	v, err = env.ExecuteActivity(acts.DumpAssemble, DumpAssembleInput{File: file, Parts: 1, SnapshotTime: snapshot, StartedAt: t0})
	require.NoError(t, err)
	var out DumpAssembleResult
	require.NoError(t, v.Get(&out))
	assert.Equal(t, "20260101/wikibase-20260101-all-BETA.nt.gz", out.Key)

	text := gunzip(t, filepath.Join(dir, "20260101", "wikibase-20260101-all-BETA.nt.gz"))
	for _, want := range []string{
		"<http://wikiba.se/ontology#Dump> <http://schema.org/dateModified> \"2026-01-01T01:00:00Z\"^^<http://www.w3.org/2001/XMLSchema#dateTime> .\n",
		"<http://www.wikidata.org/entity/Q1> <http://www.w3.org/2000/01/rdf-schema#label> \"one\"@en .\n",
		"<https://www.wikidata.org/wiki/Special:EntityData/Q1> <http://schema.org/version> \"1\"^^<http://www.w3.org/2001/XMLSchema#integer> .\n",
		"<http://www.wikidata.org/entity/Q2> <http://www.w3.org/2002/07/owl#sameAs> <http://www.wikidata.org/entity/Q1> .\n",
	} {
		assert.Contains(t, text, want)
	}
	assert.NotContains(t, text, `"two"@en`)
	assert.True(t, strings.HasPrefix(text, "<http://wikiba.se/ontology#Dump> "), "the header comes first")
}

// TestDumpRDFNormalizesQuantitiesFromStoredUnitItems: a quantity in kilometres gets its
// normalized value in metres from the unit items in the store, as they were at the dump's
// cut: a later edit of the kilometre's conversion shows only in dumps cut after it.
func TestDumpRDFNormalizesQuantitiesFromStoredUnitItems(t *testing.T) {
	db, _ := storetest.NewDB(t)
	ctx := context.Background()
	s := &store.Entities{DB: db, DatatypeLookup: wikibase.DatatypeMap{"P2043": "quantity", "P2370": "quantity", "P31": "wikibase-item"}}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	conversion := func(id, amount, unit string) string {
		return `"P2370":[{"mainsnak":{"snaktype":"value","property":"P2370","datavalue":{"value":{"amount":"` + amount +
			`","unit":"http://www.wikidata.org/entity/` + unit + `"},"type":"quantity"}},"type":"statement","id":"` + id + `$1","rank":"normal"}]`
	}
	coherent := `"P31":[{"mainsnak":{"snaktype":"value","property":"P31","datavalue":{"value":{"entity-type":"item","id":"Q69197847"},"type":"wikibase-entityid"}},"type":"statement","id":"Q11573$2","rank":"normal"}]`
	save := func(js string, at time.Time) {
		t.Helper()
		_, err := s.Save(ctx, store.SaveRequest{Entity: entity(t, js), At: at})
		require.NoError(t, err)
	}
	save(`{"type":"item","id":"Q1","claims":{"P2043":[{"mainsnak":{"snaktype":"value","property":"P2043","datavalue":{"value":{"amount":"+12.5","unit":"http://www.wikidata.org/entity/Q828224"},"type":"quantity"}},"type":"statement","id":"Q1$1","rank":"normal"}]}}`, t0)
	save(`{"type":"item","id":"Q11573","claims":{`+coherent+`,`+conversion("Q11573", "+1", "Q11573")+`}}`, t0)
	save(`{"type":"item","id":"Q828224","claims":{`+conversion("Q828224", "+1000", "Q11573")+`}}`, t0)
	save(`{"type":"item","id":"Q828224","claims":{`+conversion("Q828224", "+1001", "Q11573")+`}}`, t0.Add(2*time.Hour))

	dir := t.TempDir()
	acts := &Dumps{DB: db, Store: openTestStore(t, "file://"+dir), Name: "wikibase", ChunkSize: 10, Parallelism: 1}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	dumpText := func(day int, snapshot time.Time) string {
		t.Helper()
		file := dump.Layout{Name: "wikibase", Date: t0.AddDate(0, 0, day), Format: dump.FormatNTriples, Flavor: dump.FlavorFull, Kind: dump.KindAll}
		_, err := env.ExecuteActivity(acts.DumpChunk, DumpChunkInput{File: file, Index: 0, AfterID: 0, UpToID: 100, SnapshotTime: snapshot})
		require.NoError(t, err)
		v, err := env.ExecuteActivity(acts.DumpAssemble, DumpAssembleInput{File: file, Parts: 1, SnapshotTime: snapshot, StartedAt: t0})
		require.NoError(t, err)
		var out DumpAssembleResult
		require.NoError(t, v.Get(&out))
		text := gunzip(t, filepath.Join(dir, out.Key))
		require.Contains(t, text, "<http://www.wikidata.org/entity/statement/Q1-1> <http://www.wikidata.org/prop/statement/value-normalized/P2043> ")
		return text
	}
	const amount = "<http://wikiba.se/ontology#quantityAmount> "
	first := dumpText(0, t0.Add(time.Hour))
	assert.Contains(t, first, amount+`"+12500"^^`, "1000 m a kilometre at the first cut")
	assert.NotContains(t, first, `"+12512.5"`)
	second := dumpText(1, t0.Add(3*time.Hour))
	assert.Contains(t, second, amount+`"+12512.5"^^`, "1001 m a kilometre after the edit")
	assert.NotContains(t, second, `"+12500"`)
}

// TestDumpBeginDecidesFromTheStore: a new dump records its plan, a second start continues
// it (same cut, same parts), other cuts or chunkings get plans of their own, a published
// dump is returned unless replaced, and a replacement gets a newer cut.
func TestDumpBeginDecidesFromTheStore(t *testing.T) {
	db, _ := storetest.NewDB(t)
	dir := t.TempDir()
	acts := &Dumps{DB: db, Store: openTestStore(t, "file://"+dir), Name: "wikibase", ChunkSize: 10, Parallelism: 2}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	begin := func(in DumpBeginInput) DumpBeginResult {
		t.Helper()
		v, err := env.ExecuteActivity(acts.DumpBegin, in)
		require.NoError(t, err)
		var res DumpBeginResult
		require.NoError(t, v.Get(&res))
		return res
	}
	day := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	endOfDay := day.Add(24*time.Hour - time.Microsecond)
	file := dump.Layout{Date: day, Format: dump.FormatJSON, Flavor: dump.FlavorFull, Kind: dump.KindAll}
	in := DumpBeginInput{File: file, AsOf: endOfDay}

	first := begin(in)
	require.Nil(t, first.Published)
	assert.False(t, first.Continued)
	assert.Equal(t, endOfDay, first.Snapshot.Time)
	assert.Equal(t, DumpCut{Time: endOfDay, Name: "wikibase", ChunkSize: 10, Parallelism: 2, Run: first.Snapshot.Run}, first.Snapshot)
	l := file
	l.Name, l.Run = "wikibase", first.Snapshot.Run
	_, err := os.Stat(filepath.Join(dir, filepath.FromSlash(l.PlanKey())))
	require.NoError(t, err, "the plan is recorded with the run's parts")

	again := begin(in)
	assert.True(t, again.Continued)
	assert.Equal(t, first.Snapshot, again.Snapshot)

	noon := begin(DumpBeginInput{File: file, AsOf: day.Add(12 * time.Hour)})
	assert.False(t, noon.Continued)
	assert.NotEqual(t, first.Snapshot.Run, noon.Snapshot.Run)
	otherChunks := begin(DumpBeginInput{File: file, AsOf: endOfDay, ChunkSize: 5})
	assert.False(t, otherChunks.Continued)
	assert.Equal(t, 5, otherChunks.Snapshot.ChunkSize)

	// Publish the first run's dump.
	_, err = dump.WritePart(context.Background(), acts.Store, l, 0, dump.DefaultLevel, func(*dump.PartWriter) error { return nil })
	require.NoError(t, err)
	v, err := env.ExecuteActivity(acts.DumpAssemble, DumpAssembleInput{File: dump.Layout{Name: "wikibase", Date: day, Format: dump.FormatJSON,
		Flavor: dump.FlavorFull, Kind: dump.KindAll, Run: first.Snapshot.Run}, Parts: 1, SnapshotTime: endOfDay, StartedAt: day})
	require.NoError(t, err)
	var published DumpAssembleResult
	require.NoError(t, v.Get(&published))
	assert.False(t, published.AlreadyPublished)
	assert.Equal(t, endOfDay, published.SnapshotTime)

	kept := begin(in)
	require.NotNil(t, kept.Published)
	want := published
	want.AlreadyPublished = true
	assert.Equal(t, want, *kept.Published)

	// A replacement continues no plan whose cut is not newer than the published dump's: it
	// takes a cut of its own (for a past day, the same end of the day).
	replace := in
	replace.Replace = true
	fresh := begin(replace)
	assert.Nil(t, fresh.Published)
	assert.False(t, fresh.Continued)
	assert.Equal(t, endOfDay, fresh.Snapshot.Time)
}

// openTestStore opens the dump store of url for the test.
func openTestStore(t testing.TB, url string) dump.Store {
	t.Helper()
	s, err := dump.OpenStore(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// A store that refuses the credentials fails the activity at once: retrying cannot help.
func TestDumpActivitiesDoNotRetryARefusedStore(t *testing.T) {
	db, _ := storetest.NewDB(t)
	srv := dumptest.NewS3(t, "dumps")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
	acts := &Dumps{DB: db, Store: openTestStore(t, srv.URL), Name: "wikibase", ChunkSize: 10, Parallelism: 2}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	day := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	file := dump.Layout{Name: "wikibase", Date: day, Format: dump.FormatJSON, Flavor: dump.FlavorFull, Kind: dump.KindAll}
	for name, run := range map[string]func() error{
		"begin": func() error { _, err := env.ExecuteActivity(acts.DumpBegin, DumpBeginInput{File: file}); return err },
		"chunk": func() error {
			_, err := env.ExecuteActivity(acts.DumpChunk, DumpChunkInput{File: file, UpToID: 10, SnapshotTime: day})
			return err
		},
		"assemble": func() error {
			_, err := env.ExecuteActivity(acts.DumpAssemble, DumpAssembleInput{File: file, Parts: 1, SnapshotTime: day})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			err := run()
			require.Error(t, err)
			var appErr *temporal.ApplicationError
			require.True(t, errors.As(err, &appErr), "%v", err)
			assert.True(t, appErr.NonRetryable())
			assert.Equal(t, string(permanent.BadConfig), appErr.Type())
			assert.Contains(t, appErr.Message(), "SignatureDoesNotMatch")
			assert.Contains(t, appErr.Message(), "DUMP_URL")
		})
	}
}
