package wikibase

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/entitybase/entitybase-workers/internal/fixtures"
)

// readFixture reads a file below shared/fixtures.
func readFixture(t testing.TB, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fixtures.SharedDir(t), "fixtures", rel))
	require.NoError(t, err)
	return data
}

// realEntityFiles lists the Special:EntityData exports of real entities.
func realEntityFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(fixtures.SharedDir(t), "fixtures", "wikidata", "entities", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no real entities in fixtures/wikidata/entities")
	return files
}

func parseOne(t testing.TB, data []byte) *Entity {
	t.Helper()
	es, err := ParseEntities(data)
	require.NoError(t, err)
	require.Len(t, es, 1)
	return es[0]
}

func TestParseRealItem(t *testing.T) {
	e := parseOne(t, readFixture(t, "wikidata/entities/Q8413.json"))
	assert.Equal(t, TypeItem, e.Type)
	assert.Equal(t, "Q8413", e.ID)
	require.NotNil(t, e.Page)
	assert.Equal(t, int64(9713), e.Page.PageID)
	assert.Equal(t, int64(0), e.Page.NS)
	assert.Equal(t, "Q8413", e.Page.Title)
	assert.Equal(t, int64(2447833793), e.Page.LastRevID)
	assert.Equal(t, "2025-12-27T16:06:06Z", e.Page.Modified)
	assert.Equal(t, Term{Language: "en", Value: "Constantine the Great"}, e.Labels[0])
	assert.Equal(t, "de", e.Labels[20].Language)
	assert.Equal(t, "Konstantin der Große", e.Labels[20].Value)

	var p569 *StatementGroup
	for i := range e.Claims {
		if e.Claims[i].Property == "P569" {
			p569 = &e.Claims[i]
		}
	}
	require.NotNil(t, p569)
	st := p569.Statements[0]
	assert.Equal(t, "Q8413$9441ddf8-4e1e-8924-0467-c2b64632a719", st.ID)
	assert.Equal(t, RankPreferred, st.Rank)
	assert.Equal(t, "8179071e886d0f55e2fa625ccc55336b3ce23025", st.MainSnak.Hash)
	assert.Equal(t, "time", st.MainSnak.Datatype)
	assert.Equal(t, &TimeValue{
		Time: "+0272-02-27T00:00:00Z", Precision: 11,
		CalendarModel: "http://www.wikidata.org/entity/Q1985786",
	}, st.MainSnak.Value)
	require.Len(t, st.Qualifiers, 2)
	assert.Equal(t, "P1480", st.Qualifiers[0].Property)
	assert.Equal(t, &EntityIDValue{EntityType: TypeItem, ID: "Q5727902"}, st.Qualifiers[0].Value)
	require.Len(t, st.References, 1)
	assert.Equal(t, "24a7cb35aca2ba425bb3eb697f9aaa42851009d5", st.References[0].Hash)
	assert.Equal(t, &StringValue{Value: "59"}, st.References[0].Snaks[1].Value)

	var enwiki *Sitelink
	for i := range e.Sitelinks {
		if e.Sitelinks[i].Site == "enwiki" {
			enwiki = &e.Sitelinks[i]
		}
	}
	require.NotNil(t, enwiki)
	assert.Equal(t, Sitelink{
		Site: "enwiki", Title: "Constantine the Great", Badges: []string{"Q17437798"},
		URL: "https://en.wikipedia.org/wiki/Constantine_the_Great",
	}, *enwiki)
}

func TestParseRealLexeme(t *testing.T) {
	e := parseOne(t, readFixture(t, "wikidata/entities/L42353.json"))
	assert.Equal(t, TypeLexeme, e.Type)
	assert.Equal(t, []Term{{Language: "da", Value: "melon"}}, e.Lemmas)
	assert.Equal(t, "Q1084", e.LexicalCategory)
	assert.Equal(t, "Q9035", e.Language)
	require.NotEmpty(t, e.Forms)
	assert.Equal(t, "L42353-F1", e.Forms[0].ID)
	assert.Equal(t, []string{"Q110786", "Q53997857", "Q98946930"}, e.Forms[0].GrammaticalFeatures)
	assert.Equal(t, "P5279", e.Forms[0].Claims[0].Property)
	require.NotEmpty(t, e.Senses)
	assert.Equal(t, "L42353-S1", e.Senses[0].ID)
	assert.Equal(t, "kugleformet frugt fra klatreplanten Cucumis melo", e.Senses[0].Glosses[0].Value)
	assert.Len(t, e.Senses[0].Claims, 3)
}

func TestParseLegacyFixture(t *testing.T) {
	e := parseOne(t, readFixture(t, "wikibase-rdf/entities/Q4.json"))
	values := map[string]Value{}
	types := map[string]SnakType{}
	for _, g := range e.Claims {
		for _, st := range g.Statements {
			values[st.ID] = st.MainSnak.Value
			types[st.ID] = st.MainSnak.Type
		}
	}
	lon, prec := 67.25, 0.0625
	cases := map[string]Value{
		"TEST-Statement-2-423614cd831ed4e8da1138c9229cb65cf96f9366": &EntityIDValue{EntityType: TypeItem, ID: "Q42"},
		"TEST-Statement-3-b181ddac61642fe80bbf8e4a8eaa1da425cb0ac9": &StringValue{Value: "Universe.svg"},
		"TEST-Statement-4-8749fa158a249e1befa6ed077f648c56197a2b2d": &GlobeCoordinateValue{
			Latitude: 12.125, Longitude: lon, Precision: &prec, Globe: GlobeEarth,
		},
		"TEST-Statement-5-93da31338cb80c2eb0f92a5459a186bd59579180": &MonolingualTextValue{Text: "превед", Language: "ru"},
		"TEST-Statement-6-9ae284048af6d9ab0f2815ef104216cb8b22e8bc": &QuantityValue{
			Amount:     "+19.768000000000000682121026329696178436279296875",
			Unit:       "1",
			UpperBound: "+19.76899999999999835154085303656756877899169921875",
			LowerBound: "+19.766999999999999459987520822323858737945556640625",
		},
	}
	for id, want := range cases {
		assert.Equal(t, want, values[id], id)
	}
	assert.Equal(t, SnakNoValue, types["TEST-Statement-3-12914044e0dbab210aa9d81168bd50471bbde12d"])
	assert.Equal(t, SnakSomeValue, types["TEST-Statement-5-8c5d9fe1bfe1fe52e5ab706ae3e5d62f4aaa8d5b"])
	assert.Nil(t, values["TEST-Statement-5-8c5d9fe1bfe1fe52e5ab706ae3e5d62f4aaa8d5b"])

	bare := parseOne(t, readFixture(t, "wikibase-rdf/entities/Q1.json"))
	assert.Equal(t, &Entity{Type: TypeItem, ID: "Q1"}, bare)
}

func TestParseKeepsUnknownFields(t *testing.T) {
	in := `{"type":"item","id":"Q1","zeta":{"a":[1,2]},"labels":{},"alpha":"x",` +
		`"claims":{"P1":[{"mainsnak":{"snaktype":"value","property":"P1","datavalue":` +
		`{"value":{"shape":"circle"},"type":"wibbly"}},"type":"statement","rank":"normal","note":true}]}}`
	e, err := ParseEntity([]byte(in))
	require.NoError(t, err)
	assert.Equal(t, []RawField{
		{Key: "zeta", Value: []byte(`{"a":[1,2]}`)},
		{Key: "alpha", Value: []byte(`"x"`)},
	}, e.Extra)
	st := e.Claims[0].Statements[0]
	assert.Equal(t, &UnknownValue{Type: "wibbly", Raw: []byte(`{"shape":"circle"}`)}, st.MainSnak.Value)
	assert.Equal(t, []RawField{{Key: "note", Value: []byte("true")}}, st.Extra)
}

// TestParseDataValueInAnyOrder: the value decodes the same whether its type comes before
// or after it, and whatever its first member; a value that only looks like a known type is
// kept verbatim under its own type.
func TestParseDataValueInAnyOrder(t *testing.T) {
	mono := &MonolingualTextValue{Text: "a", Language: "en"}
	cases := []struct {
		name, datavalue string
		want            Value
	}{
		{"value first", `{"value":{"text":"a","language":"en"},"type":"monolingualtext"}`, mono},
		{"type first", `{"type":"monolingualtext","value":{"text":"a","language":"en"}}`, mono},
		{"members reordered", `{"value":{"language":"en","text":"a"},"type":"monolingualtext"}`, mono},
		{"shape of another type", `{"value":{"text":"a","language":"en"},"type":"wibbly"}`,
			&UnknownValue{Type: "wibbly", Raw: []byte(`{"text":"a","language":"en"}`)}},
		{"known type, unknown member", `{"value":{"text":"a","language":"en","x":1},"type":"monolingualtext"}`,
			&UnknownValue{Type: "monolingualtext", Raw: []byte(`{"text":"a","language":"en","x":1}`)}},
		{"string", `{"value":"s","type":"string"}`, &StringValue{Value: "s"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := ParseEntity([]byte(`{"type":"item","id":"Q1","claims":{"P1":[{"mainsnak":{"snaktype":"value","property":"P1","datavalue":` +
				c.datavalue + `},"type":"statement","rank":"normal"}]}}`))
			require.NoError(t, err)
			assert.Equal(t, c.want, e.Claims[0].Statements[0].MainSnak.Value)
		})
	}
}

func TestParseOrdersQualifiersAndRegroupsClaims(t *testing.T) {
	in := `{"type":"item","id":"Q1","claims":{` +
		`"P2":[{"mainsnak":{"snaktype":"novalue","property":"P2"},"type":"statement","rank":"normal",` +
		`"qualifiers":{"P5":[{"snaktype":"novalue","property":"P5"}],"P3":[{"snaktype":"somevalue","property":"P3"},{"snaktype":"novalue","property":"P3"}]},` +
		`"qualifiers-order":["P3","P5"]}],` +
		`"P7":[{"mainsnak":{"snaktype":"novalue","property":"P2"},"type":"statement","rank":"deprecated"}]}}`
	e, err := ParseEntity([]byte(in))
	require.NoError(t, err)
	require.Len(t, e.Claims, 1, "a statement filed under the wrong key joins its main snak's property")
	assert.Equal(t, "P2", e.Claims[0].Property)
	require.Len(t, e.Claims[0].Statements, 2)
	q := e.Claims[0].Statements[0].Qualifiers
	got := []string{}
	for _, s := range q {
		got = append(got, s.Property+":"+s.Type.String())
	}
	assert.Equal(t, []string{"P3:somevalue", "P3:novalue", "P5:novalue"}, got)
	assert.Equal(t, RankDeprecated, e.Claims[0].Statements[1].Rank)
}

func TestParseEntityIDForms(t *testing.T) {
	cases := []struct {
		json string
		want Value
	}{
		{`{"entity-type":"item","numeric-id":42}`, &EntityIDValue{EntityType: TypeItem, ID: "Q42"}},
		{`{"entity-type":"property","numeric-id":"7"}`, &EntityIDValue{EntityType: TypeProperty, ID: "P7"}},
		{`{"entity-type":"lexeme","numeric-id":3,"id":"L3"}`, &EntityIDValue{EntityType: TypeLexeme, ID: "L3"}},
		{`{"entity-type":"form","id":"L3-F2"}`, &EntityIDValue{EntityType: "form", ID: "L3-F2"}},
		{`{"id":"L3-S1"}`, &EntityIDValue{EntityType: "sense", ID: "L3-S1"}},
		{`{"entity-type":"entity-schema","id":"E12"}`, &EntityIDValue{EntityType: "entity-schema", ID: "E12"}},
	}
	for _, c := range cases {
		t.Run(c.json, func(t *testing.T) {
			in := `{"type":"item","id":"Q1","claims":{"P1":[{"mainsnak":{"snaktype":"value","property":"P1",` +
				`"datavalue":{"value":` + c.json + `,"type":"wikibase-entityid"}},"type":"statement"}]}}`
			e, err := ParseEntity([]byte(in))
			require.NoError(t, err)
			assert.Equal(t, c.want, e.Claims[0].Statements[0].MainSnak.Value)
			assert.Equal(t, RankNormal, e.Claims[0].Statements[0].Rank)
		})
	}
}

func TestParseRejectsInvalidInput(t *testing.T) {
	snak := func(dv string) string {
		return `{"type":"item","id":"Q1","claims":{"P1":[{"mainsnak":{"snaktype":"value","property":"P1","datavalue":` +
			dv + `},"type":"statement"}]}}`
	}
	cases := []struct {
		name, json, want string
	}{
		{"empty", ``, "must be a JSON object"},
		{"not object", `[1]`, "must be a JSON object"},
		{"no type", `{"id":"Q1"}`, "no type"},
		{"no id", `{"type":"item"}`, "no id"},
		{"bad item id", `{"type":"item","id":"P1"}`, `id "P1" is not a valid item id`},
		{"property without datatype", `{"type":"property","id":"P1"}`, "has no datatype"},
		{"trailing data", `{"type":"item","id":"Q1"} x`, "after the JSON value"},
		{"truncated", `{"type":"item","id":"Q1","labels":{"en":{"language":"en","value":"x"}`, "unexpected end of input"},
		{"label without value", `{"type":"item","id":"Q1","labels":{"en":{"language":"en"}}}`, "labels: en: term has no value"},
		{"bad rank", `{"type":"item","id":"Q1","claims":{"P1":[{"mainsnak":{"snaktype":"novalue","property":"P1"},"rank":"best"}]}}`, `unknown rank "best"`},
		{"no mainsnak", `{"type":"item","id":"Q1","claims":{"P1":[{"rank":"normal"}]}}`, "no mainsnak"},
		{"bad snaktype", `{"type":"item","id":"Q1","claims":{"P1":[{"mainsnak":{"snaktype":"maybe","property":"P1"}}]}}`, `unknown snak type "maybe"`},
		{"bad property", `{"type":"item","id":"Q1","claims":{"P1":[{"mainsnak":{"snaktype":"novalue","property":"Q1"}}]}}`, "not a property id"},
		{"value snak without value", `{"type":"item","id":"Q1","claims":{"P1":[{"mainsnak":{"snaktype":"value","property":"P1"}}]}}`, "has no datavalue"},
		{"time missing fields", snak(`{"value":{"time":"+2000-01-01T00:00:00Z"},"type":"time"}`), "needs time, timezone"},
		{"time precision", snak(`{"value":{"time":"+2000-01-01T00:00:00Z","timezone":0,"before":0,"after":0,"precision":15,"calendarmodel":"x"},"type":"time"}`), "precision 15"},
		{"quantity amount", snak(`{"value":{"amount":"12","unit":"1"},"type":"quantity"}`), "not a signed decimal"},
		{"quantity one bound", snak(`{"value":{"amount":"+12","unit":"1","upperBound":"+13"},"type":"quantity"}`), "both upperBound and lowerBound"},
		{"entity id mismatch", snak(`{"value":{"entity-type":"item","numeric-id":4,"id":"Q5"},"type":"wikibase-entityid"}`), "does not match"},
		{"string value not string", snak(`{"value":5,"type":"string"}`), "want a string"},
		{"datavalue without type", snak(`{"value":"x"}`), "no type"},
		{"huge latitude", snak(`{"value":{"latitude":1e999,"longitude":0,"globe":"g"},"type":"globecoordinate"}`), "out of range"},
		{"bad escape", `{"type":"item","id":"Q\x"}`, "invalid escape"},
		{"control char", "{\"type\":\"item\",\"id\":\"Q\x01\"}", "control character"},
		{"deep nesting", `{"type":"item","id":"Q1","x":` + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + `}`, "nesting deeper"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := ParseEntity([]byte(c.json))
			require.Error(t, err)
			assert.Nil(t, e)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestParseStringEscapes(t *testing.T) {
	in := `{"type":"item","id":"Q1","labels":{"en":{"language":"en","value":"a\"b\\c\/d\u00e9\ud83d\ude00\ud800x\n"}}}`
	e, err := ParseEntity([]byte(in))
	require.NoError(t, err)
	assert.Equal(t, "a\"b\\c/dé😀\uFFFDx\n", e.Labels[0].Value)
}
