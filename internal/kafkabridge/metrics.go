package kafkabridge

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are one bridge's Prometheus metrics: throughput (messages, batches, signals) and
// lag (messages behind the partition end, age of an event at commit). Every bridge has the
// same metric names; the labels bridge, consumer_group and topic tell them apart.
type metrics struct {
	delivered, deadLettered, skippedInvalid, batches, signals, signalErrors prometheus.Counter
	signalSeconds, eventAge                                                 prometheus.Observer
	lag                                                                     *prometheus.GaugeVec
}

// newMetrics creates a bridge's metrics and registers them on reg (the worker's /metrics
// registry); a nil reg keeps them unregistered, for tests and embedding programs.
func newMetrics(reg prometheus.Registerer, bridge, topic, group string) (*metrics, error) {
	labels := prometheus.Labels{"bridge": bridge, "consumer_group": group, "topic": topic}
	messages := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "entitybase_kafka_bridge_messages_total", ConstLabels: labels,
		Help: "entity_change messages the bridge committed, by outcome (delivered to Temporal, dead_lettered, or skipped_invalid: malformed, dead-lettered by another group).",
	}, []string{"outcome"})
	batches := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "entitybase_kafka_bridge_batches_total", ConstLabels: labels,
		Help: "Batches the bridge fetched, delivered and committed.",
	})
	signals := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "entitybase_kafka_bridge_signals_total", ConstLabels: labels,
		Help: "Signal-With-Start calls Temporal accepted.",
	})
	signalErrors := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "entitybase_kafka_bridge_signal_errors_total", ConstLabels: labels,
		Help: "Signal-With-Start calls that failed (retried unless Temporal refused them for good).",
	})
	signalSeconds := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "entitybase_kafka_bridge_signal_seconds", ConstLabels: labels,
		Help:    "Latency of accepted Signal-With-Start calls.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
	})
	eventAge := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "entitybase_kafka_bridge_event_age_seconds", ConstLabels: labels,
		Help:    "Time from a message's Kafka timestamp to its commit by the bridge.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
	})
	lag := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "entitybase_kafka_bridge_partition_lag_messages", ConstLabels: labels,
		Help: "Messages between the last committed one and the partition's end, as of the last batch.",
	}, []string{"partition"})
	if reg != nil {
		var errs []error
		for _, c := range []prometheus.Collector{messages, batches, signals, signalErrors, signalSeconds, eventAge, lag} {
			errs = append(errs, reg.Register(c))
		}
		if err := errors.Join(errs...); err != nil {
			return nil, fmt.Errorf("register the metrics of kafka bridge %s: %w", bridge, err)
		}
	}
	return &metrics{
		delivered: messages.WithLabelValues("delivered"), deadLettered: messages.WithLabelValues("dead_lettered"),
		skippedInvalid: messages.WithLabelValues("skipped_invalid"),
		batches:        batches, signals: signals, signalErrors: signalErrors,
		signalSeconds: signalSeconds, eventAge: eventAge, lag: lag,
	}, nil
}
