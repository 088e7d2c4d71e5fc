package wikibase

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// benchLines returns the real entities as dump lines (the parser's input in
// a dump pipeline).
func benchLines(b *testing.B) ([][]byte, DatatypeMap) {
	b.Helper()
	lookup := wikidataDatatypes(b)
	var lines [][]byte
	for _, file := range realEntityFiles(b) {
		data, err := os.ReadFile(file)
		require.NoError(b, err)
		e := parseOne(b, data)
		line, err := (&Encoder{Datatypes: lookup}).Marshal(e, e.Page)
		require.NoError(b, err)
		lines = append(lines, line)
	}
	return lines, lookup
}

// BenchmarkParseSerialize measures parse + compact serialization of real
// Wikidata entities, per core, in MB/s of JSON input.
func BenchmarkParseSerialize(b *testing.B) {
	lines, lookup := benchLines(b)
	total := 0
	for _, l := range lines {
		total += len(l)
	}
	enc := &Encoder{Datatypes: lookup}
	var out []byte
	b.ResetTimer()
	for b.Loop() {
		for _, l := range lines {
			e, err := ParseEntity(l)
			if err != nil {
				b.Fatal(err)
			}
			out, err = enc.AppendEntity(out[:0], e, e.Page)
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(total)*float64(b.N)/1e6/sec, "MB/s")
	b.ReportMetric(float64(len(lines))*float64(b.N)/sec, "entities/s")
}

// BenchmarkParse measures parsing alone.
func BenchmarkParse(b *testing.B) {
	lines, _ := benchLines(b)
	total := 0
	for _, l := range lines {
		total += len(l)
	}
	b.SetBytes(int64(total))
	b.ResetTimer()
	for b.Loop() {
		for _, l := range lines {
			if _, err := ParseEntity(l); err != nil {
				b.Fatal(err)
			}
		}
	}
}
