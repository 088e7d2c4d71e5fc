package rdf

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/entitybase/entitybase-workers/internal/fixtures"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// turtleToTriples converts Turtle with serdi into canonical triples.
func turtleToTriples(t *testing.T, turtle []byte) map[string]bool {
	t.Helper()
	serdi, err := exec.LookPath("serdi")
	if err != nil {
		t.Skip("serdi is not installed (apt-get install serdi); it parses the reference Turtle")
	}
	cmd := exec.Command(serdi, "-i", "turtle", "-o", "ntriples", "-")
	cmd.Stdin = bytes.NewReader(turtle)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("serdi: %v: %s", err, stderr.String())
	}
	set, err := parseNTriples(string(out))
	if err != nil {
		t.Fatalf("serdi output: %v", err)
	}
	return set
}

// wdtnTriple matches normalized external-id values in the reference, the
// only source the test has for Wikidata's URI patterns (P1921 values live
// on property entities that are not among the fixtures).
var normalizedTriple = regexp.MustCompile(`^(\S+) <http://www\.wikidata\.org/prop/(direct|statement/value|qualifier/value|reference/value)-normalized/(P\d+)> <([^>]*)>$`)

// simpleNamespaces maps the normalized predicates' namespaces to the
// namespaces of the simple values beside them.
var simpleNamespaces = map[string]string{
	"direct":          "http://www.wikidata.org/prop/direct/",
	"statement/value": "http://www.wikidata.org/prop/statement/",
	"qualifier/value": "http://www.wikidata.org/prop/qualifier/",
	"reference/value": "http://www.wikidata.org/prop/reference/",
}

// uriPatternsFrom recovers the canonical URI patterns of the external ids
// in the reference: for each normalized value, the plain value beside it
// on the same subject gives the $1.
func uriPatternsFrom(want map[string]bool) map[string]string {
	patterns := map[string]string{}
	for tr := range want {
		m := normalizedTriple.FindStringSubmatch(tr)
		if m == nil {
			continue
		}
		prefix := m[1] + " <" + simpleNamespaces[m[2]] + m[3] + "> "
		for other := range want {
			lit, ok := strings.CutPrefix(other, prefix)
			if !ok || !strings.HasPrefix(lit, `"`) {
				continue
			}
			value, err := strconv.Unquote(lit)
			if err != nil {
				continue
			}
			if enc := wfURLEncode(value); strings.Contains(m[4], enc) {
				patterns[m[3]] = strings.Replace(m[4], enc, "$1", 1)
			}
		}
	}
	return patterns
}

// TestWikidataEntities checks the produced triples against Wikidata's own
// Turtle for the same revisions: everything Wikidata has, and nothing
// else, except (1) stubs of other entities (their labels, property
// declarations, novalue restrictions and incoming redirects) and (2) the
// version info on the data node, which dumps leave out.
func TestWikidataEntities(t *testing.T) {
	dir := filepath.Join(fixtures.SharedDir(t), "fixtures", "wikidata")
	csv, err := os.Open(filepath.Join(dir, "properties.csv"))
	if err != nil {
		t.Fatal(err)
	}
	datatypes, err := wikibase.ReadPropertyDatatypes(csv)
	csv.Close()
	if err != nil {
		t.Fatal(err)
	}
	ttls, err := filepath.Glob(filepath.Join(dir, "ttl", "*.ttl"))
	if err != nil || len(ttls) == 0 {
		t.Fatalf("no Turtle fixtures in %s", dir)
	}
	for _, ttlPath := range ttls {
		id := strings.TrimSuffix(filepath.Base(ttlPath), ".ttl")
		t.Run(id, func(t *testing.T) {
			ttl, err := os.ReadFile(ttlPath)
			if err != nil {
				t.Fatal(err)
			}
			want := turtleToTriples(t, ttl)
			cfg := WikidataConfig()
			cfg.URIPatterns = map[string]string{}
			data, err := os.ReadFile(filepath.Join(dir, "entities", id+".json"))
			if err != nil {
				t.Fatal(err)
			}
			entities, err := wikibase.ParseEntities(data)
			if err != nil || len(entities) != 1 {
				t.Fatalf("parse %s: %v (%d entities)", id, err, len(entities))
			}
			e := entities[0]
			cfg.URIPatterns = uriPatternsFrom(want)
			props := NewPropertyInfo(cfg)
			props.AddDatatypes(datatypes)
			// The unit items of these entities' units, as Wikidata has them: normalized
			// values come from their conversion statements, as Wikidata's do.
			for _, u := range wikidataUnits(t) {
				props.Units().Add(u)
			}
			r, err := NewRenderer(cfg, Turtle, FullDump.mustFlags(t)|VersionInfo, props)
			if err != nil {
				t.Fatal(err)
			}
			var c Chunk
			if err := r.Render(e, &c); err != nil {
				t.Fatal(err)
			}
			var doc bytes.Buffer
			if _, err := r.WriteHeader(&doc, testTime); err != nil {
				t.Fatal(err)
			}
			doc.Write(c.Bytes())
			got := turtleToTriples(t, doc.Bytes())
			for tr := range got {
				if strings.HasPrefix(tr, "<"+nsOntology+"Dump> ") {
					delete(got, tr)
				}
			}
			entityIRI := "<" + cfg.Source.ConceptBaseURI + id + ">"
			subEntityPrefix := "<" + cfg.Source.ConceptBaseURI + id + "-"
			dataIRI := "<" + cfg.Source.DataURI + id + ">"
			for tr := range want {
				subject, rest, _ := strings.Cut(tr, " ")
				predicate, _, _ := strings.Cut(rest, " ")
				switch {
				case subject == dataIRI && (predicate == "<"+nsCC+"license>" || predicate == "<"+nsSchema+"softwareVersion>"):
					delete(want, tr) // version info
				case strings.HasPrefix(subject, "<"+cfg.Source.ConceptBaseURI) && !strings.HasPrefix(subject, "<"+cfg.Source.ConceptBaseURI+"statement/") &&
					subject != entityIRI && !strings.HasPrefix(subject, subEntityPrefix):
					delete(want, tr) // stub of another entity
				case strings.HasPrefix(subject, "<http://www.wikidata.org/prop/"), strings.HasPrefix(subject, "_:"):
					delete(want, tr) // property stub declarations
				}
			}
			for tr := range got {
				subject, rest, _ := strings.Cut(tr, " ")
				predicate, _, _ := strings.Cut(rest, " ")
				if subject == dataIRI && (predicate == "<"+nsCC+"license>" || predicate == "<"+nsSchema+"softwareVersion>") {
					delete(got, tr)
				}
			}
			missing, extra := diffSets(want, got)
			if len(missing)+len(extra) > 0 {
				t.Errorf("%d of %d triples missing, %d extra\nmissing:\n%s\nextra:\n%s", len(missing), len(want), len(extra),
					strings.Join(first(missing, 40), "\n"), strings.Join(first(extra, 40), "\n"))
			}
		})
	}
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func (f Flavor) mustFlags(t *testing.T) Flags {
	t.Helper()
	flags, err := f.Flags()
	if err != nil {
		t.Fatal(err)
	}
	return flags
}
