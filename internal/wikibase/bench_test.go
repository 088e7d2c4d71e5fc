package wikibase

import (
	"bytes"
	"errors"
	"io"
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

// BenchmarkEntityReader measures reading a dump into records (framing removed, no parsing):
// the real entities' lines repeated to 2,000 lines, in MB/s of input. The one-line array
// splits the same entities out of one line.
func BenchmarkEntityReader(b *testing.B) {
	lines, _ := benchLines(b)
	var dump, array bytes.Buffer
	dump.WriteString("[\n")
	array.WriteString("[")
	for i := range 2000 {
		l := lines[i%len(lines)]
		dump.Write(l)
		dump.WriteString(",\n")
		if i < 200 {
			if i > 0 {
				array.WriteByte(',')
			}
			array.Write(l)
		}
	}
	dump.WriteString("]\n")
	array.WriteString("]\n")
	for _, c := range []struct {
		name  string
		input []byte
	}{{"dump", dump.Bytes()}, {"array-on-one-line", array.Bytes()}} {
		b.Run(c.name, func(b *testing.B) {
			records := 0
			for b.Loop() {
				r, err := NewEntityReader(bytes.NewReader(c.input))
				if err != nil {
					b.Fatal(err)
				}
				for {
					_, err := r.Next()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					records++
				}
			}
			sec := b.Elapsed().Seconds()
			b.ReportMetric(float64(len(c.input))*float64(b.N)/1e6/sec, "MB/s")
			b.ReportMetric(float64(records)/sec, "entities/s")
		})
	}
}
