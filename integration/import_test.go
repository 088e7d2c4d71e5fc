package integration

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.temporal.io/sdk/client"

	"github.com/entitybase/entitybase-workers/activities"
	"github.com/entitybase/entitybase-workers/internal/config"
	"github.com/entitybase/entitybase-workers/internal/events"
	"github.com/entitybase/entitybase-workers/internal/fixtures"
	"github.com/entitybase/entitybase-workers/internal/outbox"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
	"github.com/entitybase/entitybase-workers/internal/wikibase/synth"
	"github.com/entitybase/entitybase-workers/workflows"
)

func importDB(t *testing.T, cfg config.Config) *sql.DB {
	t.Helper()
	db, err := store.Open(context.Background(), cfg.MySQLDSN)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func startImport(t *testing.T, cfg config.Config, id string, in workflows.ImportInput) client.WorkflowRun {
	t.Helper()
	run, err := stack.client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: id, TaskQueue: cfg.TaskQueue, WorkflowExecutionTimeout: 5 * time.Minute,
	}, workflows.ImportWorkflow, in)
	require.NoError(t, err)
	return run
}

func importAndWait(t *testing.T, cfg config.Config, id string, in workflows.ImportInput) workflows.ImportResult {
	t.Helper()
	run := startImport(t, cfg, id, in)
	var res workflows.ImportResult
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	require.NoError(t, run.Get(ctx, &res))
	return res
}

func dbCounts(t *testing.T, db *sql.DB) (revisions, events int) {
	t.Helper()
	require.NoError(t, db.QueryRow("SELECT (SELECT COUNT(*) FROM entity_revisions), (SELECT COUNT(*) FROM entity_change_outbox)").Scan(&revisions, &events))
	return revisions, events
}

// TestImportRealEntitiesRoundTripAndReimport imports the real Wikidata entities through the
// workflow, reads each back from the store and compares it with Wikidata's dump form; a second
// import changes nothing.
func TestImportRealEntitiesRoundTripAndReimport(t *testing.T) {
	wikidata := filepath.Join(fixtures.SharedDir(t), "fixtures", "wikidata")
	cfg := testConfig(t)
	cfg.KafkaBridgeEnabled = false
	startWorker(t, cfg)
	db := importDB(t, cfg)
	in := workflows.ImportInput{Source: filepath.Join(wikidata, "entities"), PropertiesCSV: filepath.Join(wikidata, "properties.csv")}

	res := importAndWait(t, cfg, "import-real-1-"+cfg.TaskQueue, in)
	files, err := filepath.Glob(filepath.Join(wikidata, "entities", "*.json"))
	require.NoError(t, err)
	assert.Equal(t, activities.ImportCounts{Created: int64(len(files)), Bytes: res.Counts.Bytes}, res.Counts)
	assert.Empty(t, res.Rejections)

	entities := &store.Entities{DB: db}
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		var doc struct {
			Entities map[string]map[string]any `json:"entities"`
		}
		require.NoError(t, json.Unmarshal(data, &doc))
		for id, want := range doc.Entities {
			fixtures.DumpForm(want, false)
			head, err := entities.Head(context.Background(), id)
			require.NoError(t, err)
			rev, err := entities.Revision(context.Background(), id, head.RevisionID)
			require.NoError(t, err)
			var got map[string]any
			require.NoError(t, json.Unmarshal(rev.Line, &got))
			assert.Equal(t, want, got, "%s read back from the store is Wikidata's dump form", id)
		}
	}
	revisions, evs := dbCounts(t, db)
	assert.Equal(t, len(files), revisions)
	assert.Equal(t, len(files), evs)

	checkReplay(t, "ImportWorkflow", "import-real-1-"+cfg.TaskQueue, "")

	again := importAndWait(t, cfg, "import-real-2-"+cfg.TaskQueue, in)
	assert.Equal(t, activities.ImportCounts{Unchanged: int64(len(files)), Bytes: res.Counts.Bytes}, again.Counts)
	revisions2, evs2 := dbCounts(t, db)
	assert.Equal(t, []int{revisions, evs}, []int{revisions2, evs2}, "no new revisions, no new events")
}

// writeSyntheticDump writes items, lexemes and (last, so that the datatypes matter) the
// properties of a synthetic generator as a JSON dump, with one malformed line. Its snaks have
// no datatype: each needs its property's, read at the end.
func writeSyntheticDump(t testing.TB, items int) (string, int) {
	return writeGeneratedDump(t, items, nil)
}

// writeWikidataLikeDump writes the dump writeSyntheticDump does, but every snak has its
// property's datatype, as in Wikidata's dumps.
func writeWikidataLikeDump(t testing.TB, items int) (string, int) {
	return writeGeneratedDump(t, items, synth.New(42).Datatypes())
}

func writeGeneratedDump(t testing.TB, items int, snakDatatypes wikibase.DatatypeLookup) (string, int) {
	t.Helper()
	g := synth.New(42)
	enc := &wikibase.Encoder{Datatypes: snakDatatypes}
	path := filepath.Join(t.TempDir(), "synthetic.json")
	f, err := os.Create(path)
	require.NoError(t, err)
	w := bufio.NewWriterSize(f, 1<<20)
	lines := 0
	write := func(line []byte) {
		sep := ",\n"
		if lines == 0 {
			sep = "[\n"
		}
		_, err := w.WriteString(sep)
		require.NoError(t, err)
		_, err = w.Write(line)
		require.NoError(t, err)
		lines++
	}
	add := func(e *wikibase.Entity) {
		b, err := enc.Marshal(e, nil)
		require.NoError(t, err)
		write(b)
	}
	for i := range items {
		add(g.Item())
		if i == items/2 {
			write([]byte(`{"type":"item","id":"Q999999999","labels":{"en":`))
		}
		if i%20 == 0 {
			add(g.Lexeme())
		}
	}
	for _, p := range g.Properties()[:200] {
		add(p)
	}
	_, err = w.WriteString("\n]\n")
	require.NoError(t, err)
	require.NoError(t, w.Flush())
	require.NoError(t, f.Close())
	return path, lines - 1
}

// dbState lists, table by table, what an import leaves behind, without timestamps or internal
// ids, one string per row.
func dbState(t *testing.T, db *sql.DB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for table, q := range map[string]string{
		// Revision IDs come from one sequence in the order the chunks wrote, which differs
		// between runs; an entity's revisions are compared by their order (1, 2, …), and a
		// revision's from_revision_id by whether it names the one before.
		"entity_revisions": `SELECT m.entity_id,
 ROW_NUMBER() OVER (PARTITION BY r.internal_id ORDER BY r.revision_id),
 COALESCE(r.from_revision_id = LAG(r.revision_id) OVER (PARTITION BY r.internal_id ORDER BY r.revision_id), r.from_revision_id = 0),
 HEX(r.content_hash), r.statements, r.qualifiers, r.references_count, r.sitelinks, r.identifiers, r.labels, r.properties
 FROM entity_revisions r JOIN entity_id_mapping m ON m.internal_id = r.internal_id ORDER BY m.entity_id, r.revision_id`,
		"entity_head": `SELECT m.entity_id,
 (SELECT COUNT(*) FROM entity_revisions r WHERE r.internal_id = h.internal_id AND r.revision_id <= h.head_revision_id),
 h.is_deleted, h.is_redirect FROM entity_head h
 JOIN entity_id_mapping m ON m.internal_id = h.internal_id ORDER BY m.entity_id`,
		"entity_change_outbox": `SELECT entity_id, ROW_NUMBER() OVER (PARTITION BY entity_id ORDER BY revision_id),
 JSON_REMOVE(payload, '$.changed_at', '$.revision_id', '$.from_revision_id')
 FROM entity_change_outbox ORDER BY entity_id, revision_id`,
		"entity_backlinks": `SELECT a.entity_id, b.entity_id, l.statement_id, l.property_id, l.rank FROM entity_backlinks l
 JOIN entity_id_mapping a ON a.internal_id = l.referencing_internal_id
 JOIN entity_id_mapping b ON b.internal_id = l.referenced_internal_id ORDER BY 1, 2, 3`,
		"property_datatypes": `SELECT property_id, datatype FROM property_datatypes ORDER BY property_id`,
		"entity_id_mapping":  `SELECT entity_id, entity_type, numeric_id FROM entity_id_mapping ORDER BY entity_id`,
	} {
		rows, err := db.Query(q)
		require.NoError(t, err)
		cols, err := rows.Columns()
		require.NoError(t, err)
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			require.NoError(t, rows.Scan(ptrs...))
			var b strings.Builder
			for _, v := range vals {
				b.Write(v)
				b.WriteByte('|')
			}
			out[table] = append(out[table], b.String())
		}
		require.NoError(t, rows.Err())
		rows.Close()
	}
	return out
}

// requireSameState compares two dbState results table by table, naming the first difference.
func requireSameState(t *testing.T, want, got map[string][]string) {
	t.Helper()
	for table, w := range want {
		g := got[table]
		for i := range max(len(w), len(g)) {
			var wr, gr string
			if i < len(w) {
				wr = w[i]
			}
			if i < len(g) {
				gr = g[i]
			}
			if wr != gr {
				t.Fatalf("%s differs at row %d (want %d rows, got %d):\nwant %.300s\n got %.300s", table, i, len(w), len(g), wr, gr)
			}
		}
	}
}

// TestImportResumesAfterWorkerStops stops the worker in the middle of an import and starts a
// new one: the database ends up identical to an uninterrupted import's.
func TestImportResumesAfterWorkerStops(t *testing.T) {
	src, entities := writeSyntheticDump(t, 1500)
	in := workflows.ImportInput{Source: src, ChunkLines: 100, BatchSize: 25, Parallelism: 2}

	// Reference: an uninterrupted import.
	ref := testConfig(t)
	ref.KafkaBridgeEnabled, ref.OutboxRelayEnabled = false, false
	refWorker := startWorker(t, ref)
	refRes := importAndWait(t, ref, "import-ref-"+ref.TaskQueue, in)
	require.NoError(t, refWorker.stop())
	assert.Equal(t, int64(entities), refRes.Counts.Created)
	assert.Equal(t, int64(1), refRes.Counts.Rejected)
	want := dbState(t, importDB(t, ref))

	// graceful: running activities get WORKER_STOP_TIMEOUT to finish. abrupt: their contexts
	// are cancelled after 1 ms, whatever they are doing (a batch in flight is rolled back), the
	// nearest an in-process test gets to a killed worker.
	for _, stopTimeout := range []time.Duration{5 * time.Second, time.Millisecond} {
		name := map[bool]string{true: "graceful", false: "abrupt"}[stopTimeout > time.Second]
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.KafkaBridgeEnabled, cfg.OutboxRelayEnabled = false, false
			cfg.WorkerStopTimeout = stopTimeout
			first := startWorker(t, cfg)
			run := startImport(t, cfg, "import-crash-"+cfg.TaskQueue, in)
			db := importDB(t, cfg)
			// Stop the worker once part of the entities pass is stored.
			require.Eventually(t, func() bool {
				var n int
				return db.QueryRow("SELECT COUNT(*) FROM entity_head").Scan(&n) == nil && n > 400
			}, 2*time.Minute, 20*time.Millisecond)
			first.stop()
			var partial int
			require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM entity_head").Scan(&partial))
			require.Less(t, partial, entities, "the worker stopped before the end")

			startWorker(t, cfg)
			var res workflows.ImportResult
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			require.NoError(t, run.Get(ctx, &res))
			requireSameState(t, want, dbState(t, db))
			assert.Equal(t, int64(entities), res.Counts.Created+res.Counts.Unchanged)
			assert.Equal(t, int64(1), res.Counts.Rejected)
		})
	}
}

// TestImportWithKafkaDownLosesNoEvent imports while the worker's Kafka broker is down; when it
// comes up the outbox drains and every event arrives, in revision order per entity.
func TestImportWithKafkaDownLosesNoEvent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	addr := fmt.Sprintf("127.0.0.1:%d", port)

	cfg := testConfig(t)
	cfg.KafkaBridgeEnabled = false
	cfg.KafkaBrokers = []string{addr}
	cfg.OutboxPollInterval = 50 * time.Millisecond
	startWorker(t, cfg)
	db := importDB(t, cfg)

	src, entities := writeSyntheticDump(t, 200)
	res := importAndWait(t, cfg, "import-kafka-1-"+cfg.TaskQueue, workflows.ImportInput{Source: src, ChunkLines: 50})
	require.Equal(t, int64(entities), res.Counts.Created)
	// An edit of a few entities: second revisions, to check the order per entity.
	s := &store.Entities{DB: db}
	for _, id := range []string{"Q1", "Q2", "Q3"} {
		_, err := s.Save(context.Background(), store.SaveRequest{Entity: &wikibase.Entity{Type: "item", ID: id,
			Labels: []wikibase.Term{{Language: "en", Value: "edited " + id}}}})
		require.NoError(t, err)
	}
	pending, err := outbox.Pending(context.Background(), db)
	require.NoError(t, err)
	require.Equal(t, int64(entities+3), pending, "Kafka is down: every event waits in the outbox")

	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port), kfake.SeedTopics(4, cfg.EntityChangeTopic))
	require.NoError(t, err)
	defer cluster.Close()
	require.Eventually(t, func() bool {
		n, err := outbox.Pending(context.Background(), db)
		return err == nil && n == 0
	}, 2*time.Minute, 100*time.Millisecond)

	got := map[string][]int64{}
	total := 0
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for p := 0; p < 4; p++ {
		conn, err := kafka.DialLeader(ctx, "tcp", addr, cfg.EntityChangeTopic, p)
		require.NoError(t, err)
		last, err := conn.ReadLastOffset()
		require.NoError(t, err)
		conn.Close()
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{addr}, Topic: cfg.EntityChangeTopic, Partition: p, MaxWait: 200 * time.Millisecond})
		for off := int64(0); off < last; off++ {
			m, err := r.ReadMessage(ctx)
			require.NoError(t, err)
			ev, err := events.ParseEntityChange(m.Value)
			require.NoError(t, err)
			got[ev.EntityID] = append(got[ev.EntityID], ev.RevisionID)
			total++
		}
		r.Close()
	}
	assert.Equal(t, entities+3, total, "every event published once")
	for id, n := range map[string]int{"Q1": 2, "Q3": 2, "Q10": 1} {
		assert.Len(t, got[id], n, id)
		assert.True(t, slices.IsSorted(got[id]), "%s: events in revision order: %v", id, got[id])
	}
}
