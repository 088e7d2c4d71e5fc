package rdfdiff

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entitybase/entitybase-workers/internal/events"
	"github.com/entitybase/entitybase-workers/internal/rdf"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
	"github.com/entitybase/entitybase-workers/internal/wikibase/synth"
)

func newBuilder(t testing.TB, g *synth.Generator) *Builder {
	t.Helper()
	cfg := rdf.WikidataConfig()
	props := rdf.NewPropertyInfo(cfg)
	props.AddDatatypes(g.Datatypes())
	b, err := NewBuilder(cfg, props)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGraphSeparatesSharedNodes(t *testing.T) {
	e, err := wikibase.ParseEntity([]byte(`{"type":"item","id":"Q7","labels":{"en":{"language":"en","value":"seven"}},
"claims":{"P1":[{"mainsnak":{"snaktype":"value","property":"P1","datatype":"quantity",
 "datavalue":{"value":{"amount":"+7","unit":"1"},"type":"quantity"}},"type":"statement","id":"Q7$A","rank":"normal",
 "references":[{"snaks":{"P2":[{"snaktype":"value","property":"P2","datatype":"string","datavalue":{"value":"src","type":"string"}}]},"snaks-order":["P2"]}]}]},
"sitelinks":{"enwiki":{"site":"enwiki","title":"Seven","badges":[]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	cfg := rdf.WikidataConfig()
	props := rdf.NewPropertyInfo(cfg)
	props.AddDatatypes(wikibase.DatatypeMap{"P1": "quantity", "P2": "string"})
	b, err := NewBuilder(cfg, props)
	if err != nil {
		t.Fatal(err)
	}
	g, err := b.Entity(e)
	if err != nil {
		t.Fatal(err)
	}
	subjects := map[string]bool{}
	for _, l := range g.Shared {
		subjects[strings.Fields(l)[0]] = true
	}
	var kinds []string
	for s := range subjects {
		switch {
		case strings.HasPrefix(s, "<http://www.wikidata.org/value/"):
			kinds = append(kinds, "value")
		case strings.HasPrefix(s, "<http://www.wikidata.org/reference/"):
			kinds = append(kinds, "reference")
		case s == "<https://en.wikipedia.org/>":
			kinds = append(kinds, "site")
		default:
			t.Errorf("shared triple with subject %s, which is not a shared node", s)
		}
	}
	slices.Sort(kinds)
	if want := []string{"reference", "site", "value"}; !slices.Equal(kinds, want) {
		t.Errorf("shared node kinds %v, want %v", kinds, want)
	}
	for _, l := range g.Owned {
		if s := strings.Fields(l)[0]; strings.HasPrefix(s, "<http://www.wikidata.org/value/") || strings.HasPrefix(s, "<http://www.wikidata.org/reference/") {
			t.Errorf("owned triple of a shared node: %s", l)
		}
	}
	if !slices.IsSorted(g.Owned) || !slices.IsSorted(g.Shared) || len(g.Owned) < 10 {
		t.Errorf("owned %d triples (sorted %v), shared sorted %v", len(g.Owned), slices.IsSorted(g.Owned), slices.IsSorted(g.Shared))
	}
}

func TestCompute(t *testing.T) {
	tests := []struct {
		name      string
		old, next Graph
		want      Diff
	}{
		{"creation", Graph{}, Graph{Owned: []string{"a", "b"}, Shared: []string{"v"}},
			Diff{Added: []string{"a", "b"}, Linked: []string{"v"}}},
		{"edit", Graph{Owned: []string{"a", "b", "c"}, Shared: []string{"u", "v"}}, Graph{Owned: []string{"b", "d"}, Shared: []string{"v", "w"}},
			Diff{Added: []string{"d"}, Deleted: []string{"a", "c"}, Linked: []string{"w"}, Unlinked: []string{"u"}}},
		{"no change", Graph{Owned: []string{"a"}}, Graph{Owned: []string{"a"}}, Diff{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Compute(tt.old, tt.next)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("Compute = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestJSONStringLen(t *testing.T) {
	cases := []string{"", "plain", `<http://x/> "q\"uote" .`, "tab\there\nnew\rline\b\f", "\x01\x1f", "a&b<c>d",
		"日本語 ünïcödé", "\u2028\u2029", "bad \xff utf8 \xc3", "emoji 🦄"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		b := make([]byte, rng.IntN(20))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		enc, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := jsonStringLen(s), len(enc)-2; got != want {
			t.Errorf("jsonStringLen(%q) = %d, want %d", s, got, want)
		}
	}
}

// entitySet is what a consumer holds of one entity: a set of triples.
type entitySet map[string]struct{}

// apply applies one assembled change as a consumer does for a lone entity:
// an import replaces the entity, a diff removes and adds, a delete removes
// everything (no other entity uses its shared nodes here).
func (s entitySet) apply(op events.RDFOperation, d Diff) {
	if op == events.RDFImport || op == events.RDFDelete {
		clear(s)
	}
	for _, l := range d.Deleted {
		delete(s, l)
	}
	for _, l := range d.Unlinked {
		delete(s, l)
	}
	for _, l := range d.Added {
		s[l] = struct{}{}
	}
	for _, l := range d.Linked {
		s[l] = struct{}{}
	}
}

func (s entitySet) equals(g Graph) error {
	want := map[string]struct{}{}
	for _, l := range append(slices.Clone(g.Owned), g.Shared...) {
		want[l] = struct{}{}
	}
	for l := range want {
		if _, ok := s[l]; !ok {
			return fmt.Errorf("missing %s", l)
		}
	}
	for l := range s {
		if _, ok := want[l]; !ok {
			return fmt.Errorf("extra %s", l)
		}
	}
	return nil
}

// editor makes random edits of one entity from the statements, terms and
// sitelinks of other synthetic items.
type editor struct {
	rng *rand.Rand
	gen *synth.Generator
	rev int64
}

func (ed *editor) donor() *wikibase.Entity {
	return ed.gen.Item()
}

// edit returns a new revision of e; e itself is not changed.
func (ed *editor) edit(e *wikibase.Entity) *wikibase.Entity {
	next := *e
	next.Claims = slices.Clone(e.Claims)
	ed.rev += 1 + int64(ed.rng.IntN(5))
	next.Page = &wikibase.PageMetadata{PageID: 1, Title: e.ID, LastRevID: ed.rev,
		Modified: time.Unix(1_700_000_000+ed.rev*60, 0).UTC().Format("2006-01-02T15:04:05Z")}
	for range 1 + ed.rng.IntN(3) {
		switch ed.rng.IntN(6) {
		case 0: // remove a statement group
			if len(next.Claims) > 0 {
				i := ed.rng.IntN(len(next.Claims))
				next.Claims = slices.Delete(next.Claims, i, i+1)
			}
		case 1, 2: // add statements taken from another item
			d := ed.donor()
			for _, g := range d.Claims {
				g.Statements = slices.Clone(g.Statements)
				for i := range g.Statements {
					_, guid, _ := strings.Cut(g.Statements[i].ID, "$")
					g.Statements[i].ID = e.ID + "$" + guid
				}
				if !slices.ContainsFunc(next.Claims, func(x wikibase.StatementGroup) bool { return x.Property == g.Property }) {
					next.Claims = append(next.Claims, g)
				}
			}
		case 3: // new terms
			d := ed.donor()
			next.Labels, next.Descriptions, next.Aliases = d.Labels, d.Descriptions, d.Aliases
		case 4: // new sitelinks
			next.Sitelinks = ed.donor().Sitelinks
		case 5: // drop a reference or change a rank of one statement
			for gi := range next.Claims {
				g := &next.Claims[gi]
				if len(g.Statements) == 0 {
					continue
				}
				g.Statements = slices.Clone(g.Statements)
				st := &g.Statements[ed.rng.IntN(len(g.Statements))]
				if len(st.References) > 0 {
					st.References = st.References[1:]
				} else {
					st.Rank = []string{wikibase.RankPreferred, wikibase.RankNormal, wikibase.RankDeprecated}[ed.rng.IntN(3)]
				}
				break
			}
		}
	}
	return &next
}

// TestPublishedDiffsReproduceLatestRevision is the property test of the
// entity diff: for random edit sequences (with deletions, undeletions and
// redirects) of synthetic entities, applying the published changes in order
// to an empty set gives exactly the RDF of the latest revision, shared nodes
// included, also when changes are split into many small messages.
func TestPublishedDiffsReproduceLatestRevision(t *testing.T) {
	sequences, steps := 40, 25
	if testing.Short() {
		sequences, steps = 8, 15
	}
	for seq := range sequences {
		t.Run(fmt.Sprint("seed", seq), func(t *testing.T) {
			gen := synth.New(int64(seq))
			b := newBuilder(t, gen)
			rng := rand.New(rand.NewPCG(uint64(seq), 99))
			ed := &editor{rng: rng, gen: gen, rev: 1}
			entity := gen.Item()
			maxBytes := 1 << 20
			if seq%3 == 0 {
				maxBytes = 2048 // force splitting into many parts
			}
			consumer := entitySet{}
			var published Graph // the graph of the last published revision
			deleted := false
			current := Graph{}
			for step := range steps {
				var op events.RDFOperation
				var next Graph
				var err error
				switch r := rng.IntN(20); {
				case step > 0 && !deleted && r == 0:
					op, deleted = events.RDFDelete, true
				case step > 0 && !deleted && r == 1:
					ed.rev++
					next, err = b.Redirect(entity.ID, "Q999999", &wikibase.PageMetadata{LastRevID: ed.rev, Modified: "2024-01-01T00:00:00Z"})
					op = events.RDFDiff
				default:
					entity = ed.edit(entity)
					next, err = b.Entity(entity)
					op = events.RDFDiff
					if step == 0 || deleted {
						op, deleted, published = events.RDFImport, false, Graph{}
					}
				}
				if err != nil {
					t.Fatal(err)
				}
				var d Diff
				if op != events.RDFDelete {
					d = Compute(published, next)
					published, current = next, next
				} else {
					published, current = Graph{}, Graph{}
				}
				msgs, err := Messages(Envelope{Meta: events.RDFChangeMeta{DT: time.Unix(0, 0), Stream: "s", Domain: "d"},
					EntityID: entity.ID, RevID: ed.rev + 1, Operation: op}, d, maxBytes)
				if err != nil {
					t.Fatal(err)
				}
				var parts []events.RDFChange
				for _, m := range msgs {
					if len(m) > maxBytes {
						t.Fatalf("message of %d bytes over %d", len(m), maxBytes)
					}
					c, err := events.ParseRDFChange(m)
					if err != nil {
						t.Fatal(err)
					}
					parts = append(parts, c)
				}
				rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
				got, err := Assemble(parts)
				if err != nil {
					t.Fatal(err)
				}
				consumer.apply(op, got)
				if err := consumer.equals(current); err != nil {
					t.Fatalf("step %d (%s, %d parts): consumer differs from the latest revision: %v", step, op, len(parts), err)
				}
			}
		})
	}
}

func TestMessagesRejectAnOversizedTriple(t *testing.T) {
	d := Diff{Added: []string{"<a> <b> \"" + strings.Repeat("x", 5000) + "\" ."}}
	_, err := Messages(Envelope{Meta: events.RDFChangeMeta{DT: time.Unix(0, 0), Stream: "s", Domain: "d"},
		EntityID: "Q1", RevID: 1, Operation: events.RDFImport}, d, 2048)
	if err == nil || !strings.Contains(err.Error(), "KAFKA_MAX_MESSAGE_BYTES") {
		t.Fatalf("err = %v, want a message naming KAFKA_MAX_MESSAGE_BYTES", err)
	}
}
