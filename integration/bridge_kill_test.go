package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"

	"github.com/entitybase/entitybase-workers/internal/config"
)

// bridgeWorkerEnv is the environment of a worker process that runs only the watchlist
// bridge (and the workflows), as id.
func bridgeWorkerEnv(cfg config.Config, id string) []string {
	return []string{
		"TEMPORAL_ADDRESS=" + cfg.TemporalAddress, "TEMPORAL_NAMESPACE=" + cfg.TemporalNamespace,
		"TEMPORAL_TASK_QUEUE=" + cfg.TaskQueue, "MYSQL_DSN=" + cfg.MySQLDSN, "WORKER_ID=" + id,
		"HEALTH_ADDR=127.0.0.1:0", "KAFKA_BROKERS=" + strings.Join(cfg.KafkaBrokers, ","),
		"KAFKA_ENTITY_CHANGE_TOPIC=" + cfg.EntityChangeTopic, "KAFKA_CONSUMER_GROUP=" + cfg.KafkaConsumerGroup,
		"KAFKA_SESSION_TIMEOUT=" + cfg.KafkaSessionTimeout.String(), "BRIDGE_BATCH_WAIT=" + cfg.BridgeBatchWait.String(),
		"ENTITY_DIFF_ENABLED=false", "OUTBOX_RELAY_ENABLED=false", "LOG_FORMAT=json",
	}
}

// committedMessages is how many messages the worker's watchlist bridge has committed.
func committedMessages(t testing.TB, healthURL string) int64 {
	t.Helper()
	_, body := getJSON(t, healthURL+"/health")
	bridge, _ := body["details"].(map[string]any)["kafka_bridge"].(map[string]any)
	n, _ := bridge["messages"].(float64)
	return int64(n)
}

// resumeAfterKill SIGKILLs w (whose bridge has consumed), starts its replacement at once
// and publishes msgs once the replacement runs. It returns the replacement and the time
// from its start to its bridge's first commit: how long consumption stood still.
func resumeAfterKill(t testing.TB, cfg config.Config, w *workerProcess, id string, publish func()) (*workerProcess, time.Duration) {
	t.Helper()
	w.kill(t)
	next := startProcess(t, bridgeWorkerEnv(cfg, id)...)
	url := next.healthURL(t)
	publish()
	deadline := next.started.Add(3 * time.Minute)
	for committedMessages(t, url) == 0 {
		require.True(t, time.Now().Before(deadline), "the replacement consumed nothing in 3 minutes")
		time.Sleep(50 * time.Millisecond)
	}
	return next, time.Since(next.started)
}

// waitCommitted waits until the worker's bridge has committed at least one message.
func waitCommitted(t testing.TB, w *workerProcess) {
	t.Helper()
	url := w.healthURL(t)
	require.Eventually(t, func() bool { return committedMessages(t, url) > 0 }, 2*time.Minute, 50*time.Millisecond,
		"the first worker's bridge consumes")
}

// bridgeResumeBound is far above a rejoin bounded by the session timeout (seconds) and far below
// the 90 s stalls seen before, so a busy machine cannot fail it; the time itself is
// measured by BenchmarkBridgeResumeAfterKill.
const bridgeResumeBound = 45 * time.Second

// TestBridgeResumesSoonAfterItsWorkerIsKilled SIGKILLs a worker process mid-stream (no
// leave-group, no last commit) and starts a replacement: the replacement consumes within
// the bound, every event is applied once and notifies exactly its watchers. The mechanism
// is the consumer group's session timeout, which bounds how long the broker waits for the
// dead member before it hands its partitions on: every JoinGroup carries
// KAFKA_SESSION_TIMEOUT as its session and rebalance timeout.
func TestBridgeResumesSoonAfterItsWorkerIsKilled(t *testing.T) {
	cfg := testConfig(t)
	k := newTestKafka(t, cfg.EntityChangeTopic, cfg.EntityChangeTopic+".dlq")
	cfg.KafkaBrokers = k.ListenAddrs()
	cfg.BridgeBatchWait = 50 * time.Millisecond
	db := openDB(t, cfg)
	f := newWLFixture(5, 100, 30, 2000)
	f.load(t, db)
	want := f.expected(false)
	good := goodMessages(f)
	producer := k.producer(cfg.EntityChangeTopic)
	defer producer.Close()
	ctx := context.Background()

	first := startProcess(t, bridgeWorkerEnv(cfg, "killed")...)
	require.NoError(t, producer.WriteMessages(ctx, good[:1000]...))
	waitCommitted(t, first)
	second, resumed := resumeAfterKill(t, cfg, first, "replacement", func() {
		require.NoError(t, producer.WriteMessages(ctx, good[1000:]...))
	})
	t.Logf("the replacement committed its first batch %s after it started (session timeout %s)", resumed.Round(10*time.Millisecond), cfg.KafkaSessionTimeout)
	require.Less(t, resumed, bridgeResumeBound)

	got, st := waitApplied(t, cfg, db, int64(len(good)), 3*time.Minute)
	requireSameNotifications(t, want, got)
	require.Equal(t, int64(len(good)), st.Events, "every event applied once, redelivered ones dropped")

	joins := k.joinRequests(cfg.KafkaConsumerGroup)
	require.GreaterOrEqual(t, len(joins), 2, "both workers joined the group")
	for _, j := range joins {
		require.Equal(t, int32(cfg.KafkaSessionTimeout.Milliseconds()), j.SessionTimeoutMillis)
		require.Equal(t, int32(cfg.KafkaSessionTimeout.Milliseconds()), j.RebalanceTimeoutMillis)
	}
	require.Equal(t, 6*time.Second, cfg.KafkaSessionTimeout, "the default: the smallest session timeout brokers accept by default")
	second.kill(t)
}

// BenchmarkBridgeResumeAfterKill measures how long a worker's replacement takes, from its
// start, to commit its first message after the worker was SIGKILLed, with the old session
// timeout (10 s) and the default (6 s).
func BenchmarkBridgeResumeAfterKill(b *testing.B) {
	for _, session := range []time.Duration{10 * time.Second, 6 * time.Second} {
		b.Run("session-"+session.String(), func(b *testing.B) {
			var total, worst time.Duration
			for i := range b.N {
				cfg := wlConfig(b, testConfig(b))
				cfg.KafkaSessionTimeout = session
				openDB(b, cfg)
				producer := newProducer(cfg.EntityChangeTopic)
				publish := func() {
					var msgs []kafka.Message
					for e := range 20 {
						msgs = append(msgs, kafka.Message{Key: fmt.Appendf(nil, "Q%d", e+1),
							Value: fmt.Appendf(nil, `{"entity_id":"Q%d","revision_id":%d,"change_type":"edit","changed_at":"2026-01-01T00:00:00Z"}`, e+1, time.Now().UnixNano())})
					}
					require.NoError(b, producer.WriteMessages(context.Background(), msgs...))
				}
				first := startProcess(b, bridgeWorkerEnv(cfg, fmt.Sprintf("bench-%d-a", i))...)
				publish()
				waitCommitted(b, first)
				second, resumed := resumeAfterKill(b, cfg, first, fmt.Sprintf("bench-%d-b", i), publish)
				second.kill(b)
				producer.Close()
				total += resumed
				worst = max(worst, resumed)
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "s-to-resume")
			b.ReportMetric(worst.Seconds(), "worst-s-to-resume")
		})
	}
}
