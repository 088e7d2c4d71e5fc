package integration

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/entitybase/entitybase-workers/internal/fixtures"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/workflows"
)

// TestDumpTurtleAndNTriplesHaveTheSameTriples runs the TTL and the N-Triples dump of the same
// entities (a redirect among them) through the workflow and checks, with serdi (the tool
// Wikimedia converts its Turtle dumps with), that the Turtle parses to exactly the triples of
// the N-Triples dump, and that rapper accepts both and the truthy dump.
func TestDumpTurtleAndNTriplesHaveTheSameTriples(t *testing.T) {
	for _, tool := range []string{"serdi", "rapper"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (apt-get install serdi raptor2-utils; .ci/run does)", tool)
		}
	}
	cfg, dir := dumpConfig(t)
	db := dumpDB(t, cfg)
	seedSynthetic(t, db, 1500) // the first 1,200 are the properties
	ctx := context.Background()
	var from, to string
	require.NoError(t, db.QueryRowContext(ctx,
		`SELECT MIN(entity_id), MAX(entity_id) FROM (SELECT m.entity_id FROM entity_id_mapping m
		JOIN entity_head h ON h.internal_id = m.internal_id WHERE m.entity_type = 'Q' ORDER BY m.internal_id LIMIT 2) two`).Scan(&from, &to))
	_, err := (&store.Entities{DB: db}).SaveRedirect(ctx, store.RedirectRequest{From: from, To: to, At: time.Date(2025, 12, 2, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	startWorker(t, cfg)

	files := map[string]string{}
	for _, d := range []struct{ format, flavor string }{{"ttl", "full"}, {"nt", "full"}, {"nt", "truthy"}} {
		in := workflows.DumpInput{Format: d.format, Flavor: d.flavor, Date: "20260101", ChunkSize: 64, Parallelism: 3}
		res := waitDump(t, startDump(t, cfg, "dump-rdf-"+d.format+"-"+d.flavor+"-"+cfg.TaskQueue, in), 5*time.Minute)
		require.Positive(t, res.EntityCount)
		path := filepath.Join(dir, res.Key)
		raw := filepath.Join(t.TempDir(), filepath.Base(strings.TrimSuffix(path, ".gz")))
		require.NoError(t, os.WriteFile(raw, []byte(gunzipFile(t, path)), 0o644))
		files[d.format+"-"+d.flavor] = raw
	}

	fromTurtle := run(t, "serdi", "-i", "turtle", "-o", "ntriples", files["ttl-full"])
	// Each dump takes its own snapshot, so only the header's dateModified may differ.
	ttlTriples, dumpTime1 := withoutDumpDate(t, tripleSet(t, fromTurtle))
	ntTriples, dumpTime2 := withoutDumpDate(t, tripleSet(t, mustReadFile(t, files["nt-full"])))
	require.NotEmpty(t, dumpTime1)
	require.NotEmpty(t, dumpTime2)
	require.Equal(t, ntTriples, ttlTriples, "serdi's reading of the Turtle dump equals the N-Triples dump as a set of triples")
	require.Contains(t, string(fromTurtle), "<http://www.w3.org/2002/07/owl#sameAs> <http://www.wikidata.org/entity/"+to+">",
		"the redirect is in the RDF dump")

	for name, f := range files {
		syntax := "ntriples"
		if strings.HasPrefix(name, "ttl") {
			syntax = "turtle"
		}
		out := run(t, "rapper", "-q", "-i", syntax, "-c", f)
		require.Empty(t, strings.TrimSpace(string(out)), "rapper reports nothing for %s", name)
	}
}

// withoutDumpDate removes the dump header's schema:dateModified triple and returns it.
func withoutDumpDate(t *testing.T, triples []string) ([]string, string) {
	t.Helper()
	const prefix = "<http://wikiba.se/ontology#Dump> <http://schema.org/dateModified> "
	var out []string
	var date string
	for _, tr := range triples {
		if strings.HasPrefix(tr, prefix) {
			date = tr
			continue
		}
		out = append(out, tr)
	}
	return out, date
}

// run runs a command and fails the test with its stderr when it fails.
func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "%s %v: %s", name, args, stderr.String())
	return stdout.Bytes()
}

// serdiRelabel undoes serdi's one change to blank-node labels: it capitalises input labels
// that start with "b" (so they cannot clash with the b1, b2, ... it generates itself).
// Wikibase's labels are lowercase md5 hex, so lowering that letter is exact.
var serdiRelabel = regexp.MustCompile(`_:B`)

// tripleSet returns the distinct, trimmed, non-empty lines of an N-Triples document, sorted.
func tripleSet(t *testing.T, nt []byte) []string {
	t.Helper()
	seen := map[string]bool{}
	for _, line := range strings.Split(string(nt), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			seen[serdiRelabel.ReplaceAllString(line, "_:b")] = true
		}
	}
	out := make([]string, 0, len(seen))
	for l := range seen {
		out = append(out, l)
	}
	sort.Strings(out)
	require.NotEmpty(t, out)
	return out
}

// TestDumpImportedWikidataEntitiesAsWikidata imports the real Wikidata entities (their
// Special:EntityData files) and the unit items of their units, dumps them as Turtle in one
// part and as N-Triples in many, and checks each entity's triples in the dump against
// Wikidata's own Turtle of it: all of them, the data node's revision and date (the imported
// lastrevid and modified), normalized quantities and normalized external ids included (with
// the URI patterns Wikidata's Turtle reveals, in WIKIBASE_CONFIG), and nothing else. Left
// out on both sides: the version info dumps leave out and stubs of other entities. Each
// part writes a site's wikiGroup at most once; the header's date is the dump's cut; an
// imported redirect is owl:sameAs; both dumps are the same set of triples.
func TestDumpImportedWikidataEntitiesAsWikidata(t *testing.T) {
	for _, tool := range []string{"serdi", "rapper"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (apt-get install serdi raptor2-utils; .ci/run does)", tool)
		}
	}
	fixtureDir := filepath.Join(fixtures.SharedDir(t), "fixtures", "wikidata")
	cfg, dir := dumpConfig(t)
	cfg.WikibaseConfig = uriPatternsConfig(t, fixtureDir)
	dumpDB(t, cfg)
	startWorker(t, cfg)
	// The unit items, and a redirect to one of them (a merged duplicate of the metre).
	units := filepath.Join(t.TempDir(), "units.json")
	require.NoError(t, os.WriteFile(units, []byte(wikidataUnitItems+`{"entity":"Q900000001","redirect":"Q11573"}`+"\n"), 0o644))
	for _, src := range []string{filepath.Join(fixtureDir, "entities"), units} {
		res := importAndWait(t, cfg, "import-"+filepath.Base(src)+"-"+cfg.TaskQueue, workflows.ImportInput{
			Source: src, PropertiesCSV: filepath.Join(fixtureDir, "properties.csv")})
		require.Empty(t, res.Rejections)
		require.Positive(t, res.Counts.Created)
		if src == units {
			require.Equal(t, int64(1), res.Counts.Redirects)
		}
	}

	// A whole second, past, so that the header (which has seconds) shows the cut exactly.
	asOf := time.Now().UTC().Add(time.Second).Truncate(time.Second)
	time.Sleep(time.Until(asOf.Add(10 * time.Millisecond)))
	dumpText := func(format string, chunkSize int) (string, []string, workflows.DumpResult) {
		in := workflows.DumpInput{Format: format, Flavor: "full", Date: asOf.Format("20060102"), AsOf: asOf, ChunkSize: chunkSize, Parallelism: 2}
		res := waitDump(t, startDump(t, cfg, "dump-wikidata-"+format+"-"+cfg.TaskQueue, in), 5*time.Minute)
		path := filepath.Join(dir, res.Key)
		raw := filepath.Join(t.TempDir(), filepath.Base(strings.TrimSuffix(path, ".gz")))
		require.NoError(t, os.WriteFile(raw, []byte(gunzipFile(t, path)), 0o644))
		syntax := map[string]string{"ttl": "turtle", "nt": "ntriples"}[format]
		require.Empty(t, strings.TrimSpace(string(run(t, "rapper", "-q", "-i", syntax, "-c", raw))), "rapper reports nothing")
		return raw, gzipMembers(t, path), res
	}
	ttl, ttlParts, ttlRes := dumpText("ttl", 1_000_000)
	nt, ntParts, ntRes := dumpText("nt", 40)
	require.Equal(t, 1, ttlRes.Chunks)
	require.Greater(t, ntRes.Chunks, 2)

	// The header's date is the cut.
	header := `<http://wikiba.se/ontology#Dump> <http://schema.org/dateModified> "` + asOf.Format("2006-01-02T15:04:05Z") + `"^^<http://www.w3.org/2001/XMLSchema#dateTime> .`
	dumped := tripleSet(t, run(t, "serdi", "-i", "turtle", "-o", "ntriples", ttl))
	require.Contains(t, dumped, header)
	require.Equal(t, asOf, ttlRes.SnapshotTime.UTC())
	require.Contains(t, dumped, "<http://www.wikidata.org/entity/Q900000001> <http://www.w3.org/2002/07/owl#sameAs> <http://www.wikidata.org/entity/Q11573> .")
	// One part or many: the same triples.
	require.Equal(t, dumped, tripleSet(t, mustReadFile(t, nt)))

	// A site's group at most once per part: the Turtle dump's one part writes each once.
	const wikiGroup = "wikibase:wikiGroup"
	for name, parts := range map[string][]string{"ttl": ttlParts, "nt": ntParts} {
		for i, part := range parts {
			seen := map[string]int{}
			for _, line := range strings.Split(part, "\n") {
				if strings.Contains(line, wikiGroup) || strings.Contains(line, "<http://wikiba.se/ontology#wikiGroup>") {
					seen[line]++
				}
			}
			for line, n := range seen {
				require.Equal(t, 1, n, "%s part %d writes %q %d times", name, i, line, n)
			}
		}
	}

	const concept, data = "http://www.wikidata.org/entity/", "https://www.wikidata.org/wiki/Special:EntityData/"
	ttls, err := filepath.Glob(filepath.Join(fixtureDir, "ttl", "*.ttl"))
	require.NoError(t, err)
	require.NotEmpty(t, ttls)
	normalizedValues := 0
	for _, path := range ttls {
		id := strings.TrimSuffix(filepath.Base(path), ".ttl")
		want := wikidataEntityTriples(tripleSet(t, run(t, "serdi", "-i", "turtle", "-o", "ntriples", path)), concept, data, id)
		got := dumpedEntityTriples(dumped, concept, data, id)
		missing, extra := setDiff(want, got), setDiff(got, want)
		assert.Empty(t, missing, "%s: %d of Wikidata's %d triples missing from the dump", id, len(missing), len(want))
		assert.Empty(t, extra, "%s: %d triples in the dump that Wikidata does not have", id, len(extra))
		t.Logf("%s: %d triples as Wikidata's", id, len(got))
		for tr := range got {
			if strings.Contains(tr, "/value-normalized/") {
				normalizedValues++
			}
		}
	}
	require.Positive(t, normalizedValues, "quantities normalized from the stored unit items")
}

// gzipMembers returns the decompressed members of a gzip file: a dump's header, parts and
// footer.
func gzipMembers(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	br := bufio.NewReader(f)
	zr, err := gzip.NewReader(br)
	require.NoError(t, err)
	var out []string
	for {
		zr.Multistream(false)
		b, err := io.ReadAll(zr)
		require.NoError(t, err)
		out = append(out, string(b))
		if err := zr.Reset(br); err == io.EOF {
			return out
		} else {
			require.NoError(t, err)
		}
	}
}

// wikidataEntityTriples are the triples of Wikidata's Turtle of one entity that a dump of it
// is compared with (see TestDumpImportedWikidataEntitiesAsWikidata).
func wikidataEntityTriples(all []string, concept, data, id string) map[string]bool {
	out := map[string]bool{}
	for _, tr := range all {
		subject, rest, _ := strings.Cut(tr, " ")
		predicate, _, _ := strings.Cut(rest, " ")
		switch {
		case subject == "<"+data+id+">" && slices.Contains(versionPredicates, predicate):
		case strings.HasPrefix(subject, "<"+concept) && !strings.HasPrefix(subject, "<"+concept+"statement/") &&
			subject != "<"+concept+id+">" && !strings.HasPrefix(subject, "<"+concept+id+"-"):
			// a stub of another entity
		case strings.HasPrefix(subject, "<http://www.wikidata.org/prop/"), strings.HasPrefix(subject, "_:"):
			// property declarations of the stubs
		default:
			out[tr] = true
		}
	}
	return out
}

// versionPredicates are the data node's version info, which dumps leave out.
var versionPredicates = []string{"<http://creativecommons.org/ns#license>", "<http://schema.org/softwareVersion>"}

// normalizedIDTriple matches a normalized external id of Wikidata's Turtle.
var normalizedIDTriple = regexp.MustCompile(`^(\S+) <http://www\.wikidata\.org/prop/(direct|statement/value|qualifier/value|reference/value)-normalized/(P\d+)> <([^>]*)> \.$`)

// uriPatternsConfig writes a WIKIBASE_CONFIG file with the URI patterns of the external ids
// that Wikidata's Turtle of the fixtures normalizes: for each normalized value, the plain
// value beside it on the same subject gives the $1.
func uriPatternsConfig(t *testing.T, fixtureDir string) string {
	t.Helper()
	plain := map[string]string{"direct": "direct", "statement/value": "statement", "qualifier/value": "qualifier", "reference/value": "reference"}
	ttls, err := filepath.Glob(filepath.Join(fixtureDir, "ttl", "*.ttl"))
	require.NoError(t, err)
	patterns := map[string]string{}
	for _, path := range ttls {
		all := tripleSet(t, run(t, "serdi", "-i", "turtle", "-o", "ntriples", path))
		for _, tr := range all {
			m := normalizedIDTriple.FindStringSubmatch(tr)
			if m == nil || strings.HasPrefix(m[4], "http://www.wikidata.org/value/") {
				continue
			}
			prefix := m[1] + " <http://www.wikidata.org/prop/" + plain[m[2]] + "/" + m[3] + "> "
			for _, other := range all {
				lit, ok := strings.CutPrefix(other, prefix)
				if !ok || !strings.HasPrefix(lit, `"`) {
					continue
				}
				value, err := strconv.Unquote(strings.TrimSuffix(lit, " ."))
				if err != nil {
					continue
				}
				for _, enc := range []string{value, url.PathEscape(value), strings.ReplaceAll(url.QueryEscape(value), "+", "%20")} {
					if strings.Contains(m[4], enc) {
						patterns[m[3]] = strings.Replace(m[4], enc, "$1", 1)
						break
					}
				}
			}
		}
	}
	require.NotEmpty(t, patterns, "the fixtures' Turtle has normalized external ids")
	data, err := json.Marshal(map[string]any{"uriPatterns": patterns})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "wikibase.json")
	require.NoError(t, os.WriteFile(path, data, 0o644))
	return path
}

// dumpedEntityTriples are the triples of a dump that belong to one entity: those of the
// entity, its forms and senses, its data node and its sitelinks' articles, and of the
// statement, reference, value and site nodes they lead to; the data node's version info left
// out.
func dumpedEntityTriples(all []string, concept, data, id string) map[string]bool {
	bySubject := map[string][]string{}
	todo := []string{"<" + concept + id + ">", "<" + data + id + ">"}
	for _, tr := range all {
		subject, rest, _ := strings.Cut(tr, " ")
		bySubject[subject] = append(bySubject[subject], tr)
		if strings.HasPrefix(subject, "<"+concept+id+"-") || strings.HasPrefix(rest, "<http://schema.org/about> <"+concept+id+"> ") {
			todo = append(todo, subject)
		}
	}
	out := map[string]bool{}
	seen := map[string]bool{}
	for len(todo) > 0 {
		node := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if seen[node] {
			continue
		}
		seen[node] = true
		for _, tr := range bySubject[node] {
			_, rest, _ := strings.Cut(tr, " ")
			predicate, object, _ := strings.Cut(rest, " ")
			object = strings.TrimSuffix(object, " .")
			if node == "<"+data+id+">" && slices.Contains(versionPredicates, predicate) {
				continue
			}
			out[tr] = true
			for _, ns := range []string{concept + "statement/", "http://www.wikidata.org/value/", "http://www.wikidata.org/reference/"} {
				if strings.HasPrefix(object, "<"+ns) {
					todo = append(todo, object)
				}
			}
			if predicate == "<http://schema.org/isPartOf>" {
				todo = append(todo, object)
			}
		}
	}
	return out
}

// setDiff lists what is in a and not in b, sorted.
func setDiff(a, b map[string]bool) []string {
	var out []string
	for k := range a {
		if !b[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
