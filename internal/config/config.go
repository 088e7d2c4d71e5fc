// Package config reads the one validated configuration of the worker and the CLI from the
// environment. Every variable is declared once in vars (name, default, meaning), which is
// also what the README's table and `starter config` print; the ID_MIN_* variables come from
// the table of entity types (wikibase.EntityTypes) and each scheduled job's *_SCHEDULE and
// *_ENABLED from the table of jobs (workflows.ScheduledJobs).
package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-sql-driver/mysql"

	"github.com/entitybase/entitybase-workers/internal/dump"
	"github.com/entitybase/entitybase-workers/internal/rdf"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
	"github.com/entitybase/entitybase-workers/workflows"
)

// Config is the whole configuration, read once at start.
type Config struct {
	TemporalAddress   string
	TemporalNamespace string
	TaskQueue         string
	// StreamTaskQueue is the queue of the change streams (entity diff, watchlist); empty
	// means TaskQueue + "-streams" (see StreamQueue).
	StreamTaskQueue string
	// Roles are what this worker serves: RoleJobs, RoleStreams or both.
	Roles []string
	// StreamWorkflowSlots and StreamActivitySlots bound the stream worker's concurrent
	// workflow tasks and (local) activities.
	StreamWorkflowSlots int
	StreamActivitySlots int
	MySQLDSN            string
	WorkerID            string
	HealthAddr          string
	LogLevel            string
	LogFormat           string
	WorkerStopTimeout   time.Duration
	HealthStallGrace    time.Duration

	// NamespaceRetention is the retention of a namespace the CLI creates and of the dev stack's.
	NamespaceRetention time.Duration

	KafkaBrokers         []string
	EntityChangeTopic    string
	EntityDiffTopic      string
	KafkaConsumerGroup   string
	KafkaSessionTimeout  time.Duration
	EntityDiffEnabled    bool
	EntityDiffGroup      string
	EntityDiffShards     int
	KafkaBridgeEnabled   bool
	KafkaMaxMessageBytes int
	BridgeBatchSize      int
	BridgeBatchWait      time.Duration
	WatchlistShards      int
	NotifySelfEdits      bool
	OutboxRelayEnabled   bool
	OutboxPollInterval   time.Duration

	IDRangeSize  int64
	IDMin        map[string]int64 // by type letter (wikibase.EntityTypes)
	IDPrefetchAt float64
	IDLeaseSize  int64

	// EntityLimits bound every saved entity (import, seed, sample).
	EntityLimits store.Limits

	UserStatsActiveDays     int
	BacklinkStatsTopLimit   int
	NotificationMaxAgeDays  int
	NotificationMaxPerUser  int
	NotificationDeleteBatch int

	Schedules     map[string]Schedule // by job name, see workflows.ScheduledJobs
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
		{"TEMPORAL_ADDRESS", "127.0.0.1:7233", "Temporal frontend host:port", checked(func(c *Config) *string { return &c.TemporalAddress }, checkHostPort)},
		{"TEMPORAL_NAMESPACE", "default", "Temporal namespace", checked(func(c *Config) *string { return &c.TemporalNamespace }, checkNamespace)},
		{"TEMPORAL_NAMESPACE_RETENTION", "168h", "how long Temporal keeps closed workflows (CLI, Web UI): retention of a namespace `starter dev setup` creates and of the dev stack's (Temporal's minimum is 1h)", durRange(func(c *Config) *time.Duration { return &c.NamespaceRetention }, time.Hour, 3650*24*time.Hour)},
		{"TEMPORAL_TASK_QUEUE", "entitybase-workers", "task queue the worker polls", checked(func(c *Config) *string { return &c.TaskQueue }, checkTaskQueue)},
		{"TEMPORAL_STREAM_TASK_QUEUE", DefaultStreamTaskQueue, "task queue of the change streams (entity diff, watchlist), apart from the jobs' so that a backlog of changes never delays a dump, import, stats run or ID allocation", streamQueue},
		{"WORKER_ROLES", "jobs,streams", "what this worker serves: jobs (scheduled jobs, dumps, imports, ID allocation on TEMPORAL_TASK_QUEUE), streams (the Kafka bridges, the outbox relay and the stream workflows on TEMPORAL_STREAM_TASK_QUEUE), or both; run them as separate deployments to scale them apart", roles},
		{"STREAM_WORKFLOW_SLOTS", "16", "workflow tasks the stream worker runs at once (the Temporal SDK needs at least 2: one sticky, one not)", intRange(func(c *Config) *int { return &c.StreamWorkflowSlots }, 2, 10000)},
		{"STREAM_ACTIVITY_SLOTS", "4", "activities (and local activities) the stream worker runs at once; the entity-diff rendering is CPU-bound, so about the worker's cores", intRange(func(c *Config) *int { return &c.StreamActivitySlots }, 1, 10000)},
		{"MYSQL_DSN", "root@tcp(127.0.0.1:3306)/entitybase", "application database (go-sql-driver DSN; created if missing)", checked(func(c *Config) *string { return &c.MySQLDSN }, checkDSN)},
		{"WORKER_ID", "<host>-<pid>", "identity of this worker process (logs, /health, ID range owner)", checked(func(c *Config) *string { return &c.WorkerID }, checkID)},
		{"HEALTH_ADDR", ":8080", "listen address of /health, /healthz, /readyz, /metrics", addr(func(c *Config) *string { return &c.HealthAddr })},
		{"LOG_LEVEL", "info", "debug, info, warn or error", oneOf(func(c *Config) *string { return &c.LogLevel }, "debug", "info", "warn", "error")},
		{"LOG_FORMAT", "console", "console or json", oneOf(func(c *Config) *string { return &c.LogFormat }, "console", "json")},
		{"WORKER_STOP_TIMEOUT", "30s", "on SIGTERM, how long running activities get to finish", durRange(func(c *Config) *time.Duration { return &c.WorkerStopTimeout }, time.Second, 24*time.Hour)},
		{"HEALTH_STALL_GRACE", "1m", "how long a Kafka bridge or the outbox relay may fail without progress before /health and /readyz answer 503 (degraded)", durRange(func(c *Config) *time.Duration { return &c.HealthStallGrace }, time.Second, 24*time.Hour)},

		{"KAFKA_BROKERS", "127.0.0.1:9092", "comma-separated Kafka bootstrap brokers", brokers(func(c *Config) *[]string { return &c.KafkaBrokers })},
		{"KAFKA_ENTITY_CHANGE_TOPIC", "entitybase.entity_change", "topic of entity_change events", checked(func(c *Config) *string { return &c.EntityChangeTopic }, CheckTopic)},
		{"KAFKA_ENTITY_DIFF_TOPIC", "entitybase.entity_diff", "topic of rdf_change events", checked(func(c *Config) *string { return &c.EntityDiffTopic }, CheckTopic)},
		{"ENTITY_DIFF_ENABLED", "true", "run the entity-diff bridge (entity_change → EntityDiffShardWorkflow) in this worker", boolean(func(c *Config) *bool { return &c.EntityDiffEnabled })},
		{"ENTITY_DIFF_CONSUMER_GROUP", "entity-diff", "consumer group of the entity-diff bridge", checked(func(c *Config) *string { return &c.EntityDiffGroup }, checkID)},
		{"ENTITY_DIFF_SHARDS", "16", "number of EntityDiffShardWorkflow shards (entities are spread over them by a hash of their ID; changing it while changes are pending is safe, as entity_diff_state orders the publishers of an entity)", intRange(func(c *Config) *int { return &c.EntityDiffShards }, 1, 1024)},
		{"KAFKA_CONSUMER_GROUP", "watchlist-consumer", "consumer group of the watchlist bridge", checked(func(c *Config) *string { return &c.KafkaConsumerGroup }, checkID)},
		{"KAFKA_BRIDGE_ENABLED", "true", "run the Kafka → Temporal bridge in this worker", boolean(func(c *Config) *bool { return &c.KafkaBridgeEnabled })},
		{"KAFKA_SESSION_TIMEOUT", "6s", "how long the bridges' consumer groups wait for a silent member (a killed worker) before its partitions go to the others; brokers accept 6s to 30m by default", durRange(func(c *Config) *time.Duration { return &c.KafkaSessionTimeout }, time.Second, 30*time.Minute)},
		{"KAFKA_MAX_MESSAGE_BYTES", "1000000", "largest message produced; larger RDF diffs are split", intRange(func(c *Config) *int { return &c.KafkaMaxMessageBytes }, 1024, 100<<20)},
		{"BRIDGE_BATCH_SIZE", "100", "messages per signal to a watchlist shard", intRange(func(c *Config) *int { return &c.BridgeBatchSize }, 1, 10000)},
		{"BRIDGE_BATCH_WAIT", "200ms", "longest wait to fill a batch", durRange(func(c *Config) *time.Duration { return &c.BridgeBatchWait }, time.Millisecond, time.Minute)},
		{"WATCHLIST_SHARDS", "8", "number of WatchlistWorkflow shards", intRange(func(c *Config) *int { return &c.WatchlistShards }, 1, 1024)},
		{"NOTIFY_SELF_EDITS", "false", "notify editors of their own edits", boolean(func(c *Config) *bool { return &c.NotifySelfEdits })},
		{"OUTBOX_RELAY_ENABLED", "true", "publish the entity_change outbox to Kafka from this worker", boolean(func(c *Config) *bool { return &c.OutboxRelayEnabled })},
		{"OUTBOX_POLL_INTERVAL", "500ms", "how often the outbox relay looks for new events", durRange(func(c *Config) *time.Duration { return &c.OutboxPollInterval }, time.Millisecond, time.Minute)},

		{"ID_RANGE_SIZE", "1000000", "IDs per block claimed in id_ranges", int64Range(func(c *Config) *int64 { return &c.IDRangeSize }, 10, 1<<40)},
	}
	for _, t := range wikibase.EntityTypes {
		vars = append(vars, Var{"ID_MIN_" + t.Letter, "1", "lowest " + t.Noun + " ID handed out", idMin(t.Letter)})
	}
	vars = append(vars, []Var{
		{"ID_PREFETCH_AT", "0.8", "block utilisation at which the next block is reserved (0 < x ≤ 1)", fraction(func(c *Config) *float64 { return &c.IDPrefetchAt })},
		{"ID_LEASE_SIZE", "1000", "IDs a process leases from the allocator at a time", int64Range(func(c *Config) *int64 { return &c.IDLeaseSize }, 1, 10000)},

		{"ENTITY_MAX_BYTES", strconv.Itoa(store.DefaultLimits.EntityBytes), "largest entity saved, in bytes of serialized JSON (Wikibase's maxSerializedEntitySize); larger ones are rejected", intRange(func(c *Config) *int { return &c.EntityLimits.EntityBytes }, 1024, store.MaxEntityBytes)},
		{"LABEL_MAX_CHARS", strconv.Itoa(store.DefaultLimits.LabelChars), "longest label saved, in characters", intRange(func(c *Config) *int { return &c.EntityLimits.LabelChars }, 1, 10000)},
		{"DESCRIPTION_MAX_CHARS", strconv.Itoa(store.DefaultLimits.DescriptionChars), "longest description saved, in characters", intRange(func(c *Config) *int { return &c.EntityLimits.DescriptionChars }, 1, 10000)},
		{"ALIAS_MAX_CHARS", strconv.Itoa(store.DefaultLimits.AliasChars), "longest alias saved, in characters", intRange(func(c *Config) *int { return &c.EntityLimits.AliasChars }, 1, 10000)},

		{"USER_STATS_ACTIVE_DAYS", "30", "a user is active if last_activity is this recent", intRange(func(c *Config) *int { return &c.UserStatsActiveDays }, 1, 3650)},
		{"BACKLINK_STATS_TOP_LIMIT", "100", "entities in the backlink top list", intRange(func(c *Config) *int { return &c.BacklinkStatsTopLimit }, 1, 100000)},
		{"NOTIFICATION_MAX_AGE_DAYS", "30", "cap on a user's retention_hours", intRange(func(c *Config) *int { return &c.NotificationMaxAgeDays }, 1, 3650)},
		{"NOTIFICATION_MAX_PER_USER", "500", "cap on a user's notification_limit", intRange(func(c *Config) *int { return &c.NotificationMaxPerUser }, 1, 1000000)},
		{"NOTIFICATION_DELETE_BATCH", "1000", "rows per DELETE in the cleanup", intRange(func(c *Config) *int { return &c.NotificationDeleteBatch }, 1, 100000)},
		{"SCHEDULE_CATCHUP_WINDOW", "1h", "how late a missed scheduled run may still start", durRange(func(c *Config) *time.Duration { return &c.CatchupWindow }, MinCatchupWindow, 366*24*time.Hour)},

		{"DUMP_URL", "file://./dumps", "blob store for dumps: file://DIR, or s3://bucket?region=…&endpoint=…&use_path_style=true for S3-compatible stores (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY); the worker checks it at start by writing and deleting a probe object", checked(func(c *Config) *string { return &c.DumpURL }, dump.CheckStoreURL)},
		{"DUMP_NAME", "wikibase", "file name prefix of dumps (letters, digits, . _ -)", checked(func(c *Config) *string { return &c.DumpName }, checkFileName)},
		{"DUMP_CHUNK_SIZE", "10000", "entities per dump chunk", intRange(func(c *Config) *int { return &c.DumpChunkSize }, 1, 10000000)},
		{"DUMP_PARALLELISM", "4", "chunks of one dump in flight at once", intRange(func(c *Config) *int { return &c.DumpParallelism }, 1, 1024)},
		{"WIKIBASE_CONFIG", "", "JSON file of RDF settings: concept/data URIs, sites, URI patterns, unit conversions, page properties (see RDF settings in the README; default: Wikidata's)", checked(func(c *Config) *string { return &c.WikibaseConfig }, checkWikibaseConfig)},
	}...)
	for _, job := range workflows.ScheduledJobs {
		vars = append(vars,
			Var{job.Env + "_SCHEDULE", job.Cron, "cron (5 fields, UTC) of " + job.About, func(c *Config, v string) error {
				if err := ValidateCron(v); err != nil {
					return err
				}
				s := c.Schedules[job.Name]
				s.Cron = v
				c.Schedules[job.Name] = s
				return nil
			}},
			Var{job.Env + "_ENABLED", "true", "false pauses the schedule of " + job.About + "; apply acts on a change of this value, so an operator's pause stays", func(c *Config, v string) error {
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
	if err := c.checkTogether(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// MinCatchupWindow is Temporal's smallest schedule catch-up window; below it the server
// silently uses its own.
const MinCatchupWindow = 10 * time.Second

// checkTogether checks the settings that must differ from each other.
func (c Config) checkTogether() error {
	var errs []error
	if c.StreamQueue() == c.TaskQueue {
		errs = append(errs, fmt.Errorf("TEMPORAL_TASK_QUEUE and TEMPORAL_STREAM_TASK_QUEUE are both %q: the jobs would wait behind the change streams again", c.TaskQueue))
	}
	if c.KafkaConsumerGroup == c.EntityDiffGroup {
		errs = append(errs, fmt.Errorf("KAFKA_CONSUMER_GROUP and ENTITY_DIFF_CONSUMER_GROUP are both %q: the two bridges would split the topic's partitions between them and each would miss the other's events", c.KafkaConsumerGroup))
	}
	if c.EntityChangeTopic == c.EntityDiffTopic {
		errs = append(errs, fmt.Errorf("KAFKA_ENTITY_CHANGE_TOPIC and KAFKA_ENTITY_DIFF_TOPIC are both %q: rdf_change events would be read as entity_change events", c.EntityChangeTopic))
	}
	if c.EntityDiffTopic == c.EntityChangeTopic+".dlq" {
		errs = append(errs, fmt.Errorf("KAFKA_ENTITY_DIFF_TOPIC=%q is the dead-letter topic of KAFKA_ENTITY_CHANGE_TOPIC", c.EntityDiffTopic))
	}
	return errors.Join(errs...)
}

// Worker roles (WORKER_ROLES).
const (
	RoleJobs    = "jobs"
	RoleStreams = "streams"
)

// DefaultStreamTaskQueue is TEMPORAL_STREAM_TASK_QUEUE's default: TEMPORAL_TASK_QUEUE with
// "-streams" appended.
const DefaultStreamTaskQueue = "<TEMPORAL_TASK_QUEUE>-streams"

// StreamQueue is the task queue of the change streams.
func (c Config) StreamQueue() string {
	if c.StreamTaskQueue == "" {
		return c.TaskQueue + "-streams"
	}
	return c.StreamTaskQueue
}

// Serves says whether this worker has the role.
func (c Config) Serves(role string) bool { return slices.Contains(c.Roles, role) }

func streamQueue(c *Config, v string) error {
	if v == DefaultStreamTaskQueue {
		c.StreamTaskQueue = ""
		return nil
	}
	if err := checkTaskQueue(v); err != nil {
		return err
	}
	c.StreamTaskQueue = v
	return nil
}

func roles(c *Config, v string) error {
	c.Roles = nil
	for _, r := range strings.Split(v, ",") {
		r = strings.ToLower(strings.TrimSpace(r))
		switch {
		case r == "":
		case r != RoleJobs && r != RoleStreams:
			return fmt.Errorf("role %q: want jobs, streams or jobs,streams", r)
		case !slices.Contains(c.Roles, r):
			c.Roles = append(c.Roles, r)
		}
	}
	if len(c.Roles) == 0 {
		return errors.New("want jobs, streams or jobs,streams")
	}
	slices.Sort(c.Roles)
	return nil
}

func defaultWorkerID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "worker"
	}
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}

// checked sets a string field to a value check accepts.
func checked(field func(*Config) *string, check func(string) error) func(*Config, string) error {
	return func(c *Config, v string) error {
		if err := check(v); err != nil {
			return err
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

// checkHostPort accepts host:port with a host and a port from 1 to 65535.
func checkHostPort(v string) error {
	host, port, err := net.SplitHostPort(v)
	if err != nil || host == "" {
		return errors.New("want host:port")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q: want host:port with a port from 1 to 65535", port)
	}
	return nil
}

// matching accepts the values re matches; accepts says what those are.
func matching(re *regexp.Regexp, accepts string) func(string) error {
	return func(v string) error {
		if !re.MatchString(v) {
			return errors.New("want " + accepts)
		}
		return nil
	}
}

var (
	// checkNamespace accepts what Temporal accepts as a namespace name.
	checkNamespace = matching(regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$`),
		"a namespace name: letters, digits, '.', '_' and '-', at most 255, starting with a letter or digit")
	// checkFileName accepts a name that stays one file name component on every store (the
	// dumps' prefix): no path separators, no leading dot.
	checkFileName = matching(regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`),
		"a file name of letters, digits, '.', '_' and '-' starting with a letter or digit, at most 100 characters")
	topicName = matching(regexp.MustCompile(`^[A-Za-z0-9._-]{1,245}$`),
		"a Kafka topic name: 1 to 245 characters of A-Z a-z 0-9 . _ - (the dead-letter topic adds .dlq)")
)

// checkTaskQueue accepts a task queue name Temporal takes: at most 1000 characters, none
// blank, not in the server's reserved /_sys/ space.
func checkTaskQueue(v string) error {
	if strings.HasPrefix(v, "/_sys/") {
		return errors.New("task queue names starting with /_sys/ are reserved by Temporal")
	}
	return checkText(v, 1000)
}

// checkID accepts an identifier (worker ID, consumer group) that fits its 255-character
// columns and reads well in logs.
func checkID(v string) error { return checkText(v, 255) }

func checkText(v string, maxLen int) error {
	if utf8.RuneCountInString(v) > maxLen {
		return fmt.Errorf("want at most %d characters", maxLen)
	}
	for _, r := range v {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return errors.New("want printable characters without spaces or control characters")
		}
	}
	return nil
}

// CheckTopic accepts a Kafka topic name that leaves room for the ".dlq" of its dead-letter
// topic.
func CheckTopic(v string) error {
	if v == "." || v == ".." {
		return errors.New(`want a topic name other than "." and ".."`)
	}
	return topicName(v)
}

// checkDSN accepts a go-sql-driver DSN that names a database.
func checkDSN(v string) error {
	dsn, err := mysql.ParseDSN(v)
	if err != nil {
		return fmt.Errorf("want a go-sql-driver DSN such as user:pass@tcp(host:3306)/dbname: %w", err)
	}
	if dsn.DBName == "" {
		return errors.New("want a database name after the slash, e.g. root@tcp(127.0.0.1:3306)/entitybase")
	}
	return nil
}

// checkWikibaseConfig loads the file as the RDF code will, so a missing or broken file
// stops the start rather than the first dump or entity diff.
func checkWikibaseConfig(v string) error {
	if v == "" {
		return nil
	}
	_, err := rdf.LoadConfig(v)
	return err
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

func durRange(field func(*Config) *time.Duration, lo, hi time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < lo || d > hi {
			return fmt.Errorf("want a duration from %s to %s, such as 500ms, 30s or 2m", formatDuration(lo), formatDuration(hi))
		}
		*field(c) = d
		return nil
	}
}

// formatDuration drops the zero units time.Duration.String writes ("1m0s" → "1m").
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func brokers(field func(*Config) *[]string) func(*Config, string) error {
	return func(c *Config, v string) error {
		var out []string
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				if err := checkHostPort(p); err != nil {
					return fmt.Errorf("broker %q: %w", p, err)
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
