package synth

import (
	"bytes"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

func encodeAll(t testing.TB, g *Generator, items, lexemes int) [][]byte {
	t.Helper()
	enc := &wikibase.Encoder{Datatypes: g.Datatypes()}
	var out [][]byte
	add := func(e *wikibase.Entity) {
		line, err := enc.Marshal(e, e.Page)
		require.NoError(t, err, e.ID)
		out = append(out, line)
	}
	for _, p := range g.Properties() {
		add(p)
	}
	for range items {
		add(g.Item())
	}
	for range lexemes {
		add(g.Lexeme())
	}
	return out
}

func TestReproducibleForSeed(t *testing.T) {
	a := encodeAll(t, New(7), 50, 5)
	b := encodeAll(t, New(7), 50, 5)
	c := encodeAll(t, New(8), 50, 5)
	assert.Equal(t, a, b, "same seed, same entities")
	assert.NotEqual(t, a[len(a)-1], c[len(c)-1], "another seed, other entities")
}

// TestGeneratedEntitiesRoundTrip checks that every generated entity is
// valid: it serializes, parses back and serializes to the same line.
func TestGeneratedEntitiesRoundTrip(t *testing.T) {
	g := New(1)
	enc := &wikibase.Encoder{Datatypes: g.Datatypes()}
	for i, line := range encodeAll(t, g, 300, 30) {
		e, err := wikibase.ParseEntity(line)
		require.NoError(t, err, "line %d", i)
		again, err := enc.Marshal(e, e.Page)
		require.NoError(t, err)
		require.True(t, bytes.Equal(line, again), "line %d differs after a round trip", i)
	}
}

func TestCoversEveryDatatypeAndValueType(t *testing.T) {
	g := New(3)
	datatypes := map[string]int{}
	for _, p := range g.Properties() {
		datatypes[p.Datatype]++
	}
	for _, w := range datatypeWeights {
		assert.Positive(t, datatypes[w.datatype], "no property of datatype %s", w.datatype)
	}
	assert.Len(t, g.Properties(), NumProperties)

	used := map[string]int{}
	snakTypes := map[wikibase.SnakType]int{}
	bounded := 0
	for range 3000 {
		e := g.Item()
		_ = e.Statements(func(st *wikibase.Statement) error {
			snaks := append([]wikibase.Snak{st.MainSnak}, st.Qualifiers...)
			for _, r := range st.References {
				snaks = append(snaks, r.Snaks...)
			}
			for _, s := range snaks {
				snakTypes[s.Type]++
				if s.Type == wikibase.SnakValue {
					used[g.Datatypes()[s.Property]]++
					if q, ok := s.Value.(*wikibase.QuantityValue); ok && q.Bounded() {
						bounded++
					}
				}
			}
			return nil
		})
	}
	for _, w := range datatypeWeights {
		assert.Positive(t, used[w.datatype], "no value of datatype %s in 3000 items", w.datatype)
	}
	assert.Positive(t, snakTypes[wikibase.SnakNoValue])
	assert.Positive(t, snakTypes[wikibase.SnakSomeValue])
	assert.Positive(t, bounded)
}

// TestItemSizeMix checks Wikidata's shape: most items small, a long tail.
func TestItemSizeMix(t *testing.T) {
	g := New(11)
	enc := &wikibase.Encoder{Datatypes: g.Datatypes()}
	const n = 4000
	var statements, sizes []int
	qualified, referenced, total := 0, 0, 0
	for range n {
		e := g.Item()
		s := wikibase.Summarize(e, g.Datatypes())
		statements = append(statements, s.Statements)
		line, err := enc.Marshal(e, e.Page)
		require.NoError(t, err)
		sizes = append(sizes, len(line))
		_ = e.Statements(func(st *wikibase.Statement) error {
			total++
			if len(st.Qualifiers) > 0 {
				qualified++
			}
			if len(st.References) > 0 {
				referenced++
			}
			return nil
		})
	}
	slices.Sort(statements)
	slices.Sort(sizes)
	median, p99, maxStatements := statements[n/2], statements[n*99/100], statements[n-1]
	t.Logf("statements: median %d, p99 %d, max %d; bytes: median %d, p99 %d, max %d",
		median, p99, maxStatements, sizes[n/2], sizes[n*99/100], sizes[n-1])
	assert.GreaterOrEqual(t, median, 3)
	assert.LessOrEqual(t, median, 10)
	assert.Greater(t, p99, 5*median, "the tail is long")
	assert.Greater(t, maxStatements, 100)
	assert.Greater(t, sizes[n-1], 20*sizes[n/2])
	qualifiedShare := float64(qualified) / float64(total)
	referencedShare := float64(referenced) / float64(total)
	assert.InDelta(t, 0.2, qualifiedShare, 0.05, "share of statements with qualifiers")
	assert.InDelta(t, 0.6, referencedShare, 0.05, "share of statements with references")
}

// BenchmarkParseSerializeSynthetic measures parse + compact serialization on
// generated items, per core, in MB/s of JSON.
func BenchmarkParseSerializeSynthetic(b *testing.B) {
	g := New(42)
	lines := encodeAll(b, g, 2000, 100)
	total := 0
	for _, l := range lines {
		total += len(l)
	}
	enc := &wikibase.Encoder{Datatypes: g.Datatypes()}
	var out []byte
	b.ResetTimer()
	for b.Loop() {
		for _, l := range lines {
			e, err := wikibase.ParseEntity(l)
			if err != nil {
				b.Fatal(err)
			}
			if out, err = enc.AppendEntity(out[:0], e, e.Page); err != nil {
				b.Fatal(err)
			}
		}
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(total)*float64(b.N)/1e6/sec, "MB/s")
	b.ReportMetric(float64(len(lines))*float64(b.N)/sec, "entities/s")
}

// BenchmarkGenerate measures the generator itself.
func BenchmarkGenerate(b *testing.B) {
	g := New(42)
	n := 0
	for b.Loop() {
		g.Item()
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "items/s")
}

// With offsets, every ID the entities carry or name (apart from the units, calendars and
// globes, which are URIs) lies in offset+1..offset+HighestIDs of its type.
func TestOffsetsShiftEveryID(t *testing.T) {
	off := Offsets{"Q": 1_000_000_000, "P": 5000, "L": 70_000_000, "E": 900}
	lines := encodeAll(t, NewWithOffsets(7, off), 200, 20)
	highest := HighestIDs(200, 20)
	// URIs, and statement GUIDs (hex, upper case), are not IDs.
	notIDs := regexp.MustCompile(`http:\\?/\\?/www\.wikidata\.org\\?/entity\\?/Q[0-9]+|\$[0-9A-F-]+`)
	idRE := regexp.MustCompile(`\b([QPLE])([0-9]+)\b`)
	seen := map[string]int{}
	for _, line := range lines {
		for _, m := range idRE.FindAllSubmatch(notIDs.ReplaceAll(line, nil), -1) {
			typ := string(m[1])
			n, err := strconv.ParseInt(string(m[2]), 10, 64)
			require.NoError(t, err)
			require.Greater(t, n, off[typ], "%s%d", typ, n)
			require.LessOrEqual(t, n, off[typ]+highest[typ], "%s%d", typ, n)
			seen[typ]++
		}
	}
	for _, typ := range []string{"Q", "P", "L", "E"} {
		require.Positive(t, seen[typ], typ)
	}
}
