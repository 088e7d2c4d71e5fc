package wikibase

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/entitybase/entitybase-workers/internal/fixtures"
)

// FuzzParseEntity feeds arbitrary bytes to the entity parser. It must never
// panic; whatever it accepts must serialize, and the serialized line must
// parse again and serialize to the same bytes (the dump form is a fixpoint).
func FuzzParseEntity(f *testing.F) {
	seeds := []string{
		`{"type":"item","id":"Q1"}`,
		`{"type":"property","datatype":"string","id":"P1","labels":[],"claims":[]}`,
		`{"type":"lexeme","id":"L1","lemmas":{"en":{"language":"en","value":"a"}},"lexicalCategory":"Q1","language":"Q2",` +
			`"forms":[{"id":"L1-F1","representations":{},"grammaticalFeatures":["Q3"],"claims":{}}],"senses":[{"id":"L1-S1","glosses":{},"claims":[]}]}`,
		`{"type":"mediainfo","id":"M1","labels":{},"statements":{}}`,
		`{"type":"item","id":"Q1","claims":{"P1":[{"mainsnak":{"snaktype":"value","property":"P1","datavalue":{"value":{"latitude":1.5,"longitude":-2,"altitude":null,"precision":1.0e-5,"globe":"g"},"type":"globecoordinate"}},` +
			`"qualifiers":{"P2":[{"snaktype":"value","property":"P2","datavalue":{"value":{"amount":"+1.5","unit":"1","upperBound":"+2","lowerBound":"+1"},"type":"quantity"}}]},"qualifiers-order":["P2"],` +
			`"references":[{"snaks":{"P3":[{"snaktype":"somevalue","property":"P3"}]},"snaks-order":["P3"]}],"type":"statement","rank":"preferred","id":"Q1$x"}]}}`,
		`{"type":"item","id":"Q1","x":{"y":[true,false,null,1e5,"\u00e9\ud83d\ude00"]},"sitelinks":{"enwiki":{"site":"enwiki","title":"T","badges":["Q2"],"url":"u"}}}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	if shared, err := fixtures.FindSharedDir(); err == nil {
		for _, pattern := range []string{"wikibase-rdf/entities/*.json", "wikidata/entities/L*.json", "wikidata/entities/P*.json"} {
			files, _ := filepath.Glob(filepath.Join(shared, "fixtures", pattern))
			for _, file := range files {
				data, err := os.ReadFile(file)
				if err != nil {
					f.Fatal(err)
				}
				es, err := ParseEntities(data)
				if err != nil {
					f.Fatalf("seed %s: %v", file, err)
				}
				line, err := (&Encoder{}).Marshal(es[0], es[0].Page)
				if err != nil {
					f.Fatalf("seed %s: %v", file, err)
				}
				f.Add(line)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ParseEntity(data)
		if err != nil {
			if e != nil {
				t.Fatalf("error %v came with an entity", err)
			}
			return
		}
		enc := &Encoder{}
		first, err := enc.Marshal(e, e.Page)
		if err != nil {
			return // e.g. a qualifier of an unknown value type without a stored hash
		}
		again, err := ParseEntity(first)
		if err != nil {
			t.Fatalf("serialized entity does not parse: %v\ninput:  %q\noutput: %q", err, data, first)
		}
		second, err := enc.Marshal(again, again.Page)
		if err != nil {
			t.Fatalf("re-serialization failed: %v\noutput: %q", err, first)
		}
		if !bytes.Equal(first, second) {
			t.Fatalf("serialization is not a fixpoint\ninput: %q\nfirst:  %q\nsecond: %q", data, first, second)
		}
	})
}
