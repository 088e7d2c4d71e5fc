package app

import (
	"database/sql"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/entitybase/entitybase-workers/activities"
	"github.com/entitybase/entitybase-workers/internal/config"
	"github.com/entitybase/entitybase-workers/internal/dump"
	"github.com/entitybase/entitybase-workers/internal/health"
	"github.com/entitybase/entitybase-workers/internal/kafkaconn"
	"github.com/entitybase/entitybase-workers/internal/metrics"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/workflows"
)

// Deps are what the activities and background services of a worker use. Run opens them
// and closes them on shutdown; the replay tests pass ReplayDeps, which opens nothing.
type Deps struct {
	Config   config.Config
	DB       *sql.DB
	Temporal client.Client
	Log      *zap.Logger
	// Health is where the services report their state; never nil.
	Health *health.Server
	// Metrics is the registry /metrics serves, for the services' own collectors.
	Metrics prometheus.Registerer
	// Work is the worker's own metrics, which activities and services record into; nil
	// records nothing.
	Work *metrics.Work
	// DumpStore is the store of DUMP_URL.
	DumpStore dump.Store
	// ImportStaging is the store of IMPORT_STAGING_URL (DUMP_URL's when it is not set).
	ImportStaging dump.Store
	// EntityDiffWriter publishes the rdf_change events to KAFKA_ENTITY_DIFF_TOPIC.
	EntityDiffWriter activities.MessageWriter
	// Kafka is how the bridges and the outbox relay reach the brokers (TLS, SASL).
	Kafka kafkaconn.Cluster
}

// Register registers on r every workflow and activity a worker of both roles runs, and
// returns the background services it runs beside them, in the order they start. The replay
// tests register on a replayer with it; Run registers each role's half on its own worker.
func Register(r worker.Registry, d Deps) []Service {
	services := append(RegisterJobs(r, d), RegisterStreams(r, d)...)
	registerRetired(r, d)
	return services
}

// RegisterJobs registers what the jobs worker (TEMPORAL_TASK_QUEUE) runs: the scheduled jobs,
// dumps, imports and ID allocation. It is the one list of the jobs role.
func RegisterJobs(r worker.Registry, d Deps) []Service {
	// A worker answers `starter dev health`.
	r.RegisterWorkflow(workflows.ProbeWorkflow)
	r.RegisterActivity(&activities.System{DB: d.DB, WorkerID: d.Config.WorkerID})

	// Daily statistics and the notification cleanup, which Temporal Schedules start
	// (workflows.ScheduledJobs).
	r.RegisterWorkflow(workflows.GeneralStatsWorkflow)
	r.RegisterWorkflow(workflows.UserStatsWorkflow)
	r.RegisterWorkflow(workflows.BacklinkStatsWorkflow)
	r.RegisterActivity(&activities.Stats{DB: d.DB, UserStatsActiveDays: d.Config.UserStatsActiveDays,
		BacklinkStatsTopLimit: d.Config.BacklinkStatsTopLimit})
	r.RegisterWorkflow(workflows.NotificationCleanupWorkflow)
	r.RegisterActivity(&activities.Cleanup{DB: d.DB, MaxAgeDays: d.Config.NotificationMaxAgeDays,
		MaxPerUser: d.Config.NotificationMaxPerUser, DeleteBatch: d.Config.NotificationDeleteBatch})

	// Imports of Wikidata JSON dumps and Special:EntityData files.
	r.RegisterWorkflow(workflows.ImportWorkflow)
	r.RegisterActivity(&activities.Importer{DB: d.DB, Log: d.Log.Named("import"), Limits: d.Config.EntityLimits,
		Staging: d.ImportStaging, Metrics: d.Work})

	// Entity IDs: one allocator per entity type.
	r.RegisterWorkflow(workflows.IDAllocatorWorkflow)
	r.RegisterActivity(&activities.IDRanges{DB: d.DB, RangeSize: d.Config.IDRangeSize, MinIDs: d.Config.IDMin, Metrics: d.Work})

	// Dumps (also scheduled).
	r.RegisterWorkflow(workflows.DumpWorkflow)
	r.RegisterActivity(&activities.Dumps{DB: d.DB, Store: d.DumpStore, Name: d.Config.DumpName,
		ChunkSize: d.Config.DumpChunkSize, Parallelism: d.Config.DumpParallelism, RDFConfigPath: d.Config.WikibaseConfig,
		Log: d.Log.Named("dump"), Metrics: d.Work})
	return nil
}

// RegisterStreams registers what the stream worker (TEMPORAL_STREAM_TASK_QUEUE) runs: the
// change streams, and the services that feed them. It is the one list of the streams role.
func RegisterStreams(r worker.Registry, d Deps) []Service {
	// The watchlist: shard workflows that notify the watchers of each entity_change event
	// the watchlist bridge (a service below) delivers.
	r.RegisterWorkflow(workflows.WatchlistWorkflow)
	r.RegisterActivity(notifications(d))

	// The entity diff: ENTITY_DIFF_SHARDS shard workflows, fed by the entity-diff bridge (a
	// service below), that publish the RDF difference of each revision.
	r.RegisterWorkflow(workflows.EntityDiffShardWorkflow)
	r.RegisterActivity(entityDiffs(d))

	return []Service{
		{Name: "watchlist-bridge", Enabled: d.Config.KafkaBridgeEnabled, Run: runWatchlistBridge},
		{Name: "entity-diff-bridge", Enabled: d.Config.EntityDiffEnabled, Run: runEntityDiffBridge},
		{Name: "outbox-relay", Enabled: d.Config.OutboxRelayEnabled, Run: runOutboxRelay},
	}
}

// RegisterDraining registers, on the jobs worker, the stream workflows that ran on
// TEMPORAL_TASK_QUEUE before the streams had a queue of their own, so that the runs started
// there before an upgrade finish: a watchlist shard moves to the stream queue at its next
// continue-as-new, a per-entity EntityDiffWorkflow ends when its entity goes idle.
func RegisterDraining(r worker.Registry, d Deps) {
	r.RegisterWorkflow(workflows.WatchlistWorkflow)
	r.RegisterActivity(notifications(d))
	r.RegisterActivity(entityDiffs(d))
	registerRetired(r, d)
}

// registerRetired registers the workflow types no longer started, until their last runs end:
// EntityDiffWorkflow, one per entity, replaced by EntityDiffShardWorkflow (a run ends a
// minute after its entity's last change; its activities are the EntityDiffs').
func registerRetired(r worker.Registry, _ Deps) {
	r.RegisterWorkflow(workflows.EntityDiffWorkflow)
}

func notifications(d Deps) *activities.Notifications {
	return &activities.Notifications{DB: d.DB, NotifySelfEdits: d.Config.NotifySelfEdits, Log: d.Log.Named("notifications"),
		Revisions: activities.StoredRevisions{Entities: &store.Entities{DB: d.DB}}}
}

func entityDiffs(d Deps) *activities.EntityDiffs {
	return &activities.EntityDiffs{DB: d.DB, RDFConfigPath: d.Config.WikibaseConfig, Writer: d.EntityDiffWriter,
		Stream: d.Config.EntityDiffTopic, MaxMessageBytes: d.Config.KafkaMaxMessageBytes, Log: d.Log.Named("entity-diff")}
}

// JobMetrics is the interceptor that counts the runs of the jobs (internal/metrics): every
// workflow that names its job in workflows.JobAttr, except the services that run without end
// and the probe.
func JobMetrics() interceptor.WorkerInterceptor {
	return metrics.JobInterceptor(workflows.JobAttr,
		workflows.JobWatchlist, workflows.JobIDAllocator, workflows.JobEntityDiff, workflows.JobProbe)
}
