package rdf

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// loadConfigText writes text as a config file and loads it.
func loadConfigText(t *testing.T, text string) (*Config, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "wikibase.json")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return LoadConfig(path)
}

// TestPageProperties: the data node's page properties follow pageProperties (Wikibase's
// pagePropertiesRdf): Wikidata's three counts by default, none for {}, and the names and
// types given otherwise.
func TestPageProperties(t *testing.T) {
	item := &wikibase.Entity{Type: wikibase.TypeItem, ID: "Q7", Sitelinks: []wikibase.Sitelink{{Site: "enwiki", Title: "A"}, {Site: "dewiki", Title: "B"}}}
	for _, g := range []struct{ pid, value string }{{"P1", "a"}, {"P2", "id-1"}, {"P2", "id-2"}} {
		item.Claims = append(item.Claims, wikibase.StatementGroup{Property: g.pid, Statements: []wikibase.Statement{{
			ID: "Q7$" + g.value, Rank: wikibase.RankNormal,
			MainSnak: wikibase.Snak{Type: wikibase.SnakValue, Property: g.pid, Value: &wikibase.StringValue{Value: g.value}},
		}}})
	}
	const data = "<https://www.wikidata.org/wiki/Special:EntityData/Q7> "
	cases := []struct {
		name, config string
		want         []string
	}{
		{"default", `{}`, []string{
			`<http://wikiba.se/ontology#statements> "3"^^<http://www.w3.org/2001/XMLSchema#integer>`,
			`<http://wikiba.se/ontology#sitelinks> "2"^^<http://www.w3.org/2001/XMLSchema#integer>`,
			`<http://wikiba.se/ontology#identifiers> "2"^^<http://www.w3.org/2001/XMLSchema#integer>`,
		}},
		{"off", `{"pageProperties": {}}`, nil},
		{"some, typed", `{"pageProperties": {"wb-claims": {"name": "claims"}, "wb-sitelinks": {"name": "links", "type": "float"},
			"wb-identifiers": {"name": "ids", "type": "string"}}}`, []string{
			`<http://wikiba.se/ontology#claims> "3"^^<http://www.w3.org/2001/XMLSchema#integer>`,
			`<http://wikiba.se/ontology#links> "2"^^<http://www.w3.org/2001/XMLSchema#double>`,
			`<http://wikiba.se/ontology#ids> "2"`,
		}},
		{"one, boolean", `{"pageProperties": {"wb-sitelinks": {"name": "hasLinks", "type": "boolean"}}}`, []string{
			`<http://wikiba.se/ontology#hasLinks> "true"^^<http://www.w3.org/2001/XMLSchema#boolean>`,
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := loadConfigText(t, c.config)
			if err != nil {
				t.Fatal(err)
			}
			props := NewPropertyInfo(cfg)
			props.AddDatatypes(wikibase.DatatypeMap{"P1": "string", "P2": "external-id"})
			r, err := NewRenderer(cfg, NTriples, FullDump.mustFlags(t), props)
			if err != nil {
				t.Fatal(err)
			}
			var chunk Chunk
			if err := r.Render(item, &chunk); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, line := range strings.Split(string(chunk.Bytes()), "\n") {
				if rest, ok := strings.CutPrefix(line, data); ok && strings.Contains(rest, "wikiba.se/ontology#") {
					got = append(got, strings.TrimSuffix(rest, " ."))
				}
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("data node page properties:\n got %q\nwant %q", got, c.want)
			}
		})
	}
}

// TestConfigRejectsWhatCannotWork: a config setting that cannot work is named when loaded.
func TestConfigRejectsWhatCannotWork(t *testing.T) {
	for _, c := range []struct{ config, want string }{
		{`{"pageProperties": {"wb-status": {"name": "status"}}}`, "pageProperties[wb-status]: not a page property"},
		{`{"pageProperties": {"wb-claims": {"name": "has space"}}}`, `pageProperties[wb-claims]: name "has space"`},
		{`{"pageProperties": {"wb-claims": {"name": "claims", "type": "array"}}}`, `pageProperties[wb-claims]: type "array"`},
		{`{"pageProperties": {"wb-claims": {"nme": "claims"}}}`, `unknown field "nme"`},
	} {
		_, err := loadConfigText(t, c.config)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to name %q", c.config, err, c.want)
		}
	}
}
