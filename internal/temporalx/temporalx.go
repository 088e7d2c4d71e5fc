// Package temporalx builds Temporal clients the way every process of the project needs them:
// zap logging, Prometheus metrics, a readiness wait, the namespace and its custom search
// attributes; and it says in one line why a run failed or which of its activities is retrying.
package temporalx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/uber-go/tally/v4"
	"github.com/uber-go/tally/v4/prometheus"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
	"go.uber.org/zap"

	"github.com/entitybase/entitybase-workers/internal/logging"
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

// Dial connects to Temporal at address and waits, up to wait, until the frontend answers its
// health check, so a server that is still starting is not an error.
func Dial(ctx context.Context, address, namespace string, log *zap.Logger, metrics client.MetricsHandler, wait time.Duration) (client.Client, error) {
	opts := client.Options{
		HostPort:  address,
		Namespace: namespace,
		Logger:    logging.Temporal(log.Named("temporal")),
	}
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
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("cannot reach Temporal at %s (namespace %s): %w; start one with `make dev` or set TEMPORAL_ADDRESS", address, namespace, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
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
