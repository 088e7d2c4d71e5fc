package outbox_test

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/zap/zaptest"

	"github.com/entitybase/entitybase-workers/internal/events"
	"github.com/entitybase/entitybase-workers/internal/metrics"
	"github.com/entitybase/entitybase-workers/internal/outbox"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/store/storetest"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

const topic = "entitybase.entity_change"

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func startKafka(t *testing.T, port int) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port), kfake.SeedTopics(4, topic))
	require.NoError(t, err)
	return c
}

// saveRevisions writes revs revisions of each of n entities, interleaved, so the outbox holds
// every entity's events in revision order, and appends their revision IDs to saved, per entity.
func saveRevisions(t *testing.T, s *store.Entities, saved map[string][]int64, n, revs int) {
	t.Helper()
	for r := 1; r <= revs; r++ {
		var batch []store.SaveRequest
		for i := 1; i <= n; i++ {
			batch = append(batch, store.SaveRequest{Entity: &wikibase.Entity{
				Type: wikibase.TypeItem, ID: "Q" + strconv.Itoa(i),
				Labels: []wikibase.Term{{Language: "en", Value: fmt.Sprintf("item %d rev %d", i, r)}},
			}})
		}
		res, err := s.SaveBatch(context.Background(), batch)
		require.NoError(t, err)
		for _, r := range res {
			saved[r.EntityID] = append(saved[r.EntityID], r.RevisionID)
		}
	}
}

// consume reads want events from the topic and returns the revision ids per entity in the
// order they arrived.
func consume(t *testing.T, addr string, want int) map[string][]int64 {
	t.Helper()
	got := map[string][]int64{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for p := 0; p < 4; p++ {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{addr}, Topic: topic, Partition: p, MaxWait: 100 * time.Millisecond})
		hw, err := highWatermark(ctx, addr, p)
		require.NoError(t, err)
		for off := int64(0); off < hw; off++ {
			m, err := r.ReadMessage(ctx)
			require.NoError(t, err)
			ev, err := events.ParseEntityChange(m.Value)
			require.NoError(t, err)
			assert.Equal(t, ev.EntityID, string(m.Key), "key is the entity id")
			got[ev.EntityID] = append(got[ev.EntityID], ev.RevisionID)
		}
		r.Close()
	}
	total := 0
	for _, v := range got {
		total += len(v)
	}
	require.Equal(t, want, total, "events on the topic")
	return got
}

func highWatermark(ctx context.Context, addr string, partition int) (int64, error) {
	conn, err := kafka.DialLeader(ctx, "tcp", addr, topic, partition)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	return conn.ReadLastOffset()
}

// TestRelayDrainsAfterKafkaOutage: the relay runs while no broker listens, keeps every event,
// and publishes them all, in order per entity, once the broker is up.
func TestRelayDrainsAfterKafkaOutage(t *testing.T) {
	db, _ := storetest.NewDB(t)
	s := &store.Entities{DB: db}
	const entities, revs = 20, 5
	saved := map[string][]int64{}
	saveRevisions(t, s, saved, entities, revs)

	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	w := outbox.NewWriter(kafka.TCP(addr), nil, topic)
	defer w.Close()
	reg := prometheus.NewRegistry()
	work, err := metrics.New(reg)
	require.NoError(t, err)
	relay := &outbox.Relay{DB: db, Writer: w, Log: zaptest.NewLogger(t), PollInterval: 20 * time.Millisecond,
		BatchSize: 30, MaxBackoff: 200 * time.Millisecond, Metrics: work, BacklogEvery: 10 * time.Millisecond}
	gauge := func(name string) float64 { return served(t, reg, name).GetGauge().GetValue() }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- relay.Run(ctx) }()

	// Kafka is down: failures are counted, nothing is marked published.
	require.Eventually(t, func() bool { return relay.Status().Failures >= 2 }, 20*time.Second, 20*time.Millisecond)
	pending, err := outbox.Pending(context.Background(), db)
	require.NoError(t, err)
	assert.Equal(t, int64(entities*revs), pending)
	assert.True(t, relay.Status().Leader)
	// The backlog shows every event, and the oldest grows older while Kafka is down.
	require.Eventually(t, func() bool {
		return gauge("entitybase_outbox_backlog_events") == entities*revs
	}, 10*time.Second, 10*time.Millisecond)
	age := gauge("entitybase_outbox_oldest_event_age_seconds")
	assert.Greater(t, age, 0.0)
	require.Eventually(t, func() bool { return gauge("entitybase_outbox_oldest_event_age_seconds") > age }, 10*time.Second, 10*time.Millisecond)

	cluster := startKafka(t, port)
	defer cluster.Close()
	require.Eventually(t, func() bool {
		n, err := outbox.Pending(context.Background(), db)
		return err == nil && n == 0
	}, 30*time.Second, 50*time.Millisecond)

	// Events written while the relay runs go out too.
	saveRevisions(t, s, saved, 3, 1) // a sixth revision of Q1..Q3
	require.Eventually(t, func() bool {
		n, err := outbox.Pending(context.Background(), db)
		return err == nil && n == 0
	}, 30*time.Second, 50*time.Millisecond)
	require.Eventually(t, func() bool {
		return gauge("entitybase_outbox_backlog_events") == 0 && gauge("entitybase_outbox_oldest_event_age_seconds") == 0
	}, 10*time.Second, 10*time.Millisecond, "the drained outbox shows no backlog")
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
	// Every event published once, each with its lag: the first ones waited out the outage.
	assert.Equal(t, float64(entities*revs+3), served(t, reg, "entitybase_outbox_published_total").GetCounter().GetValue())
	lag := served(t, reg, "entitybase_outbox_publish_lag_seconds").GetHistogram()
	assert.Equal(t, uint64(entities*revs+3), lag.GetSampleCount())
	assert.Greater(t, lag.GetSampleSum(), age*entities*revs)

	got := consume(t, addr, entities*revs+3)
	for i := 1; i <= entities; i++ {
		id := "Q" + strconv.Itoa(i)
		want := 5
		if i <= 3 {
			want = 6
		}
		require.Len(t, saved[id], want)
		assert.Equal(t, saved[id], got[id], "events of %s in revision order, each once", id)
	}
	assert.Equal(t, int64(entities*revs+3), relay.Status().Published)
}

// served is the one series of the metric name that reg serves.
func served(t *testing.T, reg prometheus.Gatherer, name string) *dto.Metric {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == name {
			require.Len(t, f.GetMetric(), 1, name)
			return f.GetMetric()[0]
		}
	}
	t.Fatalf("%s is not served", name)
	return nil
}

// TestOnlyOneRelayPublishes: a second relay waits while the first holds the lock.
func TestOnlyOneRelayPublishes(t *testing.T) {
	db, _ := storetest.NewDB(t)
	port := freePort(t)
	cluster := startKafka(t, port)
	defer cluster.Close()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	s := &store.Entities{DB: db}
	saved := map[string][]int64{}
	saveRevisions(t, s, saved, 5, 2)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var relays [2]*outbox.Relay
	for i := range relays {
		w := outbox.NewWriter(kafka.TCP(addr), nil, topic)
		defer w.Close()
		relays[i] = &outbox.Relay{DB: db, Writer: w, Log: zaptest.NewLogger(t), PollInterval: 20 * time.Millisecond}
		go relays[i].Run(ctx)
	}
	require.Eventually(t, func() bool {
		n, err := outbox.Pending(context.Background(), db)
		return err == nil && n == 0
	}, 30*time.Second, 50*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	leaders := 0
	for _, r := range relays {
		if r.Status().Leader {
			leaders++
		}
	}
	assert.Equal(t, 1, leaders)
	assert.Equal(t, int64(10), relays[0].Status().Published+relays[1].Status().Published)
	got := consume(t, addr, 10)
	for i := 1; i <= 5; i++ {
		id := "Q" + strconv.Itoa(i)
		require.Len(t, saved[id], 2)
		assert.Equal(t, saved[id], got[id])
	}
}
