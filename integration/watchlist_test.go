package integration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/entitybase/entitybase-workers/activities"
	"github.com/entitybase/entitybase-workers/internal/config"
	"github.com/entitybase/entitybase-workers/internal/events"
	"github.com/entitybase/entitybase-workers/internal/kafkabridge"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/watchlist"
	"github.com/entitybase/entitybase-workers/workflows"
)

// notificationKey is one row of user_notifications as the rules define it.
type notificationKey struct {
	User     int64
	Entity   string
	Revision int64
}

// wlWatch is one watchlist row; Props nil watches the whole entity.
type wlWatch struct {
	User   int64
	Entity string
	Props  []string
}

// wlEvent is one good entity_change message and what the rules need of it.
type wlEvent struct {
	Entity   string
	Revision int64
	Editor   int64
	Changed  []string // nil: the message carries no changed_properties
	Value    []byte
}

// wlFixture is a reproducible population: entities, users (some with the watchlist
// disabled), mixed watch rules, and a stream of events.
type wlFixture struct {
	entities []string
	disabled map[int64]bool
	users    []int64
	watches  []wlWatch
	events   []wlEvent
}

var wlProperties = []string{"P17", "P18", "P31", "P279", "P569", "P570", "P625", "P856"}

func newWLFixture(seed uint64, nEntities, nUsers, nEvents int) *wlFixture {
	rng := rand.New(rand.NewPCG(seed, 99))
	f := &wlFixture{disabled: map[int64]bool{}}
	for i := 1; i <= nEntities; i++ {
		f.entities = append(f.entities, fmt.Sprintf("Q%d", i))
	}
	for u := int64(1); u <= int64(nUsers); u++ {
		f.users = append(f.users, u)
		if u%9 == 0 {
			f.disabled[u] = true
		}
	}
	seen := map[string]bool{}
	for _, u := range f.users {
		for range 12 {
			e := f.entities[rng.IntN(len(f.entities))]
			var props []string
			switch rng.IntN(3) {
			case 0: // whole entity
			case 1:
				props = []string{wlProperties[rng.IntN(len(wlProperties))]}
			case 2:
				props = []string{wlProperties[rng.IntN(len(wlProperties))], wlProperties[rng.IntN(len(wlProperties))]}
			}
			stored := watchlist.FormatWatchedProperties(props)
			key := fmt.Sprintf("%d/%s/%s", u, e, stored)
			if seen[key] {
				continue
			}
			seen[key] = true
			f.watches = append(f.watches, wlWatch{User: u, Entity: e, Props: watchlist.ParseWatchedProperties(stored)})
		}
	}
	head := map[string]int64{}
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range nEvents {
		e := f.entities[rng.IntN(len(f.entities))]
		from := head[e]
		rev := from + 1 + int64(rng.IntN(3))
		head[e] = rev
		changeType := events.ChangeEdit
		if from == 0 {
			changeType = events.ChangeCreation
		} else if rng.IntN(20) == 0 {
			changeType = events.ChangeRevert
		}
		editor := int64(rng.IntN(nUsers+10)) + 1 // some editors have no users row
		at := base.Add(time.Duration(i) * time.Millisecond)
		ev := wlEvent{Entity: e, Revision: rev, Editor: editor}
		switch r := rng.IntN(10); {
		case r < 8: // canonical, with the changed properties
			ev.Changed = []string{}
			for _, p := range wlProperties {
				if rng.IntN(6) == 0 {
					ev.Changed = append(ev.Changed, p)
				}
			}
			c := events.EntityChange{EntityID: e, RevisionID: rev, FromRevisionID: from, ChangeType: changeType,
				ChangedAt: at, UserID: editor, EditSummary: "edit " + e, ChangedProperties: ev.Changed}
			b, err := c.Marshal()
			if err != nil {
				panic(err)
			}
			ev.Value = b
		case r < 9: // canonical without changed_properties
			ev.Value = fmt.Appendf(nil, `{"entity_id":%q,"revision_id":%d,"from_revision_id":%d,"change_type":%q,"changed_at":%q,"user_id":%d}`,
				e, rev, from, changeType, at.Format(time.RFC3339Nano), editor)
		default: // entitybase-backend's short form with its malformed timestamp
			fromRev := "null"
			if from > 0 {
				fromRev = fmt.Sprint(from)
			}
			ev.Value = fmt.Appendf(nil, `{"id":%q,"rev":%d,"from_rev":%s,"type":%q,"at":%q,"user":"%d","summary":"s"}`,
				e, rev, fromRev, changeType, at.Format("2006-01-02T15:04:05.000000")+"+00:00Z", editor)
		}
		f.events = append(f.events, ev)
	}
	return f
}

// expected applies the notification rules, written out again here independently of the rules
// package.
func (f *wlFixture) expected(notifySelf bool) map[notificationKey]bool {
	byEntity := map[string][]wlWatch{}
	for _, w := range f.watches {
		byEntity[w.Entity] = append(byEntity[w.Entity], w)
	}
	want := map[notificationKey]bool{}
	for _, ev := range f.events {
		for _, w := range byEntity[ev.Entity] {
			if f.disabled[w.User] || (!notifySelf && w.User == ev.Editor) {
				continue
			}
			fires := w.Props == nil || ev.Changed == nil
			for _, p := range w.Props {
				fires = fires || slices.Contains(ev.Changed, p)
			}
			if fires {
				want[notificationKey{w.User, ev.Entity, ev.Revision}] = true
			}
		}
	}
	return want
}

// load writes the entities, users and watches with plain INSERTs.
func (f *wlFixture) load(t testing.TB, db *sql.DB) {
	t.Helper()
	ctx := context.Background()
	for i, e := range f.entities {
		_, err := db.ExecContext(ctx, "INSERT INTO entity_id_mapping (entity_id, entity_type, numeric_id) VALUES (?, 'Q', ?)", e, i+1)
		require.NoError(t, err)
	}
	for _, u := range f.users {
		_, err := db.ExecContext(ctx, "INSERT INTO users (user_id, watchlist_enabled, last_activity) VALUES (?, ?, '2020-01-01 00:00:00')", u, !f.disabled[u])
		require.NoError(t, err)
	}
	for _, w := range f.watches {
		_, err := db.ExecContext(ctx, `INSERT INTO watchlist (user_id, internal_entity_id, watched_properties)
 SELECT ?, internal_id, ? FROM entity_id_mapping WHERE entity_id = ?`, w.User, watchlist.FormatWatchedProperties(w.Props), w.Entity)
		require.NoError(t, err)
	}
}

// malformed returns n bad messages of varied kinds and the reason fragment each must carry.
func malformed(n int) (msgs []kafka.Message, reasons map[string]string) {
	reasons = map[string]string{}
	at := `"changed_at":"2026-01-01T00:00:00Z"`
	for i := range n {
		var v, reason string
		switch i % 9 {
		case 0:
			v, reason = fmt.Sprintf("not json %d", i), "not a JSON object"
		case 1:
			v, reason = fmt.Sprintf("[%d]", i), "not a JSON object"
		case 2:
			v, reason = fmt.Sprintf(`{"revision_id":%d,"change_type":"edit",%s}`, i+1, at), "entity_id"
		case 3:
			v, reason = fmt.Sprintf(`{"entity_id":"Q1","revision_id":-%d,"change_type":"edit",%s}`, i+1, at), "revision_id"
		case 4:
			v, reason = fmt.Sprintf(`{"entity_id":"Q1","revision_id":%d,"change_type":"teleport",%s}`, i+1, at), "change_type"
		case 5:
			v, reason = fmt.Sprintf(`{"entity_id":"Q1","revision_id":%d,"change_type":"edit","changed_at":"yesterday"}`, i+1), "changed_at"
		case 6:
			v, reason = fmt.Sprintf(`{"entity_id":"Q1","rev":%d,"type":"edit",%s}`, i+1, at), "mixes canonical"
		case 7:
			v, reason = fmt.Sprintf(`{"entity_id":"Q1","revision_id":%d,"change_type":"edit","changed_at":"2050-01-01T00:00:00Z"}`, i+1), "outside the range"
		case 8:
			v, reason = fmt.Sprintf(`{"entity_id":"Q1","revision_id":%d,"change_type":"edit",%s,"changed_properties":["X%d"]}`, i+1, at, i), "changed_properties"
		}
		msgs = append(msgs, kafka.Message{Key: fmt.Appendf(nil, "bad-%d", i), Value: []byte(v)})
		reasons[v] = reason
	}
	return msgs, reasons
}

// wlConfig gives the test its own topic and consumer group on the shared broker, and
// creates the topic so the bridge's first group assignment already sees its partitions.
func wlConfig(t testing.TB, cfg config.Config) config.Config {
	t.Helper()
	name := strings.ReplaceAll(cfg.TaskQueue, "/", "-")
	cfg.EntityChangeTopic = "wl." + name
	cfg.KafkaConsumerGroup = "wl-group-" + name
	cfg.BridgeBatchWait = 50 * time.Millisecond
	// The entity-diff bridge reads the same topic; its workflows are not under test here
	// and would only share the embedded server's capacity.
	cfg.EntityDiffEnabled = false
	kc := &kafka.Client{Addr: kafka.TCP(stack.KafkaBrokers...), Timeout: 10 * time.Second}
	res, err := kc.CreateTopics(context.Background(), &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{
		{Topic: cfg.EntityChangeTopic, NumPartitions: 4, ReplicationFactor: 1},
	}})
	require.NoError(t, err)
	for topic, err := range res.Errors {
		require.NoError(t, err, topic)
	}
	return cfg
}

func newProducer(topic string) *kafka.Writer {
	return &kafka.Writer{
		Addr: kafka.TCP(stack.KafkaBrokers...), Topic: topic,
		// Hash on the key (the entity id): one entity stays in one partition, in order.
		Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll,
		BatchSize: 500, BatchTimeout: 2 * time.Millisecond,
	}
}

func goodMessages(f *wlFixture) []kafka.Message {
	msgs := make([]kafka.Message, len(f.events))
	for i, ev := range f.events {
		msgs[i] = kafka.Message{Key: []byte(ev.Entity), Value: ev.Value}
	}
	return msgs
}

// shardStats sums the shards' counters (zero for a shard that never started). A query can
// fail for a while after a worker was killed (the shard's sticky queue names the dead
// worker until the server gives up on it), so the error is the caller's to retry.
func shardStats(cfg config.Config) (workflows.WatchlistStats, error) {
	var sum workflows.WatchlistStats
	for s := range cfg.WatchlistShards {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res, err := stack.client.QueryWorkflow(ctx, workflows.WatchlistWorkflowID(cfg.EntityChangeTopic, s), "", workflows.QueryWatchlistState)
		cancel()
		var notFound *serviceerror.NotFound
		if errors.As(err, &notFound) {
			continue
		}
		if err != nil {
			return sum, fmt.Errorf("shard %d: %w", s, err)
		}
		var st workflows.WatchlistState
		if err := res.Get(&st); err != nil {
			return sum, fmt.Errorf("shard %d: %w", s, err)
		}
		sum.Batches += st.Stats.Batches
		sum.Events += st.Stats.Events
		sum.Duplicates += st.Stats.Duplicates
		sum.Notifications += st.Stats.Notifications
		sum.Runs += st.Stats.Runs
	}
	return sum, nil
}

// waitApplied waits until the shards applied want events, then returns the notifications.
func waitApplied(t testing.TB, cfg config.Config, db *sql.DB, want int64, timeout time.Duration) (map[notificationKey]bool, workflows.WatchlistStats) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var st workflows.WatchlistStats
	for {
		var err error
		st, err = shardStats(cfg)
		if err == nil && st.Events >= want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s the shards applied %d of %d events (stats %+v, last query error: %v)", timeout, st.Events, want, st, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	return readNotifications(t, db), st
}

func readNotifications(t testing.TB, db *sql.DB) map[notificationKey]bool {
	t.Helper()
	rows, err := db.Query("SELECT user_id, entity_id, revision_id FROM user_notifications")
	require.NoError(t, err)
	defer rows.Close()
	got := map[notificationKey]bool{}
	for rows.Next() {
		var k notificationKey
		require.NoError(t, rows.Scan(&k.User, &k.Entity, &k.Revision))
		got[k] = true
	}
	require.NoError(t, rows.Err())
	return got
}

// requireSameNotifications compares sets and names a few differences, not 10 000 lines.
func requireSameNotifications(t testing.TB, want, got map[notificationKey]bool) {
	t.Helper()
	var missing, extra []notificationKey
	for k := range want {
		if !got[k] {
			missing = append(missing, k)
		}
	}
	for k := range got {
		if !want[k] {
			extra = append(extra, k)
		}
	}
	if len(missing)+len(extra) > 0 {
		t.Fatalf("notifications differ: %d missing (e.g. %v), %d unexpected (e.g. %v); want %d, got %d",
			len(missing), missing[:min(5, len(missing))], len(extra), extra[:min(5, len(extra))], len(want), len(got))
	}
}

func openDB(t testing.TB, cfg config.Config) *sql.DB {
	t.Helper()
	db, err := store.Open(context.Background(), cfg.MySQLDSN)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	_, err = store.Migrate(context.Background(), db)
	require.NoError(t, err)
	return db
}

// readDLQ reads n messages of the dead-letter topic with a group of its own.
func readDLQ(t testing.TB, topic string, n int) []kafka.Message {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: stack.KafkaBrokers, GroupID: "dlq-check-" + topic,
		Topic: kafkabridge.DLQTopic(topic), StartOffset: kafka.FirstOffset, MaxWait: 200 * time.Millisecond})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out []kafka.Message
	for len(out) < n {
		m, err := r.FetchMessage(ctx)
		require.NoError(t, err, "read %d of %d DLQ messages", len(out), n)
		out = append(out, m)
	}
	return out
}

func header(m kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func TestWatchlistEndToEndWithMalformedMessages(t *testing.T) {
	cfg := wlConfig(t, testConfig(t))
	db := openDB(t, cfg)
	f := newWLFixture(1, 200, 50, 10000)
	f.load(t, db)
	want := f.expected(false)

	// One malformed message after every tenth good one.
	bad, reasons := malformed(1000)
	good := goodMessages(f)
	var stream []kafka.Message
	for i := range good {
		stream = append(stream, good[i])
		if i%10 == 9 {
			stream = append(stream, bad[i/10])
		}
	}
	require.Len(t, stream, 11000)

	w := startWorker(t, cfg)
	producer := newProducer(cfg.EntityChangeTopic)
	defer producer.Close()
	start := time.Now()
	require.NoError(t, producer.WriteMessages(context.Background(), stream...))

	got, st := waitApplied(t, cfg, db, int64(len(good)), 4*time.Minute)
	t.Logf("10000 events + 1000 malformed: applied in %s, %d notifications, stats %+v", time.Since(start), len(got), st)
	requireSameNotifications(t, want, got)
	require.Equal(t, int64(len(good)), st.Events, "every good event applied once")
	require.Zero(t, st.Duplicates, "no redelivery without restarts")
	require.Equal(t, int64(len(want)), st.Notifications)

	// The editor's own edits and disabled watchlists really were in play.
	var untouched int
	require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM users WHERE last_activity = '2020-01-01 00:00:00'").Scan(&untouched))
	require.Equal(t, len(f.users), untouched, "users.last_activity is not touched")

	dead := readDLQ(t, cfg.EntityChangeTopic, len(bad))
	for _, m := range dead {
		fragment, ok := reasons[string(m.Value)]
		require.True(t, ok, "unexpected DLQ message %q", m.Value)
		delete(reasons, string(m.Value))
		require.Contains(t, header(m, events.HeaderError), fragment, "reason of %q", m.Value)
		require.Equal(t, cfg.EntityChangeTopic, header(m, events.HeaderOriginalTopic))
	}
	require.Empty(t, reasons, "every malformed message is in the DLQ once")

	code, body := getJSON(t, w.healthURL+"/health")
	require.Equal(t, 200, code, body)
	bridge := body["details"].(map[string]any)["kafka_bridge"].(map[string]any)
	require.Equal(t, "consuming", bridge["state"])
	require.EqualValues(t, len(good), bridge["messages"])
	require.EqualValues(t, len(bad), bridge["dead_lettered"])
	metrics := getText(t, w.healthURL+"/metrics")
	require.Contains(t, metrics, fmt.Sprintf(`entitybase_kafka_bridge_messages_total{bridge="watchlist",consumer_group=%q,outcome="dead_lettered",topic=%q} 1000`,
		cfg.KafkaConsumerGroup, cfg.EntityChangeTopic))
	require.Contains(t, metrics, fmt.Sprintf(`entitybase_kafka_bridge_messages_total{bridge="watchlist",consumer_group=%q,outcome="delivered",topic=%q} 10000`,
		cfg.KafkaConsumerGroup, cfg.EntityChangeTopic))
	require.Contains(t, metrics, `entitybase_kafka_bridge_partition_lag_messages{bridge="watchlist"`)

	recordShardHistory(t, cfg)
	require.NoError(t, w.stop())
}

func TestWatchlistSurvivesRestartsAndRebalance(t *testing.T) {
	cfg := wlConfig(t, testConfig(t))
	db := openDB(t, cfg)
	f := newWLFixture(2, 200, 50, 10000)
	f.load(t, db)
	want := f.expected(false)
	good := goodMessages(f)

	// Produce steadily (about 500 events/s) while bridges come and go.
	producer := newProducer(cfg.EntityChangeTopic)
	defer producer.Close()
	produced := make(chan error, 1)
	go func() {
		for i := 0; i < len(good); i += 50 {
			if err := producer.WriteMessages(context.Background(), good[i:min(i+50, len(good))]...); err != nil {
				produced <- err
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		produced <- nil
	}()

	w := startWorker(t, cfg)
	for range 3 {
		time.Sleep(3 * time.Second)
		require.NoError(t, w.stop(), "bridge killed mid-stream")
		w = startWorker(t, cfg)
	}
	// A second instance joins the group: the partitions are rebalanced over both; then the
	// first leaves and the second takes everything.
	second := cfg
	second.WorkerID += "-second"
	time.Sleep(2 * time.Second)
	w2 := startWorker(t, second)
	time.Sleep(4 * time.Second)
	require.NoError(t, w.stop())
	require.NoError(t, <-produced)

	got, st := waitApplied(t, cfg, db, int64(len(good)), 4*time.Minute)
	t.Logf("with 3 restarts and a rebalance: %d notifications, stats %+v", len(got), st)
	requireSameNotifications(t, want, got)
	require.Equal(t, int64(len(good)), st.Events, "no event applied twice")
	require.Equal(t, int64(len(want)), st.Notifications, "no notification inserted twice")
	code, body := getJSON(t, w2.healthURL+"/health")
	require.Equal(t, 200, code, body)
	bridge := body["details"].(map[string]any)["kafka_bridge"].(map[string]any)
	require.Greater(t, bridge["messages"].(float64), 0.0, "the second instance took over partitions")
	require.NoError(t, w2.stop())
}

// TestWatchlistConsumesKcatEvents feeds events produced by kcat (librdkafka), a Kafka client
// independent of ours, in both wire forms.
func TestWatchlistConsumesKcatEvents(t *testing.T) {
	kcat := lookKcat(t)
	cfg := wlConfig(t, testConfig(t))
	db := openDB(t, cfg)
	f := newWLFixture(3, 40, 20, 500)
	f.load(t, db)
	want := f.expected(false)

	var lines strings.Builder
	for _, ev := range f.events {
		fmt.Fprintf(&lines, "%s\t%s\n", ev.Entity, ev.Value)
	}
	w := startWorker(t, cfg)
	runKcat(t, kcat, lines.String(), "-P", "-b", strings.Join(stack.KafkaBrokers, ","), "-t", cfg.EntityChangeTopic, "-K", "\t", "-z", "snappy")
	got, st := waitApplied(t, cfg, db, int64(len(f.events)), 2*time.Minute)
	requireSameNotifications(t, want, got)
	require.Equal(t, int64(len(f.events)), st.Events)
	require.NoError(t, w.stop())
}

func getText(t testing.TB, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// lookKcat finds kcat (Debian package kcat) or skips the test saying how to get it.
func lookKcat(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"kcat", "kafkacat"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("kcat not installed (apt-get install -y kcat); .ci/run installs it")
	return ""
}

func runKcat(t testing.TB, kcat, stdin string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kcat, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "kcat %v: %s", args, out)
}

// recordShardHistory replays every shard's history against the current workflow code and
// records shard 0's (UPDATE_HISTORIES=1).
func recordShardHistory(t testing.TB, cfg config.Config) {
	t.Helper()
	for s := range cfg.WatchlistShards {
		name := ""
		if s == 0 {
			name = "WatchlistWorkflow"
		}
		checkReplay(t, name, workflows.WatchlistWorkflowID(cfg.EntityChangeTopic, s), "")
	}
}

// BenchmarkWatchlist measures the watchlist end to end (Kafka → bridge → Temporal shard →
// notification rows) against a baseline in the same run: a plain consumer-group reader that
// applies the same rules and inserts the same rows directly, without Temporal. Throughput
// drains 50 000 events published at once; lag publishes 1 000 events/s for 10 s and takes,
// per event with watchers, its first notification's created_at minus the publish time.
func BenchmarkWatchlist(b *testing.B) {
	for range b.N {
		// 50 000 events for throughput, so that a run lasts seconds, not a polling interval.
		big := newWLFixture(7, 200, 50, 50000)
		wantBig := len(big.expected(false))
		tput := benchThroughput(b, big, wantBig, false)
		baseTput := benchThroughput(b, big, wantBig, true)

		f := newWLFixture(8, 200, 50, 10000)
		lag := benchLag(b, f, false)
		baseLag := benchLag(b, f, true)

		b.ReportMetric(tput, "events/s")
		b.ReportMetric(baseTput, "baseline-events/s")
		b.ReportMetric(100*tput/baseTput, "%-of-baseline")
		b.ReportMetric(ms(percentile(lag, 0.50)), "p50-lag-ms")
		b.ReportMetric(ms(percentile(lag, 0.99)), "p99-lag-ms")
		b.ReportMetric(ms(percentile(baseLag, 0.50)), "baseline-p50-lag-ms")
		b.ReportMetric(ms(percentile(baseLag, 0.99)), "baseline-p99-lag-ms")
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// benchSetup gives a fresh database with the fixture and a topic of its own.
func benchSetup(b *testing.B, f *wlFixture) (config.Config, *sql.DB) {
	cfg := testConfig(b)
	batchWait := cfg.BridgeBatchWait
	cfg = wlConfig(b, cfg)
	cfg.BridgeBatchWait = batchWait // the default, as deployed
	db := openDB(b, cfg)
	f.load(b, db)
	return cfg, db
}

// consumer runs either a worker with the bridge or the baseline consumer; stop ends it.
func benchConsumer(b *testing.B, cfg config.Config, db *sql.DB, baseline bool) (stop func()) {
	if !baseline {
		w := startWorker(b, cfg)
		return func() { w.stop() }
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		runBaselineConsumer(ctx, cfg, db)
	}()
	return func() { cancel(); <-done }
}

// runBaselineConsumer is the plain consumer: fetch a batch, apply the rules and insert the
// notifications, commit.
func runBaselineConsumer(ctx context.Context, cfg config.Config, db *sql.DB) {
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: cfg.KafkaBrokers, GroupID: cfg.KafkaConsumerGroup, Topic: cfg.EntityChangeTopic,
		StartOffset: kafka.FirstOffset, MaxWait: min(cfg.BridgeBatchWait, 500*time.Millisecond),
		HeartbeatInterval: time.Second, SessionTimeout: 10 * time.Second, RebalanceTimeout: 10 * time.Second, JoinGroupBackoff: time.Second})
	defer r.Close()
	n := &activities.Notifications{DB: db, NotifySelfEdits: cfg.NotifySelfEdits}
	for ctx.Err() == nil {
		first, err := r.FetchMessage(ctx)
		if err != nil {
			continue
		}
		msgs := []kafka.Message{first}
		fill, cancel := context.WithTimeout(ctx, cfg.BridgeBatchWait)
		// The same Kafka batch as the bridge's: BRIDGE_BATCH_SIZE per shard.
		for len(msgs) < cfg.BridgeBatchSize*cfg.WatchlistShards {
			m, err := r.FetchMessage(fill)
			if err != nil {
				break
			}
			msgs = append(msgs, m)
		}
		cancel()
		var changes []events.EntityChange
		for _, m := range msgs {
			if c, err := events.ParseEntityChange(m.Value); err == nil {
				changes = append(changes, c)
			}
		}
		for {
			if _, err := n.CreateNotifications(ctx, activities.CreateNotificationsInput{Changes: changes}); err == nil || ctx.Err() != nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		r.CommitMessages(ctx, msgs...)
	}
}

func countNotifications(b *testing.B, db *sql.DB) int {
	var n int
	require.NoError(b, db.QueryRow("SELECT COUNT(*) FROM user_notifications").Scan(&n))
	return n
}

// benchThroughput starts the consumer, lets its group settle, publishes every event at once
// and times from the first publish until the last notification is in.
func benchThroughput(b *testing.B, f *wlFixture, wantRows int, baseline bool) float64 {
	cfg, db := benchSetup(b, f)
	stop := benchConsumer(b, cfg, db, baseline)
	defer stop()
	producer := newProducer(cfg.EntityChangeTopic)
	defer producer.Close()
	time.Sleep(3 * time.Second)

	start := time.Now()
	require.NoError(b, producer.WriteMessages(context.Background(), goodMessages(f)...))
	deadline := start.Add(5 * time.Minute)
	for countNotifications(b, db) < wantRows {
		require.True(b, time.Now().Before(deadline), "throughput run did not finish")
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := time.Since(start)
	require.Equal(b, wantRows, countNotifications(b, db))
	return float64(len(f.events)) / elapsed.Seconds()
}

// benchLag publishes 1 000 events/s while the consumer runs and returns, for each event that
// has watchers, the time from its publication to its first notification row.
func benchLag(b *testing.B, f *wlFixture, baseline bool) []time.Duration {
	cfg, db := benchSetup(b, f)
	stop := benchConsumer(b, cfg, db, baseline)
	defer stop()
	// Let the group settle (first assignment) before the clock starts.
	warm := newProducer(cfg.EntityChangeTopic)
	defer warm.Close()
	time.Sleep(3 * time.Second)

	msgs := goodMessages(f)
	published := make(map[[2]any]time.Time, len(msgs))
	const perTick, tick = 10, 10 * time.Millisecond // 1 000 events/s
	next := time.Now()
	for i := 0; i < len(msgs); i += perTick {
		time.Sleep(time.Until(next))
		next = next.Add(tick)
		at := time.Now()
		require.NoError(b, warm.WriteMessages(context.Background(), msgs[i:min(i+perTick, len(msgs))]...))
		for _, ev := range f.events[i:min(i+perTick, len(msgs))] {
			published[[2]any{ev.Entity, ev.Revision}] = at
		}
	}
	want := len(f.expected(false))
	deadline := time.Now().Add(2 * time.Minute)
	for countNotifications(b, db) < want {
		require.True(b, time.Now().Before(deadline), "lag run did not finish")
		time.Sleep(50 * time.Millisecond)
	}
	rows, err := db.Query("SELECT entity_id, revision_id, MIN(created_at) FROM user_notifications GROUP BY entity_id, revision_id")
	require.NoError(b, err)
	defer rows.Close()
	var lags []time.Duration
	for rows.Next() {
		var e string
		var rev int64
		var created time.Time
		require.NoError(b, rows.Scan(&e, &rev, &created))
		lags = append(lags, created.Sub(published[[2]any{e, rev}]))
	}
	require.NoError(b, rows.Err())
	return lags
}

// topicMessageCount is the number of messages in topic: the sum over its partitions of the
// last offset less the first.
func topicMessageCount(t testing.TB, topic string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kc := &kafka.Client{Addr: kafka.TCP(stack.KafkaBrokers...), Timeout: 10 * time.Second}
	meta, err := kc.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	require.NoError(t, err)
	require.Len(t, meta.Topics, 1)
	require.NoError(t, meta.Topics[0].Error, topic)
	var reqs []kafka.OffsetRequest
	for _, p := range meta.Topics[0].Partitions {
		reqs = append(reqs, kafka.FirstOffsetOf(p.ID), kafka.LastOffsetOf(p.ID))
	}
	res, err := kc.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	require.NoError(t, err)
	var n int64
	for _, p := range res.Topics[topic] {
		require.NoError(t, p.Error)
		n += p.LastOffset - p.FirstOffset
	}
	return n
}

// TestMalformedMessagesAreDeadLetteredOnce runs both bridges of the entity_change topic (two
// consumer groups): each malformed message reaches the DLQ once, from the watchlist group,
// with headers naming that group and the reason.
func TestMalformedMessagesAreDeadLetteredOnce(t *testing.T) {
	cfg := wlConfig(t, testConfig(t))
	cfg.EntityDiffEnabled = true
	cfg.EntityDiffGroup = "ed-" + cfg.KafkaConsumerGroup
	w := startWorker(t, cfg)

	bad, reasons := malformed(45)
	producer := newProducer(cfg.EntityChangeTopic)
	defer producer.Close()
	require.NoError(t, producer.WriteMessages(context.Background(), bad...))

	// Both groups have committed every message; a bridge writes its dead letters before it
	// commits, so the DLQ holds all it ever will of these.
	bridgeCount := func(details map[string]any, bridge string, fields ...string) float64 {
		state, _ := details[bridge].(map[string]any)
		var n float64
		for _, f := range fields {
			v, _ := state[f].(float64)
			n += v
		}
		return n
	}
	var details map[string]any
	require.Eventually(t, func() bool {
		_, body := getJSON(t, w.healthURL+"/health")
		details = body["details"].(map[string]any)
		return bridgeCount(details, "kafka_bridge", "dead_lettered") == float64(len(bad)) &&
			bridgeCount(details, "entity_diff_bridge", "dead_lettered", "skipped_invalid") == float64(len(bad))
	}, 60*time.Second, 200*time.Millisecond, "both bridges commit the malformed messages")
	require.Zero(t, bridgeCount(details, "entity_diff_bridge", "dead_lettered"), "the entity-diff group leaves them to the watchlist group")
	require.EqualValues(t, len(bad), bridgeCount(details, "entity_diff_bridge", "skipped_invalid"), "and counts them")
	// The two bridges' metrics share their names on the worker's registry.
	metrics := getText(t, w.healthURL+"/metrics")
	require.Contains(t, metrics, fmt.Sprintf(`entitybase_kafka_bridge_messages_total{bridge="entity-diff",consumer_group=%q,outcome="skipped_invalid",topic=%q} %d`,
		cfg.EntityDiffGroup, cfg.EntityChangeTopic, len(bad)))
	require.Contains(t, metrics, fmt.Sprintf(`entitybase_kafka_bridge_messages_total{bridge="watchlist",consumer_group=%q,outcome="dead_lettered",topic=%q} %d`,
		cfg.KafkaConsumerGroup, cfg.EntityChangeTopic, len(bad)))

	require.Equal(t, int64(len(bad)), topicMessageCount(t, kafkabridge.DLQTopic(cfg.EntityChangeTopic)), "one dead letter per malformed message")
	origins := map[string]bool{}
	for _, m := range readDLQ(t, cfg.EntityChangeTopic, len(bad)) {
		fragment, ok := reasons[string(m.Value)]
		require.True(t, ok, "unexpected DLQ message %q", m.Value)
		require.Contains(t, header(m, events.HeaderError), fragment, "reason of %q", m.Value)
		require.Equal(t, cfg.KafkaConsumerGroup, header(m, events.HeaderConsumerGroup))
		require.Equal(t, cfg.EntityChangeTopic, header(m, events.HeaderOriginalTopic))
		origins[header(m, events.HeaderOriginalPartition)+"/"+header(m, events.HeaderOriginalOffset)] = true
	}
	require.Len(t, origins, len(bad), "each dead letter names a different source message")
	require.NoError(t, w.stop())
}
