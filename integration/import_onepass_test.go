package integration

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/entitybase/entitybase-workers/activities"
	"github.com/entitybase/entitybase-workers/internal/config"
	"github.com/entitybase/entitybase-workers/internal/dump"
	"github.com/entitybase/entitybase-workers/internal/permanent"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/store/storetest"
	"github.com/entitybase/entitybase-workers/internal/temporalx"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
	"github.com/entitybase/entitybase-workers/workflows"
)

// sourceServer serves one file over HTTP (with byte ranges, as http.ServeContent does),
// counting the bytes it sends and the ranges asked for; pause slows it down, so that a test
// can stop a worker in the middle of a download.
type sourceServer struct {
	*httptest.Server
	served atomic.Int64
	mu     sync.Mutex
	ranges []string
}

func newSourceServer(t *testing.T, name string, data []byte, pause time.Duration) *sourceServer {
	t.Helper()
	s := &sourceServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rg := r.Header.Get("Range"); rg != "" {
			s.mu.Lock()
			s.ranges = append(s.ranges, rg)
			s.mu.Unlock()
		}
		http.ServeContent(&countingWriter{ResponseWriter: w, n: &s.served, pause: pause}, r, name, time.Time{}, bytes.NewReader(data))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *sourceServer) rangesAsked() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ranges...)
}

type countingWriter struct {
	http.ResponseWriter
	n     *atomic.Int64
	pause time.Duration
}

// Write sends p in pieces of 8 KiB, pausing between them.
func (w *countingWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		piece := p[:min(len(p), 8<<10)]
		n, err := w.ResponseWriter.Write(piece)
		w.n.Add(int64(n))
		written += n
		if err != nil {
			return written, err
		}
		p = p[len(piece):]
		if w.pause > 0 {
			w.ResponseWriter.(http.Flusher).Flush()
			time.Sleep(w.pause)
		}
	}
	return written, nil
}

// stagingConfig is a test configuration with a staging store of its own, which it returns.
func stagingConfig(t *testing.T) (config.Config, dump.Store) {
	t.Helper()
	cfg := testConfig(t)
	cfg.KafkaBridgeEnabled, cfg.OutboxRelayEnabled = false, false
	dir := t.TempDir()
	cfg.ImportStagingURL = "file://" + dir
	s, err := dump.OpenFileStore(dir)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return cfg, s
}

func stagedFiles(t *testing.T, s dump.Store) []string {
	t.Helper()
	objs, err := s.List(context.Background(), "") // the root: import/ is made by the first chunk
	require.NoError(t, err)
	var keys []string
	for _, o := range objs {
		if strings.HasPrefix(o.Key, "import/") {
			keys = append(keys, o.Key)
		}
	}
	return keys
}

func gzipBytes(t testing.TB, data []byte) []byte {
	t.Helper()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, err := zw.Write(data)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return gz.Bytes()
}

// TestImportFromURLFetchesEachByteOnce imports a gzip dump from an HTTP server: the server
// sends the file once, the import reports one byte fetched and decompressed per byte of the
// source, and the staging store is empty afterwards.
func TestImportFromURLFetchesEachByteOnce(t *testing.T) {
	src, entities := writeSyntheticDump(t, 1000)
	data, err := os.ReadFile(src)
	require.NoError(t, err)
	gz := gzipBytes(t, data)
	srv := newSourceServer(t, "dump.json.gz", gz, 0)

	cfg, staging := stagingConfig(t)
	startWorker(t, cfg)
	res := importAndWait(t, cfg, "import-url-once-"+cfg.TaskQueue, workflows.ImportInput{Source: srv.URL + "/dump.json.gz", ChunkLines: 100})
	assert.Equal(t, int64(entities), res.Counts.Created)
	assert.Equal(t, int64(1), res.Counts.Rejected)
	assert.Equal(t, int64(len(gz)), srv.served.Load(), "the server sent the file once")
	assert.Equal(t, int64(len(gz)), res.Read.SourceBytes)
	assert.Equal(t, int64(len(gz)), res.Read.FetchedBytes)
	assert.Equal(t, int64(len(data)), res.Read.DecompressedBytes)
	assert.LessOrEqual(t, res.Read.FetchedPerByte(), 1.1)
	assert.LessOrEqual(t, float64(res.Read.DecompressedBytes)/float64(res.Counts.Bytes), 1.1)
	assert.Equal(t, int64(len(data)), res.Counts.Bytes)
	assert.Empty(t, stagedFiles(t, staging), "the staged chunks are removed")
}

// TestImportResumesAfterWorkerStopsWhileSplitting stops the worker while it downloads and
// splits a dump from a slow server, plain and gzip: the next worker carries on and the
// database is the one an uninterrupted import gives. A plain dump is resumed with a byte
// range; a gzip stream cannot be entered in the middle, so it is read again from its start
// (through the read-ahead inflater, which the stop leaves mid-stream).
func TestImportResumesAfterWorkerStopsWhileSplitting(t *testing.T) {
	src, entities := writeSyntheticDump(t, 1500)
	in := workflows.ImportInput{Source: src, ChunkLines: 100, BatchSize: 25, Parallelism: 2}
	ref, _ := stagingConfig(t)
	refWorker := startWorker(t, ref)
	refRes := importAndWait(t, ref, "import-split-ref-"+ref.TaskQueue, in)
	require.NoError(t, refWorker.stop())
	require.Equal(t, int64(entities), refRes.Counts.Created)
	want := dbState(t, importDB(t, ref))
	data, err := os.ReadFile(src)
	require.NoError(t, err)

	stopWhileSplitting := func(t *testing.T, name string, body []byte, pause time.Duration) *sourceServer {
		srv := newSourceServer(t, name, body, pause)
		cfg, staging := stagingConfig(t)
		cfg.WorkerStopTimeout = time.Millisecond // abrupt: the split's context is cancelled
		first := startWorker(t, cfg)
		in := in
		in.Source = srv.URL + "/" + name
		run := startImport(t, cfg, "import-split-crash-"+cfg.TaskQueue, in)
		require.Eventually(t, func() bool { return len(stagedFiles(t, staging)) >= 4 }, 2*time.Minute, 10*time.Millisecond)
		first.stop()
		require.Less(t, srv.served.Load(), int64(len(body)), "the worker stopped before the end of the download")

		startWorker(t, cfg)
		res, err := waitForImport(t, run)
		require.NoError(t, err)
		requireSameState(t, want, dbState(t, importDB(t, cfg)))
		assert.Equal(t, int64(entities), res.Counts.Created+res.Counts.Unchanged)
		assert.Equal(t, int64(len(body)), res.Read.SourceBytes)
		assert.Empty(t, stagedFiles(t, staging))
		return srv
	}
	t.Run("plain", func(t *testing.T) {
		srv := stopWhileSplitting(t, "dump.json", data, 5*time.Millisecond)
		ranges := srv.rangesAsked()
		require.Len(t, ranges, 1, "the second attempt asks for the rest")
		assert.NotEqual(t, "bytes=0-", ranges[0])
		assert.Less(t, srv.served.Load(), int64(len(data))*3/2, "not downloaded twice")
	})
	t.Run("gzip", func(t *testing.T) {
		gz := gzipBytes(t, data)
		// A gzip dump is about a seventh of the plain one: a longer pause keeps the download
		// going while four chunks are staged.
		srv := stopWhileSplitting(t, "dump.json.gz", gz, 20*time.Millisecond)
		assert.Empty(t, srv.rangesAsked(), "read again from its start")
		assert.Less(t, srv.served.Load(), 2*int64(len(gz)), "the first attempt stopped before the end")
	})
}

// TestImportStoresChunksWhileTheSplitRuns imports a dump with its snaks' datatypes, as
// Wikidata's, from a slow server: chunks are stored while the split still downloads, none
// defers an entity or is stored again, and the database is the one an import of the same
// dump from a file gives.
func TestImportStoresChunksWhileTheSplitRuns(t *testing.T) {
	src, entities := writeWikidataLikeDump(t, 1500)
	in := workflows.ImportInput{Source: src, ChunkLines: 100, BatchSize: 25}
	ref, _ := stagingConfig(t)
	refWorker := startWorker(t, ref)
	importAndWait(t, ref, "import-overlap-ref-"+ref.TaskQueue, in)
	require.NoError(t, refWorker.stop())
	want := dbState(t, importDB(t, ref))

	data, err := os.ReadFile(src)
	require.NoError(t, err)
	srv := newSourceServer(t, "dump.json", data, 5*time.Millisecond) // some 6 s
	cfg, staging := stagingConfig(t)
	startWorker(t, cfg)
	in.Source = srv.URL + "/dump.json"
	id := "import-overlap-" + cfg.TaskQueue
	res := importAndWait(t, cfg, id, in)
	assert.Equal(t, int64(entities), res.Counts.Created)
	assert.Zero(t, res.Counts.Corrected)
	assert.Empty(t, res.DatatypeMismatches)
	h := splitHistory(t, id, "")
	assert.GreaterOrEqual(t, h.chunksDuring, 2, "chunks are stored while the split runs (%s)", h.split)
	t.Logf("%d of %d chunks stored during the %s split", h.chunksDuring, res.Chunks, h.split)
	requireSameState(t, want, dbState(t, importDB(t, cfg)))
	assert.Empty(t, stagedFiles(t, staging))
	checkReplay(t, "ImportWorkflow-while-splitting", id, "")
}

// TestImportOfACorruptBzip2FailsCleanly flips bytes in the middle of a bzip2 dump: the split
// fails at its first attempt with one line naming the file and the stream, nothing is left
// staged.
func TestImportOfACorruptBzip2FailsCleanly(t *testing.T) {
	if _, err := exec.LookPath("bzip2"); err != nil {
		t.Skip("no bzip2 command")
	}
	src, _ := writeSyntheticDump(t, 300)
	require.NoError(t, exec.Command("bzip2", "-k", src).Run())
	bz, err := os.ReadFile(src + ".bz2")
	require.NoError(t, err)
	for i := len(bz) / 2; i < len(bz)/2+64; i++ {
		bz[i] ^= 0x5a
	}
	corrupt := filepath.Join(t.TempDir(), "corrupt.json.bz2")
	require.NoError(t, os.WriteFile(corrupt, bz, 0o644))

	cfg, staging := stagingConfig(t)
	startWorker(t, cfg)
	id := "import-corrupt-" + cfg.TaskQueue
	_, err = waitForImport(t, startImport(t, cfg, id, workflows.ImportInput{Source: corrupt, ChunkLines: 50}))
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	assert.True(t, appErr.NonRetryable(), "%v", err)
	assert.True(t, permanent.Is(err, permanent.BadInput), "%v", err)
	msg := temporalx.FailureMessage(err)
	assert.True(t, strings.HasPrefix(msg, "SplitImport: import source "+corrupt+": the bzip2 stream is truncated or corrupt: "), msg)
	assert.NotContains(t, msg, "\n")
	assert.Equal(t, int32(1), activityAttempt(t, id, "SplitImport"))
	assert.Empty(t, stagedFiles(t, staging))
}

// BenchmarkImportOnePass imports a synthetic dump of 10k items (IMPORT_BENCH_ITEMS=100000,1000000
// for other sizes; `make bench` keeps to one), with its snaks' datatypes as in Wikidata's
// dumps, compressed (IMPORT_BENCH_COMPRESSION=gz,bz2; gz by default) and served over HTTP,
// through Temporal with the default chunk size, batch size and parallelism. It reports the
// rate, the bytes fetched and decompressed per byte of the source, the split's time and how
// many chunks were stored while it ran, and, up to 200k items, the rate against the same
// entities stored in process in the same run (storetest.ImportLines on two goroutines,
// BenchmarkImportVsBulkInsert's import path: no Temporal, staging or source reading).
func BenchmarkImportOnePass(b *testing.B) {
	sizes := []int{10000}
	if env := os.Getenv("IMPORT_BENCH_ITEMS"); env != "" {
		sizes = nil
		for _, f := range strings.Split(env, ",") {
			n, err := strconv.Atoi(f)
			require.NoError(b, err)
			sizes = append(sizes, n)
		}
	}
	compressions := strings.Split(cmp.Or(os.Getenv("IMPORT_BENCH_COMPRESSION"), "gz"), ",")
	for _, items := range sizes {
		src, entities := writeWikidataLikeDump(b, items)
		var inProcess float64
		if items <= 200000 {
			inProcess = importInProcess(b, src)
		}
		for _, compression := range compressions {
			b.Run(fmt.Sprintf("%s/%d", compression, items), func(b *testing.B) {
				file := compressFile(b, src, compression)
				sourceRate := benchSourceRate(b)
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					http.ServeFile(throttled(w, sourceRate), r, file)
				}))
				defer srv.Close()
				var rate, fetched, decompressed, split, during float64
				for i := 0; b.Loop(); i++ {
					cfg := testConfig(b)
					cfg.KafkaBridgeEnabled, cfg.OutboxRelayEnabled, cfg.EntityDiffEnabled = false, false, false
					cfg.ImportStagingURL = "file://" + b.TempDir()
					w := startWorker(b, cfg)
					start := time.Now()
					run, err := stack.client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
						ID: fmt.Sprintf("import-bench-%d-%s", i, cfg.TaskQueue), TaskQueue: cfg.TaskQueue,
					}, workflows.ImportWorkflow, workflows.ImportInput{Source: srv.URL + "/" + filepath.Base(file)})
					require.NoError(b, err)
					var res workflows.ImportResult
					require.NoError(b, run.Get(context.Background(), &res))
					elapsed := time.Since(start)
					require.Equal(b, int64(entities), res.Counts.Created)
					require.Zero(b, res.Counts.Corrected)
					rate = float64(entities) / elapsed.Seconds()
					h := splitHistory(b, run.GetID(), run.GetRunID())
					split, during = h.split.Seconds(), float64(h.chunksDuring)
					fetched = res.Read.FetchedPerByte()
					decompressed = float64(res.Read.DecompressedBytes) / float64(res.Counts.Bytes)
					require.NoError(b, w.stop())
				}
				b.ReportMetric(rate, "entities/s")
				b.ReportMetric(1e6/rate, "µs/entity")
				b.ReportMetric(fetched, "fetched/byte")
				b.ReportMetric(decompressed, "decompressed/byte")
				b.ReportMetric(split, "split_s")
				b.ReportMetric(during, "chunks-during-split")
				if inProcess > 0 {
					b.ReportMetric(inProcess, "in-process-entities/s")
					b.ReportMetric(rate/inProcess, "vs-in-process")
				}
			})
		}
	}
}

// importSplit is what the history of an import's first run says of its split: its time from
// scheduled to completed, and how many chunks completed before it.
type importSplit struct {
	split        time.Duration
	chunksDuring int
}

func splitHistory(t testing.TB, workflowID, runID string) importSplit {
	t.Helper()
	it := stack.client.GetWorkflowHistory(context.Background(), workflowID, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	scheduled := map[int64]string{}
	var splitAt time.Time
	var h importSplit
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			scheduled[ev.GetEventId()] = a.GetActivityType().GetName()
			if a.GetActivityType().GetName() == "SplitImport" {
				splitAt = ev.GetEventTime().AsTime()
			}
		}
		if a := ev.GetActivityTaskCompletedEventAttributes(); a != nil {
			switch scheduled[a.GetScheduledEventId()] {
			case "ImportChunk":
				h.chunksDuring++
			case "SplitImport":
				h.split = ev.GetEventTime().AsTime().Sub(splitAt)
				return h
			}
		}
	}
	t.Fatalf("SplitImport did not complete in %s's history", workflowID)
	return h
}

// compressFile writes src compressed as gz (Go's gzip) or bz2 (lbzip2 or bzip2) beside it.
func compressFile(b *testing.B, src, compression string) string {
	b.Helper()
	out := src + "." + compression
	if _, err := os.Stat(out); err == nil {
		return out
	}
	in, err := os.Open(src)
	require.NoError(b, err)
	defer in.Close()
	f, err := os.Create(out)
	require.NoError(b, err)
	defer f.Close()
	switch compression {
	case "gz":
		zw := gzip.NewWriter(f)
		_, err = io.Copy(zw, in)
		require.NoError(b, err)
		require.NoError(b, zw.Close())
	case "bz2":
		bzip2 := "bzip2"
		if _, err := exec.LookPath("lbzip2"); err == nil {
			bzip2 = "lbzip2" // on every core: 1 M items are 7 GB of JSON
		}
		cmd := exec.Command(bzip2, "-c")
		cmd.Stdin, cmd.Stdout = in, f
		require.NoError(b, cmd.Run())
	default:
		b.Fatalf("IMPORT_BENCH_COMPRESSION: %q: want gz or bz2", compression)
	}
	require.NoError(b, f.Close())
	return out
}

// importInProcess stores the dump's entities with storetest.ImportLines (batches of
// activities.DefaultImportBatchSize, two goroutines) into a database of their own, the
// properties' datatypes recorded first, and returns entities per second.
func importInProcess(b *testing.B, src string) float64 {
	b.Helper()
	f, err := os.Open(src)
	require.NoError(b, err)
	defer f.Close()
	var lines [][]byte
	datatypes := wikibase.DatatypeMap{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		line := bytes.TrimSuffix(sc.Bytes(), []byte(","))
		e, err := wikibase.ParseEntity(line)
		if err != nil {
			continue // the brackets and the malformed line
		}
		if e.Type == wikibase.TypeProperty {
			datatypes.AddProperty(e)
		}
		lines = append(lines, bytes.Clone(line))
	}
	require.NoError(b, sc.Err())
	db, _ := storetest.NewDB(b)
	s := &store.Entities{DB: db, DatatypeLookup: datatypes}
	ctx := context.Background()
	require.NoError(b, s.SaveDatatypes(ctx, datatypes))
	start := time.Now()
	require.NoError(b, storetest.ImportLines(ctx, s, lines, activities.DefaultImportBatchSize, 2))
	return float64(len(lines)) / time.Since(start).Seconds()
}
