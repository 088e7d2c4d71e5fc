package integration

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/entitybase/entitybase-workers/activities"
	"github.com/entitybase/entitybase-workers/internal/dump"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
	"github.com/entitybase/entitybase-workers/workflows"
)

// asOfDay is the day the as-of tests dump; cutEnd is the first instant after it.
var (
	asOfDay = time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	cutEnd  = asOfDay.AddDate(0, 0, 1)
	before  = asOfDay.Add(-14 * time.Hour) // 2026-01-09 10:00
	after   = cutEnd.Add(10 * time.Hour)   // 2026-01-11 10:00
)

// asOfHistory writes entities whose revisions lie on both sides of asOfDay and returns, per
// entity, the revision the dump as of that day must show (0: not in the dump at all).
func asOfHistory(t *testing.T, db *sql.DB) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	s := &store.Entities{DB: db}
	save := func(id, label string, at time.Time) {
		t.Helper()
		_, err := s.Save(ctx, store.SaveRequest{At: at, Entity: &wikibase.Entity{Type: "item", ID: id,
			Labels: []wikibase.Term{{Language: "en", Value: label}}}})
		require.NoError(t, err)
	}
	del := func(id string, at time.Time) {
		t.Helper()
		_, err := s.Delete(ctx, store.DeleteRequest{EntityID: id, At: at})
		require.NoError(t, err)
	}
	redirect := func(from, to string, at time.Time) {
		t.Helper()
		_, err := s.SaveRedirect(ctx, store.RedirectRequest{From: from, To: to, At: at})
		require.NoError(t, err)
	}
	for _, id := range []string{"Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "Q7"} {
		save(id, id+" as created", before)
	}
	save("Q1", "Q1 edited after the day", after)
	// The last microsecond of the day belongs to it, the next one does not.
	save("Q2", "Q2 edited at the end of the day", cutEnd.Add(-time.Microsecond))
	save("Q2", "Q2 edited at midnight after", cutEnd)
	del("Q3", after)
	del("Q4", asOfDay.Add(12*time.Hour))
	redirect("Q5", "Q1", after)
	redirect("Q6", "Q1", asOfDay.Add(12*time.Hour))
	save("Q7", "Q7 deleted and restored later", before.Add(time.Hour))
	del("Q7", asOfDay.Add(13*time.Hour))
	save("Q7", "Q7 restored", after)
	save("Q8", "Q8 created after the day", after)
	return map[string]int64{"Q1": 1, "Q2": 2, "Q3": 1, "Q4": 0, "Q5": 1, "Q6": 0, "Q7": 0, "Q8": 0}
}

// TestDumpOfAPastDayShowsThatDay dumps, after edits on both sides of a day, the JSON and the
// N-Triples dump of that day: each entity is at its last revision of that day, entities
// deleted then are left out and those deleted later are in, redirects are as they were then
// (RDF: owl:sameAs only for the redirect made that day), entities created later are absent.
func TestDumpOfAPastDayShowsThatDay(t *testing.T) {
	cfg, dir := dumpConfig(t)
	db := dumpDB(t, cfg)
	want := asOfHistory(t, db)
	s := &store.Entities{DB: db}
	startWorker(t, cfg)

	res := waitDump(t, startDump(t, cfg, "dump-asof-json-"+cfg.TaskQueue, workflows.DumpInput{Format: "json", Date: "20260110"}), 3*time.Minute)
	assert.Equal(t, "20260110/wikibase-20260110-all.json.gz", res.Key)
	assert.Equal(t, cutEnd.Add(-time.Microsecond), res.SnapshotTime.UTC(), "the cut is the end of the day")
	var wantLines []string
	for _, id := range []string{"Q1", "Q2", "Q3", "Q5"} {
		wantLines = append(wantLines, dumpLineOf(t, s, id, want[id]))
	}
	assert.Equal(t, wantLines, readDumpLines(t, filepath.Join(dir, res.Key)))
	var meta dump.Metadata
	require.NoError(t, json.Unmarshal(mustReadFile(t, filepath.Join(dir, res.MetadataKey)), &meta))
	assert.Equal(t, cutEnd.Add(-time.Microsecond), meta.SnapshotTime.UTC())

	// A moment: the day before at noon, Q7 at its second revision and not yet deleted.
	noon := asOfDay.Add(-12 * time.Hour)
	atNoon := waitDump(t, startDump(t, cfg, "dump-asof-noon-"+cfg.TaskQueue, workflows.DumpInput{Format: "json", AsOf: noon}), 3*time.Minute)
	assert.Equal(t, "20260109/wikibase-20260109-all.json.gz", atNoon.Key)
	assert.Equal(t, noon, atNoon.SnapshotTime.UTC())
	var noonLines []string
	for _, id := range []string{"Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "Q7"} {
		rev := int64(1)
		if id == "Q7" {
			rev = 2
		}
		noonLines = append(noonLines, dumpLineOf(t, s, id, rev))
	}
	assert.Equal(t, noonLines, readDumpLines(t, filepath.Join(dir, atNoon.Key)))

	nt := waitDump(t, startDump(t, cfg, "dump-asof-nt-"+cfg.TaskQueue, workflows.DumpInput{Format: "nt", Date: "20260110"}), 3*time.Minute)
	triples := gunzipFile(t, filepath.Join(dir, nt.Key))
	const entity, label, sameAs = "<http://www.wikidata.org/entity/", "> <http://www.w3.org/2000/01/rdf-schema#label> ", "> <http://www.w3.org/2002/07/owl#sameAs> "
	for _, tc := range []struct {
		triple string
		in     bool
	}{
		{entity + "Q1" + label + `"Q1 as created"@en .`, true},
		{entity + "Q1" + label + `"Q1 edited after the day"@en .`, false},
		{entity + "Q2" + label + `"Q2 edited at the end of the day"@en .`, true},
		{entity + "Q2" + label + `"Q2 edited at midnight after"@en .`, false},
		{entity + "Q3" + label + `"Q3 as created"@en .`, true},
		{entity + "Q4" + label + `"Q4 as created"@en .`, false},
		{entity + "Q5" + label + `"Q5 as created"@en .`, true},
		{entity + "Q5" + sameAs + entity + "Q1> .", false},
		{entity + "Q6" + sameAs + entity + "Q1> .", true},
		{entity + "Q6" + label + `"Q6 as created"@en .`, false},
		{entity + "Q7" + label, false},
		{entity + "Q8" + label, false},
	} {
		assert.Equal(t, tc.in, strings.Contains(triples, tc.triple), "%s", tc.triple)
	}
	assert.Contains(t, triples, `<http://schema.org/dateModified> "2026-01-10T23:59:59Z"^^<http://www.w3.org/2001/XMLSchema#dateTime> .`)
}

// dumpLineOf is the JSON dump line of the nth revision (1, 2, …) of item id, from the store.
func dumpLineOf(t *testing.T, s *store.Entities, id string, nth int64) string {
	t.Helper()
	var rev int64
	require.NoError(t, s.DB.QueryRow(`SELECT r.revision_id FROM entity_revisions r JOIN entity_id_mapping m ON m.internal_id = r.internal_id
 WHERE m.entity_id = ? ORDER BY r.revision_id LIMIT 1 OFFSET ?`, id, nth-1).Scan(&rev))
	r, err := s.Revision(context.Background(), id, rev)
	require.NoError(t, err)
	line, err := activities.AppendDumpLine(nil, &activities.DumpRevision{InternalID: r.InternalID, EntityID: id,
		EntityType: "Q", RevisionID: r.RevisionID, CreatedAt: r.CreatedAt, Line: r.Line})
	require.NoError(t, err)
	return string(line)
}

// TestDumpLatestPointsToTheNewestDate dumps a day, then the day before it: latest-* keeps
// pointing to the newer day, although the older day's dump was written later.
func TestDumpLatestPointsToTheNewestDate(t *testing.T) {
	cfg, dir := dumpConfig(t)
	asOfHistory(t, dumpDB(t, cfg))
	startWorker(t, cfg)
	newer := waitDump(t, startDump(t, cfg, "dump-newer-"+cfg.TaskQueue, workflows.DumpInput{Format: "json", Date: "20260111"}), 3*time.Minute)
	older := waitDump(t, startDump(t, cfg, "dump-older-"+cfg.TaskQueue, workflows.DumpInput{Format: "json", Date: "20260110"}), 3*time.Minute)
	require.NotEqual(t, newer.SHA256, older.SHA256, "the two days differ")
	var p dump.Pointer
	require.NoError(t, json.Unmarshal(mustReadFile(t, filepath.Join(dir, "latest", "wikibase-latest-all.json.gz.pointer.json")), &p))
	assert.Equal(t, dump.Pointer{File: newer.File, Key: newer.Key, MetadataKey: newer.MetadataKey, Date: "20260111",
		SnapshotTime: newer.SnapshotTime, Bytes: newer.Bytes, SHA256: newer.SHA256}, p)
}

// storeFiles reads every file of a file store: key → content.
func storeFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, key := range dumpStoreListing(t, "file://"+dir) {
		b, err := os.ReadFile(filepath.Join(dir, key))
		require.NoError(t, err)
		out[key] = string(b)
	}
	return out
}

// TestDumpPublishedIsNeverRewritten starts a finished dump again, after the store received
// a revision dated inside the dump's day (as an import of older revisions writes): with the
// same workflow ID, after its history was deleted (as retention does), and under another
// workflow ID (as a schedule names its runs). None of them writes anything: the files,
// checksums, metadata and pointer stay byte for byte, and each run reports the published
// dump.
func TestDumpPublishedIsNeverRewritten(t *testing.T) {
	cfg, dir := dumpConfig(t)
	db := dumpDB(t, cfg)
	asOfHistory(t, db)
	startWorker(t, cfg)
	in := workflows.DumpInput{Format: "json", Date: "20260110"}
	id := "dump-json-full-20260110-" + cfg.TaskQueue
	first := waitDump(t, startDump(t, cfg, id, in), 3*time.Minute)
	published := storeFiles(t, dir)
	require.Len(t, published, 6)
	_, err := (&store.Entities{DB: db}).Save(context.Background(), store.SaveRequest{At: asOfDay.Add(time.Hour),
		Entity: &wikibase.Entity{Type: "item", ID: "Q9", Labels: []wikibase.Term{{Language: "en", Value: "imported later"}}}})
	require.NoError(t, err)

	want := first.DumpAssembleResult
	want.AlreadyPublished = true
	againRun := startDump(t, cfg, id, in)
	again := waitDump(t, againRun, 3*time.Minute)
	assert.Equal(t, want, again.DumpAssembleResult)
	assert.Equal(t, published, storeFiles(t, dir), "a second run of the same ID leaves the dump as it was")
	checkReplay(t, "DumpWorkflowAlreadyPublished", id, againRun.GetRunID())

	// Retention deletes the history; the store still knows the dump is published.
	deleteWorkflowHistory(t, id)
	afterRetention := waitDump(t, startDump(t, cfg, id, in), 3*time.Minute)
	assert.Equal(t, want, afterRetention.DumpAssembleResult)
	assert.Equal(t, published, storeFiles(t, dir), "a run after the history is gone leaves the dump as it was")

	other := waitDump(t, startDump(t, cfg, "scheduled-"+id, in), 3*time.Minute)
	assert.Equal(t, want, other.DumpAssembleResult)
	assert.Equal(t, published, storeFiles(t, dir), "a run under another workflow ID leaves the dump as it was")
	desc, err := stack.client.DescribeWorkflowExecution(context.Background(), "scheduled-"+id, "")
	require.NoError(t, err)
	var memo map[string]any
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(desc.GetWorkflowExecutionInfo().GetMemo().GetFields()[workflows.MemoResult], &memo))
	assert.Equal(t, true, memo["already_published"], "the Web UI shows the run found the dump published: %v", memo)
	assert.Equal(t, first.Key, memo["file"])

	// The CLI prints the published dump and exits 0, with and without --wait.
	for _, args := range [][]string{{"dump", "--date", "20260110"}, {"dump", "--date", "20260110", "--wait"}} {
		out, err := starterCommand(t, cfg, args...).CombinedOutput()
		require.NoError(t, err, "%v: %s", args, out)
		assert.Contains(t, string(out), "already published: 4 entities (4 items) as of 2026-01-10T23:59:59.999999Z; nothing was written", "%v", args)
		assert.Contains(t, string(out), "sha256  "+first.SHA256, "%v", args)
	}
	assert.Equal(t, published, storeFiles(t, dir))
}

// deleteWorkflowHistory deletes every run of workflow id, as the namespace's retention does
// for closed workflows, and waits until the server no longer knows it.
func deleteWorkflowHistory(t *testing.T, id string) {
	t.Helper()
	ctx := context.Background()
	desc, err := stack.client.DescribeWorkflowExecution(ctx, id, "")
	require.NoError(t, err)
	_, err = stack.client.WorkflowService().DeleteWorkflowExecution(ctx, &workflowservice.DeleteWorkflowExecutionRequest{
		Namespace: stack.Namespace, WorkflowExecution: desc.GetWorkflowExecutionInfo().GetExecution(),
	})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err := stack.client.DescribeWorkflowExecution(ctx, id, "")
		var notFound *serviceerror.NotFound
		return errors.As(err, &notFound)
	}, 2*time.Minute, 200*time.Millisecond, "the server deletes the workflow")
}

// TestDumpForceSwapsInACompleteDump forces a new dump of a published day after a revision
// dated inside it arrived, while a mirror keeps downloading the file: every download is a
// whole file, the old one or the new one; afterwards the file, its checksums, metadata and
// latest pointer all describe the new dump, and the folder holds what it held before.
func TestDumpForceSwapsInACompleteDump(t *testing.T) {
	cfg, dir := dumpConfig(t)
	db := dumpDB(t, cfg)
	asOfHistory(t, db)
	startWorker(t, cfg)
	id := "dump-force-" + cfg.TaskQueue
	old := waitDump(t, startDump(t, cfg, id, workflows.DumpInput{Format: "json", Date: "20260110"}), 3*time.Minute)
	listing := dumpStoreListing(t, "file://"+dir)
	_, err := (&store.Entities{DB: db}).Save(context.Background(), store.SaveRequest{At: asOfDay.Add(time.Hour),
		Entity: &wikibase.Entity{Type: "item", ID: "Q9", Labels: []wikibase.Term{{Language: "en", Value: "imported later"}}}})
	require.NoError(t, err)

	path := filepath.Join(dir, old.Key)
	stop := make(chan struct{})
	downloads := make(chan string, 100000)
	go func() {
		defer close(downloads)
		for {
			select {
			case <-stop:
				return
			default:
			}
			b, err := os.ReadFile(path)
			if err != nil {
				downloads <- "error: " + err.Error()
				continue
			}
			sum := sha256.Sum256(b)
			downloads <- hex.EncodeToString(sum[:])
		}
	}()
	forced := waitDump(t, startDump(t, cfg, id, workflows.DumpInput{Format: "json", Date: "20260110", Force: true}), 3*time.Minute)
	close(stop)
	seen := map[string]int{}
	for d := range downloads {
		seen[d]++
	}
	t.Logf("downloads during the forced run: %v", seen)
	assert.False(t, forced.AlreadyPublished)
	assert.Equal(t, old.EntityCount+1, forced.EntityCount)
	require.NotEqual(t, old.SHA256, forced.SHA256)
	for d := range seen {
		assert.Contains(t, []string{old.SHA256, forced.SHA256}, d, "a download is the old file or the new one")
	}
	assert.Positive(t, seen[old.SHA256], "the old file stays until the new one is complete")

	file := mustReadFile(t, path)
	sum := sha256.Sum256(file)
	assert.Equal(t, forced.SHA256, hex.EncodeToString(sum[:]))
	assert.Equal(t, forced.SHA256+"  "+forced.File+"\n", string(mustReadFile(t, filepath.Join(dir, "20260110", "wikibase-20260110-sha256sums.txt"))))
	var meta dump.Metadata
	require.NoError(t, json.Unmarshal(mustReadFile(t, filepath.Join(dir, forced.MetadataKey)), &meta))
	assert.Equal(t, []any{forced.SHA256, forced.Bytes, forced.EntityCount}, []any{meta.SHA256, meta.Bytes, meta.EntityCount})
	var p dump.Pointer
	require.NoError(t, json.Unmarshal(mustReadFile(t, filepath.Join(dir, "latest", "wikibase-latest-all.json.gz.pointer.json")), &p))
	assert.Equal(t, forced.SHA256, p.SHA256)
	assert.Equal(t, listing, dumpStoreListing(t, "file://"+dir), "the same files, no parts left")
}
