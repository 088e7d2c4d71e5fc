package wikibase

import (
	"bytes"
	"encoding/json"
	"errors"

	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/entitybase/entitybase-workers/internal/fixtures"
)

// wikidataDatatypes loads properties.csv and the real property entities.
func wikidataDatatypes(t testing.TB) DatatypeMap {
	t.Helper()
	f, err := os.Open(filepath.Join(fixtures.SharedDir(t), "fixtures", "wikidata", "properties.csv"))
	require.NoError(t, err)
	defer f.Close()
	m, err := ReadPropertyDatatypes(f)
	require.NoError(t, err)
	for _, file := range realEntityFiles(t) {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		es, err := ParseEntities(data)
		require.NoError(t, err)
		for _, e := range es {
			m.AddProperty(e)
		}
	}
	return m
}

// TestRoundTripRealEntities parses each real entity and serializes it with
// the compact serializer. The result must be Wikidata's dump form of the
// Special:EntityData input: the same JSON value once main-snak and
// reference-snak hashes and sitelink URLs are removed, and byte for byte the
// same as an independent re-encoding of the input in §1.1 key order (page
// metadata moved to the end).
func TestRoundTripRealEntities(t *testing.T) {
	lookup := wikidataDatatypes(t)
	for _, file := range realEntityFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			e := parseOne(t, data)
			enc := &Encoder{Datatypes: lookup}
			got, err := enc.Marshal(e, e.Page)
			require.NoError(t, err)

			tree := decodeOrdered(t, data)
			entity := tree.get("entities").get(e.ID)
			require.NotNil(t, entity)
			toDumpForm(entity)
			want := entity.encode(nil)

			var gotValue, wantValue any
			require.NoError(t, json.Unmarshal(got, &gotValue))
			require.NoError(t, json.Unmarshal(want, &wantValue))
			assert.Equal(t, wantValue, gotValue, "decoded JSON values differ")
			if !bytes.Equal(want, got) {
				i := firstDiff(want, got)
				t.Fatalf("byte difference at %d:\nwant …%s…\n got …%s…", i, around(want, i), around(got, i))
			}
			assert.NotContains(t, string(got), "\n")
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func around(b []byte, i int) string {
	return string(b[max(0, i-80):min(len(b), i+80)])
}

// toDumpForm turns a Special:EntityData entity into its dump form.
func toDumpForm(entity *orderedNode) {
	claims := func(c *orderedNode) {
		if c == nil {
			return
		}
		for _, group := range c.vals {
			for _, st := range group.arr {
				st.get("mainsnak").remove("hash")
				if refs := st.get("references"); refs != nil {
					for _, ref := range refs.arr {
						for _, snaks := range ref.get("snaks").vals {
							for _, sn := range snaks.arr {
								sn.remove("hash")
							}
						}
					}
				}
			}
		}
	}
	claims(entity.get("claims"))
	for _, sub := range []string{"forms", "senses"} {
		if list := entity.get(sub); list != nil {
			for _, f := range list.arr {
				claims(f.get("claims"))
			}
		}
	}
	if links := entity.get("sitelinks"); links != nil {
		for _, l := range links.vals {
			l.remove("url")
		}
	}
	for _, k := range []string{"pageid", "ns", "title", "lastrevid", "modified"} {
		v := entity.get(k)
		entity.remove(k)
		entity.keys = append(entity.keys, k)
		entity.vals = append(entity.vals, v)
	}
}

// orderedNode is a JSON value that keeps object key order, decoded with
// encoding/json's tokenizer so the test does not depend on the parser under
// test.
type orderedNode struct {
	kind byte // '{', '[', '"', '0', 'b', 'n'
	keys []string
	vals []*orderedNode
	arr  []*orderedNode
	text string
}

func (n *orderedNode) get(key string) *orderedNode {
	if n == nil {
		return nil
	}
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

func (n *orderedNode) remove(key string) {
	for i, k := range n.keys {
		if k == key {
			n.keys = append(n.keys[:i], n.keys[i+1:]...)
			n.vals = append(n.vals[:i], n.vals[i+1:]...)
			return
		}
	}
}

func decodeOrdered(t testing.TB, data []byte) *orderedNode {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	n, err := decodeNode(dec)
	require.NoError(t, err)
	return n
}

func decodeNode(dec *json.Decoder) (*orderedNode, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			n := &orderedNode{kind: '{'}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				val, err := decodeNode(dec)
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, kt.(string))
				n.vals = append(n.vals, val)
			}
			_, err := dec.Token()
			return n, err
		case '[':
			n := &orderedNode{kind: '['}
			for dec.More() {
				val, err := decodeNode(dec)
				if err != nil {
					return nil, err
				}
				n.arr = append(n.arr, val)
			}
			_, err := dec.Token()
			return n, err
		}
	case string:
		return &orderedNode{kind: '"', text: v}, nil
	case json.Number:
		return &orderedNode{kind: '0', text: string(v)}, nil
	case bool:
		return &orderedNode{kind: 'b', text: strconv.FormatBool(v)}, nil
	case nil:
		return &orderedNode{kind: 'n'}, nil
	}
	return nil, errors.New("unexpected token")
}

// encode writes the node compactly, strings escaped like PHP's json_encode
// and floats in PHP's number format.
func (n *orderedNode) encode(b []byte) []byte {
	switch n.kind {
	case '{':
		b = append(b, '{')
		for i, k := range n.keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k, true)
			b = append(b, ':')
			b = n.vals[i].encode(b)
		}
		return append(b, '}')
	case '[':
		b = append(b, '[')
		for i, v := range n.arr {
			if i > 0 {
				b = append(b, ',')
			}
			b = v.encode(b)
		}
		return append(b, ']')
	case '"':
		return appendJSONString(b, n.text, true)
	case '0':
		if !strings.ContainsAny(n.text, ".eE") {
			return append(b, n.text...)
		}
		f, _ := strconv.ParseFloat(n.text, 64)
		s, _ := FormatPHPJSONFloat(f)
		return append(b, s...)
	case 'b':
		return append(b, n.text...)
	}
	return append(b, "null"...)
}

// TestEncodeDumpFixture reproduces Wikibase's own dump fixture
// (dumpJson-limit2-pagemetadata-out.txt, quoted in dumps-rdf.md §1.1).
func TestEncodeDumpFixture(t *testing.T) {
	page := func(rev int64) *PageMetadata {
		return &PageMetadata{PageID: 42, NS: 0, Title: "Prefixed:Title", LastRevID: rev, Modified: "2020-11-11T07:07:07Z"}
	}
	enc := &Encoder{}
	item, err := enc.Marshal(&Entity{Type: TypeItem, ID: "Q1"}, page(1))
	require.NoError(t, err)
	assert.Equal(t, `{"type":"item","id":"Q1","labels":{},"descriptions":{},"aliases":{},"claims":{},"sitelinks":{},"pageid":42,"ns":0,"title":"Prefixed:Title","lastrevid":1,"modified":"2020-11-11T07:07:07Z"}`, string(item))
	prop, err := enc.Marshal(&Entity{Type: TypeProperty, ID: "P1", Datatype: "string"}, page(2))
	require.NoError(t, err)
	assert.Equal(t, `{"type":"property","datatype":"string","id":"P1","labels":{},"descriptions":{},"aliases":{},"claims":{},"pageid":42,"ns":0,"title":"Prefixed:Title","lastrevid":2,"modified":"2020-11-11T07:07:07Z"}`, string(prop))
}

// TestEncodeLegacyFixture serializes Wikibase's internal-format fixture Q7:
// datatypes from the property table (not the snaks' wrong ones), entity ids
// completed, hashes computed, qualifier and reference layout as in dumps.
func TestEncodeLegacyFixture(t *testing.T) {
	e := parseOne(t, readFixture(t, "wikibase-rdf/entities/Q6.json"))
	lookup := DatatypeMap{
		"P2": DatatypeWikibaseItem, "P3": DatatypeCommonsMedia, "P4": DatatypeGlobeCoordinate,
		"P5": DatatypeMonolingualText, "P6": DatatypeQuantity, "P7": DatatypeString,
		"P8": DatatypeTime, "P9": DatatypeURL, "P10": DatatypeGeoShape, "P11": DatatypeExternalID,
	}
	enc := &Encoder{Datatypes: lookup, UTF8: true}
	got, err := enc.Marshal(e, nil)
	require.NoError(t, err)
	s := string(got)
	assert.True(t, strings.HasPrefix(s, `{"type":"item","id":"Q6","labels":{},"descriptions":{},"aliases":{},"claims":{"P7":[{"mainsnak":{"snaktype":"value","property":"P7","datavalue":{"value":"string","type":"string"},"datatype":"string"},"type":"statement","qualifiers":{"P2":[{"snaktype":"value","property":"P2","hash":"`), s)
	assert.Contains(t, s, `{"entity-type":"item","numeric-id":42,"id":"Q42"},"type":"wikibase-entityid"},"datatype":"wikibase-item"}`)
	assert.Contains(t, s, `"datavalue":{"value":{"latitude":12.125,"longitude":67.25,"altitude":null,"precision":0.0625,"globe":"http://www.wikidata.org/entity/Q2"},"type":"globecoordinate"},"datatype":"globe-coordinate"}`)
	assert.Contains(t, s, `"qualifiers-order":["P2","P3","P4","P5","P6","P7","P8","P9"],"id":"TEST-Qualifiers","rank":"normal"`)
	assert.True(t, strings.HasSuffix(s, `"sitelinks":{}}`), s)

	// Parsing the output again gives the same line.
	again, err := ParseEntity(got)
	require.NoError(t, err)
	got2, err := enc.Marshal(again, nil)
	require.NoError(t, err)
	assert.Equal(t, s, string(got2))
}

func TestEncodeEscapingAndExtras(t *testing.T) {
	e := &Entity{
		Type: TypeItem, ID: "Q1",
		Labels:    []Term{{Language: "ru", Value: "Берлин/\"x\"\t😀"}},
		Sitelinks: []Sitelink{{Site: "enwiki", Title: "A/B", URL: "https://x/y"}},
		Extra:     []RawField{{Key: "zeta", Value: []byte(`{"a":1}`)}},
	}
	php, err := (&Encoder{}).Marshal(e, nil)
	require.NoError(t, err)
	assert.Equal(t, `{"type":"item","id":"Q1","labels":{"ru":{"language":"ru","value":"\u0411\u0435\u0440\u043b\u0438\u043d\/\"x\"\t\ud83d\ude00"}},"descriptions":{},"aliases":{},"claims":{},"sitelinks":{"enwiki":{"site":"enwiki","title":"A\/B","badges":[]}},"zeta":{"a":1}}`, string(php))
	utf8, err := (&Encoder{UTF8: true, SitelinkURLs: true}).Marshal(e, nil)
	require.NoError(t, err)
	assert.Equal(t, `{"type":"item","id":"Q1","labels":{"ru":{"language":"ru","value":"Берлин/\"x\"\t😀"}},"descriptions":{},"aliases":{},"claims":{},"sitelinks":{"enwiki":{"site":"enwiki","title":"A/B","badges":[],"url":"https://x/y"}},"zeta":{"a":1}}`, string(utf8))
}

func TestEncodeRejectsBadEntities(t *testing.T) {
	cases := []struct {
		name string
		e    *Entity
		want string
	}{
		{"nil", nil, "entity is nil"},
		{"no id", &Entity{Type: TypeItem}, "needs a type and an id"},
		{"snak without type", &Entity{Type: TypeItem, ID: "Q1", Claims: []StatementGroup{{Property: "P1", Statements: []Statement{{MainSnak: Snak{Property: "P1"}}}}}}, "invalid type"},
		{"NaN latitude", &Entity{Type: TypeItem, ID: "Q1", Claims: []StatementGroup{{Property: "P1", Statements: []Statement{{MainSnak: Snak{Type: SnakValue, Property: "P1", Value: &GlobeCoordinateValue{Latitude: nanValue()}}}}}}}, "cannot be written as JSON"},
		{"unhashable qualifier", &Entity{Type: TypeItem, ID: "Q1", Claims: []StatementGroup{{Property: "P1", Statements: []Statement{{
			MainSnak:   Snak{Type: SnakNoValue, Property: "P1"},
			Qualifiers: []Snak{{Type: SnakValue, Property: "P2", Value: &UnknownValue{Type: "x", Raw: []byte("1")}}},
		}}}}}, "cannot be hashed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := (&Encoder{}).AppendEntity([]byte("keep"), c.e, nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.Equal(t, "keep", string(out), "a failed encode leaves dst as it was")
		})
	}
}

func nanValue() float64 {
	var zero float64
	return zero / zero
}
