package store_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/store/storetest"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
	"github.com/entitybase/entitybase-workers/internal/wikibase/synth"
)

// benchInput is a synthetic dump of Wikidata's size mix: items with a lexeme every twentieth,
// and the generator's properties, as dump lines.
func benchInput(b *testing.B, items int) (lines [][]byte, datatypes wikibase.DatatypeMap, inputBytes int64) {
	b.Helper()
	g := synth.New(7)
	enc := &wikibase.Encoder{Datatypes: g.Datatypes()}
	add := func(e *wikibase.Entity) {
		line, err := enc.Marshal(e, nil)
		if err != nil {
			b.Fatal(err)
		}
		lines = append(lines, line)
		inputBytes += int64(len(line)) + 2 // ",\n"
	}
	for i := range items {
		add(g.Item())
		if i%20 == 0 {
			add(g.Lexeme())
		}
	}
	return lines, g.Datatypes(), inputBytes
}

// bulkInsertFloor writes the same compressed blobs with multi-row INSERTs into a copy of
// entity_revisions: the least any import must do.
func bulkInsertFloor(ctx context.Context, db *sql.DB, blobs [][]byte, hashes [][32]byte, batch int) error {
	if _, err := db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS floor_revisions LIKE entity_revisions"); err != nil {
		return err
	}
	for start := 0; start < len(blobs); start += batch {
		end := min(start+batch, len(blobs))
		var q strings.Builder
		q.WriteString("INSERT INTO floor_revisions (internal_id, revision_id, content, content_hash, content_bytes, labels, descriptions, aliases, properties) VALUES ")
		args := make([]any, 0, (end-start)*5)
		for i := start; i < end; i++ {
			if i > start {
				q.WriteByte(',')
			}
			q.WriteString("(?,1,?,?,?,'{}','{}','{}','[]')")
			args = append(args, i+1, blobs[i], hashes[i][:], len(blobs[i]))
		}
		if _, err := db.ExecContext(ctx, q.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkImportVsBulkInsert measures the import path (parse, serialize, hash, compress, one
// transaction per batch writing mapping, head, revision, backlinks and outbox) against a bulk
// INSERT of the same compressed blobs, in the same run, and reports the ratio.
func BenchmarkImportVsBulkInsert(b *testing.B) {
	const items, batch = 3000, 500
	lines, datatypes, inputBytes := benchInput(b, items)
	blobs := make([][]byte, len(lines))
	hashes := make([][32]byte, len(lines))
	for i, l := range lines {
		blobs[i], hashes[i] = store.EncodeContent(l), sha256.Sum256(l)
	}
	ctx := context.Background()
	for _, workers := range []int{1, 2} {
		name := map[int]string{1: "sequential", 2: "parallel-2"}[workers]
		b.Run(name, func(b *testing.B) {
			var importTime, floorTime, importCPU time.Duration
			for range b.N {
				b.StopTimer()
				db, _ := storetest.NewDB(b)
				s := &store.Entities{DB: db, DatatypeLookup: datatypes}
				if err := s.SaveDatatypes(ctx, datatypes); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start, cpu := time.Now(), processCPU(b)
				if err := storetest.ImportLines(ctx, s, lines, batch, workers); err != nil {
					b.Fatal(err)
				}
				importTime += time.Since(start)
				importCPU += processCPU(b) - cpu
				start = time.Now()
				if err := bulkInsertFloor(ctx, db, blobs, hashes, batch); err != nil {
					b.Fatal(err)
				}
				floorTime += time.Since(start)
				b.StopTimer()
				db.Close()
				b.StartTimer()
			}
			n := float64(b.N * len(lines))
			b.ReportMetric(n/importTime.Seconds(), "entities/s")
			b.ReportMetric(float64(b.N)*float64(inputBytes)/1e6/importTime.Seconds(), "MB/s")
			b.ReportMetric(n/floorTime.Seconds(), "floor-entities/s")
			b.ReportMetric(floorTime.Seconds()/importTime.Seconds(), "import/floor")
			b.ReportMetric(float64(importCPU.Microseconds())/n, "client-cpu-µs/entity")
		})
	}
}

// processCPU is the CPU time this process has used (user and system, all threads): the
// client's share of an import, apart from the database server's.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
