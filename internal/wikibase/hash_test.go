package wikibase

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ptr[T any](v T) *T { return &v }

const gregorian = "http://www.wikidata.org/entity/Q1985727"

var boundedQuantity = &QuantityValue{
	Amount:     "+19.768000000000000682121026329696178436279296875",
	Unit:       "1",
	UpperBound: "+19.76899999999999835154085303656756877899169921875",
	LowerBound: "+19.766999999999999459987520822323858737945556640625",
}

// TestHashVectors covers every test vector of dumps-rdf.md §2.10.
func TestHashVectors(t *testing.T) {
	timeValue := &TimeValue{Time: "+1952-03-11T00:00:00Z", Precision: 11, CalendarModel: gregorian}
	globe := &GlobeCoordinateValue{
		Latitude: 51.566527777778, Longitude: -0.14544444444444,
		Precision: ptr(2.7777777777778e-5), Globe: GlobeEarth,
	}
	cases := []struct {
		name string
		got  func() (string, error)
		want string
	}{
		{"time value (wdv)", func() (string, error) { return ValueHash(timeValue) }, "426df9023763f08b066f4478480f44cd"},
		{"time value helper", func() (string, error) { return TimeValueHash(timeValue), nil }, "426df9023763f08b066f4478480f44cd"},
		{"bounded quantity (wdv)", func() (string, error) { return ValueHash(boundedQuantity) }, "1e09d673624819aacd170165aae555a1"},
		{"unbounded quantity (wdv)", func() (string, error) {
			return QuantityValueHash(&QuantityValue{Amount: "+19460", Unit: "1"}), nil
		}, "4e3244ccc4d14053f6649e98562f6f0a"},
		{"globe coordinate (wdv)", func() (string, error) { return ValueHash(globe) }, "12b3879e659a02b6b54b45eb5d03fe47"},
		{"value snak P569 time", func() (string, error) {
			return SnakHash(&Snak{Type: SnakValue, Property: "P569", Value: timeValue})
		}, "27f538a50ad110d1e6716c972f5f0ac24ca17430"},
		{"somevalue snak P5", func() (string, error) {
			return SnakHash(&Snak{Type: SnakSomeValue, Property: "P5"})
		}, "f58f755d670950110b5ef2ee3f4dd12167778cac"},
		{"statement node name", func() (string, error) {
			return StatementLocalName("Q42$F078E5B3-F9A8-480E-B7AC-D97778CBBEF9"), nil
		}, "Q42-F078E5B3-F9A8-480E-B7AC-D97778CBBEF9"},
		{"somevalue bnode, truthy", func() (string, error) {
			return SomeValueNodeID("TEST-Statement-5-8c5d9fe1bfe1fe52e5ab706ae3e5d62f4aaa8d5b",
				"http://acme.test/prop/direct/", "http://acme.test/value/", "f58f755d670950110b5ef2ee3f4dd12167778cac"), nil
		}, "16696d7ad1e9ae4903df6b9ddab8a877"},
		{"somevalue bnode, statement", func() (string, error) {
			return SomeValueNodeID("TEST-Statement-5-8c5d9fe1bfe1fe52e5ab706ae3e5d62f4aaa8d5b",
				"http://acme.test/prop/statement/", "http://acme.test/value/", "f58f755d670950110b5ef2ee3f4dd12167778cac"), nil
		}, "25be0ec6d92d8ee56ec6ee3e7cdc0963"},
		{"novalue restriction wikidata P569", func() (string, error) {
			return NoValueRestrictionNodeID("wikidata", "P569"), nil
		}, "4bfb48d5a3bb3600187722aa6901d2c3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.got()
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}

	// The §2.10 table gives only prefixes for these.
	prefixes := []struct{ source, pid, prefix string }{
		{"wikidata", "P2", "e069dac5"},
		{"test", "P10", "18d14fa9"},
		{"foreign", "P2", "849fd430"},
	}
	for _, c := range prefixes {
		assert.Equal(t, c.prefix, NoValueRestrictionNodeID(c.source, c.pid)[:8], "%s/%s", c.source, c.pid)
	}
}

func TestValueSerialization(t *testing.T) {
	cases := []struct {
		name string
		v    Value
		want string
	}{
		{"time", &TimeValue{Time: "+1952-03-11T00:00:00Z", Precision: 11, CalendarModel: gregorian},
			`C:20:"DataValues\TimeValue":80:{["+1952-03-11T00:00:00Z",0,0,0,11,"http:\/\/www.wikidata.org\/entity\/Q1985727"]}`},
		{"unbounded quantity", &QuantityValue{Amount: "+19460", Unit: "1"},
			`C:33:"DataValues\UnboundedQuantityValue":71:{a:2:{i:0;C:23:"DataValues\DecimalValue":13:{s:6:"+19460";}i:1;s:1:"1";}}`},
		{"string", &StringValue{Value: "é"}, `C:22:"DataValues\StringValue":2:{é}`},
		{"monolingual", &MonolingualTextValue{Text: "hi", Language: "en"},
			`C:31:"DataValues\MonolingualTextValue":32:{a:2:{i:0;s:2:"en";i:1;s:2:"hi";}}`},
		{"item", &EntityIDValue{EntityType: TypeItem, ID: "Q42"},
			`C:39:"Wikibase\DataModel\Entity\EntityIdValue":47:{C:32:"Wikibase\DataModel\Entity\ItemId":3:{Q42}}`},
		{"globe", &GlobeCoordinateValue{Latitude: 12, Longitude: 67.25, Precision: ptr(1e-5), Globe: GlobeEarth},
			`C:42:"DataValues\Geo\Values\GlobeCoordinateValue":62:{[12,67.25,null,1.0e-5,"http:\/\/www.wikidata.org\/entity\/Q2"]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := appendValueSerialization(nil, c.v)
			require.NoError(t, err)
			assert.Equal(t, c.want, string(got))
		})
	}
	_, err := ValueHash(&UnknownValue{Type: "wibbly", Raw: []byte("1")})
	assert.ErrorIs(t, err, ErrUnhashable)
}

// TestLegacyFixtureReferenceHash checks the Wikibase fixture reference with
// snaks of every type (the fixture has no hashes; the value is from §2.10).
func TestLegacyFixtureReferenceHash(t *testing.T) {
	e := parseOne(t, readFixture(t, "wikibase-rdf/entities/Q7.json"))
	st := e.Claims[0].Statements[0]
	require.Len(t, st.References, 1)
	got, err := ReferenceHash(&st.References[0])
	require.NoError(t, err)
	assert.Equal(t, "d2412760c57cacd8c8f24d9afde3b20c87161cca", got)
}

// TestRealEntityHashes recomputes every snak hash (main snaks, qualifiers,
// reference snaks) and every reference hash of the real Wikidata entities
// and compares it with the hash Wikidata stored.
func TestRealEntityHashes(t *testing.T) {
	for _, file := range realEntityFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			e := parseOne(t, readFixture(t, filepath.Join("wikidata", "entities", filepath.Base(file))))
			var h Hasher
			counts := map[string]int{}
			check := func(what string, s *Snak) {
				require.NotEmpty(t, s.Hash, "%s of %s has no stored hash", what, s.Property)
				got, err := h.SnakHash(s)
				require.NoError(t, err)
				require.Equal(t, s.Hash, got, "%s %s %s", what, s.Property, describeValue(s.Value))
				counts[what+" "+s.Type.String()+" "+valueTypeOf(s)]++
			}
			err := e.AllStatements(func(st *Statement) error {
				check("main", &st.MainSnak)
				for i := range st.Qualifiers {
					check("qualifier", &st.Qualifiers[i])
				}
				for i := range st.References {
					r := &st.References[i]
					for j := range r.Snaks {
						check("reference-snak", &r.Snaks[j])
					}
					got, err := h.ReferenceHash(r)
					require.NoError(t, err)
					require.Equal(t, r.Hash, got, "reference of %s", st.ID)
					counts["reference"]++
				}
				return nil
			})
			require.NoError(t, err)
			require.NotEmpty(t, counts)
			t.Logf("verified %v", counts)
		})
	}
}

func valueTypeOf(s *Snak) string {
	if s.Value == nil {
		return "-"
	}
	return s.Value.ValueType()
}

func describeValue(v Value) string {
	switch v := v.(type) {
	case nil:
		return "<none>"
	case *GlobeCoordinateValue:
		return fmt.Sprintf("%+v precision=%v", *v, v.Precision)
	default:
		return fmt.Sprintf("%+v", v)
	}
}

func TestPHPFloatFormatting(t *testing.T) {
	cases := []struct {
		f          float64
		json, cast string
	}{
		{12, "12", "12"},
		{0, "0", "0"},
		{-0.5, "-0.5", "-0.5"},
		{0.0625, "0.0625", "0.0625"},
		{0.0001, "0.0001", "0.0001"},
		{1e-5, "1.0e-5", "1.0E-5"},
		{2.7777777777778e-5, "2.7777777777778e-5", "2.7777777777778E-5"},
		{1.0 / 3600, "0.0002777777777777778", "0.00027777777777778"},
		{2.777777777777778e-5 / 100, "2.777777777777778e-7", "2.7777777777778E-7"},
		{51.566527777778, "51.566527777778", "51.566527777778"},
		{-0.14544444444444, "-0.14544444444444", "-0.14544444444444"},
		{59.33763888888889, "59.33763888888889", "59.337638888889"},
		{123456789012345678, "1.2345678901234568e+17", "1.2345678901235E+17"},
		{1e15, "1000000000000000", "1.0E+15"},
		{1e14, "100000000000000", "1.0E+14"},
		{12345678901234, "12345678901234", "12345678901234"},
		{1.5e300, "1.5e+300", "1.5E+300"},
	}
	for _, c := range cases {
		t.Run(c.json, func(t *testing.T) {
			got, ok := FormatPHPJSONFloat(c.f)
			require.True(t, ok)
			assert.Equal(t, c.json, got, "json_encode")
			assert.Equal(t, c.cast, FormatPHPFloat(c.f), "string cast")
		})
	}
}
