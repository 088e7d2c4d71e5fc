package rdf

import (
	"bytes"
	"context"
	"testing"

	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// dumpOf writes entities as a Wikidata JSON dump (array, one per line).
func dumpOf(t testing.TB, entities []*wikibase.Entity) []byte {
	var enc wikibase.Encoder
	var out bytes.Buffer
	out.WriteString("[\n")
	for i, e := range entities {
		page := &wikibase.PageMetadata{LastRevID: int64(1000 + i), Modified: "2025-01-02T03:04:05Z"}
		line, err := enc.Marshal(e, page)
		if err != nil {
			t.Fatal(err)
		}
		out.Write(line)
		if i < len(entities)-1 {
			out.WriteByte(',')
		}
		out.WriteByte('\n')
	}
	out.WriteString("]\n")
	return out.Bytes()
}

func entityReader(t testing.TB, input []byte) *wikibase.EntityReader {
	t.Helper()
	r, err := wikibase.NewEntityReader(bytes.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestConvertEqualsEntityWriter: the parallel converter writes the same
// bytes as one EntityWriter over the same entities, for every format and
// flavour and any number of workers.
func TestConvertEqualsEntityWriter(t *testing.T) {
	entities, props := syntheticEntities(11, 150, false)
	dump := dumpOf(t, entities)
	// The reference side reads the same dump lines, so both sides see
	// the same (serialized and reparsed) entities.
	reader := entityReader(t, dump)
	var reparsed []*wikibase.Entity
	for {
		rec, err := reader.Next()
		if err != nil {
			break
		}
		e, _, err := rec.Parse()
		if err != nil {
			t.Fatal(err)
		}
		reparsed = append(reparsed, e)
	}
	for _, format := range []Format{Turtle, NTriples} {
		for _, flavor := range []Flavor{FullDump, TruthyDump} {
			want := renderAll(t, format, flavor, props, reparsed)
			for _, workers := range []int{1, 3} {
				var got bytes.Buffer
				stats, err := Convert(context.Background(), entityReader(t, dump), &got, ConvertOptions{
					Config: WikidataConfig(), Format: format, Flavor: flavor, Properties: props, Workers: workers, Started: testTime,
				})
				if err != nil {
					t.Fatal(err)
				}
				if stats.Entities != int64(len(entities)) {
					t.Errorf("%s %s: converted %d entities, want %d", format, flavor, stats.Entities, len(entities))
				}
				if !bytes.Equal(got.Bytes(), want) {
					t.Errorf("%s %s workers=%d: output differs from EntityWriter (%d vs %d bytes)", format, flavor, workers, got.Len(), len(want))
				}
			}
		}
	}
}

func TestConvertReportsBadLine(t *testing.T) {
	dump := []byte("[\n{\"type\":\"item\",\"id\":\"Q1\"},\n{\"type\":\"item\",\"id\":\"Q2\",\"claims\":{\"P1\":[{\"mainsnak\":{\"snaktype\":\"value\",\"property\":\"P1\",\"datavalue\":{\"value\":\"x\",\"type\":\"string\"}},\"type\":\"statement\",\"rank\":\"normal\"}]}}\n]\n")
	var out bytes.Buffer
	_, err := Convert(context.Background(), entityReader(t, dump), &out, ConvertOptions{Format: NTriples, Flavor: FullDump})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("has no id")) {
		t.Fatalf("err = %v, want the statement without id named", err)
	}
}
