package integration

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// testKafka is a Kafka broker of the test's own, for what the shared one cannot do: it
// records the JoinGroup requests it receives, and while broken it closes every connection
// that asks for more than metadata, so a worker's Kafka dependency check (a metadata
// request) stays green while its bridge and relay can neither consume nor publish.
type testKafka struct {
	*kfake.Cluster
	broken atomic.Bool

	mu    sync.Mutex
	joins []kmsg.JoinGroupRequest
}

func newTestKafka(t testing.TB, topics ...string) *testKafka {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(2),
		kfake.SeedTopics(2, topics...))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	k := &testKafka{Cluster: c}
	c.Control(func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		switch r := req.(type) {
		case *kmsg.MetadataRequest, *kmsg.ApiVersionsRequest:
			return nil, nil, false
		case *kmsg.JoinGroupRequest:
			k.mu.Lock()
			k.joins = append(k.joins, *r)
			k.mu.Unlock()
		}
		if k.broken.Load() {
			return nil, errors.New("broken by the test"), true
		}
		return nil, nil, false
	})
	return k
}

// joinRequests returns the JoinGroup requests the broker received for group.
func (k *testKafka) joinRequests(group string) []kmsg.JoinGroupRequest {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []kmsg.JoinGroupRequest
	for _, j := range k.joins {
		if j.Group == group {
			out = append(out, j)
		}
	}
	return out
}

// producer writes to the broker, keyed by entity as the outbox relay does.
func (k *testKafka) producer(topic string) *kafka.Writer {
	return &kafka.Writer{Addr: kafka.TCP(k.ListenAddrs()...), Topic: topic, Balancer: &kafka.Hash{},
		RequiredAcks: kafka.RequireAll, BatchSize: 500, BatchTimeout: 2 * time.Millisecond}
}
