// Package config reads the one validated configuration of the worker and the CLI from the
// environment. Every variable is declared once in vars (name, default, meaning), which is
// also what the README's table and `starter config` print; the ID_MIN_* variables come from
// the table of entity types (wikibase.EntityTypes) and each scheduled job's *_SCHEDULE and
// *_ENABLED from the table of jobs (workflows.ScheduledJobs).
package config

import (
	"crypto/tls"
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
	"github.com/entitybase/entitybase-workers/internal/tlsclient"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
	"github.com/entitybase/entitybase-workers/workflows"
)

// Config is the whole configuration, read once at start.
type Config struct {
	TemporalAddress   string
	TemporalNamespace string
	// TemporalTLS is how the worker and the CLI check the Temporal frontend and prove who
	// they are (mTLS); it is used when TemporalTLSEnabled (TEMPORAL_TLS, implied by any
	// TEMPORAL_TLS_* file, a server name or an API key).
	TemporalTLS        tlsclient.Files
	TemporalTLSEnabled bool
	// TemporalAPIKey is sent as a bearer token with every call (Temporal Cloud API keys).
	TemporalAPIKey Secret
	TaskQueue      string
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
	// MySQLTLSCA is a CA file that signs MySQL's certificate; with it, MySQLDSN uses the TLS
	// configuration MySQLTLSConfigName, registered with the driver at Load.
	MySQLTLSCA        string
	WorkerID          string
	HealthAddr        string
	LogLevel          string
	LogFormat         string
	WorkerStopTimeout time.Duration
	HealthStallGrace  time.Duration

	// NamespaceRetention is the retention of a namespace the CLI creates and of the dev stack's.
	NamespaceRetention time.Duration

	KafkaBrokers []string
	// KafkaTLS is used when KafkaTLSEnabled (KAFKA_TLS, implied by any KAFKA_TLS_* file).
	KafkaTLS        tlsclient.Files
	KafkaTLSEnabled bool
	// KafkaSASL authenticates every Kafka connection when its Mechanism is set.
	KafkaSASL            SASL
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

	DumpURL string
	// ImportStagingURL is where imports stage their chunk files; "" means DumpURL's store.
	ImportStagingURL string
	DumpName         string
	DumpChunkSize    int
	DumpParallelism  int
	WikibaseConfig   string

	// temporalTLSSwitch and kafkaTLSSwitch are TEMPORAL_TLS and KAFKA_TLS: "true", "false" or
	// "" (decided by the other settings).
	temporalTLSSwitch, kafkaTLSSwitch string
}

// SASL is how the Kafka clients authenticate: Mechanism is "" (none), PLAIN, SCRAM-SHA-256 or
// SCRAM-SHA-512.
type SASL struct {
	Mechanism, Username string
	Password            Secret
}

// Secret is a setting that must not be shown: it prints as <hidden> in logs, errors, JSON and
// %v or %#v of the Config that holds it. Reveal gives the value to the one place that sends it.
type Secret string

const hidden = "<hidden>"

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return hidden
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return `config.Secret("` + s.String() + `")` }

// MarshalText keeps JSON and zap's reflection from printing the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Reveal returns the secret itself.
func (s Secret) Reveal() string { return string(s) }

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

// shownAs is how an error quotes the value of a variable that holds a secret.
var shownAs = map[string]func(string) string{
	"TEMPORAL_API_KEY":    hide,
	"KAFKA_SASL_PASSWORD": hide,
	"MYSQL_DSN":           store.RedactDSN,
}

func hide(string) string { return hidden }

// Vars lists every variable the project reads, in README order.
func Vars() []Var { return vars }

var vars []Var

func init() {
	vars = []Var{
		{"TEMPORAL_ADDRESS", "127.0.0.1:7233", "Temporal frontend host:port", checked(func(c *Config) *string { return &c.TemporalAddress }, checkHostPort)},
		{"TEMPORAL_NAMESPACE", "default", "Temporal namespace", checked(func(c *Config) *string { return &c.TemporalNamespace }, checkNamespace)},
		{"TEMPORAL_NAMESPACE_RETENTION", "168h", "how long Temporal keeps closed workflows (CLI, Web UI): retention of a namespace `starter dev setup` creates and of the dev stack's (Temporal's minimum is 1h)", durRange(func(c *Config) *time.Duration { return &c.NamespaceRetention }, time.Hour, 3650*24*time.Hour)},
		{Name: "TEMPORAL_TLS", About: "true: connect to Temporal over TLS (checked against the system's CAs unless TEMPORAL_TLS_CA is set); empty: on when any TEMPORAL_TLS_* variable or TEMPORAL_API_KEY is set; false with any of them is an error", set: tlsSwitch(func(c *Config) *string { return &c.temporalTLSSwitch })},
		{Name: "TEMPORAL_TLS_CA", About: "PEM file of the CA certificates that sign the Temporal frontend's certificate (a private CA)", set: file(func(c *Config) *string { return &c.TemporalTLS.CA }, tlsclient.CheckCA)},
		{Name: "TEMPORAL_TLS_CERT", About: "PEM file of the client certificate for mutual TLS (with TEMPORAL_TLS_KEY)", set: file(func(c *Config) *string { return &c.TemporalTLS.Cert }, tlsclient.CheckCert)},
		{Name: "TEMPORAL_TLS_KEY", About: "PEM file of the client certificate's private key (with TEMPORAL_TLS_CERT)", set: file(func(c *Config) *string { return &c.TemporalTLS.Key }, tlsclient.CheckKey)},
		{Name: "TEMPORAL_TLS_SERVER_NAME", About: "name the Temporal frontend's certificate must be valid for, when it differs from the host of TEMPORAL_ADDRESS", set: checked(func(c *Config) *string { return &c.TemporalTLS.ServerName }, checkServerName)},
		{Name: "TEMPORAL_API_KEY", About: "API key sent as a bearer token with every Temporal call (Temporal Cloud); implies TLS. Never printed", set: secret(func(c *Config) *Secret { return &c.TemporalAPIKey })},
		{"TEMPORAL_TASK_QUEUE", "entitybase-workers", "task queue the worker polls", checked(func(c *Config) *string { return &c.TaskQueue }, checkTaskQueue)},
		{"TEMPORAL_STREAM_TASK_QUEUE", DefaultStreamTaskQueue, "task queue of the change streams (entity diff, watchlist), apart from the jobs' so that a backlog of changes never delays a dump, import, stats run or ID allocation", streamQueue},
		{"WORKER_ROLES", "jobs,streams", "what this worker serves: jobs (scheduled jobs, dumps, imports, ID allocation on TEMPORAL_TASK_QUEUE), streams (the Kafka bridges, the outbox relay and the stream workflows on TEMPORAL_STREAM_TASK_QUEUE), or both; run them as separate deployments to scale them apart", roles},
		{"STREAM_WORKFLOW_SLOTS", "16", "workflow tasks the stream worker runs at once (the Temporal SDK needs at least 2: one sticky, one not)", intRange(func(c *Config) *int { return &c.StreamWorkflowSlots }, 2, 10000)},
		{"STREAM_ACTIVITY_SLOTS", "4", "activities (and local activities) the stream worker runs at once; the entity-diff rendering is CPU-bound, so about the worker's cores", intRange(func(c *Config) *int { return &c.StreamActivitySlots }, 1, 10000)},
		{"MYSQL_DSN", "root@tcp(127.0.0.1:3306)/entitybase", "application database (go-sql-driver DSN; created if missing). Add tls=true to connect over TLS checked against the system's CAs, or set MYSQL_TLS_CA. Its password is never printed", checked(func(c *Config) *string { return &c.MySQLDSN }, checkDSN)},
		{Name: "MYSQL_TLS_CA", About: "PEM file of the CA that signs MySQL's certificate: connects over TLS checked against it (instead of tls=true in MYSQL_DSN, which uses the system's CAs)", set: file(func(c *Config) *string { return &c.MySQLTLSCA }, tlsclient.CheckCA)},
		{"WORKER_ID", "<host>-<pid>", "identity of this worker process (logs, /health, ID range owner)", checked(func(c *Config) *string { return &c.WorkerID }, checkID)},
		{"HEALTH_ADDR", ":8080", "listen address of /health, /healthz, /readyz, /metrics", addr(func(c *Config) *string { return &c.HealthAddr })},
		{"LOG_LEVEL", "info", "debug, info, warn or error", oneOf(func(c *Config) *string { return &c.LogLevel }, "debug", "info", "warn", "error")},
		{"LOG_FORMAT", "console", "console or json", oneOf(func(c *Config) *string { return &c.LogFormat }, "console", "json")},
		{"WORKER_STOP_TIMEOUT", "30s", "on SIGTERM, how long running activities get to finish", durRange(func(c *Config) *time.Duration { return &c.WorkerStopTimeout }, time.Second, 24*time.Hour)},
		{"HEALTH_STALL_GRACE", "1m", "how long a Kafka bridge or the outbox relay may fail without progress before /health and /readyz answer 503 (degraded)", durRange(func(c *Config) *time.Duration { return &c.HealthStallGrace }, time.Second, 24*time.Hour)},

		{"KAFKA_BROKERS", "127.0.0.1:9092", "comma-separated Kafka bootstrap brokers", brokers(func(c *Config) *[]string { return &c.KafkaBrokers })},
		{Name: "KAFKA_TLS", About: "true: connect to Kafka over TLS (checked against the system's CAs unless KAFKA_TLS_CA is set); empty: on when any KAFKA_TLS_* file is set; false with any of them is an error", set: tlsSwitch(func(c *Config) *string { return &c.kafkaTLSSwitch })},
		{Name: "KAFKA_TLS_CA", About: "PEM file of the CA certificates that sign the Kafka brokers' certificates", set: file(func(c *Config) *string { return &c.KafkaTLS.CA }, tlsclient.CheckCA)},
		{Name: "KAFKA_TLS_CERT", About: "PEM file of the client certificate for mutual TLS with Kafka (with KAFKA_TLS_KEY)", set: file(func(c *Config) *string { return &c.KafkaTLS.Cert }, tlsclient.CheckCert)},
		{Name: "KAFKA_TLS_KEY", About: "PEM file of the Kafka client certificate's private key (with KAFKA_TLS_CERT)", set: file(func(c *Config) *string { return &c.KafkaTLS.Key }, tlsclient.CheckKey)},
		{Name: "KAFKA_SASL_MECHANISM", About: "SASL authentication with Kafka: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (with KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD); empty: none", set: saslMechanism},
		{Name: "KAFKA_SASL_USERNAME", About: "SASL user name", set: checked(func(c *Config) *string { return &c.KafkaSASL.Username }, checkSASLUser)},
		{Name: "KAFKA_SASL_PASSWORD", About: "SASL password. Never printed", set: secret(func(c *Config) *Secret { return &c.KafkaSASL.Password })},
		{"KAFKA_ENTITY_CHANGE_TOPIC", "entitybase.entity_change", "topic of entity_change events", checked(func(c *Config) *string { return &c.EntityChangeTopic }, CheckTopic)},
		{"KAFKA_ENTITY_DIFF_TOPIC", "entitybase.entity_diff", "topic of rdf_change events", checked(func(c *Config) *string { return &c.EntityDiffTopic }, CheckTopic)},
		{"ENTITY_DIFF_ENABLED", "true", "run the entity-diff bridge (entity_change → EntityDiffShardWorkflow) in this worker", boolean(func(c *Config) *bool { return &c.EntityDiffEnabled })},
		{"ENTITY_DIFF_CONSUMER_GROUP", "entity-diff", "consumer group of the entity-diff bridge", checked(func(c *Config) *string { return &c.EntityDiffGroup }, checkID)},
		{"ENTITY_DIFF_SHARDS", "16", "number of EntityDiffShardWorkflow shards (entities are spread over them by a hash of their ID; changing it while changes are pending is safe, as entity_diff_state orders the publishers of an entity)", intRange(func(c *Config) *int { return &c.EntityDiffShards }, 1, 1024)},
		{"KAFKA_CONSUMER_GROUP", "watchlist-consumer", "consumer group of the watchlist bridge", checked(func(c *Config) *string { return &c.KafkaConsumerGroup }, checkID)},
		{"KAFKA_BRIDGE_ENABLED", "true", "run the Kafka → Temporal bridge in this worker", boolean(func(c *Config) *bool { return &c.KafkaBridgeEnabled })},
		{"KAFKA_SESSION_TIMEOUT", "6s", "how long the bridges' consumer groups wait for a silent member (a killed worker) before its partitions go to the others; brokers accept 6s to 30m by default", durRange(func(c *Config) *time.Duration { return &c.KafkaSessionTimeout }, time.Second, 30*time.Minute)},
		{"KAFKA_MAX_MESSAGE_BYTES", "1000000", "largest message produced (and record batch: keep it 1 KiB under the brokers' message.max.bytes); larger RDF diffs are split", intRange(func(c *Config) *int { return &c.KafkaMaxMessageBytes }, 1024, 100<<20)},
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
		{"IMPORT_STAGING_URL", "", "blob store (file://DIR or s3://…, as DUMP_URL) where an import stages its source's chunks, under import/WORKFLOW_ID/RUN_ID/, for every worker to read; each chunk file is deleted once imported and the rest when the import ends, fails or is cancelled; empty means DUMP_URL's store", checked(func(c *Config) *string { return &c.ImportStagingURL }, dump.CheckStoreURL)},
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
			show := val
			if f := shownAs[v.Name]; f != nil {
				show = f(val)
			}
			errs = append(errs, fmt.Errorf("%s=%q: %w", v.Name, show, err))
		}
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	if err := c.checkTogether(); err != nil {
		return Config{}, err
	}
	if err := c.useMySQLCA(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// MinCatchupWindow is Temporal's smallest schedule catch-up window; below it the server
// silently uses its own.
const MinCatchupWindow = 10 * time.Second

// checkTogether checks the settings that must differ from each other or go together, and
// decides what the others imply (TLS on or off).
func (c *Config) checkTogether() error {
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
	var err error
	t := c.TemporalTLS
	if c.TemporalTLSEnabled, err = tlsOn("TEMPORAL", c.temporalTLSSwitch, t, map[string]bool{"TEMPORAL_TLS_SERVER_NAME": t.ServerName != "", "TEMPORAL_API_KEY": c.TemporalAPIKey != ""}); err != nil {
		errs = append(errs, err)
	}
	if c.KafkaTLSEnabled, err = tlsOn("KAFKA", c.kafkaTLSSwitch, c.KafkaTLS, nil); err != nil {
		errs = append(errs, err)
	}
	switch s := c.KafkaSASL; {
	case s.Mechanism != "" && (s.Username == "" || s.Password == ""):
		errs = append(errs, fmt.Errorf("KAFKA_SASL_MECHANISM=%s needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD", s.Mechanism))
	case s.Mechanism == "" && (s.Username != "" || s.Password != ""):
		errs = append(errs, errors.New("KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD is set without KAFKA_SASL_MECHANISM: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"))
	}
	return errors.Join(errs...)
}

// tlsOn says whether a client uses TLS: as its switch (PREFIX_TLS) says, or, when that is
// empty, when any of its files or others is set. A certificate without its key (or the other
// way round), or a pair that does not match, is an error here rather than at the first dial.
func tlsOn(prefix, on string, f tlsclient.Files, others map[string]bool) (bool, error) {
	set := map[string]bool{prefix + "_TLS_CA": f.CA != "", prefix + "_TLS_CERT": f.Cert != "", prefix + "_TLS_KEY": f.Key != ""}
	for k, v := range others {
		set[k] = v
	}
	var named []string
	for k, v := range set {
		if v {
			named = append(named, k)
		}
	}
	slices.Sort(named)
	if on == "false" && len(named) > 0 {
		return false, fmt.Errorf("%s_TLS=false, but %s need TLS: unset them or %s_TLS", prefix, strings.Join(named, ", "), prefix)
	}
	switch {
	case f.Cert != "" && f.Key == "":
		return false, fmt.Errorf("%s_TLS_CERT is set without %s_TLS_KEY: a client certificate needs its private key", prefix, prefix)
	case f.Key != "" && f.Cert == "":
		return false, fmt.Errorf("%s_TLS_KEY is set without %s_TLS_CERT: a private key needs its client certificate", prefix, prefix)
	case f.Cert != "":
		if _, err := f.Config(); err != nil {
			return false, fmt.Errorf("%s_TLS_CERT and %s_TLS_KEY: %w", prefix, prefix, err)
		}
	}
	return on == "true" || len(named) > 0, nil
}

// MySQLTLSConfigName is the go-sql-driver TLS configuration that MYSQL_TLS_CA registers.
const MySQLTLSConfigName = "entitybase-mysql-ca"

// useMySQLCA registers MYSQL_TLS_CA with the MySQL driver (whose named TLS configurations are
// process-wide) and points MySQLDSN at it.
func (c *Config) useMySQLCA() error {
	if c.MySQLTLSCA == "" {
		return nil
	}
	dsn, err := mysql.ParseDSN(c.MySQLDSN)
	if err != nil {
		return fmt.Errorf("MYSQL_DSN: %w", err)
	}
	if dsn.TLSConfig != "" && dsn.TLSConfig != MySQLTLSConfigName && dsn.TLSConfig != "true" {
		return fmt.Errorf("MYSQL_TLS_CA is set and MYSQL_DSN asks for tls=%s: drop one of them", dsn.TLSConfig)
	}
	pool, err := tlsclient.LoadCA(c.MySQLTLSCA)
	if err != nil {
		return fmt.Errorf("MYSQL_TLS_CA: %w", err)
	}
	// The driver checks the server's name against the host of the DSN's address.
	if err := mysql.RegisterTLSConfig(MySQLTLSConfigName, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}); err != nil {
		return fmt.Errorf("MYSQL_TLS_CA: %w", err)
	}
	dsn.TLSConfig = MySQLTLSConfigName
	dsn.TLS = nil
	c.MySQLDSN = dsn.FormatDSN()
	return nil
}

// tlsSwitch accepts true, false or empty (decided by the other TLS settings, see tlsOn).
func tlsSwitch(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		b, err := parseBool(v)
		if err != nil {
			return errors.New("want true, false or empty (on when a TLS file is set)")
		}
		*field(c) = strconv.FormatBool(b)
		return nil
	}
}

// file sets a field to a file path that check accepts; empty is allowed.
func file(field func(*Config) *string, check func(string) error) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		if err := check(v); err != nil {
			return err
		}
		*field(c) = v
		return nil
	}
}

func secret(field func(*Config) *Secret) func(*Config, string) error {
	return func(c *Config, v string) error {
		for _, r := range v {
			if unicode.IsControl(r) {
				// Not %q: the error must not show the secret.
				return errors.New("want printable characters (the value has a control character, a pasted newline?)")
			}
		}
		*field(c) = Secret(v)
		return nil
	}
}

func saslMechanism(c *Config, v string) error {
	for _, m := range []string{"", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} {
		if strings.EqualFold(v, m) {
			c.KafkaSASL.Mechanism = m
			return nil
		}
	}
	return errors.New("want PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or empty")
}

// checkServerName accepts a DNS name (or an IP address) a certificate can be valid for.
func checkServerName(v string) error {
	if v == "" || net.ParseIP(v) != nil {
		return nil
	}
	return serverName(v)
}

var serverName = matching(regexp.MustCompile(`^(?i)[a-z0-9*]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$`),
	"a DNS name such as temporal.example.com (letters, digits, '-' and '.')")

func checkSASLUser(v string) error {
	if v == "" {
		return nil
	}
	return checkText(v, 255)
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
