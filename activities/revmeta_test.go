package activities

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"go.uber.org/zap/zaptest"

	"github.com/entitybase/entitybase-workers/internal/dump"
	"github.com/entitybase/entitybase-workers/internal/fixtures"
	"github.com/entitybase/entitybase-workers/internal/store/storetest"
)

// wikidataDumpValue turns a decoded Special:EntityData entity into the JSON value of its dump
// line made with --page-metadata: no main-snak or reference-snak hashes and no sitelink URLs;
// the page metadata (pageid, ns, title, lastrevid, modified) kept.
func wikidataDumpValue(entity map[string]any) {
	stripClaims := func(claims any) {
		groups, _ := claims.(map[string]any)
		for _, g := range groups {
			for _, st := range g.([]any) {
				st := st.(map[string]any)
				delete(st["mainsnak"].(map[string]any), "hash")
				refs, _ := st["references"].([]any)
				for _, r := range refs {
					for _, snaks := range r.(map[string]any)["snaks"].(map[string]any) {
						for _, sn := range snaks.([]any) {
							delete(sn.(map[string]any), "hash")
						}
					}
				}
			}
		}
	}
	stripClaims(entity["claims"])
	for _, sub := range []string{"forms", "senses"} {
		list, _ := entity[sub].([]any)
		for _, f := range list {
			stripClaims(f.(map[string]any)["claims"])
		}
	}
	if links, ok := entity["sitelinks"].(map[string]any); ok {
		for _, l := range links {
			delete(l.(map[string]any), "url")
		}
	}
}

// importAndDumpJSON imports src into a new store and returns the lines of a JSON dump of
// everything in it, by entity id.
func importAndDumpJSON(t *testing.T, src string) (map[string]map[string]any, ImportCounts) {
	t.Helper()
	db, _ := storetest.NewDB(t)
	imp := &Importer{DB: db, Log: zaptest.NewLogger(t)}
	_, counts, rejections := importAll(t, imp, src, 100, 200)
	require.Empty(t, rejections)

	dir := t.TempDir()
	acts := &Dumps{DB: db, Store: openTestStore(t, "file://"+dir), Name: "wikibase", ChunkSize: 100, Parallelism: 1}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	now := time.Now().UTC()
	file := dump.Layout{Name: "wikibase", Date: now, Format: dump.FormatJSON, Flavor: dump.FlavorFull, Kind: dump.KindAll}
	v, err := env.ExecuteActivity(acts.DumpChunk, DumpChunkInput{File: file, Index: 0, AfterID: 0, UpToID: 1 << 40, SnapshotTime: now})
	require.NoError(t, err)
	var res DumpChunkResult
	require.NoError(t, v.Get(&res))
	part := gunzip(t, filepath.Join(dir, filepath.FromSlash(file.PartKey(0))))
	out := map[string]map[string]any{}
	for _, line := range strings.Split(part, ",\n") {
		var e map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &e), line)
		out[e["id"].(string)] = e
	}
	return out, counts
}

// TestImportedWikidataEntitiesDumpAsWikidata imports the real Wikidata entities (their
// Special:EntityData files) and dumps them as JSON: each dump line is Wikidata's own, its
// page metadata (pageid, ns, title, lastrevid, modified) included.
func TestImportedWikidataEntitiesDumpAsWikidata(t *testing.T) {
	dir := filepath.Join(fixtures.SharedDir(t), "fixtures", "wikidata", "entities")
	dumped, _ := importAndDumpJSON(t, dir)
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	require.NoError(t, err)
	require.Len(t, dumped, len(files))
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		var doc struct {
			Entities map[string]map[string]any `json:"entities"`
		}
		require.NoError(t, json.Unmarshal(data, &doc))
		for id, want := range doc.Entities {
			wikidataDumpValue(want)
			got := dumped[id]
			for _, k := range []string{"pageid", "ns", "title", "lastrevid", "modified"} {
				assert.Equal(t, want[k], got[k], "%s %s", id, k)
			}
			assert.Equal(t, want, got, id)
		}
	}
}
