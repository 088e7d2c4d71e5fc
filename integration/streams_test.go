package integration

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/entitybase/entitybase-workers/internal/config"
	"github.com/entitybase/entitybase-workers/internal/events"
	"github.com/entitybase/entitybase-workers/internal/rdf"
	"github.com/entitybase/entitybase-workers/internal/rdfdiff"
	"github.com/entitybase/entitybase-workers/internal/sample"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/workflows"
)

// streamWorkflows lists the IDs of the workflows (any status, any run) on the stream queue.
func streamWorkflows(t testing.TB, cfg config.Config) map[string]string {
	t.Helper()
	ids := map[string]string{}
	var token []byte
	for {
		resp, err := stack.client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("TaskQueue = '%s'", cfg.StreamQueue()), NextPageToken: token,
		})
		require.NoError(t, err)
		for _, e := range resp.GetExecutions() {
			ids[e.GetExecution().GetWorkflowId()] = e.GetType().GetName()
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return ids
		}
	}
}

// countPublished counts the entities whose rdf_change events are published.
func countPublished(t testing.TB, db *sql.DB) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM entity_diff_state WHERE revision_id > 0").Scan(&n))
	return n
}

// TestJobsDoNotWaitBehindAStreamBacklog: a worker of both roles, its stream worker held to
// one activity slot, gets 20,000 entity changes at once (a seed); before they are drained, a
// general stats run, an ID allocation and a JSON dump of the properties finish promptly on the
// jobs queue, with the right values.
func TestJobsDoNotWaitBehindAStreamBacklog(t *testing.T) {
	const n = 20000
	cfg := entityDiffConfig(t)
	cfg.StreamWorkflowSlots, cfg.StreamActivitySlots, cfg.EntityDiffShards = 2, 1, 4
	cfg.DumpURL = "file://" + t.TempDir()
	startWorker(t, cfg)
	db := dumpDB(t, cfg)
	ctx := context.Background()

	seedStart := time.Now()
	seeded, err := sample.Seed(ctx, db, sample.SeedOptions{Entities: n, Seed: 3, Batch: 1000, Limits: cfg.EntityLimits})
	require.NoError(t, err)
	require.Equal(t, n+seeded.Properties, seeded.Created, "the entities and the generator's properties")
	t.Logf("seeded %d entities in %s", n, time.Since(seedStart).Round(time.Millisecond))
	// The backlog reaches the stream: the outbox relay publishes, the bridge signals.
	require.Eventually(t, func() bool { return countPublished(t, db) > 0 }, 60*time.Second, 100*time.Millisecond)

	// General stats on the jobs queue.
	start := time.Now()
	run, err := stack.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "stats-" + cfg.TaskQueue, TaskQueue: cfg.TaskQueue},
		workflows.GeneralStatsWorkflow, workflows.GeneralStatsWorkflowInput{})
	require.NoError(t, err)
	var stats struct {
		Stats struct{ Items, Lexemes, Properties int64 }
	}
	require.NoError(t, run.Get(ctx, &stats))
	statsTook := time.Since(start)
	lexemes := int64(n / 20)
	require.Equal(t, int64(n)-lexemes, stats.Stats.Items)
	require.Equal(t, lexemes, stats.Stats.Lexemes)
	require.Equal(t, int64(seeded.Properties), stats.Stats.Properties)

	// An ID: above every seeded item (the seed raised the allocator's floor).
	start = time.Now()
	got, err := idsClient(t, cfg, cfg.TaskQueue, time.Minute).Next(ctx, "Q", 1)
	require.NoError(t, err)
	idTook := time.Since(start)
	require.Len(t, got, 1)
	var highestItem int64
	require.NoError(t, db.QueryRow("SELECT MAX(numeric_id) FROM entity_id_mapping WHERE entity_type = 'Q'").Scan(&highestItem))
	require.Greater(t, got[0], highestItem)

	// A small JSON dump: the properties.
	start = time.Now()
	res := waitDump(t, startDump(t, cfg, "dump-"+cfg.TaskQueue, workflows.DumpInput{Format: "json", EntityTypes: []string{"property"}}), 5*time.Minute)
	dumpTook := time.Since(start)
	require.Equal(t, int64(seeded.Properties), res.EntityCount)

	published := countPublished(t, db)
	t.Logf("with %d of %d entity changes still unpublished: general stats %s, ID %s, property dump %s",
		seeded.Created-published, seeded.Created, statsTook.Round(time.Millisecond), idTook.Round(time.Millisecond), dumpTook.Round(time.Millisecond))
	require.Less(t, published, seeded.Created, "the jobs ran while the stream had a backlog")
	require.Less(t, statsTook, 30*time.Second)
	require.Less(t, idTook, 5*time.Second)
	require.Less(t, dumpTook, 30*time.Second)
	// The streams never ran on the jobs queue.
	for id, typ := range streamWorkflows(t, cfg) {
		require.Equal(t, "EntityDiffShardWorkflow", typ, id)
	}
}

// TestEntityDiffSeedOpensOnlyTheShards: a seed of 5,000 entities becomes 5,000 exact
// imports through at most ENTITY_DIFF_SHARDS workflows.
func TestEntityDiffSeedOpensOnlyTheShards(t *testing.T) {
	const n = 5000
	cfg := entityDiffConfig(t)
	cfg.EntityDiffShards = 4
	startWorker(t, cfg)
	db := dumpDB(t, cfg)
	ctx := context.Background()
	r := diffReader(t, cfg)

	start := time.Now()
	seeded, err := sample.Seed(ctx, db, sample.SeedOptions{Entities: n, Seed: 5, Batch: 500, Limits: cfg.EntityLimits})
	require.NoError(t, err)
	seedTook := time.Since(start)
	got := readChanges(t, r, n+seeded.Properties, 10*time.Minute)
	took := time.Since(start)
	require.Len(t, got, n+seeded.Properties, "one import per entity, the properties' too")
	t.Logf("seed of %d entities (+%d properties) in %s; all imports published after %s", n, seeded.Properties,
		seedTook.Round(time.Millisecond), took.Round(time.Millisecond))

	wfs := streamWorkflows(t, cfg)
	require.LessOrEqual(t, len(wfs), cfg.EntityDiffShards, "open workflows do not grow with the entities: %v", wfs)
	for id, typ := range wfs {
		require.Equal(t, "EntityDiffShardWorkflow", typ)
		require.True(t, strings.HasPrefix(id, "entity-diff-"+cfg.EntityChangeTopic+"-shard-"), id)
	}

	datatypes, err := (&store.Entities{DB: db}).Datatypes(ctx)
	require.NoError(t, err)
	rdfCfg := rdf.WikidataConfig()
	props := rdf.NewPropertyInfo(rdfCfg)
	props.AddDatatypes(datatypes)
	b, err := rdfdiff.NewBuilder(rdfCfg, props)
	require.NoError(t, err)
	heads := headRevisions(t, db)
	seen := map[string]bool{}
	for _, c := range got {
		id := c.event.EntityID
		require.False(t, seen[id], "one import of %s", id)
		seen[id] = true
		require.Equal(t, events.RDFImport, c.event.Operation, id)
		require.Equal(t, heads[id], c.event.RevID, "the import is of %s's one stored revision", id)
		want := renderStored(t, b, db, id, heads[id])
		require.Equal(t, sorted(want.Owned), sorted(c.diff.Added), "added data of %s is its RDF", id)
		require.Equal(t, sorted(want.Shared), sorted(c.diff.Linked), "linked shared data of %s", id)
		require.Empty(t, c.diff.Deleted, id)
	}
	require.Equal(t, n+seeded.Properties, countPublished(t, db))
	for id := range wfs {
		st := shardStatsOf(t, id)
		require.Zero(t, st.Failed, id)
		t.Logf("%s: %+v", id, st)
	}
	checkReplay(t, "", firstKey(wfs), "")
}

func firstKey(m map[string]string) string {
	for k := range m {
		return k
	}
	return ""
}

// headRevisions is every stored entity's head revision ID.
func headRevisions(t *testing.T, db *sql.DB) map[string]int64 {
	t.Helper()
	rows, err := db.Query(`SELECT m.entity_id, h.head_revision_id FROM entity_head h
 JOIN entity_id_mapping m ON m.internal_id = h.internal_id`)
	require.NoError(t, err)
	defer rows.Close()
	heads := map[string]int64{}
	for rows.Next() {
		var id string
		var rev int64
		require.NoError(t, rows.Scan(&id, &rev))
		heads[id] = rev
	}
	require.NoError(t, rows.Err())
	return heads
}

// BenchmarkStreamBacklog measures the change streams beside a bulk write, with the default
// stream settings, everything on this machine. Its two cases:
//
//   - bulk: ENTITY_DIFF_BENCH_SEED entities (default 5,000; the case is 100,000) are
//     seeded into a worker of both roles; it reports the seed's wall time, when the last
//     import event was published (and its ratio to the seed) and the most workflows open on
//     the worker's two queues at any sample (every second).
//   - jobs: the same seed into a worker of the jobs role only, so every change waits in the
//     outbox; a general stats run, an ID allocation and a JSON dump of everything stored are
//     timed there (no stream running), then again once a worker of the streams role has
//     started on the backlog, with the number of changes still unpublished then (at least
//     ENTITY_DIFF_BENCH_BACKLOG, default 50,000 or the seed's size, is required).
func BenchmarkStreamBacklog(b *testing.B) {
	n := envInt("ENTITY_DIFF_BENCH_SEED", 5000)
	b.Run("bulk", func(b *testing.B) { benchBulkSeed(b, n) })
	b.Run("jobs", func(b *testing.B) { benchJobsBesideABacklog(b, n, min(n, envInt("ENTITY_DIFF_BENCH_BACKLOG", 50000))) })
}

func benchBulkSeed(b *testing.B, n int) {
	cfg := benchStreamConfig(b)
	startWorker(b, cfg)
	db := dumpDB(b, cfg)
	ctx := context.Background()
	openWorkflows := func() int {
		resp, err := stack.client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
			Query: fmt.Sprintf("ExecutionStatus = 'Running' AND (TaskQueue = '%s' OR TaskQueue = '%s')", cfg.TaskQueue, cfg.StreamQueue()),
		})
		require.NoError(b, err)
		return int(resp.GetCount())
	}

	b.ResetTimer()
	start := time.Now()
	var seeded sample.SeedResult
	var seedTook time.Duration
	seedDone := make(chan error, 1)
	go func() {
		var err error
		seeded, err = sample.Seed(ctx, db, sample.SeedOptions{Entities: n, Seed: 11, Batch: 1000, Limits: cfg.EntityLimits})
		seedTook = time.Since(start)
		seedDone <- err
	}()
	maxOpen, maxBacklog, seeding := 0, 0, true
	for {
		if seeding {
			select {
			case err := <-seedDone:
				require.NoError(b, err)
				seeding = false
			default:
			}
		}
		maxOpen = max(maxOpen, openWorkflows())
		s, p := storedEntities(b, db), countPublished(b, db)
		maxBacklog = max(maxBacklog, s-p)
		if !seeding && p == s {
			break
		}
		time.Sleep(time.Second)
	}
	published := time.Since(start)
	b.StopTimer()
	require.Equal(b, n+seeded.Properties, seeded.Created)
	b.ReportMetric(seedTook.Seconds(), "seed_s")
	b.ReportMetric(published.Seconds(), "published_s")
	b.ReportMetric(published.Seconds()/seedTook.Seconds(), "published/seed")
	b.ReportMetric(float64(maxOpen), "max_open_workflows")
	b.ReportMetric(float64(maxBacklog), "max_backlog")
}

// storedEntities counts the entities stored.
func storedEntities(t testing.TB, db *sql.DB) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM entity_head").Scan(&n))
	return n
}

func benchJobsBesideABacklog(b *testing.B, n, wantBacklog int) {
	cfg := benchStreamConfig(b)
	cfg.DumpURL = "file://" + b.TempDir()
	jobsWorker := cfg
	jobsWorker.Roles = []string{config.RoleJobs}
	startWorker(b, jobsWorker)
	db := dumpDB(b, cfg)
	ctx := context.Background()
	run := 0
	jobs := func() (stats, id, dump time.Duration) {
		run++
		start := time.Now()
		wf, err := stack.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("stats-%d-%s", run, cfg.TaskQueue), TaskQueue: cfg.TaskQueue},
			workflows.GeneralStatsWorkflow, workflows.GeneralStatsWorkflowInput{})
		require.NoError(b, err)
		require.NoError(b, wf.Get(ctx, nil))
		stats = time.Since(start)
		start = time.Now()
		_, err = idsClient(b, cfg, fmt.Sprintf("bench-%d", run), time.Minute).Next(ctx, "Q", 1)
		require.NoError(b, err)
		id = time.Since(start)
		start = time.Now()
		res := waitDump(b, startDump(b, cfg, fmt.Sprintf("dump-%d-%s", run, cfg.TaskQueue), workflows.DumpInput{Format: "json", Force: true}), 10*time.Minute)
		dump = time.Since(start)
		require.Positive(b, res.EntityCount)
		return stats, id, dump
	}
	seeded, err := sample.Seed(ctx, db, sample.SeedOptions{Entities: n, Seed: 11, Batch: 1000, Limits: cfg.EntityLimits})
	require.NoError(b, err)
	require.Equal(b, n+seeded.Properties, seeded.Created)

	b.ResetTimer()
	idleStats, idleID, idleDump := jobs()
	streamsWorker := cfg
	streamsWorker.Roles, streamsWorker.WorkerID = []string{config.RoleStreams}, cfg.WorkerID+"-streams"
	startWorker(b, streamsWorker)
	require.Eventually(b, func() bool { return countPublished(b, db) > 0 }, 2*time.Minute, 100*time.Millisecond, "the stream starts")
	stats, id, dump := jobs()
	backlog := storedEntities(b, db) - countPublished(b, db)
	b.StopTimer()
	b.Logf("with %d of %d changes unpublished: stats %s, ID %s, JSON dump %s; without a stream running: %s, %s, %s",
		backlog, seeded.Created, stats, id, dump, idleStats, idleID, idleDump)
	require.GreaterOrEqual(b, backlog, wantBacklog, "the jobs ran beside a backlog of at least ENTITY_DIFF_BENCH_BACKLOG changes")
	b.ReportMetric(float64(backlog), "backlog")
	b.ReportMetric(stats.Seconds(), "stats_backlog_s")
	b.ReportMetric(id.Seconds(), "id_backlog_s")
	b.ReportMetric(dump.Seconds(), "dump_backlog_s")
	b.ReportMetric(idleStats.Seconds(), "stats_idle_s")
	b.ReportMetric(idleID.Seconds(), "id_idle_s")
	b.ReportMetric(idleDump.Seconds(), "dump_idle_s")
}
