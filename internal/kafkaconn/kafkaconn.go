// Package kafkaconn is how every Kafka client of the project reaches the brokers, with TLS and
// SASL from the configuration: the bridges' readers (Dialer), the writers of the outbox relay,
// the entity-diff stream, the dead letters and `events publish`, and the admin client of `dev
// setup` and /readyz (Transport). Its Explain adds to an error which setting to look at.
package kafkaconn

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/entitybase/entitybase-workers/internal/config"
)

// Cluster is a Kafka cluster and how to connect to it.
type Cluster struct {
	Brokers []string
	// TLS, when not nil, secures every connection.
	TLS *tls.Config
	// SASL, when not nil, authenticates every connection.
	SASL sasl.Mechanism
	// caFile names the CA the brokers' certificates are checked against, for Explain.
	caFile string
	user   string
}

// FromConfig is the cluster KAFKA_BROKERS, KAFKA_TLS* and KAFKA_SASL_* describe.
func FromConfig(cfg config.Config) (Cluster, error) {
	k := Cluster{Brokers: cfg.KafkaBrokers, caFile: cfg.KafkaTLS.CA, user: cfg.KafkaSASL.Username}
	if cfg.KafkaTLSEnabled {
		t, err := cfg.KafkaTLS.Config()
		if err != nil {
			return Cluster{}, fmt.Errorf("kafka TLS: %w", err)
		}
		k.TLS = t
	}
	s := cfg.KafkaSASL
	switch s.Mechanism {
	case "":
	case "PLAIN":
		k.SASL = plain.Mechanism{Username: s.Username, Password: s.Password.Reveal()}
	case "SCRAM-SHA-256", "SCRAM-SHA-512":
		algo := scram.SHA256
		if s.Mechanism == "SCRAM-SHA-512" {
			algo = scram.SHA512
		}
		m, err := scram.Mechanism(algo, s.Username, s.Password.Reveal())
		if err != nil {
			// The error is about the user name or password's encoding (SASLprep), never quoting them.
			return Cluster{}, fmt.Errorf("KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD for %s: %w", s.Mechanism, err)
		}
		k.SASL = m
	default:
		return Cluster{}, fmt.Errorf("KAFKA_SASL_MECHANISM=%s: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", s.Mechanism)
	}
	return k, nil
}

// Plain is a cluster reached without TLS or SASL (tests, the dev stack).
func Plain(brokers ...string) Cluster { return Cluster{Brokers: brokers} }

// Addr is the brokers' address for a kafka.Writer or kafka.Client.
func (k Cluster) Addr() net.Addr { return kafka.TCP(k.Brokers...) }

// Transport is the round tripper of a kafka.Writer or kafka.Client: a new one each call, since
// closing a writer closes its transport's connections.
func (k Cluster) Transport() *kafka.Transport {
	return &kafka.Transport{
		Dial:        (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		DialTimeout: 5 * time.Second,
		IdleTimeout: 30 * time.Second,
		MetadataTTL: 6 * time.Second,
		TLS:         k.TLS,
		SASL:        k.SASL,
	}
}

// Dialer is the dialer of a kafka.Reader.
func (k Cluster) Dialer() *kafka.Dialer {
	return &kafka.Dialer{Timeout: 10 * time.Second, DualStack: true, TLS: k.TLS, SASLMechanism: k.SASL}
}

// Explain adds to err what a person should check when it is a TLS or SASL failure; other
// errors come back as they are.
func (k Cluster) Explain(err error) error {
	if err == nil {
		return nil
	}
	if hint := k.hint(err); hint != "" {
		return fmt.Errorf("%w (%s)", err, hint)
	}
	return err
}

func (k Cluster) hint(err error) string {
	refused := func() string {
		return fmt.Sprintf("the brokers refused SASL %s as user %q: check KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD", k.SASL.Name(), k.user)
	}
	if errors.Is(err, kafka.SASLAuthenticationFailed) || errors.Is(err, kafka.UnsupportedSASLMechanism) || errors.Is(err, kafka.IllegalSASLState) {
		if k.SASL == nil {
			return "the brokers want SASL: set KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
		}
		return refused()
	}
	// TLS failures reach here as text through kafka-go's dial errors.
	msg := strings.ToLower(err.Error())
	closed := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(msg, "eof") || strings.Contains(msg, "connection reset")
	switch {
	case strings.Contains(msg, "certificate signed by unknown authority"):
		ca := "the system's CAs"
		if k.caFile != "" {
			ca = "KAFKA_TLS_CA (" + k.caFile + ")"
		}
		return "wrong CA: the brokers' certificate is not signed by " + ca
	case strings.Contains(msg, "certificate is valid for"), strings.Contains(msg, "doesn't contain any ip sans"):
		return "the brokers' certificate is not valid for the host in KAFKA_BROKERS"
	case strings.Contains(msg, "certificate required"), strings.Contains(msg, "bad certificate"):
		return "the brokers require a client certificate they trust: set KAFKA_TLS_CERT and KAFKA_TLS_KEY"
	case strings.Contains(msg, "first record does not look like a tls handshake"):
		return "the brokers do not speak TLS on this port: unset KAFKA_TLS and KAFKA_TLS_*"
	case k.TLS == nil && k.SASL != nil && closed:
		return "the brokers closed the connection: they may want TLS (KAFKA_TLS=true) or refuse the SASL credentials"
	case k.TLS == nil && closed:
		return "the brokers closed the connection: they may want TLS (KAFKA_TLS=true) or SASL (KAFKA_SASL_*)"
	case k.SASL != nil && closed:
		// Over an established TLS connection, closing it is how a broker refuses credentials.
		return refused()
	case closed:
		return "the brokers closed the connection: they may want SASL (KAFKA_SASL_*) or a client certificate (KAFKA_TLS_CERT)"
	}
	return ""
}
