package watchlist

import (
	"errors"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// The bridge's metrics live on Prometheus' default registry, which is the one the worker's
// /metrics serves (the SDK's tally reporter uses it too). They are registered once per
// process and labelled by topic, so two bridges in one process (tests) share them.
var (
	registerOnce sync.Once
	registerErr  error

	messagesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "entitybase_watchlist_bridge_messages_total",
		Help: "entity_change messages the bridge committed, by outcome (delivered to Temporal or dead_lettered).",
	}, []string{"topic", "outcome"})
	batchesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "entitybase_watchlist_bridge_batches_total",
		Help: "Batches the bridge fetched, delivered and committed.",
	}, []string{"topic"})
	signalsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "entitybase_watchlist_bridge_signals_total",
		Help: "Signal-With-Start calls Temporal accepted.",
	}, []string{"topic"})
	signalErrorsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "entitybase_watchlist_bridge_signal_errors_total",
		Help: "Signal-With-Start calls that failed (retried unless permanent).",
	}, []string{"topic"})
	signalSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "entitybase_watchlist_bridge_signal_seconds",
		Help:    "Latency of accepted Signal-With-Start calls.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
	}, []string{"topic"})
	eventAgeSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "entitybase_watchlist_bridge_event_age_seconds",
		Help:    "Time from a message's Kafka timestamp to its commit by the bridge.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
	}, []string{"topic"})
	partitionLag = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "entitybase_watchlist_bridge_partition_lag_messages",
		Help: "Messages between the last committed one and the partition's end, as of the last batch.",
	}, []string{"topic", "partition"})
)

type bridgeMetrics struct {
	delivered, deadLettered, batches, signals, signalErrors prometheus.Counter
	signalSeconds, eventAge                                 prometheus.Observer
	lag                                                     *prometheus.GaugeVec
}

func metricsFor(topic string) (*bridgeMetrics, error) {
	registerOnce.Do(func() {
		for _, c := range []prometheus.Collector{messagesTotal, batchesTotal, signalsTotal, signalErrorsTotal,
			signalSeconds, eventAgeSeconds, partitionLag} {
			if err := prometheus.Register(c); err != nil {
				registerErr = errors.Join(registerErr, err)
			}
		}
	})
	if registerErr != nil {
		return nil, fmt.Errorf("register watchlist bridge metrics: %w", registerErr)
	}
	return &bridgeMetrics{
		delivered:     messagesTotal.WithLabelValues(topic, "delivered"),
		deadLettered:  messagesTotal.WithLabelValues(topic, "dead_lettered"),
		batches:       batchesTotal.WithLabelValues(topic),
		signals:       signalsTotal.WithLabelValues(topic),
		signalErrors:  signalErrorsTotal.WithLabelValues(topic),
		signalSeconds: signalSeconds.WithLabelValues(topic),
		eventAge:      eventAgeSeconds.WithLabelValues(topic),
		lag:           partitionLag.MustCurryWith(prometheus.Labels{"topic": topic}),
	}, nil
}
