package rdf

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// BenchmarkConvert converts a synthetic Wikidata-like dump (full flavour,
// N-Triples, gzip) and measures, in the same iteration, the floor: parsing
// the same JSON lines on as many goroutines plus gzip of the same output
// bytes. floor_ratio = floor time / convert time (1 = as fast as the floor).
func BenchmarkConvert(b *testing.B) {
	for _, format := range []Format{NTriples, Turtle} {
		b.Run(format.String(), func(b *testing.B) {
			entities, props := syntheticEntities(42, 2000, false)
			dump := dumpOf(b, entities)
			workers := runtime.GOMAXPROCS(0)
			var convertTime, floorTime time.Duration
			var triples, ents int64
			rawSize := 0
			b.SetBytes(int64(len(dump)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				// Sized up front so buffer growth is not counted as work.
				var raw bytes.Buffer
				raw.Grow(rawSize)
				start := time.Now()
				gz := gzip.NewWriter(io.Discard)
				// raw keeps the uncompressed output for the floor's gzip.
				stats, err := Convert(context.Background(), entityReader(b, dump), io.MultiWriter(gz, &raw), ConvertOptions{
					Format: format, Flavor: FullDump, Properties: props, Workers: workers, Started: testTime,
				})
				if err != nil {
					b.Fatal(err)
				}
				if err := gz.Close(); err != nil {
					b.Fatal(err)
				}
				convertTime += time.Since(start)
				rawSize = raw.Len()
				triples += stats.Triples
				ents += stats.Entities

				// Floor: parallel JSON parsing of the input, then gzip of
				// the produced bytes.
				start = time.Now()
				parseAll(b, dump, workers)
				gz2 := gzip.NewWriter(io.Discard)
				if _, err := gz2.Write(raw.Bytes()); err != nil {
					b.Fatal(err)
				}
				gz2.Close()
				floorTime += time.Since(start)
			}
			b.ReportMetric(float64(ents)/convertTime.Seconds(), "entities/s")
			b.ReportMetric(float64(triples)/convertTime.Seconds(), "triples/s")
			b.ReportMetric(float64(ents)/floorTime.Seconds(), "floor_entities/s")
			b.ReportMetric(floorTime.Seconds()/convertTime.Seconds(), "floor_ratio")
		})
	}
}

func parseAll(b *testing.B, dump []byte, workers int) {
	reader := entityReader(b, dump)
	lines := make(chan []byte, 256)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for l := range lines {
				if _, err := wikibase.ParseEntity(l); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for {
		rec, err := reader.Next()
		if err != nil {
			break
		}
		lines <- append([]byte(nil), rec.JSON...)
	}
	close(lines)
	wg.Wait()
}
