package integration

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/entitybase/entitybase-workers/internal/config"
	"github.com/entitybase/entitybase-workers/internal/ids"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// idsClient is an ids.Client of the test's own allocators (scoped by its task queue), closed
// and its allocators terminated when the test ends.
func idsClient(t testing.TB, cfg config.Config, scope string, leaseTTL time.Duration) *ids.Client {
	t.Helper()
	c, err := ids.NewClient(stack.client, ids.Options{
		TaskQueue: cfg.TaskQueue, LeaseSize: cfg.IDLeaseSize, PrefetchAt: cfg.IDPrefetchAt, Scope: scope, LeaseTTL: leaseTTL,
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		for _, typ := range wikibase.EntityTypes {
			stack.client.TerminateWorkflow(context.Background(), ids.WorkflowID(typ, scope), "", "test over")
		}
	})
	return c
}

// allocation records what one caller got.
type allocation struct {
	mu  sync.Mutex
	ids []int64
}

func (a *allocation) add(got []int64) {
	a.mu.Lock()
	a.ids = append(a.ids, got...)
	a.mu.Unlock()
}

// callers runs perCaller Next calls of random sizes (1..maxN) on each of len(clients)*callersPer
// goroutines, checking each answer is ascending and of the asked length.
func callers(t *testing.T, clients []*ids.Client, callersPer, perCaller, maxN int, got *allocation) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for ci, c := range clients {
		for g := range callersPer {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(ci), uint64(g)))
				for range perCaller {
					n := 1 + rng.IntN(maxN)
					out, err := c.Next(ctx, "item", n)
					if err != nil {
						t.Errorf("Next(item, %d): %v", n, err)
						return
					}
					if len(out) != n || !sort.SliceIsSorted(out, func(i, j int) bool { return out[i] < out[j] }) {
						t.Errorf("Next(item, %d) = %d IDs, ascending %v", n, len(out), sort.SliceIsSorted(out, func(i, j int) bool { return out[i] < out[j] }))
						return
					}
					got.add(out)
				}
			}()
		}
	}
	wg.Wait()
}

type claim struct {
	version, start, end int64
	owner               string
}

func claims(t *testing.T, dsn, typ string) []claim {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Query("SELECT version, range_start, range_end, worker_id FROM id_range_claims WHERE entity_type = ? ORDER BY version", typ)
	require.NoError(t, err)
	defer rows.Close()
	var out []claim
	for rows.Next() {
		var c claim
		require.NoError(t, rows.Scan(&c.version, &c.start, &c.end, &c.owner))
		out = append(out, c)
	}
	require.NoError(t, rows.Err())
	return out
}

// requireClaimsInOrder checks the id_range_claims history: versions 1..n without a hole,
// each block starting above the previous one's end, so no block was claimed twice.
func requireClaimsInOrder(t *testing.T, cs []claim) {
	t.Helper()
	require.NotEmpty(t, cs)
	for i, c := range cs {
		require.Equal(t, int64(i+1), c.version)
		if i > 0 {
			require.Greater(t, c.start, cs[i-1].end, "block %d starts inside block %d", c.version, cs[i-1].version)
		}
	}
}

func requireUnique(t *testing.T, all []int64) map[int64]bool {
	t.Helper()
	seen := make(map[int64]bool, len(all))
	for _, id := range all {
		if seen[id] {
			t.Fatalf("ID %d handed out twice", id)
		}
		seen[id] = true
	}
	return seen
}

// requireNoGaps checks that every ID of every block this allocator claimed is accounted for:
// handed out, given back and waiting in the free list, not yet reached, in a lease recorded as
// abandoned, or skipped at or below the floor.
func requireNoGaps(t *testing.T, cs []claim, owner string, handed map[int64]bool, s ids.Status) {
	t.Helper()
	inRuns := func(id int64, runs []ids.Run) bool {
		for _, r := range runs {
			if id >= r.Start && id <= r.End {
				return true
			}
		}
		return false
	}
	var abandoned []ids.Run
	for _, l := range s.Leases {
		if l.State == ids.LeaseAbandoned {
			abandoned = append(abandoned, l.Runs...)
		}
	}
	var checked int
	for _, c := range cs {
		if c.owner != owner {
			continue
		}
		for id := c.start; id <= c.end; id++ {
			checked++
			switch {
			case handed[id]:
				require.False(t, inRuns(id, s.Free), "ID %d handed out and also free", id)
			case inRuns(id, s.Free), inRuns(id, abandoned), id <= s.Floor:
			case id >= s.NextID && id >= s.CurrentStart:
			default:
				t.Fatalf("ID %d of block %d-%d is neither handed out, free, abandoned nor ahead (next %d)", id, c.start, c.end, s.NextID)
			}
		}
	}
	require.Positive(t, checked)
}

// settledStatus is the item allocator's status once no block claim is in flight. A claim
// commits in id_range_claims before the allocator hears of it, so a test that compares the
// claims with BlocksClaimed waits for this. With no requests coming in, no new claim starts.
func settledStatus(t *testing.T, c *ids.Client) ids.Status {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st, err := c.Status(context.Background(), "item")
		require.NoError(t, err)
		if !st.Reserving {
			return st
		}
		require.True(t, time.Now().Before(deadline), "a block claim still in flight after 2 minutes")
		time.Sleep(20 * time.Millisecond)
	}
}

func allocatorOwner(t *testing.T, scope string) string {
	t.Helper()
	typ, _ := wikibase.ParseEntityType("item")
	desc, err := stack.client.DescribeWorkflowExecution(context.Background(), ids.WorkflowID(typ, scope), "")
	require.NoError(t, err)
	ex := desc.GetWorkflowExecutionInfo()
	first := ex.GetFirstRunId()
	if first == "" {
		first = ex.GetExecution().GetRunId()
	}
	return fmt.Sprintf("%s/%s/%s", stack.Namespace, ids.WorkflowID(typ, scope), first)
}

func TestIDsConcurrentCallersAcrossTwoWorkers(t *testing.T) {
	cfg := testConfig(t)
	cfg.IDRangeSize = 20_000
	cfg.IDLeaseSize = 100
	w1 := startWorker(t, cfg)
	cfg2 := cfg
	cfg2.WorkerID += "-b"
	startWorker(t, cfg2)

	scope := cfg.TaskQueue
	// 32 callers: 4 client processes × 8 goroutines, 1,000 allocations each of 1..20 IDs.
	clients := make([]*ids.Client, 4)
	for i := range clients {
		clients[i] = idsClient(t, cfg, scope, 0)
	}
	var got allocation
	start := time.Now()
	callers(t, clients, 8, 1000, 20, &got)
	t.Logf("%d IDs in %s", len(got.ids), time.Since(start))
	for _, c := range clients {
		require.NoError(t, c.Close(context.Background()))
	}
	handed := requireUnique(t, got.ids)
	require.Len(t, got.ids, len(handed))

	st := settledStatus(t, clients[0])
	require.Empty(t, st.Leases, "every lease was returned on Close")
	cs := claims(t, cfg.MySQLDSN, "Q")
	requireClaimsInOrder(t, cs)
	owner := allocatorOwner(t, scope)
	require.Equal(t, int64(len(cs)), st.BlocksClaimed)
	requireNoGaps(t, cs, owner, handed, st)
	// Blocks were used in order: every claimed block not reserved ahead starts at or below
	// the next ID, and the blocks reserved ahead are the newest claims.
	ahead := map[int64]bool{}
	for _, b := range st.NextBlocks {
		ahead[b.Start] = true
	}
	for i, c := range cs {
		if ahead[c.start] {
			require.GreaterOrEqual(t, i, len(cs)-len(st.NextBlocks), "block %d reserved ahead but not among the newest", c.version)
			continue
		}
		require.LessOrEqual(t, c.start, st.NextID, "block %d skipped", c.version)
	}

	// The allocator's history replays with the current code (the first run continued as new
	// at least once under this load, so replay both the first and the current run).
	replayAllocator(t, scope, owner)

	// /health shows the production allocators (not this test's scope): Q not started here.
	code, body := getJSON(t, w1.healthURL+"/health")
	require.Equal(t, 200, code, "%v", body)
	ranges := body["range_status"].(map[string]any)["ranges"].(map[string]any)
	require.Contains(t, ranges, "Q")
}

func replayAllocator(t *testing.T, scope, owner string) {
	t.Helper()
	typ, _ := wikibase.ParseEntityType("item")
	wfID := ids.WorkflowID(typ, scope)
	checkReplay(t, "", wfID, owner[strings.LastIndex(owner, "/")+1:])
	checkReplay(t, "", wfID, "")
}

func TestIDsWorkerKilledMidFlight(t *testing.T) {
	cfg := testConfig(t)
	cfg.IDRangeSize = 200
	cfg.IDLeaseSize = 20
	cfg.WorkerStopTimeout = 0 // no graceful drain: activities and tasks in flight are cut off
	w := startWorker(t, cfg)
	scope := cfg.TaskQueue
	clients := []*ids.Client{idsClient(t, cfg, scope, 0), idsClient(t, cfg, scope, 0)}

	var got allocation
	done := make(chan struct{})
	go func() {
		defer close(done)
		callers(t, clients, 4, 300, 10, &got)
	}()
	time.Sleep(700 * time.Millisecond)
	require.NoError(t, w.stop())
	got.mu.Lock()
	atKill := len(got.ids)
	got.mu.Unlock()
	time.Sleep(time.Second)
	cfg.WorkerID += "-restarted"
	startWorker(t, cfg)
	select {
	case <-done:
	case <-time.After(4 * time.Minute):
		t.Fatal("callers did not finish after the restart")
	}
	t.Logf("%d IDs before the kill, %d in total", atKill, len(got.ids))
	require.Less(t, atKill, len(got.ids), "allocations continued after the restart")
	for _, c := range clients {
		require.NoError(t, c.Close(context.Background()))
	}
	handed := requireUnique(t, got.ids)
	st := settledStatus(t, clients[0])
	cs := claims(t, cfg.MySQLDSN, "Q")
	requireClaimsInOrder(t, cs)
	require.Equal(t, int64(len(cs)), st.BlocksClaimed, "every claim in id_range_claims is a block the allocator holds or used")
	requireNoGaps(t, cs, allocatorOwner(t, scope), handed, st)
}

func TestIDsTwoAllocatorsRaceOnOneRow(t *testing.T) {
	cfgA := testConfig(t)
	cfgA.IDRangeSize = 100
	cfgA.IDLeaseSize = 10
	cfgB := testConfig(t)
	cfgB.IDRangeSize, cfgB.IDLeaseSize = cfgA.IDRangeSize, cfgA.IDLeaseSize
	cfgB.MySQLDSN = cfgA.MySQLDSN // two deployments, one database
	startWorker(t, cfgA)
	startWorker(t, cfgB)
	a := idsClient(t, cfgA, cfgA.TaskQueue, 0)
	b := idsClient(t, cfgB, cfgB.TaskQueue, 0)

	var gotA, gotB allocation
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); callers(t, []*ids.Client{a}, 4, 150, 10, &gotA) }()
	go func() { defer wg.Done(); callers(t, []*ids.Client{b}, 4, 150, 10, &gotB) }()
	wg.Wait()
	require.NoError(t, a.Close(context.Background()))
	require.NoError(t, b.Close(context.Background()))
	all := append(append([]int64{}, gotA.ids...), gotB.ids...)
	requireUnique(t, all)

	cs := claims(t, cfgA.MySQLDSN, "Q")
	requireClaimsInOrder(t, cs)
	ownerA, ownerB := allocatorOwner(t, cfgA.TaskQueue), allocatorOwner(t, cfgB.TaskQueue)
	owners := map[string]int{}
	for _, c := range cs {
		owners[c.owner]++
	}
	require.Equal(t, len(cs), owners[ownerA]+owners[ownerB], "every block has exactly one of the two owners")
	require.Positive(t, owners[ownerA])
	require.Positive(t, owners[ownerB])
	// Each allocator served only from its own blocks.
	inOwn := func(got []int64, owner string) {
		for _, id := range got {
			var ok bool
			for _, c := range cs {
				if id >= c.start && id <= c.end {
					require.Equal(t, owner, c.owner, "ID %d", id)
					ok = true
				}
			}
			require.True(t, ok, "ID %d outside every claimed block", id)
		}
	}
	inOwn(gotA.ids, ownerA)
	inOwn(gotB.ids, ownerB)
}

func TestIDsAbandonedLeaseIsRecordedAndValidatorRejects(t *testing.T) {
	cfg := testConfig(t)
	cfg.IDRangeSize = 1000
	cfg.IDLeaseSize = 10
	cfg.IDMin = map[string]int64{"Q": 1, "P": 30_000, "L": 1, "E": 1}
	startWorker(t, cfg)
	scope := cfg.TaskQueue
	ctx := context.Background()

	// A process takes a lease, uses 3 IDs and dies (no Close). Having used 3 of 10, it leased
	// a second sub-block ahead of time; both must be granted before their TTL is waited out.
	dead := idsClient(t, cfg, scope, 2*time.Second)
	got, err := dead.Next(ctx, "property", 3)
	require.NoError(t, err)
	require.Equal(t, []int64{30_000, 30_001, 30_002}, got, "ID_MIN_P applies")
	var expires time.Time
	require.Eventually(t, func() bool {
		st, err := dead.Status(ctx, "property")
		if err != nil || len(st.Leases) != 2 {
			return false
		}
		expires = st.Leases[1].Expires
		return true
	}, time.Minute, 20*time.Millisecond, "the dead process's second lease")

	time.Sleep(time.Until(expires) + 500*time.Millisecond)
	live := idsClient(t, cfg, scope, 0)
	next, err := live.Next(ctx, "P", 1)
	require.NoError(t, err)
	st, err := live.Status(ctx, "property")
	require.NoError(t, err)
	// Both leases of the dead process are abandoned now, cover what it got, and are never
	// served again.
	var abandonedIDs, maxEnd int64
	for _, l := range st.Leases {
		if l.State != ids.LeaseAbandoned {
			continue
		}
		require.Equal(t, dead.Holder(), l.Holder)
		abandonedIDs += l.Count
		for _, r := range l.Runs {
			maxEnd = max(maxEnd, r.End)
		}
	}
	require.Equal(t, int64(20), abandonedIDs)
	require.Equal(t, abandonedIDs, st.AbandonedIDs)
	require.Equal(t, maxEnd+1, next[0], "the live process continues right after the abandoned leases")

	// Bad requests are rejected by the Update validator with a clear message.
	_, err = live.Allocate(ctx, "property", 0)
	require.ErrorContains(t, err, "count must be between 1 and 10000, got 0")
	_, err = live.Allocate(ctx, "property", 10_001)
	require.ErrorContains(t, err, "count must be between 1 and 10000, got 10001")
	_, err = live.Next(ctx, "sense", 1)
	require.ErrorContains(t, err, `unknown entity type "sense"`)

	typ, _ := wikibase.ParseEntityType("property")
	checkReplay(t, "IDAllocatorWorkflow", ids.WorkflowID(typ, scope), "")
}

func TestIDsProductionAllocatorShowsInHealth(t *testing.T) {
	cfg := testConfig(t)
	cfg.IDMin = map[string]int64{"Q": 300_000_000, "P": 1, "L": 1, "E": 1}
	w := startWorker(t, cfg)
	// The unscoped allocator, as `starter ids next` and the importer use it.
	c := idsClient(t, cfg, "", 0)
	runs, err := c.Allocate(context.Background(), "item", 3)
	require.NoError(t, err)
	require.Equal(t, []ids.Run{{Start: 300_000_000, End: 300_000_002}}, runs)

	code, body := getJSON(t, w.healthURL+"/health")
	require.Equal(t, 200, code, "%v", body)
	ranges := body["range_status"].(map[string]any)["ranges"].(map[string]any)
	q := ranges["Q"].(map[string]any)
	require.Equal(t, 300_000_000.0, q["current_start"])
	require.Equal(t, 300_999_999.0, q["current_end"])
	require.Equal(t, 300_000_003.0, q["next_id"])
	require.Equal(t, 3.0, q["ids_used"])
	require.Equal(t, map[string]any{"state": "not started"}, ranges["P"])

	db, err := store.Open(context.Background(), cfg.MySQLDSN)
	require.NoError(t, err)
	defer db.Close()
	var owner string
	require.NoError(t, db.QueryRow("SELECT worker_id FROM id_ranges WHERE entity_type='Q'").Scan(&owner))
	require.Equal(t, allocatorOwner(t, ""), owner, "id_ranges records which allocator holds the block")
}

// benchWorker runs a worker for a benchmark on a fresh database and queue of its own.
func benchWorker(b *testing.B) config.Config {
	b.Helper()
	cfg := testConfig(b)
	startWorker(b, cfg)
	return cfg
}

// latencies is the outcome of running calls on concurrent goroutines.
type latencies struct {
	idsPerSec, p50, p99 float64 // p50/p99 in µs
}

// measure runs calls calls of fn on workers goroutines and returns IDs/s and latency quantiles.
func measure(b *testing.B, workers, calls, batch int, fn func(ctx context.Context) error) latencies {
	b.Helper()
	ctx := context.Background()
	var next atomic.Int64
	lat := make([][]time.Duration, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(calls) {
				t0 := time.Now()
				if err := fn(ctx); err != nil {
					b.Error(err)
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	q := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))].Nanoseconds()) / 1e3 }
	return latencies{idsPerSec: float64(calls*batch) / elapsed.Seconds(), p50: q(0.50), p99: q(0.99)}
}

// BenchmarkIDsNext measures ids.Client.Next with 16 concurrent callers for batch sizes 1, 10
// and 100 against the naive baseline, one MySQL transaction per ID incrementing a counter
// row, measured in the same run; and the Update path alone (one allocator Update per call).
func BenchmarkIDsNext(b *testing.B) {
	const callers = 16
	cfg := benchWorker(b)
	c, err := ids.NewClient(stack.client, ids.Options{TaskQueue: cfg.TaskQueue, LeaseSize: cfg.IDLeaseSize, PrefetchAt: cfg.IDPrefetchAt, Scope: cfg.TaskQueue})
	require.NoError(b, err)
	b.Cleanup(func() {
		c.Close(context.Background())
		typ, _ := wikibase.ParseEntityType("item")
		stack.client.TerminateWorkflow(context.Background(), ids.WorkflowID(typ, cfg.TaskQueue), "", "benchmark over")
	})
	db, err := store.Open(context.Background(), cfg.MySQLDSN)
	require.NoError(b, err)
	b.Cleanup(func() { db.Close() })
	_, err = db.Exec("CREATE TABLE bench_id_counter (id INT PRIMARY KEY, n BIGINT NOT NULL) ENGINE=InnoDB")
	require.NoError(b, err)
	_, err = db.Exec("INSERT INTO bench_id_counter VALUES (1, 0)")
	require.NoError(b, err)
	db.SetMaxOpenConns(callers)
	db.SetMaxIdleConns(callers)
	naiveID := func(ctx context.Context) error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		var n int64
		if err := tx.QueryRowContext(ctx, "SELECT n FROM bench_id_counter WHERE id = 1 FOR UPDATE").Scan(&n); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE bench_id_counter SET n = ? WHERE id = 1", n+1); err != nil {
			return err
		}
		return tx.Commit()
	}
	// Warm up: start the allocator and claim its first block outside the measurement.
	_, err = c.Next(context.Background(), "item", 1)
	require.NoError(b, err)

	for _, batch := range []int{1, 10, 100} {
		// The baseline is measured once per batch size (a fixed 3,000 transactions): it is
		// too slow to follow b.N.
		naive := measure(b, callers, max(3000/batch, callers), batch, func(ctx context.Context) error {
			for range batch {
				if err := naiveID(ctx); err != nil {
					return err
				}
			}
			return nil
		})
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			leased := measure(b, callers, b.N, batch, func(ctx context.Context) error {
				_, err := c.Next(ctx, "item", batch)
				return err
			})
			b.ReportMetric(leased.idsPerSec, "ids/s")
			b.ReportMetric(leased.p50, "p50-µs")
			b.ReportMetric(leased.p99, "p99-µs")
			b.ReportMetric(naive.idsPerSec, "naive-ids/s")
			b.ReportMetric(naive.p99, "naive-p99-µs")
			b.ReportMetric(leased.idsPerSec/naive.idsPerSec, "x-naive")
		})
	}
	// One allocator Update per call. The server admits only a few in-flight Updates per
	// workflow (10 by default), so this runs 1 and 8 callers rather than 16.
	for _, n := range []int{1, 8} {
		b.Run(fmt.Sprintf("update-path/callers=%d", n), func(b *testing.B) {
			up := measure(b, n, b.N, 1, func(ctx context.Context) error {
				_, err := c.Allocate(ctx, "item", 1)
				return err
			})
			b.ReportMetric(up.idsPerSec, "ids/s")
			b.ReportMetric(up.p50, "p50-µs")
			b.ReportMetric(up.p99, "p99-µs")
		})
	}
}
