package rdf

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/entitybase/entitybase-workers/internal/fixtures"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// acmeConfig is the configuration Wikibase's RdfBuilderTest assumes (see
// fixtures/wikibase-rdf/README.md); foreign moves the properties to the
// source "foreign".
func acmeConfig(foreign bool) *Config {
	cfg := &Config{
		Source: Source{Name: "wikidata", ConceptBaseURI: "http://acme.test/", DataURI: "http://data.acme.test/"},
		Sites: []Site{
			{ID: "enwiki", Language: "en", LinkPath: "http://enwiki.acme.test/$1", Group: "wikipedia"},
			{ID: "ruwiki", Language: "ru", LinkPath: "http://ruwiki.acme.test/$1"},
		},
		MediaBaseURI:       "http://commons.wikimedia.org/",
		GeoShapeBaseURI:    "http://commons.wikimedia.org/data/main/",
		TabularDataBaseURI: "http://commons.wikimedia.org/data/main/",
		LicenseURI:         "http://creativecommons.org/publicdomain/zero/1.0/",
		OneEntityURI:       "http://www.wikidata.org/entity/Q199",
	}
	if foreign {
		cfg.PropertySource = &Source{Name: "foreign", ConceptBaseURI: "http://foreign.test/", DataURI: "http://data.foreign.test/", NodePrefix: "foreign", PredicatePrefix: "foreign"}
	}
	return cfg
}

func acmeProperties(cfg *Config) *PropertyInfo {
	p := NewPropertyInfo(cfg)
	p.AddDatatypes(wikibase.DatatypeMap{
		"P2": "wikibase-item", "P3": "commonsMedia", "P4": "globe-coordinate", "P5": "monolingualtext",
		"P6": "quantity", "P7": "string", "P8": "time", "P9": "url", "P10": "geo-shape", "P11": "external-id",
	})
	return p
}

// builderAll is what RdfBuilderTest calls "ALL": everything but property
// stubs, resolved entities and page props.
const builderAll = AllStatements | TruthyStatements | Qualifiers | References | Sitelinks | FullValues | VersionInfo

type conformanceCase struct {
	name     string
	entities []string // rendered in order with one dedupe bag
	flags    Flags
	foreign  bool
	// noRevision renders without revision info, as RdfBuilderTest's
	// dedup test does.
	noRevision bool
	expected   []string // files under RdfBuilder/
}

func conformanceCases() []conformanceCase {
	cases := []conformanceCase{
		{name: "Q1", entities: []string{"Q1"}, flags: builderAll, expected: []string{"Q1_info"}},
		{name: "Q2", entities: []string{"Q2"}, flags: builderAll, expected: []string{"Q2_meta", "Q2_version", "Q2_stub", "Q2_aliases"}},
		{name: "Q3", entities: []string{"Q3"}, flags: builderAll, expected: []string{"Q3_meta", "Q3_version", "Q3_sitelinks"}},
		{name: "Q4", entities: []string{"Q4"}, flags: builderAll, expected: []string{"Q4_meta", "Q4_version", "Q4_statements", "Q4_direct", "Q4_values"}},
		{name: "Q5", entities: []string{"Q5"}, flags: builderAll, expected: []string{"Q5_badges"}},
		{name: "Q6", entities: []string{"Q6"}, flags: builderAll, expected: []string{"Q6_meta", "Q6_version", "Q6_statements", "Q6_qualifiers", "Q6_values", "Q6_referenced"}},
		{name: "Q7", entities: []string{"Q7"}, flags: builderAll, expected: []string{"Q7_meta", "Q7_version", "Q7_statements", "Q7_reference_refs", "Q7_references", "Q7_values"}},
		{name: "Q8", entities: []string{"Q8"}, flags: builderAll, expected: []string{"Q8_baddates"}},
		{name: "Q7_Q9_dedup", entities: []string{"Q7", "Q9"}, flags: builderAll, noRevision: true, expected: []string{"Q7_Q9_dedup"}},

		{name: "Q4_all_statements", entities: []string{"Q4"}, flags: AllStatements, expected: []string{"Q4_meta", "Q4_statements"}},
		{name: "Q4_truthy", entities: []string{"Q4"}, flags: TruthyStatements, expected: []string{"Q4_meta", "Q4_direct"}},
		{name: "Q4_full_values", entities: []string{"Q4"}, flags: AllStatements | FullValues, expected: []string{"Q4_meta", "Q4_values", "Q4_statements"}},
		{name: "Q1_version_info", entities: []string{"Q1"}, flags: VersionInfo, expected: []string{"Q1_info"}},
	}
	foreign := []conformanceCase{
		{name: "Q4", entities: []string{"Q4"}, flags: builderAll, expected: []string{"Q4_meta", "Q4_version", "Q4_statements_foreignsource_properties", "Q4_direct_foreignsource_properties", "Q4_values_foreignsource_properties"}},
		{name: "Q6", entities: []string{"Q6"}, flags: builderAll, expected: []string{"Q6_meta", "Q6_version", "Q6_statements_foreignsource_properties", "Q6_qualifiers_foreignsource_properties", "Q6_values_foreignsource_properties", "Q6_referenced_foreignsource_properties"}},
		{name: "Q7", entities: []string{"Q7"}, flags: builderAll, expected: []string{"Q7_meta", "Q7_version", "Q7_statements_foreignsource_properties", "Q7_reference_refs_foreignsource_properties", "Q7_references_foreignsource_properties", "Q7_values_foreignsource_properties"}},
		{name: "Q8", entities: []string{"Q8"}, flags: builderAll, expected: []string{"Q8_baddates_foreignsource_properties"}},
		{name: "Q7_Q9_dedup", entities: []string{"Q7", "Q9"}, flags: builderAll, noRevision: true, expected: []string{"Q7_Q9_dedup_foreignsource_properties"}},
	}
	for _, c := range foreign {
		c.name += "_foreignsource"
		c.foreign = true
		cases = append(cases, c)
	}
	return cases
}

// ntLineSet reads N-Triples files as Wikibase's NTriplesRdfTestHelper does:
// lines trimmed, empty ones dropped, duplicates merged.
func ntLineSet(t *testing.T, data ...[]byte) map[string]bool {
	t.Helper()
	set := map[string]bool{}
	for _, d := range data {
		for _, line := range strings.Split(string(d), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				set[line] = true
			}
		}
	}
	return set
}

// diffSets lists what is missing from got and what got has in excess.
func diffSets(want, got map[string]bool) (missing, extra []string) {
	for l := range want {
		if !got[l] {
			missing = append(missing, l)
		}
	}
	for l := range got {
		if !want[l] {
			extra = append(extra, l)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	return missing, extra
}

func assertSameSet(t *testing.T, want, got map[string]bool) {
	t.Helper()
	missing, extra := diffSets(want, got)
	if len(missing)+len(extra) > 0 {
		t.Errorf("%d triples missing, %d extra\nmissing:\n%s\nextra:\n%s", len(missing), len(extra), strings.Join(missing, "\n"), strings.Join(extra, "\n"))
	}
}

// loadFixtureEntity parses entities/<id>.json and gives it the revision
// RdfBuilderTest uses (42 at 2013-10-04T03:31:05Z).
func loadFixtureEntity(t *testing.T, dir, id string) *wikibase.Entity {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "entities", id+".json"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := wikibase.ParseEntity(data)
	if err != nil {
		t.Fatalf("parse %s: %v", id, err)
	}
	e.Page = &wikibase.PageMetadata{LastRevID: 42, Modified: "2013-10-04T03:31:05Z"}
	return e
}

func TestWikibaseConformance(t *testing.T) {
	dir := filepath.Join(fixtures.SharedDir(t), "fixtures", "wikibase-rdf")
	cases := conformanceCases()
	// Four more below: the dump header and the property entity's three.
	t.Run(fmt.Sprintf("%d_cases", len(cases)+4), func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				cfg := acmeConfig(c.foreign)
				r, err := NewRenderer(cfg, NTriples, c.flags, acmeProperties(cfg))
				if err != nil {
					t.Fatal(err)
				}
				var out bytes.Buffer
				bag := NewHashDedupeBag()
				var chunk Chunk
				for _, id := range c.entities {
					e := loadFixtureEntity(t, dir, id)
					if c.noRevision {
						e.Page = nil
					}
					if err := r.Render(e, &chunk); err != nil {
						t.Fatal(err)
					}
					if _, err := chunk.WriteTo(&out, bag); err != nil {
						t.Fatal(err)
					}
				}
				var want [][]byte
				for _, f := range c.expected {
					data, err := os.ReadFile(filepath.Join(dir, "RdfBuilder", f+".nt"))
					if err != nil {
						t.Fatal(err)
					}
					want = append(want, data)
				}
				assertSameSet(t, ntLineSet(t, want...), ntLineSet(t, out.Bytes()))
			})
		}
		t.Run("dumpheader", func(t *testing.T) {
			cfg := acmeConfig(false)
			r, err := NewRenderer(cfg, NTriples, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if _, err := r.WriteHeader(&out, time.Unix(1426110695, 0)); err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(dir, "RdfBuilder", "dumpheader.nt"))
			if err != nil {
				t.Fatal(err)
			}
			assertSameSet(t, ntLineSet(t, want), ntLineSet(t, out.Bytes()))
		})
		for _, foreign := range []bool{false, true} {
			suffix := ""
			if foreign {
				suffix = "_foreignsource"
			}
			t.Run("P2_all"+suffix, func(t *testing.T) {
				cfg := acmeConfig(foreign)
				r, err := NewRenderer(cfg, NTriples, builderAll, acmeProperties(cfg))
				if err != nil {
					t.Fatal(err)
				}
				// PropertyRdfBuilderTest checks the property-specific
				// builder alone.
				var c Chunk
				r.begin(&c)
				r.addPropertyDeclarations("P2", "string")
				r.finish()
				want, err := os.ReadFile(filepath.Join(dir, "PropertyRdfBuilder", "P2_all"+suffix+".nt"))
				if err != nil {
					t.Fatal(err)
				}
				assertSameSet(t, ntLineSet(t, want), ntLineSet(t, c.Bytes()))
			})
		}
		t.Run("P2_terms", func(t *testing.T) {
			// P2_terms is labels, descriptions and the declarations; the
			// whole entity adds only its type and its aliases.
			cfg := acmeConfig(false)
			r, err := NewRenderer(cfg, NTriples, builderAll, acmeProperties(cfg))
			if err != nil {
				t.Fatal(err)
			}
			e := loadFixtureEntity(t, dir, "P2")
			e.Page = nil
			var c Chunk
			if err := r.Render(e, &c); err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(dir, "PropertyRdfBuilder", "P2_terms.nt"))
			if err != nil {
				t.Fatal(err)
			}
			wantSet := ntLineSet(t, want)
			wantSet[`<http://acme.test/P2> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://wikiba.se/ontology#Property> .`] = true
			wantSet[`<http://acme.test/P2> <http://www.w3.org/2004/02/skos/core#altLabel> "is a"@en .`] = true
			wantSet[`<http://acme.test/P2> <http://www.w3.org/2004/02/skos/core#altLabel> "war ein(e)"@de .`] = true
			assertSameSet(t, wantSet, ntLineSet(t, c.Bytes()))
		})
	})
}

var testTime = time.Unix(1426110695, 0)
