package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/store/storetest"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

func handOuts(t *testing.T, db *sql.DB, typ string) []store.IDRun {
	t.Helper()
	rows, err := db.Query("SELECT range_start, range_end FROM id_handouts WHERE entity_type = ? ORDER BY range_start", typ)
	require.NoError(t, err)
	defer rows.Close()
	var out []store.IDRun
	for rows.Next() {
		var r store.IDRun
		require.NoError(t, rows.Scan(&r.Start, &r.End))
		out = append(out, r)
	}
	require.NoError(t, rows.Err())
	return out
}

func floorOf(t *testing.T, db *sql.DB, typ string) int64 {
	t.Helper()
	var f int64
	require.NoError(t, db.QueryRow("SELECT floor_id FROM id_ranges WHERE entity_type = ?", typ).Scan(&f))
	return f
}

// plainItem is an item with a label and, when to is set, a P31 statement linking to it.
func plainItem(t testing.TB, id, to string) *wikibase.Entity {
	t.Helper()
	claims := "{}"
	if to != "" {
		claims = fmt.Sprintf(`{"P31":[{"mainsnak":{"snaktype":"value","property":"P31","datatype":"wikibase-item","datavalue":{"value":{"entity-type":"item","id":%q},"type":"wikibase-entityid"}},"type":"statement","id":"%s$1","rank":"normal"}]}`, to, id)
	}
	return parse(t, fmt.Sprintf(`{"type":"item","id":%q,"labels":{"en":{"language":"en","value":"x"}},"descriptions":{},"aliases":{},"claims":%s,"sitelinks":{}}`, id, claims))
}

// record records one change and says whether its hand-out was recorded, and the floor.
func record(t *testing.T, db *sql.DB, returned, handOut []store.IDRun) (bool, int64) {
	t.Helper()
	rec, err := store.RecordHandOuts(context.Background(), db, "Q", []store.HandOutChange{{Returned: returned, HandOut: handOut}})
	require.NoError(t, err)
	return rec.Recorded[0], rec.Floor
}

func requireRecord(t *testing.T, db *sql.DB, returned, handOut []store.IDRun, recorded bool, floor int64) {
	t.Helper()
	gotRecorded, gotFloor := record(t, db, returned, handOut)
	require.Equal(t, []any{recorded, floor}, []any{gotRecorded, gotFloor}, "recorded, floor")
}

func TestHandOutsAndWritersWithOwnIDs(t *testing.T) {
	db, _ := storetest.NewDB(t)
	ctx := context.Background()
	run := func(s, e int64) []store.IDRun { return []store.IDRun{{Start: s, End: e}} }

	requireRecord(t, db, nil, run(1, 5), true, 0)
	record(t, db, nil, run(6, 10))
	require.Equal(t, run(1, 10), handOuts(t, db, "Q"), "adjacent hand-outs merge")
	record(t, db, run(4, 6), nil)
	require.Equal(t, []store.IDRun{{1, 3}, {7, 10}}, handOuts(t, db, "Q"), "a lease's unused IDs are no longer handed out")

	s := &store.Entities{DB: db}
	res, err := s.SaveBatch(ctx, []store.SaveRequest{
		{Entity: plainItem(t, "Q5", "")},    // given back: free to write
		{Entity: plainItem(t, "Q8", "")},    // handed out
		{Entity: plainItem(t, "Q20", "Q2")}, // links to a handed-out ID
		{Entity: plainItem(t, "Q21", "Q20")},
	})
	require.NoError(t, err)
	var statuses []store.SaveStatus
	for _, r := range res {
		statuses = append(statuses, r.Status)
	}
	require.Equal(t, []store.SaveStatus{store.StatusCreated, store.StatusRejected, store.StatusRejected, store.StatusCreated}, statuses)
	require.Equal(t, "Q8 was handed out by the ID allocator; not written, so that it cannot overwrite the entity it was handed out for", res[1].Reason)
	require.Equal(t, "a statement links to Q2, which was handed out by the ID allocator for another entity; not written", res[2].Reason)
	require.Zero(t, count(t, db, "SELECT COUNT(*) FROM entity_id_mapping WHERE entity_id IN ('Q2', 'Q8')"))
	require.Equal(t, 1, count(t, db, "SELECT COUNT(*) FROM entity_id_mapping WHERE entity_id = 'Q20'"), "a link target of Q21")
	require.Zero(t, count(t, db, "SELECT COUNT(*) FROM entity_head h JOIN entity_id_mapping m ON m.internal_id = h.internal_id WHERE m.entity_id = 'Q20'"))
	require.Equal(t, int64(21), floorOf(t, db, "Q"), "the batch announced its IDs up to Q21")
	_, err = s.Save(ctx, store.SaveRequest{Entity: plainItem(t, "Q9", "")})
	require.ErrorIs(t, err, store.ErrRejected)
	require.ErrorContains(t, err, "Q9 was handed out by the ID allocator")

	// The allocator's next hand-out is below the floor: not recorded; above it: recorded.
	requireRecord(t, db, nil, []store.IDRun{{11, 15}, {30, 31}}, false, 21)
	requireRecord(t, db, nil, run(22, 25), true, 21)
	// Retries change nothing.
	record(t, db, nil, run(22, 25))
	record(t, db, run(4, 6), nil)
	require.Equal(t, []store.IDRun{{1, 3}, {7, 10}, {22, 25}}, handOuts(t, db, "Q"))
	// A return and a hand-out in one record apply in that order; the rows merge again.
	record(t, db, run(24, 25), run(24, 26))
	require.Equal(t, []store.IDRun{{1, 3}, {7, 10}, {22, 26}}, handOuts(t, db, "Q"))
	// An entity_id_mapping row written without announcing still counts as stored.
	_, err = db.Exec("INSERT INTO entity_id_mapping (entity_id, entity_type, numeric_id) VALUES ('Q40', 'Q', 40)")
	require.NoError(t, err)
	requireRecord(t, db, nil, run(26, 41), false, 40)

	// Changes of concurrent requests, in one transaction, apply in order.
	rec, err := store.RecordHandOuts(ctx, db, "Q", []store.HandOutChange{
		{HandOut: run(41, 42)}, {HandOut: run(39, 40)}, {Returned: run(41, 41), HandOut: run(43, 43)},
	})
	require.NoError(t, err)
	require.Equal(t, store.HandOutRecord{Floor: 40, Recorded: []bool{true, false, true}}, rec)
	require.Equal(t, []store.IDRun{{1, 3}, {7, 10}, {22, 26}, {42, 43}}, handOuts(t, db, "Q"))
}

func TestClaimIDSpanStartsAboveEveryHandOut(t *testing.T) {
	db, _ := storetest.NewDB(t)
	ctx := context.Background()
	base, err := store.ClaimIDSpan(ctx, db, "Q", 500)
	require.NoError(t, err)
	require.Zero(t, base, "nothing handed out yet")
	record(t, db, nil, []store.IDRun{{Start: 501, End: 510}})
	base, err = store.ClaimIDSpan(ctx, db, "Q", 500)
	require.NoError(t, err)
	require.Equal(t, int64(510), base)
	require.Equal(t, int64(1010), floorOf(t, db, "Q"))
	again, err := store.ClaimIDSpan(ctx, db, "Q", 500)
	require.NoError(t, err)
	require.Equal(t, base, again, "the same span while nothing is handed out in between")
	recorded, _ := record(t, db, nil, []store.IDRun{{Start: 511, End: 520}})
	require.False(t, recorded, "the span is out of the allocator's reach")
}

// Writers save new items in a window moving up through 1..1500 (half of them linking to
// others near it) while allocators record hand-outs from 1 upwards, skipping past the floor as
// the allocator does. However the transactions interleave, no ID ends up both handed out and
// in entity_id_mapping.
func TestHandOutsAndWritersNeverShareAnID(t *testing.T) {
	db, _ := storetest.NewDB(t)
	ctx := context.Background()
	const space = 1500
	var (
		mu       sync.Mutex
		next     int64 = 1
		recorded []store.IDRun
		wg       sync.WaitGroup
	)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &store.Entities{DB: db}
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for k := range space / 100 {
				var reqs []store.SaveRequest
				for range 10 {
					id := fmt.Sprintf("Q%d", k*100+1+rng.IntN(100))
					to := ""
					if rng.IntN(2) == 0 {
						to = fmt.Sprintf("Q%d", max(1, k*100-50+rng.IntN(150)))
					}
					reqs = append(reqs, store.SaveRequest{Entity: plainItem(t, id, to)})
				}
				if _, err := s.SaveBatch(ctx, reqs); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				r := store.IDRun{Start: next, End: next + 4}
				next += 5
				mu.Unlock()
				if r.Start > space {
					return
				}
				rec, err := store.RecordHandOuts(ctx, db, "Q", []store.HandOutChange{{HandOut: []store.IDRun{r}}})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if rec.Recorded[0] {
					recorded = append(recorded, r)
				} else {
					next = max(next, rec.Floor+1)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.NotEmpty(t, recorded)
	var both []string
	for _, r := range recorded {
		rows, err := db.Query("SELECT entity_id FROM entity_id_mapping WHERE entity_type = 'Q' AND numeric_id BETWEEN ? AND ?", r.Start, r.End)
		require.NoError(t, err)
		for rows.Next() {
			var id string
			require.NoError(t, rows.Scan(&id))
			both = append(both, id)
		}
		require.NoError(t, rows.Err())
		rows.Close()
	}
	require.Empty(t, both, "IDs both handed out and stored")
	t.Logf("%d hand-outs recorded, %d mapping rows, floor %d", len(recorded), count(t, db, "SELECT COUNT(*) FROM entity_id_mapping"), floorOf(t, db, "Q"))
}
