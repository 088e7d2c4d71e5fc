// Package metrics holds the worker's own Prometheus metrics, entitybase_*: what the jobs did
// (runs by outcome, duration, last success), what dumps and imports wrote and rejected, the ID
// blocks the allocators claimed and how much of them is handed out, and the outbox relay's
// backlog and lag. The Kafka bridges keep theirs in internal/kafkabridge (stream lag per
// consumer group, dead letters).
//
// Activities and background services record into a *Work directly: they run in the worker
// process, once per attempt. Workflow code must not (a replay would count again): the job
// interceptor (JobInterceptor) records the runs of a job through the SDK's replay-aware
// metrics handler, which SDKHandler routes to the job metrics here.
//
// Every method of a nil *Work does nothing, so tests and tools that build activities without
// a registry need none.
package metrics

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Names of the job metrics that the SDK's handler carries from workflow code (SDKHandler),
// and their tags.
const (
	JobRuns        = "entitybase_job_runs_total"
	JobDuration    = "entitybase_job_duration_seconds"
	JobLastSuccess = "entitybase_job_last_success_timestamp_seconds"

	// TagJob is the job's name ("general-stats", "json-dump", "import"): not "job", which a
	// Prometheus scrape sets to the scrape job's name.
	TagJob     = "job_name"
	TagOutcome = "outcome"
)

// Outcomes of a job run.
const (
	OutcomeSucceeded = "succeeded"
	OutcomeFailed    = "failed"
	OutcomeCanceled  = "canceled"
)

// Work is the worker's own metrics.
type Work struct {
	jobRuns        *prometheus.CounterVec
	jobDuration    *prometheus.HistogramVec
	jobLastSuccess *prometheus.GaugeVec

	dumpEntities          *prometheus.CounterVec
	dumpUncompressedBytes *prometheus.CounterVec
	dumpCompressedBytes   *prometheus.CounterVec
	dumpFilesPublished    *prometheus.CounterVec

	importEntities   *prometheus.CounterVec
	importRejections prometheus.Counter
	importBytes      prometheus.Counter

	idBlocksClaimed    *prometheus.CounterVec
	idsHandedOut       *prometheus.CounterVec
	idBlockUtilisation *prometheus.GaugeVec
	idBlockSize        *prometheus.GaugeVec

	outboxBacklog    prometheus.Gauge
	outboxOldestAge  prometheus.Gauge
	outboxPublished  prometheus.Counter
	outboxPublishLag prometheus.Histogram
}

// New creates the metrics and registers them on reg (the registry /metrics serves); a nil
// reg leaves them unregistered.
func New(reg prometheus.Registerer) (*Work, error) {
	w := &Work{
		jobRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: JobRuns,
			Help: "Runs of a job (stats, cleanup, dumps, imports) that ended on this worker, by outcome: succeeded, failed or canceled. Runs that time out or are terminated end on the server and are not counted; entitybase_job_last_success_timestamp_seconds shows them.",
		}, []string{TagJob, TagOutcome}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: JobDuration,
			Help: "Time from a job run's start to its end, by outcome.",
			// 1 s to about 3 days: a stats run takes seconds, a full dump hours.
			Buckets: prometheus.ExponentialBuckets(1, 4, 10),
		}, []string{TagJob, TagOutcome}),
		jobLastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: JobLastSuccess,
			Help: "When a run of the job last succeeded on this worker (Unix seconds); absent until one did since the worker started.",
		}, []string{TagJob}),

		dumpEntities: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "entitybase_dump_entities_total",
			Help: "Entities written into dump parts, by format and entity type (a part kept from an earlier attempt is not counted again).",
		}, []string{"format", "entity_type"}),
		dumpUncompressedBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "entitybase_dump_uncompressed_bytes_total",
			Help: "Bytes written into dump parts before compression, by format.",
		}, []string{"format"}),
		dumpCompressedBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "entitybase_dump_compressed_bytes_total",
			Help: "Compressed bytes of the dump parts written, by format.",
		}, []string{"format"}),
		dumpFilesPublished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "entitybase_dump_files_published_total",
			Help: "Dump files assembled and published, by format (a file another run had published and that was kept is not counted).",
		}, []string{"format"}),

		importEntities: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "entitybase_import_entities_total",
			Help: "Entities and redirects an import committed, by outcome: created, updated or unchanged.",
		}, []string{"outcome"}),
		importRejections: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "entitybase_import_rejections_total",
			Help: "Entities and redirects an import rejected (not valid, over a limit, unknown redirect target).",
		}),
		importBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "entitybase_import_bytes_total",
			Help: "Bytes of the import sources whose chunks finished (as stored, compressed or not).",
		}),

		idBlocksClaimed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "entitybase_id_blocks_claimed_total",
			Help: "Blocks of entity IDs claimed in id_ranges, by entity type (a retried claim that found its block is not counted again).",
		}, []string{"entity_type"}),
		idsHandedOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "entitybase_ids_handed_out_total",
			Help: "Entity IDs the allocators recorded as handed out, by entity type.",
		}, []string{"entity_type"}),
		idBlockUtilisation: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "entitybase_id_block_utilisation_ratio",
			Help: "Share of the current ID block of a type that is handed out (0 to 1), as of the last hand-out recorded on this worker.",
		}, []string{"entity_type"}),
		idBlockSize: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "entitybase_id_block_size",
			Help: "IDs in the last block claimed on this worker, by entity type.",
		}, []string{"entity_type"}),

		outboxBacklog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "entitybase_outbox_backlog_events",
			Help: "entity_change events in the outbox not yet published, as the publishing relay last counted them (0 on workers that do not publish).",
		}),
		outboxOldestAge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "entitybase_outbox_oldest_event_age_seconds",
			Help: "Age of the oldest unpublished outbox event, as the publishing relay last saw it (0 when none waits).",
		}),
		outboxPublished: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "entitybase_outbox_published_total",
			Help: "Outbox events the relay published to Kafka (acknowledged and marked).",
		}),
		outboxPublishLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "entitybase_outbox_publish_lag_seconds",
			Help:    "Time from an event's save to the broker's acknowledgement of it.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 16),
		}),
	}
	if reg != nil {
		var errs []error
		for _, c := range w.collectors() {
			errs = append(errs, reg.Register(c))
		}
		if err := errors.Join(errs...); err != nil {
			return nil, fmt.Errorf("register the worker's metrics: %w", err)
		}
	}
	return w, nil
}

func (w *Work) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		w.jobRuns, w.jobDuration, w.jobLastSuccess,
		w.dumpEntities, w.dumpUncompressedBytes, w.dumpCompressedBytes, w.dumpFilesPublished,
		w.importEntities, w.importRejections, w.importBytes,
		w.idBlocksClaimed, w.idsHandedOut, w.idBlockUtilisation, w.idBlockSize,
		w.outboxBacklog, w.outboxOldestAge, w.outboxPublished, w.outboxPublishLag,
	}
}

// DumpPart records a dump part written: its entities by type letter or name, and its bytes.
func (w *Work) DumpPart(format string, entities map[string]int64, uncompressed, compressed int64) {
	if w == nil {
		return
	}
	for typ, n := range entities {
		w.dumpEntities.WithLabelValues(format, typ).Add(float64(n))
	}
	w.dumpUncompressedBytes.WithLabelValues(format).Add(float64(uncompressed))
	w.dumpCompressedBytes.WithLabelValues(format).Add(float64(compressed))
}

// DumpPublished records a dump file published.
func (w *Work) DumpPublished(format string) {
	if w == nil {
		return
	}
	w.dumpFilesPublished.WithLabelValues(format).Inc()
}

// ImportCommitted records what one committed import batch did.
func (w *Work) ImportCommitted(created, updated, unchanged, rejected int64) {
	if w == nil {
		return
	}
	w.importEntities.WithLabelValues("created").Add(float64(created))
	w.importEntities.WithLabelValues("updated").Add(float64(updated))
	w.importEntities.WithLabelValues("unchanged").Add(float64(unchanged))
	w.importRejections.Add(float64(rejected))
}

// ImportChunkDone records the bytes of an import chunk that finished.
func (w *Work) ImportChunkDone(bytes int64) {
	if w == nil {
		return
	}
	w.importBytes.Add(float64(bytes))
}

// IDBlockClaimed records a new block of size IDs claimed for entityType.
func (w *Work) IDBlockClaimed(entityType string, size int64) {
	if w == nil {
		return
	}
	w.idBlocksClaimed.WithLabelValues(entityType).Inc()
	w.idBlockSize.WithLabelValues(entityType).Set(float64(size))
}

// IDsHandedOut records n IDs of entityType handed out, and how much of the type's current
// block [start, end] is handed out: up to and including highest.
func (w *Work) IDsHandedOut(entityType string, n, start, end, highest int64) {
	if w == nil {
		return
	}
	w.idsHandedOut.WithLabelValues(entityType).Add(float64(n))
	if end >= start && highest >= start {
		used := min(highest, end) - start + 1
		w.idBlockUtilisation.WithLabelValues(entityType).Set(float64(used) / float64(end-start+1))
	}
}

// OutboxBacklog records the unpublished events and the age of the oldest.
func (w *Work) OutboxBacklog(events int64, oldest time.Duration) {
	if w == nil {
		return
	}
	w.outboxBacklog.Set(float64(events))
	w.outboxOldestAge.Set(oldest.Seconds())
}

// OutboxPublished records events published, each with its time from save to acknowledgement.
func (w *Work) OutboxPublished(lags []time.Duration) {
	if w == nil {
		return
	}
	w.outboxPublished.Add(float64(len(lags)))
	for _, l := range lags {
		w.outboxPublishLag.Observe(l.Seconds())
	}
}
