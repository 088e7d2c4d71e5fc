package integration

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"

	"github.com/entitybase/entitybase-workers/internal/config"
	"github.com/entitybase/entitybase-workers/internal/events"
	"github.com/entitybase/entitybase-workers/internal/kafkabridge"
	"github.com/entitybase/entitybase-workers/internal/rdf"
	"github.com/entitybase/entitybase-workers/internal/rdfdiff"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
	"github.com/entitybase/entitybase-workers/internal/wikibase/synth"
	"github.com/entitybase/entitybase-workers/workflows"
)

// entityDiffConfig is a worker that relays the outbox to its own entity_change topic and
// runs only the entity-diff bridge, publishing to its own rdf_change topic.
func entityDiffConfig(t testing.TB) config.Config {
	t.Helper()
	cfg := testConfig(t)
	suffix := strings.TrimPrefix(cfg.TaskQueue, "itest-")
	cfg.EntityChangeTopic = "ed-change-" + suffix
	cfg.EntityDiffTopic = "ed-diff-" + suffix
	cfg.EntityDiffGroup = "ed-group-" + suffix
	cfg.KafkaBridgeEnabled = false
	cfg.OutboxPollInterval = 50 * time.Millisecond
	cfg.BridgeBatchWait = 50 * time.Millisecond
	return cfg
}

// benchStreamConfig is entityDiffConfig with the deployed OUTBOX_POLL_INTERVAL and
// BRIDGE_BATCH_WAIT: the tests' shorter ones cost more per change.
func benchStreamConfig(b *testing.B) config.Config {
	cfg := entityDiffConfig(b)
	defaults, err := config.LoadFrom(func(string) (string, bool) { return "", false })
	require.NoError(b, err)
	cfg.OutboxPollInterval, cfg.BridgeBatchWait = defaults.OutboxPollInterval, defaults.BridgeBatchWait
	return cfg
}

// diffReader reads the rdf_change topic from the start.
func diffReader(t testing.TB, cfg config.Config) *kafka.Reader {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: cfg.KafkaBrokers, Topic: cfg.EntityDiffTopic, GroupID: cfg.EntityDiffGroup + "-reader",
		StartOffset: kafka.FirstOffset, MaxWait: 50 * time.Millisecond,
		HeartbeatInterval: time.Second, SessionTimeout: 10 * time.Second, RebalanceTimeout: 10 * time.Second,
	})
	t.Cleanup(func() { r.Close() })
	return r
}

// receivedChange is one assembled rdf_change (all its parts) and when its last part came.
type receivedChange struct {
	event events.RDFChange
	diff  rdfdiff.Diff
	parts int
	at    time.Time
}

// readChanges reads until n changes are complete or timeout passes; it returns them in
// arrival order.
func readChanges(t testing.TB, r *kafka.Reader, n int, timeout time.Duration) []receivedChange {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	partial := map[string][]events.RDFChange{}
	var out []receivedChange
	for len(out) < n {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			break
		}
		c, err := events.ParseRDFChange(m.Value)
		require.NoError(t, err)
		require.Equal(t, c.EntityID, string(m.Key))
		key := fmt.Sprintf("%s@%d", c.EntityID, c.RevID)
		partial[key] = append(partial[key], c)
		if len(partial[key]) < c.SequenceLength {
			continue
		}
		d, err := rdfdiff.Assemble(partial[key])
		require.NoError(t, err)
		out = append(out, receivedChange{event: c, diff: d, parts: len(partial[key]), at: time.Now()})
		delete(partial, key)
	}
	return out
}

// renderStored renders a stored revision as the dump (and the diff) sees it.
func renderStored(t testing.TB, b *rdfdiff.Builder, db *sql.DB, id string, rev int64) rdfdiff.Graph {
	r, err := (&store.Entities{DB: db}).Revision(context.Background(), id, rev)
	require.NoError(t, err)
	e, err := wikibase.ParseEntity(r.Line)
	require.NoError(t, err)
	typ, _, _ := wikibase.ParseEntityID(id)
	e.Page = &wikibase.PageMetadata{PageID: r.InternalID, NS: typ.Namespace, Title: typ.Title(id), LastRevID: rev,
		Modified: r.CreatedAt.UTC().Format("2006-01-02T15:04:05Z")}
	g, err := b.Entity(e)
	require.NoError(t, err)
	return g
}

// sorted is a sorted copy, never nil, so empty lists compare equal however made.
func sorted(s []string) []string {
	s = append([]string{}, s...)
	sort.Strings(s)
	return s
}

// TestEntityDiffRealEntitiesEndToEnd saves the real Wikidata entities through the store;
// the outbox, the entity-diff bridge and the shard workflows turn each into one
// import carrying exactly its RDF; an edit of Q1 becomes one diff with exactly the changed
// triples; a redelivered entity_change produces no second message.
func TestEntityDiffRealEntitiesEndToEnd(t *testing.T) {
	datatypes, fixtures := wikidataFixtures(t)
	cfg := entityDiffConfig(t)
	startWorker(t, cfg)
	db, err := store.Open(context.Background(), cfg.MySQLDSN)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()

	s := &store.Entities{DB: db, DatatypeLookup: datatypes}
	require.NoError(t, s.SaveDatatypes(ctx, datatypes))
	rdfCfg := rdf.WikidataConfig()
	props := rdf.NewPropertyInfo(rdfCfg)
	props.AddDatatypes(datatypes)
	b, err := rdfdiff.NewBuilder(rdfCfg, props)
	require.NoError(t, err)

	// The unit items first: the diffs normalize the fixtures' quantities with them.
	units, err := wikibase.NewEntityReader(strings.NewReader(wikidataUnitItems))
	require.NoError(t, err)
	for rec, err := units.Next(); !errors.Is(err, io.EOF); rec, err = units.Next() {
		require.NoError(t, err)
		u, _, err := rec.Parse()
		require.NoError(t, err)
		_, err = s.Save(ctx, store.SaveRequest{Entity: u, At: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)})
		require.NoError(t, err)
		props.Units().Add(u)
	}
	entities := map[string]*wikibase.Entity{}
	for i, e := range fixtures {
		_, err = s.Save(ctx, store.SaveRequest{Entity: e, At: time.Date(2026, 1, 1, 10, i, 0, 0, time.UTC)})
		require.NoError(t, err)
		entities[e.ID] = e
	}
	// Revision IDs come from one sequence: each entity's first is its head now.
	firstRev := func(id string) int64 {
		h, err := s.Head(ctx, id)
		require.NoError(t, err)
		return h.RevisionID
	}
	q1First := firstRev("Q1")
	r := diffReader(t, cfg)
	got := readChanges(t, r, 9, 90*time.Second)
	require.Len(t, got, 9, "one import per entity, the unit items' too")
	normalized := 0
	for _, c := range got {
		require.Equal(t, events.RDFImport, c.event.Operation, c.event.EntityID)
		require.Equal(t, firstRev(c.event.EntityID), c.event.RevID)
		require.Equal(t, events.RDFChangeSchema, c.event.Schema)
		require.Equal(t, cfg.EntityDiffTopic, c.event.Meta.Stream)
		require.Equal(t, "www.wikidata.org", c.event.Meta.Domain)
		require.NotEmpty(t, c.event.Meta.RequestID)
		want := renderStored(t, b, db, c.event.EntityID, c.event.RevID)
		require.Empty(t, c.diff.Deleted)
		require.Empty(t, c.diff.Unlinked)
		require.Equal(t, sorted(want.Owned), sorted(c.diff.Added), "added data of %s is its RDF", c.event.EntityID)
		require.Equal(t, sorted(want.Shared), sorted(c.diff.Linked), "linked shared data of %s", c.event.EntityID)
		if c.event.EntityID == "Q1" {
			for _, tr := range c.diff.Linked {
				if strings.Contains(tr, "<http://wikiba.se/ontology#quantityNormalized>") {
					normalized++
				}
			}
		}
		t.Logf("%s: import of %d triples (%d shared) in %d part(s)", c.event.EntityID, c.diff.Len(), len(c.diff.Linked), c.parts)
	}
	require.Positive(t, normalized, "Q1's quantities are normalized with the stored unit items")

	// An edit: a new English label and one statement group fewer.
	q1 := entities["Q1"]
	edited := *q1
	edited.Labels = slices.Clone(q1.Labels)
	oldLabel := ""
	for i := range edited.Labels {
		if edited.Labels[i].Language == "en" {
			oldLabel = edited.Labels[i].Value
			edited.Labels[i].Value = "universe (edited)"
		}
	}
	require.NotEmpty(t, oldLabel)
	edited.Claims = slices.Clone(q1.Claims[1:])
	res, err := s.Save(ctx, store.SaveRequest{Entity: &edited, At: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	require.Greater(t, res.RevisionID, q1First)
	got = readChanges(t, r, 1, 60*time.Second)
	require.Len(t, got, 1)
	c := got[0]
	require.Equal(t, events.RDFDiff, c.event.Operation)
	require.Equal(t, "Q1", c.event.EntityID)
	require.Equal(t, res.RevisionID, c.event.RevID)
	want := rdfdiff.Compute(renderStored(t, b, db, "Q1", q1First), renderStored(t, b, db, "Q1", res.RevisionID))
	require.Equal(t, sorted(want.Added), sorted(c.diff.Added))
	require.Equal(t, sorted(want.Deleted), sorted(c.diff.Deleted))
	require.Equal(t, sorted(want.Linked), sorted(c.diff.Linked))
	require.Equal(t, sorted(want.Unlinked), sorted(c.diff.Unlinked))
	require.True(t, slices.ContainsFunc(c.diff.Added, func(l string) bool { return strings.Contains(l, `"universe (edited)"@en`) }))
	require.True(t, slices.ContainsFunc(c.diff.Deleted, func(l string) bool { return strings.Contains(l, `"`+oldLabel+`"@en`) }))
	t.Logf("Q1 edit: +%d -%d triples, %d linked, %d unlinked", len(c.diff.Added), len(c.diff.Deleted), len(c.diff.Linked), len(c.diff.Unlinked))

	// Redelivery: the same entity_change events again, straight onto the topic.
	shardID := workflows.EntityDiffShardWorkflowID(cfg.EntityChangeTopic, kafkabridge.ShardOf("Q1", cfg.EntityDiffShards))
	before := shardStatsOf(t, shardID)
	w := &kafka.Writer{Addr: kafka.TCP(cfg.KafkaBrokers...), Topic: cfg.EntityChangeTopic, Balancer: &kafka.Hash{}}
	defer w.Close()
	for _, rev := range []int64{q1First, res.RevisionID} {
		payload, err := events.EntityChange{EntityID: "Q1", RevisionID: rev, FromRevisionID: rev - 1,
			ChangeType: events.ChangeEdit, ChangedAt: time.Now()}.Marshal()
		require.NoError(t, err)
		require.NoError(t, w.WriteMessages(ctx, kafka.Message{Key: []byte("Q1"), Value: payload}))
	}
	// Q1's shard saw them (and dropped them) ...
	require.Eventually(t, func() bool {
		v, err := stack.client.QueryWorkflow(ctx, shardID, "", workflows.QueryEntityDiffShardState)
		if err != nil {
			return false
		}
		var st workflows.EntityDiffShardState
		return v.Get(&st) == nil && st.Stats.Duplicates >= before.Duplicates+2 && st.Pending == 0
	}, 30*time.Second, 100*time.Millisecond)
	// ... and published nothing.
	require.Empty(t, readChanges(t, r, 1, 3*time.Second), "redelivered events publish nothing")
	require.Equal(t, before.Published, shardStatsOf(t, shardID).Published)
	// The run is still open (it waits for the next change); its history so far must replay.
	checkReplay(t, "EntityDiffShardWorkflow", shardID, "")
}

// shardStatsOf queries an entity-diff shard's counters.
func shardStatsOf(t testing.TB, id string) workflows.EntityDiffShardStats {
	t.Helper()
	v, err := stack.client.QueryWorkflow(context.Background(), id, "", workflows.QueryEntityDiffShardState)
	require.NoError(t, err)
	var st workflows.EntityDiffShardState
	require.NoError(t, v.Get(&st))
	return st.Stats
}

// BenchmarkEntityDiff drives edits of synthetic Wikidata-shaped items through the store at
// fixed rates (ENTITY_DIFF_BENCH_RATES, default "50": one sub-benchmark per rate, each with
// a fresh worker, for ENTITY_DIFF_BENCH_SECONDS, default 20) and measures the rate the store
// took the saves at, the rate of diff messages and the latency from the save (which writes
// the entity_change event) to the assembled rdf_change: p50, p99 and max.
// Run: ENTITY_DIFF_BENCH_RATES=50,200,500 ENTITY_DIFF_BENCH_SECONDS=60 go test -run '^$' -bench BenchmarkEntityDiff -benchtime 1x ./integration/
func BenchmarkEntityDiff(b *testing.B) {
	rates := os.Getenv("ENTITY_DIFF_BENCH_RATES")
	if rates == "" {
		rates = "50"
	}
	for _, r := range strings.Split(rates, ",") {
		rate, err := strconv.Atoi(strings.TrimSpace(r))
		require.NoError(b, err, "ENTITY_DIFF_BENCH_RATES")
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) { benchEntityDiff(b, rate, envInt("ENTITY_DIFF_BENCH_SECONDS", 20)) })
	}
}

// saveEvery is how often BenchmarkEntityDiff saves the edits that are due.
const saveEvery = 10 * time.Millisecond

func benchEntityDiff(b *testing.B, rate, seconds int) {
	cfg := benchStreamConfig(b)
	startWorker(b, cfg)
	db, err := store.Open(context.Background(), cfg.MySQLDSN)
	require.NoError(b, err)
	b.Cleanup(func() { db.Close() })
	ctx := context.Background()
	gen := synth.New(7)
	s := &store.Entities{DB: db, DatatypeLookup: gen.Datatypes()}
	require.NoError(b, s.SaveDatatypes(ctx, gen.Datatypes()))
	// Each entity is edited every two seconds: saves of one entity do not queue behind
	// each other (Wikidata's edits spread over millions of entities).
	nEntities := max(200, 2*rate)
	items := make([]*wikibase.Entity, nEntities)
	triples := 0
	for i := range items {
		items[i] = gen.Item()
		_, err := s.Save(ctx, store.SaveRequest{Entity: items[i]})
		require.NoError(b, err)
	}
	r := diffReader(b, cfg)
	imports := readChanges(b, r, nEntities, 120*time.Second)
	require.Len(b, imports, nEntities)
	for _, c := range imports {
		triples += c.diff.Len()
	}

	// The edits are made before the clock starts, so that the offered rate is the store's
	// and not the generator's.
	total := rate * seconds
	edits := make([]*wikibase.Entity, total)
	for i := range edits {
		e := items[i%nEntities]
		next := *e
		next.Labels = slices.Clone(e.Labels)
		if len(next.Labels) > 0 {
			next.Labels[0].Value = fmt.Sprintf("edit %d", i)
		}
		donor := gen.Item()
		if len(next.Claims) > 0 && len(donor.Claims) > 0 {
			g := donor.Claims[0]
			g.Statements = slices.Clone(g.Statements)
			for j := range g.Statements {
				_, guid, _ := strings.Cut(g.Statements[j].ID, "$")
				g.Statements[j].ID = e.ID + "$" + guid
			}
			next.Claims = append(slices.Clone(next.Claims[1:]), g)
		}
		items[i%nEntities], edits[i] = &next, &next
	}

	b.ResetTimer()
	saved := make(map[string]time.Time, total)
	var lastSave time.Time
	saving := make(chan struct{})
	done := make(chan []receivedChange)
	go func() { done <- readChanges(b, r, total, time.Duration(seconds)*time.Second+60*time.Second) }()
	start := time.Now()
	due := func(i int) time.Time { return start.Add(time.Duration(i) * time.Second / time.Duration(rate)) }
	go func() {
		defer close(saving)
		var batchStart time.Time
		for next := 0; next < total; {
			// Every saveEvery the edits due are saved as one batch; a batch behind its
			// schedule takes every edit due by then. One transaction at a time: a store
			// transaction holds the revision sequence to its commit, so concurrent ones queue
			// on it. (The entitybase service, not these workers, takes the edits in
			// production.)
			wake := batchStart.Add(saveEvery)
			if due(next).After(wake) {
				wake = due(next)
			}
			time.Sleep(time.Until(wake))
			batchStart = time.Now()
			end := next
			for end < total && !due(end).After(time.Now()) {
				end++
			}
			reqs := make([]store.SaveRequest, 0, end-next)
			for _, e := range edits[next:end] {
				reqs = append(reqs, store.SaveRequest{Entity: e})
			}
			next = end
			res, err := s.SaveBatch(ctx, reqs)
			if err != nil {
				b.Error(err)
				return
			}
			now := time.Now()
			for _, r := range res {
				if r.Status != store.StatusUpdated {
					b.Errorf("%s: %s %s", r.EntityID, r.Status, r.Reason)
				}
				saved[fmt.Sprintf("%s@%d", r.EntityID, r.RevisionID)] = now
			}
			lastSave = now
		}
	}()
	<-saving
	got := <-done
	elapsed := time.Since(start)
	b.StopTimer()
	require.Equal(b, total, len(got), "one diff per edit (saved at %.0f/s)", float64(total)/lastSave.Sub(start).Seconds())
	var lat []time.Duration
	var last time.Time
	for _, c := range got {
		require.Equal(b, events.RDFDiff, c.event.Operation)
		at, ok := saved[fmt.Sprintf("%s@%d", c.event.EntityID, c.event.RevID)]
		require.True(b, ok)
		lat = append(lat, c.at.Sub(at))
		if c.at.After(last) {
			last = c.at
		}
	}
	slices.Sort(lat)
	p := func(q float64) time.Duration { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
	b.ReportMetric(float64(total)/lastSave.Sub(start).Seconds(), "saves/s")
	b.ReportMetric(float64(total)/last.Sub(start).Seconds(), "diffs/s")
	b.ReportMetric(p(0.5).Seconds(), "p50_s")
	b.ReportMetric(p(0.99).Seconds(), "p99_s")
	b.ReportMetric(lat[len(lat)-1].Seconds(), "max_s")
	b.ReportMetric(float64(triples)/float64(nEntities), "triples/entity")
	b.Logf("%d edits offered at %d/s, saved at %.0f/s; %d diffs within %s; p50 %s p99 %s max %s; mean entity %d triples",
		total, rate, float64(total)/lastSave.Sub(start).Seconds(), len(got), elapsed.Round(time.Millisecond), p(0.5), p(0.99), lat[len(lat)-1], triples/nEntities)
	requireDiffsExact(b, db, gen.Datatypes(), append(imports, got...))
}

// requireDiffsExact applies each entity's import and diffs in revision order and requires
// the RDF of its last revision: a diff that added, deleted, linked or unlinked a triple it
// should not have, or missed one, shows.
func requireDiffsExact(t testing.TB, db *sql.DB, datatypes wikibase.DatatypeMap, changes []receivedChange) {
	t.Helper()
	rdfCfg := rdf.WikidataConfig()
	props := rdf.NewPropertyInfo(rdfCfg)
	props.AddDatatypes(datatypes)
	bld, err := rdfdiff.NewBuilder(rdfCfg, props)
	require.NoError(t, err)
	byEntity := map[string][]receivedChange{}
	for _, c := range changes {
		byEntity[c.event.EntityID] = append(byEntity[c.event.EntityID], c)
	}
	for id, cs := range byEntity {
		slices.SortFunc(cs, func(a, b receivedChange) int { return cmp.Compare(a.event.RevID, b.event.RevID) })
		owned, shared := map[string]bool{}, map[string]bool{}
		for _, c := range cs {
			for _, tr := range c.diff.Added {
				owned[tr] = true
			}
			for _, tr := range c.diff.Deleted {
				delete(owned, tr)
			}
			for _, tr := range c.diff.Linked {
				shared[tr] = true
			}
			for _, tr := range c.diff.Unlinked {
				delete(shared, tr)
			}
		}
		want := renderStored(t, bld, db, id, cs[len(cs)-1].event.RevID)
		require.Equal(t, sorted(want.Owned), sorted(slices.Collect(maps.Keys(owned))), "%s: its diffs applied give its RDF", id)
		require.Equal(t, sorted(want.Shared), sorted(slices.Collect(maps.Keys(shared))), "%s: its shared triples", id)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestEntityDiffPublishesAChangeLargerThanAMessage saves an item whose RDF (5,000 English
// aliases, about 1.3 MB) is more than one message of KAFKA_MAX_MESSAGE_BYTES (1,000,000, the
// default): its import is published in parts that together give its RDF. The rdf_change
// writer batched two parts of one change into one request of about 2 MB, which the broker
// (message.max.bytes 1 MiB, Kafka's default) refused, and the shard failed.
func TestEntityDiffPublishesAChangeLargerThanAMessage(t *testing.T) {
	cfg := entityDiffConfig(t)
	require.Equal(t, 1000000, cfg.KafkaMaxMessageBytes)
	startWorker(t, cfg)
	db, err := store.Open(context.Background(), cfg.MySQLDSN)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	s := &store.Entities{DB: db, Limits: cfg.EntityLimits}
	big := &wikibase.Entity{Type: wikibase.TypeItem, ID: "Q77", Labels: []wikibase.Term{{Language: "en", Value: "many aliases"}}}
	group := wikibase.AliasGroup{Language: "en"}
	for i := range 5000 {
		group.Aliases = append(group.Aliases, wikibase.Term{Language: "en", Value: fmt.Sprintf("alias %04d %s", i, strings.Repeat("x", 200))})
	}
	big.Aliases = []wikibase.AliasGroup{group}
	res, err := s.Save(context.Background(), store.SaveRequest{Entity: big})
	require.NoError(t, err)

	got := readChanges(t, diffReader(t, cfg), 1, 90*time.Second)
	require.Len(t, got, 1, "the import of Q77")
	require.Equal(t, res.RevisionID, got[0].event.RevID)
	require.GreaterOrEqual(t, got[0].parts, 2)
	requireDiffsExact(t, db, wikibase.DatatypeMap{}, got)
}
