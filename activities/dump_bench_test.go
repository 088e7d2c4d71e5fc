package activities

import (
	"context"
	"database/sql"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/entitybase/entitybase-workers/internal/dump"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/store/storetest"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
	"github.com/entitybase/entitybase-workers/internal/wikibase/synth"
)

// seedBenchEntities stores n synthetic entities of Wikidata's size mix and returns the
// highest internal id.
func seedBenchEntities(b *testing.B, db *sql.DB, n int) int64 {
	b.Helper()
	ctx := context.Background()
	g := synth.New(7)
	s := &store.Entities{DB: db, DatatypeLookup: g.Datatypes()}
	require.NoError(b, s.SaveDatatypes(ctx, g.Datatypes()))
	var batch []store.SaveRequest
	at := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		var e *wikibase.Entity
		if i%50 == 49 {
			e = g.Lexeme()
		} else {
			e = g.Item()
		}
		e.Page = nil
		batch = append(batch, store.SaveRequest{Entity: e, At: at})
		if len(batch) == 500 || i == n-1 {
			_, err := s.SaveBatch(ctx, batch)
			require.NoError(b, err)
			batch = batch[:0]
		}
	}
	var maxID int64
	require.NoError(b, db.QueryRow("SELECT MAX(internal_id) FROM entity_id_mapping").Scan(&maxID))
	return maxID
}

// BenchmarkDumpJSON measures a JSON dump chunk (one core: the activity is sequential)
// against its floor measured in the same run: reading the same revision blobs with the
// same query, and gzip-compressing the same output bytes at the same level. Set
// DUMP_BENCH_ENTITIES to change the sample (default 20,000).
func BenchmarkDumpJSON(b *testing.B) {
	db, _ := storetest.NewDB(b)
	maxID := seedBenchEntities(b, db, benchEntities(b))
	ctx := context.Background()
	dir := b.TempDir()
	acts := &Dumps{DB: db, Store: openTestStore(b, "file://"+dir), Name: "bench", ChunkSize: int(maxID), Parallelism: 1}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	file := dump.Layout{Name: "bench", Date: time.Date(2026, 1, 4, 0, 0, 0, 0, time.UTC),
		Format: dump.FormatJSON, Flavor: dump.FlavorFull, Kind: dump.KindAll}
	in := DumpChunkInput{File: file, AfterID: 0, UpToID: maxID, SnapshotTime: time.Now().UTC()}

	// The uncompressed output, for the compression floor.
	var output []byte
	var res DumpChunkResult
	var dumpTime, readTime, gzipTime time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		in.Index = i
		start := time.Now()
		v, err := env.ExecuteActivity(acts.DumpChunk, in)
		require.NoError(b, err)
		dumpTime += time.Since(start)
		require.NoError(b, v.Get(&res))

		if output == nil {
			b.StopTimer()
			f, err := os.Open(filepath.Join(dir, filepath.FromSlash(file.PartKey(i))))
			require.NoError(b, err)
			zr, err := gzip.NewReader(f)
			require.NoError(b, err)
			output, err = io.ReadAll(zr)
			require.NoError(b, err)
			f.Close()
			require.Equal(b, res.UncompressedBytes, int64(len(output)))
			b.StartTimer()
		}

		// Floor, part 1: the same rows and blobs read with the same query.
		start = time.Now()
		rows, err := db.QueryContext(ctx, chunkQuery+" ORDER BY m.internal_id", in.SnapshotTime, in.AfterID, in.UpToID)
		require.NoError(b, err)
		var (
			iid, rev, page         int64
			eid, typ, to, encoding sql.NullString
			created, modified      time.Time
			redirect, deleted      bool
			content                []byte
			blobs                  int64
		)
		for rows.Next() {
			require.NoError(b, rows.Scan(&iid, &eid, &typ, &rev, &created, &modified, &page, &redirect, &deleted, &to, &encoding, &content))
			blobs += int64(len(content))
		}
		require.NoError(b, rows.Err())
		rows.Close()
		readTime += time.Since(start)

		// Floor, part 2: gzip of the same number of output bytes at the same level.
		start = time.Now()
		zw, err := gzip.NewWriterLevel(io.Discard, dump.DefaultLevel)
		require.NoError(b, err)
		_, err = zw.Write(output)
		require.NoError(b, err)
		require.NoError(b, zw.Close())
		gzipTime += time.Since(start)
	}
	b.StopTimer()
	runs := float64(b.N)
	dumpRate := float64(res.Entities) * runs / dumpTime.Seconds()
	floorRate := float64(res.Entities) * runs / (readTime + gzipTime).Seconds()
	b.ReportMetric(dumpRate, "entities/s")
	b.ReportMetric(float64(res.UncompressedBytes)*runs/dumpTime.Seconds()/1e6, "MB/s")
	b.ReportMetric(float64(res.CompressedBytes)*runs/dumpTime.Seconds()/1e6, "gzMB/s")
	b.ReportMetric(floorRate, "floor-entities/s")
	b.ReportMetric(float64(res.UncompressedBytes)*runs/(readTime+gzipTime).Seconds()/1e6, "floor-MB/s")
	b.ReportMetric(dumpRate/floorRate, "ratio")
	b.ReportMetric(float64(res.Entities), "entities")
	b.ReportMetric(float64(res.UncompressedBytes)/float64(res.Entities), "bytes/entity")
}

// BenchmarkDumpTurtle measures a full Turtle dump chunk (one core) in entities/s: reading,
// rendering with the part's dedupe bag and the unit items the quantities need, gzip. Set
// DUMP_BENCH_ENTITIES to change the sample (default 20,000).
func BenchmarkDumpTurtle(b *testing.B) {
	db, _ := storetest.NewDB(b)
	maxID := seedBenchEntities(b, db, benchEntities(b))
	acts := &Dumps{DB: db, Store: openTestStore(b, "file://"+b.TempDir()), Name: "bench", ChunkSize: int(maxID), Parallelism: 1}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	file := dump.Layout{Name: "bench", Date: time.Date(2026, 1, 4, 0, 0, 0, 0, time.UTC),
		Format: dump.FormatTurtle, Flavor: dump.FlavorFull, Kind: dump.KindAll}
	in := DumpChunkInput{File: file, AfterID: 0, UpToID: maxID, SnapshotTime: time.Now().UTC()}
	var res DumpChunkResult
	var entities int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		in.Index = i
		v, err := env.ExecuteActivity(acts.DumpChunk, in)
		require.NoError(b, err)
		require.NoError(b, v.Get(&res))
		entities += res.Entities
	}
	b.ReportMetric(float64(entities)/b.Elapsed().Seconds(), "entities/s")
	b.ReportMetric(float64(res.UncompressedBytes)/float64(res.Entities), "bytes/entity")
}

// benchEntities is the dump benchmarks' sample size: DUMP_BENCH_ENTITIES, default 20,000.
func benchEntities(b *testing.B) int {
	v := os.Getenv("DUMP_BENCH_ENTITIES")
	if v == "" {
		return 20000
	}
	n, err := strconv.Atoi(v)
	require.NoError(b, err)
	return n
}
