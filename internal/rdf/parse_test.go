package rdf

import (
	"bytes"
	"math/rand"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/entitybase/entitybase-workers/internal/wikibase"
	"github.com/entitybase/entitybase-workers/internal/wikibase/synth"
)

// oddStrings are the texts that break naive writers.
var oddStrings = []string{
	"quote \" and backslash \\", "tab\tnewline\nreturn\r", "nul \x00 bell \x07 esc \x1b del \x7f",
	"<angle> {brace} |pipe| ^caret^ `tick`", "emoji 🍈 and 𝄞", "invalid \xff\xfe utf8", "",
	" leading and trailing ", "\u2028 line separator", "a$b%c#d?e&f=g",
}

// mutate replaces strings of an entity with odd ones, driven by rng.
func mutate(e *wikibase.Entity, rng *rand.Rand) {
	odd := func() string { return oddStrings[rng.Intn(len(oddStrings))] + oddStrings[rng.Intn(len(oddStrings))] }
	for i := range e.Labels {
		if rng.Intn(2) == 0 {
			e.Labels[i].Value = odd()
		}
		if rng.Intn(8) == 0 {
			e.Labels[i].Language = odd()
		}
	}
	for i := range e.Sitelinks {
		e.Sitelinks[i].Title = odd()
	}
	_ = e.AllStatements(func(st *wikibase.Statement) error {
		if rng.Intn(4) == 0 {
			st.ID = e.ID + "$" + odd()
		}
		switch v := st.MainSnak.Value.(type) {
		case *wikibase.StringValue:
			v.Value = odd()
		case *wikibase.MonolingualTextValue:
			v.Text, v.Language = odd(), odd()
		case *wikibase.TimeValue:
			if rng.Intn(3) == 0 {
				v.Time = odd()
			}
		case *wikibase.QuantityValue:
			if rng.Intn(3) == 0 {
				v.Unit = odd()
			}
		case *wikibase.GlobeCoordinateValue:
			v.Globe = odd()
		}
		return nil
	})
}

// renderAll renders entities into one document of the given format.
func renderAll(t testing.TB, format Format, flavor Flavor, props PropertyLookup, entities []*wikibase.Entity) []byte {
	w, err := NewEntityWriter(WikidataConfig(), format, flavor, props, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := w.WriteHeader(&out, testTime); err != nil {
		t.Fatal(err)
	}
	for _, e := range entities {
		if err := w.WriteEntity(&out, e); err != nil {
			t.Fatal(err)
		}
	}
	return out.Bytes()
}

func syntheticEntities(seed int64, n int, odd bool) ([]*wikibase.Entity, *PropertyInfo) {
	g := synth.New(seed)
	props := NewPropertyInfo(WikidataConfig())
	props.AddDatatypes(g.Datatypes())
	rng := rand.New(rand.NewSource(seed))
	entities := append([]*wikibase.Entity(nil), g.Properties()...)
	for i := 0; i < n; i++ {
		e := g.Item()
		if i%10 == 9 {
			e = g.Lexeme()
		}
		if odd {
			mutate(e, rng)
		}
		entities = append(entities, e)
	}
	return entities, props
}

// TestOutputParsesWithSerdiAndRapper feeds many synthetic entities, some
// with odd strings, through both writers and both flavours and has serdi
// and rapper parse the result; the Turtle must give exactly the
// N-Triples' triples.
func TestOutputParsesWithSerdiAndRapper(t *testing.T) {
	n := 400
	if testing.Short() {
		n = 15
	}
	serdi, serdiErr := exec.LookPath("serdi")
	rapper, rapperErr := exec.LookPath("rapper")
	if serdiErr != nil && rapperErr != nil {
		t.Skip("neither serdi nor rapper is installed (apt-get install serdi raptor2-utils)")
	}
	odds, flavors := []bool{false, true}, []Flavor{FullDump, TruthyDump}
	if testing.Short() {
		odds, flavors = []bool{true}, []Flavor{FullDump}
	}
	for _, odd := range odds {
		entities, props := syntheticEntities(7, n, odd)
		for _, flavor := range flavors {
			ttl := renderAll(t, Turtle, flavor, props, entities)
			nt := renderAll(t, NTriples, flavor, props, entities)
			own, err := parseNTriples(string(nt))
			if err != nil {
				t.Fatalf("odd=%v %s: own N-Triples parser: %v", odd, flavor, err)
			}
			if serdiErr == nil {
				fromTTL := runParser(t, serdi, ttl, "-i", "turtle", "-o", "ntriples", "-")
				fromNT := runParser(t, serdi, nt, "-i", "ntriples", "-o", "ntriples", "-")
				a, err := parseNTriples(fromTTL)
				if err != nil {
					t.Fatal(err)
				}
				b, err := parseNTriples(fromNT)
				if err != nil {
					t.Fatal(err)
				}
				if missing, extra := diffSets(b, a); len(missing)+len(extra) > 0 || len(b) != len(own) {
					t.Errorf("odd=%v %s: Turtle and N-Triples differ: %d missing, %d extra, %d vs %d triples; e.g. %v %v", odd, flavor, len(missing), len(extra), len(b), len(own), first(missing, 3), first(extra, 3))
				}
			}
			if rapperErr == nil {
				runParser(t, rapper, ttl, "-q", "-i", "turtle", "-o", "ntriples", "-", "http://base.test/")
				runParser(t, rapper, nt, "-q", "-i", "ntriples", "-o", "ntriples", "-", "http://base.test/")
			}
		}
	}
}

func runParser(t *testing.T, bin string, input []byte, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = bytes.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("%s %s: %v: %s", bin, strings.Join(args, " "), err, first(strings.Split(stderr.String(), "\n"), 5))
	}
	return string(out)
}

// FuzzWriter renders random synthetic entities with fuzzed strings and
// checks every N-Triples line with the strict parser, and that Turtle is
// well formed enough to split into the same number of statements.
func FuzzWriter(f *testing.F) {
	f.Add(int64(1), "plain")
	f.Add(int64(2), "quote\" back\\ nl\n")
	f.Add(int64(3), "\xff\x00<>{}")
	f.Fuzz(func(t *testing.T, seed int64, s string) {
		entities, props := syntheticEntities(seed, 3, true)
		for _, e := range entities {
			for i := range e.Labels {
				e.Labels[i].Value += s
				e.Labels[i].Language = s
			}
			for i := range e.Sitelinks {
				e.Sitelinks[i].Title = s
			}
			_ = e.AllStatements(func(st *wikibase.Statement) error {
				switch v := st.MainSnak.Value.(type) {
				case *wikibase.StringValue:
					v.Value = s
				case *wikibase.EntityIDValue:
					v.ID = s
				case *wikibase.TimeValue:
					v.Time = s
				case *wikibase.QuantityValue:
					v.Amount, v.Unit = s, s
				case *wikibase.GlobeCoordinateValue:
					v.Globe = s
				}
				return nil
			})
		}
		nt := renderAll(t, NTriples, FullDump, props, entities)
		if !utf8.Valid(nt) {
			t.Fatal("N-Triples output is not UTF-8")
		}
		if _, err := parseNTriples(string(nt)); err != nil {
			t.Fatal(err)
		}
		ttl := renderAll(t, Turtle, FullDump, props, entities)
		if !utf8.Valid(ttl) {
			t.Fatal("Turtle output is not UTF-8")
		}
	})
}
