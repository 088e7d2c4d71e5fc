package app

import (
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/entitybase/entitybase-workers/activities"
	"github.com/entitybase/entitybase-workers/internal/schedules"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/workflows"
)

// Register registers every workflow and activity of the project on r.
func Register(r worker.Registry, d Deps) {
	r.RegisterWorkflow(workflows.ProbeWorkflow)
	r.RegisterActivity(&activities.System{DB: d.DB, WorkerID: d.Config.WorkerID})
	registerScheduledJobs(r, d)
	r.RegisterWorkflow(workflows.ImportWorkflow)
	r.RegisterActivity(&activities.Importer{DB: d.DB, Log: d.Log.Named("import"), Limits: d.Config.EntityLimits})
	registerIDs(r, d)
	r.RegisterWorkflow(workflows.DumpWorkflow)
	r.RegisterActivity(&activities.Dumps{DB: d.DB, StoreURL: d.Config.DumpURL, Name: d.Config.DumpName,
		ChunkSize: d.Config.DumpChunkSize, Parallelism: d.Config.DumpParallelism, RDFConfigPath: d.Config.WikibaseConfig,
		Log: d.Log.Named("dump")})
	r.RegisterWorkflow(workflows.WatchlistWorkflow)
	r.RegisterActivity(&activities.Notifications{DB: d.DB, NotifySelfEdits: d.Config.NotifySelfEdits, Log: d.Log.Named("notifications"),
		Revisions: activities.StoredRevisions{Entities: &store.Entities{DB: d.DB}}})
	registerEntityDiff(r, d)
}

// registerScheduledJobs registers the stats and cleanup jobs and puts each scheduled job's
// last run and result into /health.
func registerScheduledJobs(r worker.Registry, d Deps) {
	r.RegisterWorkflow(workflows.GeneralStatsWorkflow)
	r.RegisterWorkflow(workflows.UserStatsWorkflow)
	r.RegisterWorkflow(workflows.BacklinkStatsWorkflow)
	r.RegisterWorkflow(workflows.NotificationCleanupWorkflow)
	r.RegisterActivity(&activities.Stats{DB: d.DB, UserStatsActiveDays: d.Config.UserStatsActiveDays,
		BacklinkStatsTopLimit: d.Config.BacklinkStatsTopLimit})
	r.RegisterActivity(&activities.Cleanup{DB: d.DB, MaxAgeDays: d.Config.NotificationMaxAgeDays,
		MaxPerUser: d.Config.NotificationMaxPerUser, DeleteBatch: d.Config.NotificationDeleteBatch})
	if d.Health != nil && d.Temporal != nil {
		d.Health.AddDetail("jobs", schedules.HealthDetail(d.Temporal, schedules.OptionsFrom(d.Config), 10*time.Second))
	}
}
