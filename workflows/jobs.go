package workflows

// Scheduled job names (also the schedule IDs and the keys of config.Config.Schedules).
const (
	JobGeneralStats        = "general-stats"
	JobUserStats           = "user-stats"
	JobBacklinkStats       = "backlink-stats"
	JobNotificationCleanup = "notification-cleanup"
)

// ScheduledJob is a job that a Temporal Schedule starts.
type ScheduledJob struct {
	// Name is the job: its schedule's ID, its runs' EntitybaseJob and its key in
	// config.Config.Schedules.
	Name string
	// Env prefixes the job's settings, <Env>_SCHEDULE and <Env>_ENABLED.
	Env string
	// Cron is the default of <Env>_SCHEDULE (5 fields, UTC).
	Cron string
	// About names the job in the help of its settings: "general statistics".
	About string
	// Note says what the job does: the schedule's note in the Web UI.
	Note string
	// WorkflowType is the registered name of the workflow the schedule starts, and Input its
	// argument. A schedule names its workflow by type, so the worker's tests check that the
	// worker registers it.
	WorkflowType string
	Input        any
}

// ScheduledJobs are the jobs that Temporal Schedules start: the one table of them, from which
// config makes the jobs' settings and `starter schedules apply` their schedules.
var ScheduledJobs = []ScheduledJob{
	{JobGeneralStats, "GENERAL_STATS", "0 2 * * *", "general statistics",
		"general statistics of the current entities → general_daily_stats", "GeneralStatsWorkflow", scheduledDay},
	{JobUserStats, "USER_STATS", "0 2 * * *", "user statistics",
		"total and active users → user_daily_stats", "UserStatsWorkflow", scheduledDay},
	{JobBacklinkStats, "BACKLINK_STATS", "0 2 * * *", "backlink statistics",
		"backlink totals and top entities → backlink_statistics", "BacklinkStatsWorkflow", scheduledDay},
	{JobNotificationCleanup, "NOTIFICATION_CLEANUP", "0 * * * *", "notification cleanup",
		"per-user notification retention and limits", "NotificationCleanupWorkflow", scheduledDay},
	{DumpJobName("json"), "JSON_DUMP", "0 2 * * 0", "the weekly JSON dump",
		"weekly full JSON dump", "DumpWorkflow", DumpInput{Format: "json", Flavor: "full", Kind: "full"}},
	{DumpJobName("ttl"), "TTL_DUMP", "0 3 * * 0", "the weekly Turtle dump",
		"weekly full Turtle dump", "DumpWorkflow", DumpInput{Format: "ttl", Flavor: "full", Kind: "full"}},
}

// scheduledDay is the input of a scheduled stats or cleanup run: an empty one, so the
// workflow takes its day from the schedule's nominal time.
var scheduledDay = struct{}{}
