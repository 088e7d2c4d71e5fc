package integration

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/entitybase/entitybase-workers/internal/config"
	"github.com/entitybase/entitybase-workers/internal/dump"
	"github.com/entitybase/entitybase-workers/internal/dump/dumptest"
	"github.com/entitybase/entitybase-workers/internal/fixtures"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
	"github.com/entitybase/entitybase-workers/internal/wikibase/synth"
	"github.com/entitybase/entitybase-workers/workflows"
)

// dumpConfig is a test config writing dumps to a directory of the test's own, without the
// Kafka bridge and outbox relay (dumps need neither).
func dumpConfig(t *testing.T) (config.Config, string) {
	t.Helper()
	cfg := testConfig(t)
	dir := t.TempDir()
	cfg.DumpURL = "file://" + dir
	cfg.KafkaBridgeEnabled = false
	cfg.OutboxRelayEnabled = false
	return cfg, dir
}

func dumpDB(t testing.TB, cfg config.Config) *sql.DB {
	t.Helper()
	db, err := store.Open(context.Background(), cfg.MySQLDSN)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	_, err = store.Migrate(context.Background(), db)
	require.NoError(t, err)
	return db
}

func startDump(t testing.TB, cfg config.Config, id string, in workflows.DumpInput) client.WorkflowRun {
	t.Helper()
	run, err := stack.client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: id, TaskQueue: cfg.TaskQueue, WorkflowExecutionTimeout: 20 * time.Minute,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, workflows.DumpWorkflow, in)
	require.NoError(t, err)
	return run
}

func waitDump(t testing.TB, run client.WorkflowRun, timeout time.Duration) workflows.DumpResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var res workflows.DumpResult
	require.NoError(t, run.Get(ctx, &res))
	return res
}

// readDumpLines returns the entity lines of a JSON dump file (framing removed), checking
// the framing is exactly Wikibase's.
func readDumpLines(t *testing.T, path string) []string {
	t.Helper()
	text := gunzipFile(t, path)
	require.True(t, strings.HasPrefix(text, "[\n"), "dump starts with [")
	require.True(t, strings.HasSuffix(text, "\n]\n"), "dump ends with ]")
	body := strings.TrimSuffix(strings.TrimPrefix(text, "[\n"), "\n]\n")
	if body == "" {
		return nil
	}
	return strings.Split(body, ",\n")
}

func gunzipFile(t *testing.T, path string) string {
	t.Helper()
	var b strings.Builder
	copyGunzipped(t, &b, path)
	return b.String()
}

// copyGunzipped writes the decompressed content of a (multi-member) gzip file to w.
func copyGunzipped(t *testing.T, w io.Writer, path string) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	_, err = io.Copy(w, zr)
	require.NoError(t, err)
}

// TestDumpRealEntitiesIsWikidataDumpForm stores the real Wikidata entities and checks the
// JSON dump: Wikibase's framing, one line per entity equal to its compact dump form with
// page metadata from the store, a valid JSON array; a dump reader re-reads it to the same
// entities, and an import of the dump into an empty database stores the same entities.
func TestDumpRealEntitiesIsWikidataDumpForm(t *testing.T) {
	cfg, dir := dumpConfig(t)
	cfg.DumpChunkSize = 50
	db := dumpDB(t, cfg)
	ctx := context.Background()
	saveTime := func(i int) time.Time { return time.Date(2026, 1, 1, 10, i, 7, 250000, time.UTC) }
	datatypes, entities, saved := saveWikidataFixtures(t, db, saveTime)

	enc := wikibase.Encoder{Datatypes: datatypes}
	type expected struct {
		line string
		page map[string]any
	}
	var want []expected
	for i, e := range entities {
		at, res := saveTime(i), saved[i]
		line, err := enc.Marshal(e, nil)
		require.NoError(t, err)
		ns, title := map[string]float64{"item": 0, "property": 120, "lexeme": 146}[e.Type], e.ID
		if e.Type != "item" {
			title = map[string]string{"property": "Property:", "lexeme": "Lexeme:"}[e.Type] + e.ID
		}
		want = append(want, expected{line: string(line), page: map[string]any{
			"pageid": float64(res.InternalID), "ns": ns, "title": title, "lastrevid": float64(res.RevisionID),
			"modified": at.Format("2006-01-02T15:04:05Z"),
		}})
	}

	// Saves also map the entities that statements link to, so internal ids are sparse.
	var maxID int64
	require.NoError(t, db.QueryRow("SELECT MAX(internal_id) FROM entity_id_mapping").Scan(&maxID))
	chunks := int((maxID + 49) / 50)
	require.Greater(t, chunks, 1)

	startWorker(t, cfg)
	run := startDump(t, cfg, "dump-real-"+cfg.TaskQueue, workflows.DumpInput{Format: "json", Flavor: "full", Kind: "full", Date: "20260104"})
	res := waitDump(t, run, 3*time.Minute)
	assert.Equal(t, "20260104/wikibase-20260104-all.json.gz", res.Key)
	assert.Equal(t, chunks, res.Chunks)
	assert.Equal(t, int64(5), res.EntityCount)
	assert.Equal(t, map[string]int64{"item": 3, "property": 1, "lexeme": 1}, res.EntityCounts)

	path := filepath.Join(dir, "20260104", "wikibase-20260104-all.json.gz")
	lines := readDumpLines(t, path)
	require.Len(t, lines, len(want))
	for i, line := range lines {
		var got map[string]json.RawMessage
		require.NoError(t, json.Unmarshal([]byte(line), &got))
		page := map[string]any{}
		for _, k := range []string{"pageid", "ns", "title", "lastrevid", "modified"} {
			var v any
			require.NoError(t, json.Unmarshal(got[k], &v))
			page[k] = v
		}
		assert.Equal(t, want[i].page, page, "page metadata of line %d", i+1)
		// The line is the compact form with the five members appended, in that order.
		suffix := fmt.Sprintf(`,"pageid":%d,"ns":%d,"title":%q,"lastrevid":%d,"modified":%q}`,
			int64(page["pageid"].(float64)), int64(page["ns"].(float64)), page["title"], int64(page["lastrevid"].(float64)), page["modified"])
		assert.Equal(t, want[i].line[:len(want[i].line)-1]+suffix, line, "line %d", i+1)
	}

	// One JSON array for Go's decoder, as for jq.
	var arr []json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(gunzipFile(t, path)), &arr))
	assert.Len(t, arr, 5)

	// Reading the dump back gives the same entities: their serialization is unchanged.
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	r, err := wikibase.NewEntityReader(bytes.NewReader(data))
	require.NoError(t, err)
	for i := 0; ; i++ {
		rec, err := r.Next()
		if err == io.EOF {
			require.Equal(t, 5, i)
			break
		}
		require.NoError(t, err)
		e, _, err := rec.Parse()
		require.NoError(t, err)
		again, err := enc.Marshal(e, nil)
		require.NoError(t, err)
		assert.Equal(t, want[i].line, string(again), e.ID)
	}

	// An import of the dump into an empty database reproduces the same entities.
	importCfg := testConfig(t)
	importCfg.KafkaBridgeEnabled, importCfg.OutboxRelayEnabled = false, false
	startWorker(t, importCfg)
	imported := importAndWait(t, importCfg, "import-dump-"+importCfg.TaskQueue, workflows.ImportInput{
		Source:        path,
		PropertiesCSV: filepath.Join(fixtures.SharedDir(t), "fixtures", "wikidata", "properties.csv"),
	})
	assert.Equal(t, int64(5), imported.Counts.Created)
	assert.Empty(t, imported.Rejections)
	importedStore := &store.Entities{DB: importDB(t, importCfg)}
	for i, e := range entities {
		head, err := importedStore.Head(ctx, e.ID)
		require.NoError(t, err)
		rev, err := importedStore.Revision(ctx, e.ID, head.RevisionID)
		require.NoError(t, err)
		assert.Equal(t, want[i].line, string(rev.Line), "%s imported from the dump", e.ID)
	}

	sums, err := os.ReadFile(filepath.Join(dir, "20260104", "wikibase-20260104-sha256sums.txt"))
	require.NoError(t, err)
	sum := sha256.Sum256(data)
	assert.Equal(t, hex.EncodeToString(sum[:])+"  wikibase-20260104-all.json.gz\n", string(sums))
	assert.Equal(t, hex.EncodeToString(sum[:]), res.SHA256)
	var meta map[string]any
	require.NoError(t, json.Unmarshal(mustReadFile(t, filepath.Join(dir, "20260104", "wikibase-20260104-all.json.gz.meta.json")), &meta))
	assert.Equal(t, "json", meta["format"])
	assert.Equal(t, float64(5), meta["entity_count"])
	pointer := mustReadFile(t, filepath.Join(dir, "latest", "wikibase-latest-all.json.gz.pointer.json"))
	assert.Contains(t, string(pointer), `"key": "20260104/wikibase-20260104-all.json.gz"`)

	v, err := stack.client.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), workflows.QueryDumpProgress)
	require.NoError(t, err)
	var p workflows.DumpProgress
	require.NoError(t, v.Get(&p))
	assert.Equal(t, workflows.DumpPhaseDone, p.Phase)
	assert.Equal(t, chunks, p.ChunksDone)
	assert.Equal(t, int64(5), p.Entities)

	checkReplay(t, "DumpWorkflow", run.GetID(), run.GetRunID())
}

func mustReadFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

// seedSynthetic stores n synthetic entities (Wikidata's size mix: the generator's properties
// first, then items with a few lexemes) in batches on two connections.
func seedSynthetic(t testing.TB, db *sql.DB, n int) {
	t.Helper()
	ctx := context.Background()
	g := synth.New(42)
	s := &store.Entities{DB: db, DatatypeLookup: g.Datatypes()}
	require.NoError(t, s.SaveDatatypes(ctx, g.Datatypes()))
	at := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	batches := make(chan []store.SaveRequest, 4)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				if _, err := s.SaveBatch(ctx, b); err != nil {
					errs <- err
					for range batches {
					}
					return
				}
			}
		}()
	}
	var batch []store.SaveRequest
	flush := func() {
		if len(batch) > 0 {
			batches <- batch
			batch = nil
		}
	}
	for i := 0; i < n; i++ {
		var e *wikibase.Entity
		switch {
		case i < len(g.Properties()):
			e = g.Properties()[i]
		case i%50 == 0:
			e = g.Lexeme()
		default:
			e = g.Item()
		}
		e.Page = nil
		batch = append(batch, store.SaveRequest{Entity: e, At: at.Add(time.Duration(i) * time.Millisecond)})
		if len(batch) == 500 {
			flush()
		}
	}
	flush()
	close(batches)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// startWorkerProcess runs the worker command with cfg's dump settings, as id, without the
// Kafka bridges and the outbox relay; env entries (VAR=value) override what it sets.
func startWorkerProcess(t *testing.T, cfg config.Config, id string, env ...string) *workerProcess {
	t.Helper()
	return startProcess(t, append([]string{
		"TEMPORAL_ADDRESS=" + cfg.TemporalAddress, "TEMPORAL_NAMESPACE=" + cfg.TemporalNamespace,
		"TEMPORAL_TASK_QUEUE=" + cfg.TaskQueue, "MYSQL_DSN=" + cfg.MySQLDSN, "WORKER_ID=" + id,
		"HEALTH_ADDR=127.0.0.1:0", "KAFKA_BROKERS=" + strings.Join(cfg.KafkaBrokers, ","),
		"KAFKA_BRIDGE_ENABLED=false", "ENTITY_DIFF_ENABLED=false", "OUTBOX_RELAY_ENABLED=false", "DUMP_URL=" + cfg.DumpURL,
		"DUMP_NAME=" + cfg.DumpName, "DUMP_CHUNK_SIZE=" + strconv.Itoa(cfg.DumpChunkSize),
		"DUMP_PARALLELISM=" + strconv.Itoa(cfg.DumpParallelism), "LOG_LEVEL=warn",
	}, env...)...)
}

// waitForPollers waits until every named worker polls the queue for activities.
func waitForPollers(t *testing.T, queue string, identities ...string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := stack.client.DescribeTaskQueue(context.Background(), queue, enums.TASK_QUEUE_TYPE_ACTIVITY)
		require.NoError(t, err)
		seen := map[string]bool{}
		for _, p := range resp.GetPollers() {
			seen[p.GetIdentity()] = true
		}
		missing := 0
		for _, id := range identities {
			if !seen[id] {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("workers %v do not all poll %s after 90 s (pollers: %v)", identities, queue, seen)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func dumpProgress(t *testing.T, run client.WorkflowRun) workflows.DumpProgress {
	t.Helper()
	v, err := stack.client.QueryWorkflow(context.Background(), run.GetID(), "", workflows.QueryDumpProgress)
	if err != nil {
		return workflows.DumpProgress{}
	}
	var p workflows.DumpProgress
	require.NoError(t, v.Get(&p))
	return p
}

// decompressedSHA256 streams the file through gzip and sha256 (a 1M-entity dump is 10 GB
// decompressed).
func decompressedSHA256(t *testing.T, path string) string {
	t.Helper()
	h := sha256.New()
	copyGunzipped(t, h, path)
	return hex.EncodeToString(h.Sum(nil))
}

// TestDumpSurvivesKilledWorkers SIGKILLs the worker process several times at random points
// of a 50k-entity dump, into a directory and into an S3 bucket; the finished file
// decompresses to exactly what an uninterrupted run writes, gzip -t accepts it, and the dump
// folder holds exactly what the uninterrupted run's folder holds: no parts, no temporary
// files of the killed writes.
func TestDumpSurvivesKilledWorkers(t *testing.T) {
	n := 50000
	if v := os.Getenv("DUMP_TEST_ENTITIES"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(t, err)
	}
	for _, storeKind := range []string{"file", "s3"} {
		t.Run(storeKind, func(t *testing.T) {
			cfg, dir := dumpConfig(t)
			if storeKind == "s3" {
				cfg.DumpURL, _ = dumptest.S3(t, "dumps")
			}
			cfg.DumpChunkSize = 1000
			cfg.DumpParallelism = 2
			db := dumpDB(t, cfg)
			start := time.Now()
			seedSynthetic(t, db, n)
			t.Logf("stored %d synthetic entities in %s", n, time.Since(start).Round(time.Millisecond))
			killed, killedDir := dumpWithKills(t, cfg, n, "20260105")
			t.Logf("killed dump: %d entities, %d bytes, runs %d", killed.EntityCount, killed.Bytes, killed.Runs)
			if storeKind == "file" {
				require.Positive(t, killedDir.tempFiles, "no kill left a temporary file behind, so the clean-up is not tested")
			}

			// The uninterrupted run, on the same data, by an in-process worker.
			startWorker(t, cfg)
			clean := waitDump(t, startDump(t, cfg, "dump-clean-"+cfg.TaskQueue, workflows.DumpInput{Format: "json", Date: "20260106"}), 10*time.Minute)
			assert.Equal(t, killed.EntityCount, clean.EntityCount)
			// Same parts, same framing, no date inside: the compressed files are identical.
			assert.Equal(t, clean.SHA256, killed.SHA256)

			listing := dumpStoreListing(t, cfg.DumpURL)
			var fromKilled, fromClean []string
			for _, k := range listing {
				switch {
				case strings.HasPrefix(k, "20260105/"):
					fromKilled = append(fromKilled, strings.ReplaceAll(k, "20260105", "DATE"))
				case strings.HasPrefix(k, "20260106/"):
					fromClean = append(fromClean, strings.ReplaceAll(k, "20260106", "DATE"))
				}
			}
			assert.Equal(t, []string{
				"DATE/wikibase-DATE-all.json.gz", "DATE/wikibase-DATE-all.json.gz.meta.json",
				"DATE/wikibase-DATE-md5sums.txt", "DATE/wikibase-DATE-sha1sums.txt", "DATE/wikibase-DATE-sha256sums.txt",
			}, fromClean)
			assert.Equal(t, fromClean, fromKilled, "the killed dump's folder holds what the uninterrupted one's holds")
			assert.Equal(t, len(fromKilled)+len(fromClean)+1, len(listing), "nothing else in the store but the latest pointer: %v", listing)
			if storeKind == "file" {
				path := filepath.Join(dir, "20260105", "wikibase-20260105-all.json.gz")
				out, err := exec.Command("gzip", "-t", path).CombinedOutput()
				require.NoError(t, err, "gzip -t: %s", out)
				assert.Equal(t, decompressedSHA256(t, filepath.Join(dir, "20260106", "wikibase-20260106-all.json.gz")), decompressedSHA256(t, path))
			}
		})
	}
}

// killedDump is what the kills of dumpWithKills left for the next worker.
type killedDump struct {
	tempFiles int // temporary files of interrupted writes seen in a file store after the kills
}

// dumpWithKills runs a JSON dump of date on worker processes, SIGKILLing the worker three
// times at random moments while chunks are being written.
func dumpWithKills(t *testing.T, cfg config.Config, n int, date string) (workflows.DumpResult, killedDump) {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	w := startWorkerProcess(t, cfg, "killable-1")
	run := startDump(t, cfg, "dump-killed-"+cfg.TaskQueue, workflows.DumpInput{Format: "json", Date: date})
	var left killedDump
	kills := 0
	// waitChunk waits for the next chunk to finish and returns how long that took.
	waitChunk := func() time.Duration {
		start, deadline := time.Now(), time.Now().Add(2*time.Minute)
		before := dumpProgress(t, run).ChunksDone
		for dumpProgress(t, run).ChunksDone == before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		return time.Since(start)
	}
	for kills < 3 {
		// Let some chunks finish (a kill before the first one proves less; after a kill the
		// first waits out the killed chunks' heartbeat timeout), then kill at a random moment
		// inside the next ones: within the time a chunk took, so that on a machine of any
		// speed the dump is still running.
		waitChunk()
		gap := waitChunk()
		time.Sleep(time.Duration(rng.Int64N(int64(gap) + 1)))
		p := dumpProgress(t, run)
		if p.Phase != workflows.DumpPhaseChunks || p.ChunksDone >= p.ChunksTotal-1 {
			break
		}
		t.Logf("kill %d: %d of %d chunks done, peak RSS %.0f MiB", kills+1, p.ChunksDone, p.ChunksTotal, w.peakRSS(t))
		w.kill(t)
		kills++
		left.tempFiles += countTempFiles(t, cfg.DumpURL)
		w = startWorkerProcess(t, cfg, fmt.Sprintf("killable-%d", kills+1))
	}
	require.GreaterOrEqual(t, kills, 3, "the dump finished before three kills")
	res := waitDump(t, run, 10*time.Minute)
	t.Logf("peak RSS of the last worker %.0f MiB", w.peakRSS(t))
	assert.Equal(t, int64(n), res.EntityCount)
	w.kill(t)
	return res, left
}

// countTempFiles counts the temporary files (name.<hex>.tmp) of a file store.
func countTempFiles(t *testing.T, storeURL string) int {
	t.Helper()
	dir, ok := strings.CutPrefix(storeURL, "file://")
	if !ok {
		return 0
	}
	n := 0
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".tmp") {
			n++
		}
		return err
	}))
	return n
}

// dumpStoreListing lists everything in a dump store, as an operator or a mirror sees it: for
// a file store every file and every folder (a folder as "name/", so an empty one left behind
// shows), for an S3 bucket every object.
func dumpStoreListing(t *testing.T, storeURL string) []string {
	t.Helper()
	var out []string
	if dir, ok := strings.CutPrefix(storeURL, "file://"); ok {
		require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || path == dir {
				return err
			}
			rel, err := filepath.Rel(dir, path)
			if err != nil {
				return err
			}
			rel = filepath.ToSlash(rel)
			if d.IsDir() {
				entries, err := os.ReadDir(path)
				if err != nil {
					return err
				}
				if len(entries) > 0 {
					return nil // a folder with content shows through its content
				}
				rel += "/"
			}
			out = append(out, rel)
			return nil
		}))
		return out
	}
	ctx := context.Background()
	s, err := dump.OpenStore(ctx, storeURL)
	require.NoError(t, err)
	defer s.Close()
	objs, err := s.List(ctx, "")
	require.NoError(t, err)
	for _, o := range objs {
		out = append(out, o.Key)
	}
	return out
}

// TestDumpTwoWorkersShareOneDump runs two worker processes on one queue and checks, from the
// workflow history, that both ran chunks.
func TestDumpTwoWorkersShareOneDump(t *testing.T) {
	cfg, dir := dumpConfig(t)
	cfg.DumpChunkSize = 100
	cfg.DumpParallelism = 4
	db := dumpDB(t, cfg)
	seedSynthetic(t, db, 3000)
	var maxID int64
	require.NoError(t, db.QueryRow("SELECT MAX(internal_id) FROM entity_id_mapping").Scan(&maxID))
	chunks := int((maxID + 99) / 100)
	a := startWorkerProcess(t, cfg, "sharing-a")
	b := startWorkerProcess(t, cfg, "sharing-b")
	waitForPollers(t, cfg.TaskQueue, "sharing-a", "sharing-b")
	run := startDump(t, cfg, "dump-shared-"+cfg.TaskQueue, workflows.DumpInput{Format: "json", Date: "20260107"})
	// A second start of the same dump attaches to the running one.
	again := startDump(t, cfg, "dump-shared-"+cfg.TaskQueue, workflows.DumpInput{Format: "json", Date: "20260107"})
	assert.Equal(t, run.GetRunID(), again.GetRunID())
	res := waitDump(t, run, 5*time.Minute)
	assert.Equal(t, int64(3000), res.EntityCount)
	assert.Equal(t, chunks, res.Chunks)
	lines := readDumpLines(t, filepath.Join(dir, "20260107", "wikibase-20260107-all.json.gz"))
	assert.Len(t, lines, 3000)

	byWorker := map[string]int{}
	it := stack.client.GetWorkflowHistory(context.Background(), run.GetID(), "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	scheduled := map[int64]string{}
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		if attrs := ev.GetActivityTaskScheduledEventAttributes(); attrs != nil {
			scheduled[ev.GetEventId()] = attrs.GetActivityType().GetName()
		}
		if attrs := ev.GetActivityTaskStartedEventAttributes(); attrs != nil && scheduled[attrs.GetScheduledEventId()] == "DumpChunk" {
			byWorker[attrs.GetIdentity()]++
		}
	}
	t.Logf("chunks by worker: %v; peak RSS a %.0f MiB, b %.0f MiB", byWorker, a.peakRSS(t), b.peakRSS(t))
	assert.Greater(t, byWorker["sharing-a"], 0, "worker a ran no chunk: %v", byWorker)
	assert.Greater(t, byWorker["sharing-b"], 0, "worker b ran no chunk: %v", byWorker)
	assert.Equal(t, chunks, byWorker["sharing-a"]+byWorker["sharing-b"])
}
