package rdf

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// TestSiteGroupOncePerBag: items linking to the same sites, written with one bag, give each
// site's wikiba:wikiGroup triple once, as Wikibase keys the bag by the site URL.
func TestSiteGroupOncePerBag(t *testing.T) {
	sites := []string{"enwiki", "dewiki", "frwiki", "enwikiquote", "dewikivoyage", "commonswiki"}
	var entities []*wikibase.Entity
	for i := 1; i <= 5; i++ {
		e := &wikibase.Entity{Type: wikibase.TypeItem, ID: fmt.Sprintf("Q%d", i)}
		for _, s := range sites {
			e.Sitelinks = append(e.Sitelinks, wikibase.Sitelink{Site: s, Title: fmt.Sprintf("Page %d", i)})
		}
		entities = append(entities, e)
	}
	for _, bag := range []struct {
		name string
		new  func() DedupeBag
	}{
		{"hash", func() DedupeBag { return NewHashDedupeBag() }},
		{"exact", func() DedupeBag { return NewExactDedupeBag(0) }},
	} {
		t.Run(bag.name, func(t *testing.T) {
			w, err := NewEntityWriter(WikidataConfig(), NTriples, FullDump, nil, bag.new())
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			for _, e := range entities {
				if err := w.WriteEntity(&out, e); err != nil {
					t.Fatal(err)
				}
			}
			groups := map[string]int{}
			for _, line := range strings.Split(out.String(), "\n") {
				if strings.Contains(line, "<http://wikiba.se/ontology#wikiGroup>") {
					groups[line]++
				}
			}
			if len(groups) != len(sites) {
				t.Errorf("%d distinct wikiGroup triples, want one per site (%d): %v", len(groups), len(sites), groups)
			}
			for line, n := range groups {
				if n != 1 {
					t.Errorf("written %d times: %s", n, line)
				}
			}
		})
	}
}

// TestExactDedupeBag: the exact bag remembers every node, also those whose hashes share the
// five characters Wikibase's HashDedupeBag keys on, and starts over when full.
func TestExactDedupeBag(t *testing.T) {
	// Alternating hashes with one prefix: the hash bag forgets each as the other comes.
	a, b := "abcde0123456789abcdef0123456789a", "abcde9876543210fedcba9876543210b"
	hashBag := NewHashDedupeBag()
	exact := NewExactDedupeBag(0)
	for _, h := range []string{a, b} {
		if hashBag.AlreadySeen(h, "V") || exact.AlreadySeen(h, "V") {
			t.Fatalf("%s seen before it was added", h)
		}
	}
	if hashBag.AlreadySeen(a, "V") {
		t.Fatal("the hash bag was expected to forget a (same prefix as b); the test premise is wrong")
	}
	if !exact.AlreadySeen(a, "V") || !exact.AlreadySeen(b, "V") {
		t.Error("the exact bag forgot a node")
	}
	if exact.AlreadySeen(a, "R") {
		t.Error("namespaces are apart: a value hash is not a reference hash")
	}
	// Non-hex keys (site URLs) and hex hashes of other lengths are kept exactly too.
	for _, k := range []struct{ hash, ns string }{{"wikipedia", "https://en.wikipedia.org/"}, {"abc", "V"}, {"ABCDEF", "V"}} {
		if exact.AlreadySeen(k.hash, k.ns) || !exact.AlreadySeen(k.hash, k.ns) {
			t.Errorf("%s/%s: want unseen, then seen", k.ns, k.hash)
		}
	}

	small := NewExactDedupeBag(3)
	for i := range 3 {
		small.AlreadySeen(fmt.Sprintf("%040x", i), "V")
	}
	if !small.AlreadySeen(fmt.Sprintf("%040x", 0), "V") {
		t.Error("a full bag forgot a node before a new one came")
	}
	small.AlreadySeen(fmt.Sprintf("%040x", 3), "V") // the fourth: the bag starts over
	if small.AlreadySeen(fmt.Sprintf("%040x", 0), "V") {
		t.Error("the bag did not start over at its limit")
	}
}

// BenchmarkExactDedupeBag reports the bag's memory per node remembered (value hashes: 32 hex
// characters, reference hashes: 40).
func BenchmarkExactDedupeBag(b *testing.B) {
	const nodes = 1 << 19
	hashes := make([]string, nodes)
	for i := range hashes {
		if i%2 == 0 {
			hashes[i] = fmt.Sprintf("%032x", uint64(i)*0x9e3779b97f4a7c15)
		} else {
			hashes[i] = fmt.Sprintf("%040x", uint64(i)*0x9e3779b97f4a7c15)
		}
	}
	var before, after runtime.MemStats
	b.ResetTimer()
	for range b.N {
		runtime.GC()
		runtime.ReadMemStats(&before)
		bag := NewExactDedupeBag(0)
		for i, h := range hashes {
			ns := "V"
			if i%2 == 1 {
				ns = "R"
			}
			bag.AlreadySeen(h, ns)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/nodes, "bytes/node")
		runtime.KeepAlive(bag)
	}
}
