// Package config reads the one validated configuration of the worker and the CLI from the
// environment. Every variable is declared once in vars (name, default, meaning), which is
// also what the README's table and `starter config` print.
package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is the whole configuration, read once at start.
type Config struct {
	TemporalAddress   string
	TemporalNamespace string
	TaskQueue         string
	MySQLDSN          string
	WorkerID          string
	HealthAddr        string
	LogLevel          string
	LogFormat         string
	WorkerStopTimeout time.Duration

	// NamespaceRetention is the retention of a namespace the CLI creates and of the dev stack's.
	NamespaceRetention time.Duration

	KafkaBrokers         []string
	EntityChangeTopic    string
	EntityDiffTopic      string
	KafkaConsumerGroup   string
	EntityDiffEnabled    bool
	EntityDiffGroup      string
	KafkaBridgeEnabled   bool
	KafkaMaxMessageBytes int
	BridgeBatchSize      int
	BridgeBatchWait      time.Duration
	WatchlistShards      int
	NotifySelfEdits      bool
	OutboxRelayEnabled   bool
	OutboxPollInterval   time.Duration

	IDRangeSize  int64
	IDMin        map[string]int64 // by prefix: Q, P, L, E
	IDPrefetchAt float64
	IDLeaseSize  int64

	UserStatsActiveDays     int
	BacklinkStatsTopLimit   int
	NotificationMaxAgeDays  int
	NotificationMaxPerUser  int
	NotificationDeleteBatch int

	Schedules     map[string]Schedule // by job name, see ScheduledJobs
	CatchupWindow time.Duration

	DumpURL         string
	DumpName        string
	DumpChunkSize   int
	DumpParallelism int
	WikibaseConfig  string
}

// Schedule is one job's cron string and whether it runs.
type Schedule struct {
	Cron    string
	Enabled bool
}

// ScheduledJobs are the jobs with a Temporal Schedule, with their env prefix and default cron.
var ScheduledJobs = []struct{ Name, Env, Default, About string }{
	{"general-stats", "GENERAL_STATS", "0 2 * * *", "general statistics"},
	{"user-stats", "USER_STATS", "0 2 * * *", "user statistics"},
	{"backlink-stats", "BACKLINK_STATS", "0 2 * * *", "backlink statistics"},
	{"notification-cleanup", "NOTIFICATION_CLEANUP", "0 * * * *", "notification cleanup"},
	{"json-dump", "JSON_DUMP", "0 2 * * 0", "the weekly JSON dump"},
	{"ttl-dump", "TTL_DUMP", "0 3 * * 0", "the weekly Turtle dump"},
}

// Var documents one environment variable.
type Var struct {
	Name, Default, About string
	set                  func(c *Config, v string) error
}

// Vars lists every variable the project reads, in README order.
func Vars() []Var { return vars }

var vars []Var

func init() {
	vars = []Var{
		{"TEMPORAL_ADDRESS", "127.0.0.1:7233", "Temporal frontend host:port", str(func(c *Config) *string { return &c.TemporalAddress })},
		{"TEMPORAL_NAMESPACE", "default", "Temporal namespace", str(func(c *Config) *string { return &c.TemporalNamespace })},
		{"TEMPORAL_NAMESPACE_RETENTION", "168h", "how long Temporal keeps closed workflows (CLI, Web UI): retention of a namespace `starter dev setup` creates and of the dev stack's (Temporal's minimum is 1h)", durAtLeast(func(c *Config) *time.Duration { return &c.NamespaceRetention }, time.Hour)},
		{"TEMPORAL_TASK_QUEUE", "entitybase-workers", "task queue the worker polls", str(func(c *Config) *string { return &c.TaskQueue })},
		{"MYSQL_DSN", "root@tcp(127.0.0.1:3306)/entitybase", "application database (go-sql-driver DSN; created if missing)", str(func(c *Config) *string { return &c.MySQLDSN })},
		{"WORKER_ID", "<host>-<pid>", "identity of this worker process (logs, /health, ID range owner)", str(func(c *Config) *string { return &c.WorkerID })},
		{"HEALTH_ADDR", ":8080", "listen address of /health, /healthz, /readyz, /metrics", addr(func(c *Config) *string { return &c.HealthAddr })},
		{"LOG_LEVEL", "info", "debug, info, warn or error", oneOf(func(c *Config) *string { return &c.LogLevel }, "debug", "info", "warn", "error")},
		{"LOG_FORMAT", "console", "console or json", oneOf(func(c *Config) *string { return &c.LogFormat }, "console", "json")},
		{"WORKER_STOP_TIMEOUT", "30s", "on SIGTERM, how long running activities get to finish", dur(func(c *Config) *time.Duration { return &c.WorkerStopTimeout })},

		{"KAFKA_BROKERS", "127.0.0.1:9092", "comma-separated Kafka bootstrap brokers", list(func(c *Config) *[]string { return &c.KafkaBrokers })},
		{"KAFKA_ENTITY_CHANGE_TOPIC", "entitybase.entity_change", "topic of entity_change events", str(func(c *Config) *string { return &c.EntityChangeTopic })},
		{"KAFKA_ENTITY_DIFF_TOPIC", "entitybase.entity_diff", "topic of rdf_change events", str(func(c *Config) *string { return &c.EntityDiffTopic })},
		{"ENTITY_DIFF_ENABLED", "true", "run the entity-diff bridge (entity_change → EntityDiffWorkflow) in this worker", boolean(func(c *Config) *bool { return &c.EntityDiffEnabled })},
		{"ENTITY_DIFF_CONSUMER_GROUP", "entity-diff", "consumer group of the entity-diff bridge", str(func(c *Config) *string { return &c.EntityDiffGroup })},
		{"KAFKA_CONSUMER_GROUP", "watchlist-consumer", "consumer group of the watchlist bridge", str(func(c *Config) *string { return &c.KafkaConsumerGroup })},
		{"KAFKA_BRIDGE_ENABLED", "true", "run the Kafka → Temporal bridge in this worker", boolean(func(c *Config) *bool { return &c.KafkaBridgeEnabled })},
		{"KAFKA_MAX_MESSAGE_BYTES", "1000000", "largest message produced; larger RDF diffs are split", intRange(func(c *Config) *int { return &c.KafkaMaxMessageBytes }, 1024, 100<<20)},
		{"BRIDGE_BATCH_SIZE", "100", "messages per signal to a watchlist shard", intRange(func(c *Config) *int { return &c.BridgeBatchSize }, 1, 10000)},
		{"BRIDGE_BATCH_WAIT", "200ms", "longest wait to fill a batch", dur(func(c *Config) *time.Duration { return &c.BridgeBatchWait })},
		{"WATCHLIST_SHARDS", "8", "number of WatchlistWorkflow shards", intRange(func(c *Config) *int { return &c.WatchlistShards }, 1, 1024)},
		{"NOTIFY_SELF_EDITS", "false", "notify editors of their own edits", boolean(func(c *Config) *bool { return &c.NotifySelfEdits })},
		{"OUTBOX_RELAY_ENABLED", "true", "publish the entity_change outbox to Kafka from this worker", boolean(func(c *Config) *bool { return &c.OutboxRelayEnabled })},
		{"OUTBOX_POLL_INTERVAL", "500ms", "how often the outbox relay looks for new events", dur(func(c *Config) *time.Duration { return &c.OutboxPollInterval })},

		{"ID_RANGE_SIZE", "1000000", "IDs per block claimed in id_ranges", int64Range(func(c *Config) *int64 { return &c.IDRangeSize }, 10, 1<<40)},
		{"ID_MIN_Q", "1", "lowest item ID handed out", idMin("Q")},
		{"ID_MIN_P", "1", "lowest property ID handed out", idMin("P")},
		{"ID_MIN_L", "1", "lowest lexeme ID handed out", idMin("L")},
		{"ID_MIN_E", "1", "lowest entity schema ID handed out", idMin("E")},
		{"ID_PREFETCH_AT", "0.8", "block utilisation at which the next block is reserved (0 < x ≤ 1)", fraction(func(c *Config) *float64 { return &c.IDPrefetchAt })},
		{"ID_LEASE_SIZE", "1000", "IDs a process leases from the allocator at a time", int64Range(func(c *Config) *int64 { return &c.IDLeaseSize }, 1, 10000)},

		{"USER_STATS_ACTIVE_DAYS", "30", "a user is active if last_activity is this recent", intRange(func(c *Config) *int { return &c.UserStatsActiveDays }, 1, 3650)},
		{"BACKLINK_STATS_TOP_LIMIT", "100", "entities in the backlink top list", intRange(func(c *Config) *int { return &c.BacklinkStatsTopLimit }, 1, 100000)},
		{"NOTIFICATION_MAX_AGE_DAYS", "30", "cap on a user's retention_hours", intRange(func(c *Config) *int { return &c.NotificationMaxAgeDays }, 1, 3650)},
		{"NOTIFICATION_MAX_PER_USER", "500", "cap on a user's notification_limit", intRange(func(c *Config) *int { return &c.NotificationMaxPerUser }, 1, 1000000)},
		{"NOTIFICATION_DELETE_BATCH", "1000", "rows per DELETE in the cleanup", intRange(func(c *Config) *int { return &c.NotificationDeleteBatch }, 1, 100000)},
		{"SCHEDULE_CATCHUP_WINDOW", "1h", "how late a missed scheduled run may still start", dur(func(c *Config) *time.Duration { return &c.CatchupWindow })},

		{"DUMP_URL", "file://./dumps", "blob store for dumps (file://DIR or s3://bucket?region=…)", str(func(c *Config) *string { return &c.DumpURL })},
		{"DUMP_NAME", "wikibase", "file name prefix of dumps", str(func(c *Config) *string { return &c.DumpName })},
		{"DUMP_CHUNK_SIZE", "10000", "entities per dump chunk", intRange(func(c *Config) *int { return &c.DumpChunkSize }, 1, 10000000)},
		{"DUMP_PARALLELISM", "4", "chunks of one dump in flight at once", intRange(func(c *Config) *int { return &c.DumpParallelism }, 1, 1024)},
		{"WIKIBASE_CONFIG", "", "JSON file with concept/data URIs, sites and RDF settings (default: Wikidata's)", str(func(c *Config) *string { return &c.WikibaseConfig })},
	}
	for _, job := range ScheduledJobs {
		job := job
		vars = append(vars,
			Var{job.Env + "_SCHEDULE", job.Default, "cron (5 fields, UTC) of " + job.About, func(c *Config, v string) error {
				if err := ValidateCron(v); err != nil {
					return err
				}
				s := c.Schedules[job.Name]
				s.Cron = v
				c.Schedules[job.Name] = s
				return nil
			}},
			Var{job.Env + "_ENABLED", "true", "false pauses the schedule of " + job.About, func(c *Config, v string) error {
				b, err := parseBool(v)
				if err != nil {
					return err
				}
				s := c.Schedules[job.Name]
				s.Enabled = b
				c.Schedules[job.Name] = s
				return nil
			}},
		)
	}
}

// Load reads the configuration from the process environment.
func Load() (Config, error) { return LoadFrom(os.LookupEnv) }

// LoadFrom reads the configuration through lookup. All problems are reported together, each
// naming its variable and what is accepted.
func LoadFrom(lookup func(string) (string, bool)) (Config, error) {
	c := Config{IDMin: map[string]int64{}, Schedules: map[string]Schedule{}}
	var errs []error
	for _, v := range vars {
		val, ok := lookup(v.Name)
		if !ok || val == "" {
			val = v.Default
		}
		if v.Name == "WORKER_ID" && (!ok || val == "" || val == v.Default) {
			val = defaultWorkerID()
		}
		if err := v.set(&c, strings.TrimSpace(val)); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", v.Name, val, err))
		}
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return c, nil
}

func defaultWorkerID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "worker"
	}
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}

func str(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		*field(c) = v
		return nil
	}
}

func addr(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		_, port, err := net.SplitHostPort(v)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
			return errors.New("want [host]:port with a port from 0 to 65535")
		}
		*field(c) = v
		return nil
	}
}

func oneOf(field func(*Config) *string, allowed ...string) func(*Config, string) error {
	return func(c *Config, v string) error {
		for _, a := range allowed {
			if strings.EqualFold(v, a) {
				*field(c) = a
				return nil
			}
		}
		return fmt.Errorf("want one of %s", strings.Join(allowed, ", "))
	}
}

func dur(field func(*Config) *time.Duration) func(*Config, string) error {
	return durAtLeast(field, 0)
}

// durAtLeast reads a duration no shorter than least.
func durAtLeast(field func(*Config) *time.Duration, least time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		switch {
		case (err != nil || d < 0) && least == 0:
			return errors.New("want a non-negative duration such as 500ms, 30s or 1h")
		case err != nil || d < least:
			return fmt.Errorf("want a duration of at least %s, such as 168h", least)
		}
		*field(c) = d
		return nil
	}
}

func list(field func(*Config) *[]string) func(*Config, string) error {
	return func(c *Config, v string) error {
		var out []string
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				if _, port, ok := strings.Cut(p, ":"); !ok || port == "" {
					return fmt.Errorf("broker %q: want host:port", p)
				}
				out = append(out, p)
			}
		}
		if len(out) == 0 {
			return errors.New("want at least one host:port")
		}
		*field(c) = out
		return nil
	}
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "1", "yes", "on":
		return true, nil
	case "false", "0", "no", "off":
		return false, nil
	}
	return false, errors.New("want true or false")
}

func boolean(field func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := parseBool(v)
		if err != nil {
			return err
		}
		*field(c) = b
		return nil
	}
}

func intRange(field func(*Config) *int, lo, hi int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(strings.ReplaceAll(v, "_", ""))
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("want a whole number from %d to %d", lo, hi)
		}
		*field(c) = n
		return nil
	}
}

func int64Range(field func(*Config) *int64, lo, hi int64) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.ParseInt(strings.ReplaceAll(v, "_", ""), 10, 64)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("want a whole number from %d to %d", lo, hi)
		}
		*field(c) = n
		return nil
	}
}

func idMin(prefix string) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.ParseInt(strings.ReplaceAll(v, "_", ""), 10, 64)
		if err != nil || n < 1 {
			return errors.New("want a whole number of at least 1")
		}
		c.IDMin[prefix] = n
		return nil
	}
}

func fraction(field func(*Config) *float64) func(*Config, string) error {
	return func(c *Config, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 || f > 1 {
			return errors.New("want a number greater than 0 and at most 1, e.g. 0.8")
		}
		*field(c) = f
		return nil
	}
}
