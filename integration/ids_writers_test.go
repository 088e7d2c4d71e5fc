package integration

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/entitybase/entitybase-workers/internal/config"
	"github.com/entitybase/entitybase-workers/internal/ids"
	"github.com/entitybase/entitybase-workers/internal/sample"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
	"github.com/entitybase/entitybase-workers/workflows"
)

// The tests of this file write entities with IDs of their own (seed, import) into the range
// the allocator serves, before and while it hands IDs out.

// writersConfig is a test configuration without the Kafka relay and bridges, which these
// tests do not need.
func writersConfig(t *testing.T) config.Config {
	cfg := testConfig(t)
	cfg.KafkaBridgeEnabled, cfg.OutboxRelayEnabled = false, false
	return cfg
}

// startWriters runs a worker with blocks of 1,000 IDs and returns its configuration, a client
// of its allocators and its database.
func startWriters(t *testing.T) (config.Config, *ids.Client, *sql.DB) {
	cfg := writersConfig(t)
	cfg.IDRangeSize = 1000
	startWorker(t, cfg)
	return cfg, idsClient(t, cfg, cfg.TaskQueue, 0), importDB(t, cfg)
}

// runIDs lists the IDs of runs.
func runIDs(runs []ids.Run) []int64 {
	var out []int64
	for _, r := range runs {
		for id := r.Start; id <= r.End; id++ {
			out = append(out, id)
		}
	}
	return out
}

// requireNotStored fails if any of the numeric IDs of type typ has an entity_id_mapping row.
func requireNotStored(t *testing.T, db *sql.DB, typ string, handed []int64) {
	t.Helper()
	require.NotEmpty(t, handed)
	for start := 0; start < len(handed); start += 1000 {
		chunk := handed[start:min(start+1000, len(handed))]
		args := []any{typ}
		for _, id := range chunk {
			args = append(args, id)
		}
		rows, err := db.Query("SELECT entity_id FROM entity_id_mapping WHERE entity_type = ? AND numeric_id IN ("+
			strings.TrimSuffix(strings.Repeat("?,", len(chunk)), ",")+")", args...)
		require.NoError(t, err)
		var stored []string
		for rows.Next() {
			var id string
			require.NoError(t, rows.Scan(&id))
			stored = append(stored, id)
		}
		require.NoError(t, rows.Err())
		rows.Close()
		require.Empty(t, stored[:min(len(stored), 20)], "%d IDs the allocator handed out exist in entity_id_mapping (the first 20 shown)", len(stored))
	}
}

func TestIDsSeedThenNext(t *testing.T) {
	_, c, db := startWriters(t)
	ctx := context.Background()

	// The allocators claim their first blocks and hand out IDs, as `starter ids next` does.
	var items, props []int64
	runs, err := c.Allocate(ctx, "item", 2)
	require.NoError(t, err)
	items = append(items, runIDs(runs)...)
	runs, err = c.Allocate(ctx, "property", 2)
	require.NoError(t, err)
	props = append(props, runIDs(runs)...)

	_, err = sample.Seed(ctx, db, sample.SeedOptions{Entities: 60, Seed: 1, Batch: 200})
	require.NoError(t, err)

	runs, err = c.Allocate(ctx, "item", 2)
	require.NoError(t, err)
	items = append(items, runIDs(runs)...)
	runs, err = c.Allocate(ctx, "property", 2)
	require.NoError(t, err)
	props = append(props, runIDs(runs)...)

	requireUnique(t, items)
	requireUnique(t, props)
	requireNotStored(t, db, "Q", items)
	requireNotStored(t, db, "P", props)
}

// dumpItem is one dump line: an item with an English label and, when to is set, one
// statement linking to the item to.
func dumpItem(id string, to string) string {
	claims := "{}"
	if to != "" {
		claims = fmt.Sprintf(`{"P1":[{"mainsnak":{"snaktype":"value","property":"P1","datavalue":{"value":{"entity-type":"item","numeric-id":%s,"id":"%s"},"type":"wikibase-entityid"},"datatype":"wikibase-item"},"type":"statement","id":"%s$00000000-0000-4000-8000-000000000001","rank":"normal"}]}`,
			to[1:], to, id)
	}
	return fmt.Sprintf(`{"type":"item","id":"%s","labels":{"en":{"language":"en","value":"item %s"}},"descriptions":{},"aliases":{},"claims":%s,"sitelinks":{}}`, id, id, claims)
}

// linkProperty is P1, the wikibase-item property dumpItem's statements use.
const linkProperty = `{"type":"property","datatype":"wikibase-item","id":"P1","labels":{"en":{"language":"en","value":"links to"}},"descriptions":{},"aliases":{},"claims":{}}`

func TestIDsImportOfHandedOutIDIsRejected(t *testing.T) {
	cfg, c, db := startWriters(t)
	ctx := context.Background()

	runs, err := c.Allocate(ctx, "item", 3)
	require.NoError(t, err)
	require.Equal(t, []ids.Run{{Start: 1, End: 3}}, runs, "a fresh database: the allocator starts at ID_MIN_Q")

	// Q2 is an ID the allocator handed out; Q10 links to Q3, another. Q11 and Q12 are new.
	path := writeDump(t, linkProperty, dumpItem("Q2", ""), dumpItem("Q10", "Q3"), dumpItem("Q11", "Q10"), dumpItem("Q12", ""))
	res := importAndWait(t, cfg, "import-handed-out-"+cfg.TaskQueue, workflows.ImportInput{Source: path})
	require.Equal(t, int64(3), res.Counts.Created, "P1, Q11 and Q12")
	require.Equal(t, int64(2), res.Counts.Rejected)
	require.Len(t, res.Rejections, 2)
	byID := map[string]string{}
	for _, r := range res.Rejections {
		byID[r.EntityID] = r.Reason
	}
	require.Contains(t, byID["Q2"], "Q2 was handed out by the ID allocator")
	require.Contains(t, byID["Q10"], "links to Q3, which was handed out by the ID allocator")
	requireNotStored(t, db, "Q", []int64{1, 2, 3})

	// The allocator takes 4..5 first, finds them below the floor the import raised, and serves
	// from above it.
	next, err := c.Allocate(ctx, "item", 2)
	require.NoError(t, err)
	require.Equal(t, []ids.Run{{Start: 13, End: 14}}, next, "the allocator skips what the import announced")
	requireNotStored(t, db, "Q", runIDs(next))
	st, err := c.Status(ctx, "item")
	require.NoError(t, err)
	require.Equal(t, int64(12), st.Floor)
	require.Equal(t, int64(9), st.SkippedIDs, "4..12")

	typ, _ := wikibase.ParseEntityType("item")
	checkReplay(t, "IDAllocatorWorkflow-floor", ids.WorkflowID(typ, cfg.TaskQueue), "")
}

// TestIDsImportWhileCallersAllocate imports items Q1..Q3000 (each linking to the one before)
// while eight callers allocate item IDs from an allocator that starts at Q1: four through
// leases (Client.Next) and four through one Update per call (Client.Allocate). The import's
// IDs and the allocator's hand-outs race over the same range.
func TestIDsImportWhileCallersAllocate(t *testing.T) {
	cfg := writersConfig(t)
	cfg.IDRangeSize = 400
	cfg.IDLeaseSize = 20
	startWorker(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	scope := cfg.TaskQueue
	leasing := []*ids.Client{idsClient(t, cfg, scope, 0), idsClient(t, cfg, scope, 0)}
	direct := idsClient(t, cfg, scope, 0)
	db := importDB(t, cfg)

	const items = 3000
	lines := []string{linkProperty, dumpItem("Q1", "")}
	for n := 2; n <= items; n++ {
		lines = append(lines, dumpItem(fmt.Sprintf("Q%d", n), fmt.Sprintf("Q%d", n-1)))
	}
	path := writeDump(t, lines...)

	// The allocator hands out its first IDs before the import starts.
	var got allocation
	first, err := direct.Allocate(ctx, "item", 1)
	require.NoError(t, err)
	got.add(runIDs(first))

	importDone := make(chan struct{})
	var wg sync.WaitGroup
	call := func(seed uint64, next func(n int) ([]int64, error)) {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(seed, seed))
		for calls := 0; ; calls++ {
			select {
			case <-importDone:
				if calls >= 20 {
					return
				}
			default:
			}
			// A pause between calls lets the import get ahead of the allocator at times.
			time.Sleep(time.Duration(10+rng.IntN(20)) * time.Millisecond)
			n := 1 + rng.IntN(5)
			out, err := next(n)
			if err != nil {
				t.Errorf("allocate %d: %v", n, err)
				return
			}
			got.add(out)
		}
	}
	for i := range 4 {
		wg.Add(2)
		c := leasing[i%2]
		go call(uint64(i), func(n int) ([]int64, error) { return c.Next(ctx, "item", n) })
		go call(uint64(10+i), func(n int) ([]int64, error) {
			runs, err := direct.Allocate(ctx, "item", n)
			return runIDs(runs), err
		})
	}
	res := importAndWait(t, cfg, "import-racing-"+cfg.TaskQueue, workflows.ImportInput{
		Source: path, ChunkLines: 100, BatchSize: 20, Parallelism: 2,
	})
	close(importDone)
	wg.Wait()
	for _, c := range leasing {
		require.NoError(t, c.Close(context.Background()))
	}

	st, err := direct.Status(ctx, "item")
	require.NoError(t, err)
	t.Logf("import: %+v; %d IDs allocated; allocator: floor %d, %d IDs skipped, next %d", res.Counts, len(got.ids), st.Floor, st.SkippedIDs, st.NextID)
	require.Equal(t, int64(items+1), res.Counts.Created+res.Counts.Rejected)
	for _, r := range res.Rejections {
		require.Contains(t, r.Reason, "handed out by the ID allocator", "%+v", r)
	}
	requireUnique(t, got.ids)
	var inRange int
	for _, id := range got.ids {
		if id <= items {
			inRange++
		}
	}
	require.Positive(t, inRange, "the allocator handed out IDs inside the import's range")
	requireNotStored(t, db, "Q", got.ids)

	typ, _ := wikibase.ParseEntityType("item")
	checkReplay(t, "", ids.WorkflowID(typ, scope), "")
}
