// Package temporalx builds Temporal clients the way every process of the project needs them:
// zap logging, Prometheus metrics, a readiness wait, the namespace and its custom search
// attributes; and it says in one line why a run failed or which of its activities is retrying.
package temporalx

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/uber-go/tally/v4"
	"github.com/uber-go/tally/v4/prometheus"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/entitybase/entitybase-workers/internal/config"
	"github.com/entitybase/entitybase-workers/internal/logging"
	"github.com/entitybase/entitybase-workers/internal/tlsclient"
)

// Metrics is the Prometheus registry behind the SDK's worker and client metrics.
type Metrics struct {
	Handler client.MetricsHandler
	HTTP    http.Handler
	// Registry is what HTTP serves: the SDK's metrics, the Go runtime's and the process's;
	// the worker's own collectors (internal/metrics, the Kafka bridges) register here.
	Registry *prom.Registry
	closer   io.Closer
}

// NewMetrics creates a Prometheus-backed metrics handler for the SDK.
func NewMetrics() (*Metrics, error) {
	// A registry per worker, not the global one: two workers in one process (tests, dev up)
	// would otherwise register the same collectors twice and panic.
	registry := prom.NewRegistry()
	// The Go runtime's and the process's own metrics (go_*, process_*), as every Go exporter
	// serves them.
	if err := errors.Join(registry.Register(collectors.NewGoCollector()),
		registry.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))); err != nil {
		return nil, fmt.Errorf("register the Go and process collectors: %w", err)
	}
	reporter := prometheus.NewReporter(prometheus.Options{Registerer: registry, Gatherer: registry})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:  reporter,
		Separator:       prometheus.DefaultSeparator,
		SanitizeOptions: &sdktally.PrometheusSanitizeOptions,
	}, time.Second)
	scope = sdktally.NewPrometheusNamingScope(scope)
	return &Metrics{Handler: sdktally.NewMetricsHandler(scope), HTTP: reporter.HTTPHandler(), Registry: registry, closer: closer}, nil
}

// Close flushes and stops the metrics scope.
func (m *Metrics) Close() error { return m.closer.Close() }

// Connection is where Temporal is and how to reach it: in the clear, over TLS (a private CA,
// a server name, a client certificate for mTLS) and with an API key (Temporal Cloud).
type Connection struct {
	Address, Namespace string
	// TLS, when not nil, secures the connection.
	TLS *tls.Config
	// APIKey, when set, goes with every call as a bearer token.
	APIKey config.Secret
	// settings names what TLS came from, for the hints of a failed dial.
	settings tlsclient.Files
}

// ConnectionFrom is the connection the configuration describes (TEMPORAL_ADDRESS,
// TEMPORAL_NAMESPACE, TEMPORAL_TLS*, TEMPORAL_API_KEY): the one the worker and every starter
// command use.
func ConnectionFrom(cfg config.Config) (Connection, error) {
	conn := Connection{Address: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace, APIKey: cfg.TemporalAPIKey, settings: cfg.TemporalTLS}
	if cfg.TemporalTLSEnabled {
		t, err := cfg.TemporalTLS.Config()
		if err != nil {
			return Connection{}, fmt.Errorf("temporal TLS: %w", err)
		}
		conn.TLS = t
	}
	return conn, nil
}

// ClientOptions are the SDK's options for conn: ConnectionOptions.TLS and Credentials.
func (conn Connection) ClientOptions() client.Options {
	opts := client.Options{HostPort: conn.Address, Namespace: conn.Namespace}
	if conn.TLS != nil {
		opts.ConnectionOptions.TLS = conn.TLS
	}
	if conn.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(conn.APIKey.Reveal())
		if conn.TLS == nil {
			// What Temporal Cloud needs; config makes TLS implied by an API key as well.
			opts.ConnectionOptions.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
		}
	}
	return opts
}

// Dial connects to Temporal and waits, up to wait, until the frontend answers its health
// check, so a server that is still starting is not an error. A failure that waiting cannot
// cure (a certificate or a key the server refuses) returns at once; its error says which
// setting to look at.
func Dial(ctx context.Context, conn Connection, log *zap.Logger, metrics client.MetricsHandler, wait time.Duration) (client.Client, error) {
	opts := conn.ClientOptions()
	opts.Logger = logging.Temporal(log.Named("temporal"))
	if metrics != nil {
		opts.MetricsHandler = metrics
	}
	deadline := time.Now().Add(wait)
	for {
		c, err := client.DialContext(ctx, opts)
		if err == nil {
			if _, err = c.CheckHealth(ctx, &client.CheckHealthRequest{}); err == nil {
				return c, nil
			}
			c.Close()
		}
		hint, lasting := conn.explain(err)
		if lasting || time.Now().After(deadline) || ctx.Err() != nil {
			if hint == "" {
				hint = "start one with `make dev` or set TEMPORAL_ADDRESS"
			}
			return nil, fmt.Errorf("cannot reach Temporal at %s (namespace %s): %w; %s", conn.Address, conn.Namespace, err, hint)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// explain says which setting a failed dial points at, and whether the failure lasts (retrying
// cannot cure it). gRPC hands the TLS handshake's errors over as text in its status, so the
// text is all there is to tell them apart.
func (conn Connection) explain(err error) (hint string, lasting bool) {
	if err == nil {
		return "", false
	}
	var denied *serviceerror.PermissionDenied
	if conn.APIKey != "" && (status.Code(err) == codes.Unauthenticated || errors.As(err, &denied)) {
		return "the server refused TEMPORAL_API_KEY: check that the key is valid, not expired, and has access to the namespace", true
	}
	msg := strings.ToLower(err.Error())
	has := func(s ...string) bool {
		for _, x := range s {
			if strings.Contains(msg, x) {
				return true
			}
		}
		return false
	}
	ca := "the system's CAs"
	if conn.settings.CA != "" {
		ca = "TEMPORAL_TLS_CA (" + conn.settings.CA + ")"
	}
	switch {
	case conn.TLS == nil && has("first record does not look like a tls handshake"):
		return "", false
	case conn.TLS != nil && has("first record does not look like a tls handshake"):
		return "the server does not speak TLS: unset TEMPORAL_TLS and the other TEMPORAL_TLS_* variables, or point TEMPORAL_ADDRESS at its TLS port", true
	case has("certificate signed by unknown authority"):
		return "wrong CA: the server's certificate is not signed by " + ca + "; set TEMPORAL_TLS_CA to the CA that signed it", true
	case has("certificate is valid for", "certificate is not valid for any names", "doesn't contain any ip sans"):
		name := conn.settings.ServerName
		if name == "" {
			name = conn.Address
		}
		return "wrong server name: the server's certificate is not valid for " + name + "; set TEMPORAL_TLS_SERVER_NAME to a name it is valid for", true
	case conn.TLS != nil && len(conn.TLS.Certificates) == 0 && has("certificate required", "bad certificate", "handshake failure"):
		return "no client certificate: the server requires one (mTLS); set TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY", true
	case has("certificate required", "unknown certificate authority", "bad certificate", "certificate expired", "certificate revoked", "unsupported certificate"):
		// A Go client sends its certificate only if a CA the server names signed it; else
		// the server sees none ("certificate required").
		return "the server refused the client certificate TEMPORAL_TLS_CERT (" + conn.settings.Cert + "): it is not signed by a CA the server trusts, or has expired", true
	case has("x509:", "tls:"):
		return "the TLS handshake failed: check TEMPORAL_TLS_CA, TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY and TEMPORAL_TLS_SERVER_NAME", true
	case conn.TLS == nil && has("server preface", "connection reset", "eof"):
		return "the server may require TLS: set TEMPORAL_TLS=true (and TEMPORAL_TLS_CA if its certificate is not publicly trusted), or start a server with `make dev`", false
	}
	return "", false
}

// RegisterSearchAttributes adds the custom search attributes the project's workflows set,
// skipping those that exist already (with the same type).
func RegisterSearchAttributes(ctx context.Context, c client.Client, namespace string, attrs map[string]enumspb.IndexedValueType) error {
	existing, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes of %s: %w", namespace, err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, typ := range attrs {
		have, ok := existing.GetCustomAttributes()[name]
		switch {
		case !ok:
			missing[name] = typ
		case have != typ:
			return fmt.Errorf("search attribute %s exists with type %s, want %s", name, have, typ)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: missing,
	})
	if err != nil {
		return fmt.Errorf("add search attributes to %s: %w", namespace, err)
	}
	return nil
}
