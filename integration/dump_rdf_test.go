package integration

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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
