package rdf

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// unitStatement is one "conversion to SI unit" (P2370) statement of a unit item.
type unitStatement struct {
	amount, unit, rank string
}

// unitItemJSON is a unit item as Wikidata has it: instance of "coherent SI unit" (P31
// Q69197847) when coherent, and its P2370 statements.
func unitItemJSON(id string, coherent bool, conversions ...unitStatement) string {
	var claims []string
	if coherent {
		claims = append(claims, `"P31":[{"mainsnak":{"snaktype":"value","property":"P31","datavalue":{"value":{"entity-type":"item","id":"Q69197847"},"type":"wikibase-entityid"},"datatype":"wikibase-item"},"type":"statement","id":"`+id+`$c","rank":"normal"}]`)
	}
	var stmts []string
	for i, c := range conversions {
		rank := c.rank
		if rank == "" {
			rank = "normal"
		}
		stmts = append(stmts, fmt.Sprintf(`{"mainsnak":{"snaktype":"value","property":"P2370","datavalue":{"value":{"amount":%q,"unit":"http://www.wikidata.org/entity/%s"},"type":"quantity"},"datatype":"quantity"},"type":"statement","id":"%s$%d","rank":%q}`,
			c.amount, c.unit, id, i, rank))
	}
	if len(stmts) > 0 {
		claims = append(claims, `"P2370":[`+strings.Join(stmts, ",")+`]`)
	}
	return `{"type":"item","id":"` + id + `","labels":{},"descriptions":{},"aliases":{},"claims":{` + strings.Join(claims, ",") + `},"sitelinks":{}}`
}

func newUnitItem(t testing.TB, id string, coherent bool, conversions ...unitStatement) *wikibase.Entity {
	t.Helper()
	e, err := wikibase.ParseEntity([]byte(unitItemJSON(id, coherent, conversions...)))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// wikidataUnits are the unit items of the units the real Wikidata fixtures use, with their
// statements as on Wikidata: metre, kilogram and kilogram per cubic metre are coherent SI
// units, a kilometre is 1000 metres.
func wikidataUnits(t testing.TB) []*wikibase.Entity {
	return []*wikibase.Entity{
		newUnitItem(t, "Q11573", true, unitStatement{"+1", "Q11573", ""}),
		newUnitItem(t, "Q828224", false, unitStatement{"+1000", "Q11573", ""}),
		newUnitItem(t, "Q11570", true, unitStatement{"+1", "Q11570", ""}),
		newUnitItem(t, "Q844211", true),
	}
}

func TestUnitsFromUnitItems(t *testing.T) {
	cfg := WikidataConfig()
	cfg.UnitConversions = map[string]UnitConversion{"Q100": {Factor: "7", Unit: "Q11573"}}
	u := NewUnits(cfg)
	for _, e := range wikidataUnits(t) {
		u.Add(e)
	}
	for _, e := range []*wikibase.Entity{
		newUnitItem(t, "Q1000", false, unitStatement{"+1000", "Q828224", ""}),                                               // megametre: via kilometre
		newUnitItem(t, "Q1001", false, unitStatement{"+5", "Q11573", "normal"}, unitStatement{"+3", "Q11573", "preferred"}), // the best rank
		newUnitItem(t, "Q1002", false, unitStatement{"+5", "Q11573", "deprecated"}),
		newUnitItem(t, "Q1003", false, unitStatement{"-2", "Q11573", ""}),
		newUnitItem(t, "Q1004", false, unitStatement{"+2", "Q1005", ""}), // to a unit that is not coherent and converts nowhere
		newUnitItem(t, "Q1005", false),
		newUnitItem(t, "Q1006", false, unitStatement{"+1", "Q1006", ""}), // 1 of itself, not coherent
		newUnitItem(t, "Q100", false, unitStatement{"+1000", "Q11573", ""}),
		newUnitItem(t, "Q1007", false, unitStatement{"+0.3048", "Q11573", ""}),
	} {
		u.Add(e)
	}
	for _, c := range []struct {
		unit   string
		want   UnitConversion
		exists bool
	}{
		{"Q11573", UnitConversion{Factor: "+1", Unit: "Q11573"}, true},
		{"Q828224", UnitConversion{Factor: "+1000", Unit: "Q11573"}, true},
		{"Q844211", UnitConversion{Factor: "+1", Unit: "Q844211"}, true},
		{"Q1000", UnitConversion{Factor: "+1000000", Unit: "Q11573"}, true},
		{"Q1001", UnitConversion{Factor: "+3", Unit: "Q11573"}, true},
		{"Q1007", UnitConversion{Factor: "+0.3048", Unit: "Q11573"}, true},
		{"Q100", UnitConversion{Factor: "7", Unit: "Q11573"}, true}, // the configuration wins
		{"Q1002", UnitConversion{}, false},
		{"Q1003", UnitConversion{}, false},
		{"Q1004", UnitConversion{}, false},
		{"Q1006", UnitConversion{}, false},
		{"Q404", UnitConversion{}, false},
	} {
		got, ok := u.Conversion(c.unit)
		if ok != c.exists || got != c.want {
			t.Errorf("%s: got %+v %v, want %+v %v", c.unit, got, ok, c.want, c.exists)
		}
	}

	// Without a coherent class, 1 of itself makes a unit coherent.
	noClass := WikidataConfig()
	noClass.CoherentUnitClass = ""
	u = NewUnits(noClass)
	u.Add(newUnitItem(t, "Q1006", false, unitStatement{"+1", "Q1006", ""}))
	u.Add(newUnitItem(t, "Q1008", false, unitStatement{"+60", "Q1006", ""}))
	if got, ok := u.Conversion("Q1008"); !ok || got != (UnitConversion{Factor: "+60", Unit: "Q1006"}) {
		t.Errorf("Q1008 without a coherent class: %+v %v", got, ok)
	}
}

// TestUnitsLearn: Learn reads the units asked for and the units they convert to, once each,
// and remembers ids that have no item.
func TestUnitsLearn(t *testing.T) {
	stored := map[string]*wikibase.Entity{}
	for _, e := range append(wikidataUnits(t), newUnitItem(t, "Q1000", false, unitStatement{"+1000", "Q828224", ""})) {
		stored[e.ID] = e
	}
	var asked [][]string
	load := func(_ context.Context, ids []string) ([]*wikibase.Entity, error) {
		asked = append(asked, ids)
		var out []*wikibase.Entity
		for _, id := range ids {
			if e, ok := stored[id]; ok {
				out = append(out, e)
			}
		}
		return out, nil
	}
	u := NewUnits(WikidataConfig())
	if err := u.Learn(context.Background(), []string{"Q1000", "Q404"}, load); err != nil {
		t.Fatal(err)
	}
	if got, ok := u.Conversion("Q1000"); !ok || got != (UnitConversion{Factor: "+1000000", Unit: "Q11573"}) {
		t.Errorf("Q1000: %+v %v", got, ok)
	}
	want := [][]string{{"Q1000", "Q404"}, {"Q828224"}, {"Q11573"}}
	if !slices.EqualFunc(asked, want, slices.Equal) {
		t.Errorf("loaded %v, want %v", asked, want)
	}
	asked = nil
	if err := u.Learn(context.Background(), []string{"Q1000", "Q404", "Q828224"}, load); err != nil || len(asked) != 0 {
		t.Errorf("known units read again: %v %v", asked, err)
	}
}

// TestNormalizedValuesFromUnitItems: a conversion learned from the input's own unit items
// gives the same normalized value nodes as the configured table.
func TestNormalizedValuesFromUnitItems(t *testing.T) {
	item := `{"type":"item","id":"Q7","labels":{},"descriptions":{},"aliases":{},"sitelinks":{},"claims":{"P2043":[{"mainsnak":{"snaktype":"value","property":"P2043","datavalue":{"value":{"amount":"+12.5","unit":"http://www.wikidata.org/entity/Q828224","upperBound":"+13","lowerBound":"+12"},"type":"quantity"},"datatype":"quantity"},"type":"statement","id":"Q7$1","rank":"normal"}]}}`
	var input strings.Builder
	input.WriteString("[\n" + item + ",\n")
	for _, e := range []string{unitItemJSON("Q11573", true, unitStatement{"+1", "Q11573", ""}), unitItemJSON("Q828224", false, unitStatement{"+1000", "Q11573", ""})} {
		input.WriteString(e + ",\n")
	}
	input.WriteString("]\n")
	convert := func(cfg *Config) string {
		props := NewPropertyInfo(cfg)
		props.SetDatatype("P2043", "quantity")
		if _, err := LearnProperties(entityReader(t, []byte(input.String())), props); err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		if _, err := Convert(context.Background(), entityReader(t, []byte(input.String())), &out, ConvertOptions{
			Config: cfg, Format: NTriples, Flavor: FullDump, Properties: props, Started: testTime,
		}); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	derived := convert(WikidataConfig())
	if !strings.Contains(derived, `<http://wikiba.se/ontology#quantityAmount> "+12500"^^<http://www.w3.org/2001/XMLSchema#decimal>`) ||
		!strings.Contains(derived, `<http://www.wikidata.org/prop/statement/value-normalized/P2043>`) {
		t.Fatalf("no normalized value derived from the unit items:\n%s", derived)
	}
	table := WikidataConfig()
	table.UnitConversionProperty = ""
	table.UnitConversions = map[string]UnitConversion{"Q828224": {Factor: "1000", Unit: "Q11573"}, "Q11573": {Factor: "1", Unit: "Q11573"}}
	if configured := convert(table); configured != derived {
		t.Errorf("derived conversions differ from the same table configured:\n%s\n---\n%s", derived, configured)
	}
	none := WikidataConfig()
	none.UnitConversionProperty = ""
	if strings.Contains(convert(none), "value-normalized") {
		t.Error("normalized values without a conversion")
	}
}
