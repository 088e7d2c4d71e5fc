package app

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/entitybase/entitybase-workers/internal/config"
	"github.com/entitybase/entitybase-workers/internal/health"
	"github.com/entitybase/entitybase-workers/internal/kafkaconn"
	"github.com/entitybase/entitybase-workers/internal/tlsclient/tlstest"
)

// TestSecuredKafka runs a kfake broker that speaks only TLS and wants SASL, with a user for
// each mechanism, and reaches it through config and kafkaconn as the worker and the starter
// do: the right credentials produce (a writer with the Transport) and consume (a reader with
// the Dialer); wrong ones fail with an error that names the settings and not the password,
// and make /readyz answer 503 naming kafka.
func TestSecuredKafka(t *testing.T) {
	ca := tlstest.NewCA(t, "kafka-ca")
	server := ca.Server(t, "127.0.0.1")
	const pass256, pass512, passPlain = "pw-256-secret", "pw-512-secret", "pw-plain-secret"
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, "127.0.0.1:0") }),
		kfake.TLS(&tls.Config{Certificates: []tls.Certificate{server.TLS}, MinVersion: tls.VersionTLS12}),
		kfake.EnableSASL(),
		kfake.Superuser("SCRAM-SHA-256", "u256", pass256),
		kfake.Superuser("SCRAM-SHA-512", "u512", pass512),
		kfake.Superuser("PLAIN", "uplain", passPlain),
		kfake.SeedTopics(1, "secure-topic"),
	)
	require.NoError(t, err)
	defer c.Close()
	brokers := c.ListenAddrs()[0]

	cluster := func(env map[string]string) kafkaconn.Cluster {
		env["KAFKA_BROKERS"] = brokers
		cfg, err := config.LoadFrom(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		require.NoError(t, err)
		k, err := kafkaconn.FromConfig(cfg)
		require.NoError(t, err)
		return k
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	offset := int64(0)
	for _, tc := range []struct{ mechanism, user, pass string }{
		{"SCRAM-SHA-256", "u256", pass256}, {"SCRAM-SHA-512", "u512", pass512}, {"PLAIN", "uplain", passPlain},
	} {
		t.Run(tc.mechanism, func(t *testing.T) {
			k := cluster(map[string]string{"KAFKA_TLS_CA": ca.File, "KAFKA_SASL_MECHANISM": tc.mechanism, "KAFKA_SASL_USERNAME": tc.user, "KAFKA_SASL_PASSWORD": tc.pass})
			require.NotNil(t, k.TLS)
			require.NoError(t, KafkaCheck(k)(ctx))
			w := &kafka.Writer{Addr: k.Addr(), Transport: k.Transport(), Topic: "secure-topic", BatchTimeout: time.Millisecond, RequiredAcks: kafka.RequireAll}
			require.NoError(t, w.WriteMessages(ctx, kafka.Message{Key: []byte("Q1"), Value: []byte("via " + tc.mechanism)}))
			require.NoError(t, w.Close())
			r := kafka.NewReader(kafka.ReaderConfig{Brokers: k.Brokers, Topic: "secure-topic", Partition: 0, Dialer: k.Dialer(), MaxWait: 500 * time.Millisecond})
			defer r.Close()
			require.NoError(t, r.SetOffset(offset))
			m, err := r.ReadMessage(ctx)
			require.NoError(t, err)
			require.Equal(t, "via "+tc.mechanism, string(m.Value))
			offset = m.Offset + 1
		})
	}

	otherCA := tlstest.NewCA(t, "other-ca")
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"wrong password", map[string]string{"KAFKA_TLS_CA": ca.File, "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "KAFKA_SASL_USERNAME": "u512", "KAFKA_SASL_PASSWORD": "not-" + pass512},
			`the brokers refused SASL SCRAM-SHA-512 as user "u512": check KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD`},
		{"wrong PLAIN password", map[string]string{"KAFKA_TLS_CA": ca.File, "KAFKA_SASL_MECHANISM": "PLAIN", "KAFKA_SASL_USERNAME": "uplain", "KAFKA_SASL_PASSWORD": "not-" + passPlain},
			`the brokers refused SASL PLAIN as user "uplain"`},
		{"wrong CA", map[string]string{"KAFKA_TLS_CA": otherCA.File, "KAFKA_SASL_MECHANISM": "PLAIN", "KAFKA_SASL_USERNAME": "uplain", "KAFKA_SASL_PASSWORD": passPlain},
			"wrong CA: the brokers' certificate is not signed by KAFKA_TLS_CA (" + otherCA.File + ")"},
		{"no TLS", map[string]string{"KAFKA_SASL_MECHANISM": "PLAIN", "KAFKA_SASL_USERNAME": "uplain", "KAFKA_SASL_PASSWORD": passPlain},
			"they may want TLS (KAFKA_TLS=true)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := cluster(tc.env)
			err := KafkaCheck(k)(ctx)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			for _, p := range []string{pass256, pass512, passPlain} {
				require.NotContains(t, err.Error(), p)
			}
			w := &kafka.Writer{Addr: k.Addr(), Transport: k.Transport(), Topic: "secure-topic", MaxAttempts: 1, BatchTimeout: time.Millisecond}
			err = k.Explain(w.WriteMessages(ctx, kafka.Message{Value: []byte("x")}))
			w.Close()
			require.ErrorContains(t, err, tc.want, "a writer's error says the same")

			hs := health.New("w1")
			hs.AddCheck("kafka", KafkaCheck(k))
			srv := httptest.NewServer(hs.Handler())
			defer srv.Close()
			resp, err := http.Get(srv.URL + "/readyz")
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
			var ready struct{ Failed map[string]string }
			require.NoError(t, json.Unmarshal(body, &ready), string(body))
			require.Contains(t, ready.Failed["kafka"], tc.want, "/readyz names kafka and why")
			for _, p := range []string{pass256, pass512, passPlain} {
				require.NotContains(t, string(body), p)
			}
		})
	}
}
