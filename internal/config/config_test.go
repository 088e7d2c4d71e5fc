package config_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"github.com/entitybase/entitybase-workers/internal/config"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/tlsclient/tlstest"
	"github.com/entitybase/entitybase-workers/workflows"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	c, err := config.LoadFrom(env(nil))
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:7233", c.TemporalAddress)
	require.Equal(t, "default", c.TemporalNamespace)
	require.Equal(t, 7*24*time.Hour, c.NamespaceRetention)
	require.Equal(t, ":8080", c.HealthAddr)
	require.Equal(t, []string{"127.0.0.1:9092"}, c.KafkaBrokers)
	require.Equal(t, "entitybase.entity_change", c.EntityChangeTopic)
	require.Equal(t, int64(1_000_000), c.IDRangeSize)
	require.Equal(t, map[string]int64{"Q": 1, "P": 1, "L": 1, "E": 1}, c.IDMin)
	require.Equal(t, 0.8, c.IDPrefetchAt)
	require.Equal(t, 200*time.Millisecond, c.BridgeBatchWait)
	host, _ := os.Hostname()
	require.True(t, strings.HasPrefix(c.WorkerID, host+"-"), c.WorkerID)
	require.Equal(t, config.Schedule{Cron: "0 2 * * 0", Enabled: true}, c.Schedules["json-dump"])
	require.Equal(t, config.Schedule{Cron: "0 * * * *", Enabled: true}, c.Schedules["notification-cleanup"])
	require.Len(t, c.Schedules, len(workflows.ScheduledJobs))
	require.Equal(t, "entitybase-workers-streams", c.StreamQueue())
	require.Equal(t, []string{"jobs", "streams"}, c.Roles)
	require.True(t, c.Serves(config.RoleJobs) && c.Serves(config.RoleStreams))
	require.Equal(t, store.Limits{EntityBytes: 2 << 20, LabelChars: 250, DescriptionChars: 250, AliasChars: 250}, c.EntityLimits)
}

func TestOverrides(t *testing.T) {
	c, err := config.LoadFrom(env(map[string]string{
		"KAFKA_BROKERS": "a:1, b:2", "ID_MIN_Q": "300_000_000", "LOG_LEVEL": "DEBUG",
		"TTL_DUMP_ENABLED": "false", "TTL_DUMP_SCHEDULE": "30 4 * * sun", "WORKER_ID": "w7",
	}))
	require.NoError(t, err)
	require.Equal(t, []string{"a:1", "b:2"}, c.KafkaBrokers)
	require.Equal(t, int64(300_000_000), c.IDMin["Q"])
	require.Equal(t, "debug", c.LogLevel)
	require.Equal(t, config.Schedule{Cron: "30 4 * * sun", Enabled: false}, c.Schedules["ttl-dump"])
	require.Equal(t, "w7", c.WorkerID)

	c, err = config.LoadFrom(env(map[string]string{"TEMPORAL_TASK_QUEUE": "blue", "WORKER_ROLES": " Streams "}))
	require.NoError(t, err)
	require.Equal(t, "blue-streams", c.StreamQueue(), "the default follows TEMPORAL_TASK_QUEUE")
	require.Equal(t, []string{"streams"}, c.Roles)
	require.False(t, c.Serves(config.RoleJobs))
	c, err = config.LoadFrom(env(map[string]string{"TEMPORAL_STREAM_TASK_QUEUE": "changes"}))
	require.NoError(t, err)
	require.Equal(t, "changes", c.StreamQueue())
}

func TestBadValuesNameTheVariableAndWhatIsAccepted(t *testing.T) {
	cases := map[string]string{
		"LOG_LEVEL":                    "want one of debug, info, warn, error",
		"HEALTH_ADDR":                  "want [host]:port",
		"WATCHLIST_SHARDS":             "want a whole number from 1 to 1024",
		"ID_PREFETCH_AT":               "greater than 0 and at most 1",
		"BRIDGE_BATCH_WAIT":            "duration",
		"KAFKA_BRIDGE_ENABLED":         "want true or false",
		"KAFKA_BROKERS":                "want host:port",
		"JSON_DUMP_SCHEDULE":           "has 1 fields, want 5",
		"ENTITY_MAX_BYTES":             "want a whole number from 1024 to 8388608",
		"TEMPORAL_NAMESPACE_RETENTION": "want a duration from 1h to",
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := config.LoadFrom(env(map[string]string{name: "bogus"}))
			require.Error(t, err)
			require.Contains(t, err.Error(), name+`="bogus"`)
			require.Contains(t, err.Error(), want)
		})
	}
	_, err := config.LoadFrom(env(map[string]string{"TEMPORAL_NAMESPACE_RETENTION": "30m"}))
	require.ErrorContains(t, err, `TEMPORAL_NAMESPACE_RETENTION="30m": want a duration from 1h to`, "Temporal refuses a shorter retention")
	_, err = config.LoadFrom(env(map[string]string{"LOG_LEVEL": "loud", "WATCHLIST_SHARDS": "0"}))
	require.ErrorContains(t, err, "LOG_LEVEL")
	require.ErrorContains(t, err, "WATCHLIST_SHARDS", "all problems are reported together")
}

func TestValidateCron(t *testing.T) {
	good := []string{"0 2 * * *", "0 2 * * 0", "*/15 * * * *", "0 0 1,15 * mon-fri", "5 4 * jan-mar 7", "@daily", "0 0-23/2 * * *"}
	for _, s := range good {
		require.NoError(t, config.ValidateCron(s), s)
	}
	bad := map[string]string{
		"0 2 * *":         "has 4 fields",
		"60 2 * * *":      "minute field",
		"0 24 * * *":      "hour field",
		"0 2 0 * *":       "day-of-month field",
		"0 2 * 13 *":      "month field",
		"0 2 * * 8":       "day-of-week field",
		"0 2 * * fri-mon": "runs backwards",
		"*/0 * * * *":     "step",
	}
	for s, want := range bad {
		err := config.ValidateCron(s)
		require.Error(t, err, s)
		require.Contains(t, err.Error(), want, s)
	}
}

// TestEveryVariableIsCheckedAtStart gives each variable a value it must reject, and the
// words the error must use to say what is accepted. A variable without a case fails the
// test: every setting that can be checked at start is checked at start.
func TestEveryVariableIsCheckedAtStart(t *testing.T) {
	badJSON := filepath.Join(t.TempDir(), "wikibase.json")
	require.NoError(t, os.WriteFile(badJSON, []byte(`{"sites": [{"id": ""}]}`), 0o644))
	ca := tlstest.NewCA(t, "ca")
	leaf := ca.Client(t, "client")
	cases := map[string][]struct{ value, want string }{
		// TLS and credentials
		"TEMPORAL_TLS":             {{"sometimes", "want true, false or empty"}},
		"TEMPORAL_TLS_CA":          {{"/nonexistent/ca.pem", "no such file"}, {badJSON, "is not a PEM file"}, {leaf.KeyFile, "no PEM CERTIFICATE"}},
		"TEMPORAL_TLS_CERT":        {{"/nonexistent/cert.pem", "no such file"}, {leaf.KeyFile, "no PEM CERTIFICATE"}},
		"TEMPORAL_TLS_KEY":         {{leaf.CertFile, "no PEM PRIVATE KEY"}},
		"TEMPORAL_TLS_SERVER_NAME": {{"temporal example", "a DNS name"}},
		"TEMPORAL_API_KEY":         {{"key\x00part", "control character"}},
		"MYSQL_TLS_CA":             {{"/nonexistent/ca.pem", "no such file"}},
		"KAFKA_TLS":                {{"2", "want true, false or empty"}},
		"KAFKA_TLS_CA":             {{badJSON, "is not a PEM file"}},
		"KAFKA_TLS_CERT":           {{leaf.KeyFile, "no PEM CERTIFICATE"}},
		"KAFKA_TLS_KEY":            {{"/nonexistent/key.pem", "no such file"}},
		"KAFKA_SASL_MECHANISM":     {{"GSSAPI", "want PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or empty"}},
		"KAFKA_SASL_USERNAME":      {{"two words", "without spaces"}},
		"KAFKA_SASL_PASSWORD":      {{"pass\x01word", "control character"}},
		// addresses
		"TEMPORAL_ADDRESS":   {{"temporal", "want host:port"}, {"temporal:99999", "port from 1 to 65535"}, {":7233", "want host:port"}},
		"HEALTH_ADDR":        {{"8080", "want [host]:port"}, {":70000", "port from 0 to 65535"}},
		"KAFKA_BROKERS":      {{"kafka", "want host:port"}, {"kafka:9092,kafka:x", "port from 1 to 65535"}, {",", "at least one"}},
		"MYSQL_DSN":          {{"root@tcp(127.0.0.1:3306", "go-sql-driver DSN"}, {"root@tcp(127.0.0.1:3306)/", "database name"}},
		"DUMP_URL":           {{"ftp://dumps.example/x", "want file or s3"}, {"s3://", "bucket"}, {"file://dumps/x", "file://./relative"}, {"file://", "no path"}},
		"IMPORT_STAGING_URL": {{"http://staging.example/x", "want file or s3"}, {"s3://", "bucket"}},
		// names
		"TEMPORAL_NAMESPACE":           {{"my namespace", "letters, digits"}},
		"TEMPORAL_NAMESPACE_RETENTION": {{"30m", "from 1h"}, {"a week", "duration"}},
		"TEMPORAL_TASK_QUEUE":          {{"/_sys/queue", "reserved"}, {"two words", "without spaces"}},
		"TEMPORAL_STREAM_TASK_QUEUE":   {{"/_sys/streams", "reserved"}, {"two words", "without spaces"}},
		"WORKER_ROLES":                 {{"jobs,dumps", `role "dumps": want jobs, streams`}, {",", "want jobs, streams or jobs,streams"}},
		"STREAM_WORKFLOW_SLOTS":        {{"1", "from 2 to 10000"}},
		"STREAM_ACTIVITY_SLOTS":        {{"many", "from 1 to 10000"}},
		"WORKER_ID":                    {{strings.Repeat("w", 256), "at most 255"}, {"a\tb", "without spaces"}},
		"KAFKA_ENTITY_CHANGE_TOPIC":    {{"entity change", "A-Z a-z 0-9 . _ -"}, {"..", `other than "." and ".."`}, {strings.Repeat("t", 246), "1 to 245 characters"}},
		"KAFKA_ENTITY_DIFF_TOPIC":      {{"diff/topic", "A-Z a-z 0-9 . _ -"}},
		"KAFKA_CONSUMER_GROUP":         {{"group\x00", "without spaces or control characters"}},
		"ENTITY_DIFF_CONSUMER_GROUP":   {{strings.Repeat("g", 256), "at most 255"}},
		"DUMP_NAME":                    {{"../../x", "file name"}, {"a/b", "file name"}, {".hidden", "starting with a letter or digit"}},
		"WIKIBASE_CONFIG":              {{"/nonexistent/wikibase.json", "no such file"}, {badJSON, "sites[0]: id is empty"}},
		// choices and switches
		"LOG_LEVEL":            {{"loud", "want one of debug, info, warn, error"}},
		"LOG_FORMAT":           {{"xml", "want one of console, json"}},
		"ENTITY_DIFF_ENABLED":  {{"sometimes", "want true or false"}},
		"KAFKA_BRIDGE_ENABLED": {{"2", "want true or false"}},
		"NOTIFY_SELF_EDITS":    {{"maybe", "want true or false"}},
		"OUTBOX_RELAY_ENABLED": {{"y", "want true or false"}},
		// durations
		"WORKER_STOP_TIMEOUT":     {{"0s", "from 1s to 24h"}, {"soon", "duration"}},
		"HEALTH_STALL_GRACE":      {{"500ms", "from 1s to 24h"}, {"1 minute", "duration"}},
		"KAFKA_SESSION_TIMEOUT":   {{"0s", "from 1s to 30m"}, {"1h", "from 1s to 30m"}},
		"BRIDGE_BATCH_WAIT":       {{"0s", "from 1ms to 1m"}, {"-5ms", "from 1ms to 1m"}},
		"OUTBOX_POLL_INTERVAL":    {{"0", "from 1ms to 1m"}, {"2h", "from 1ms to 1m"}},
		"SCHEDULE_CATCHUP_WINDOW": {{"5s", "from 10s"}, {"1d", "duration"}},
		// numbers in range
		"KAFKA_MAX_MESSAGE_BYTES":   {{"100", "from 1024 to 104857600"}},
		"BRIDGE_BATCH_SIZE":         {{"0", "from 1 to 10000"}},
		"WATCHLIST_SHARDS":          {{"2000", "from 1 to 1024"}},
		"ENTITY_DIFF_SHARDS":        {{"0", "from 1 to 1024"}},
		"ID_RANGE_SIZE":             {{"5", "from 10 to"}},
		"ID_MIN_Q":                  {{"0", "at least 1"}},
		"ID_MIN_P":                  {{"-1", "at least 1"}},
		"ID_MIN_L":                  {{"x", "at least 1"}},
		"ID_MIN_E":                  {{"1.5", "at least 1"}},
		"ID_PREFETCH_AT":            {{"1.5", "greater than 0 and at most 1"}},
		"ID_LEASE_SIZE":             {{"20000", "from 1 to 10000"}},
		"USER_STATS_ACTIVE_DAYS":    {{"0", "from 1 to 3650"}},
		"BACKLINK_STATS_TOP_LIMIT":  {{"0", "from 1 to 100000"}},
		"NOTIFICATION_MAX_AGE_DAYS": {{"9999", "from 1 to 3650"}},
		"NOTIFICATION_MAX_PER_USER": {{"0", "from 1 to 1000000"}},
		"NOTIFICATION_DELETE_BATCH": {{"0", "from 1 to 100000"}},
		"DUMP_CHUNK_SIZE":           {{"0", "from 1 to 10000000"}},
		"ENTITY_MAX_BYTES":          {{"100", "from 1024 to"}, {"16777216", "from 1024 to 8388608"}},
		"LABEL_MAX_CHARS":           {{"0", "from 1 to 10000"}},
		"DESCRIPTION_MAX_CHARS":     {{"-3", "from 1 to 10000"}},
		"ALIAS_MAX_CHARS":           {{"lots", "from 1 to 10000"}},
		"DUMP_PARALLELISM":          {{"0", "from 1 to 1024"}},
	}
	for _, job := range workflows.ScheduledJobs {
		cases[job.Env+"_SCHEDULE"] = []struct{ value, want string }{{"0 2 * *", "has 4 fields, want 5"}, {"0 25 * * *", "hour field"}}
		cases[job.Env+"_ENABLED"] = []struct{ value, want string }{{"paused", "want true or false"}}
	}
	for _, v := range config.Vars() {
		require.Contains(t, cases, v.Name, "%s needs a value it rejects here (or a reason it accepts everything)", v.Name)
	}
	for name, bad := range cases {
		for _, tc := range bad {
			t.Run(name+"="+tc.value, func(t *testing.T) {
				_, err := config.LoadFrom(env(map[string]string{name: tc.value}))
				require.Error(t, err)
				require.Contains(t, err.Error(), name+"=")
				require.Contains(t, err.Error(), tc.want)
			})
		}
	}
}

func TestGoodValuesOfEachKind(t *testing.T) {
	good := filepath.Join(t.TempDir(), "wikibase.json")
	require.NoError(t, os.WriteFile(good, []byte(`{}`), 0o644))
	c, err := config.LoadFrom(env(map[string]string{
		"TEMPORAL_ADDRESS": "temporal-frontend.temporal.svc:7233", "HEALTH_ADDR": "0.0.0.0:9090",
		"KAFKA_BROKERS": "k1:9092,k2:9093", "MYSQL_DSN": "app:secret@tcp(db:3306)/wikibase?parseTime=true",
		"DUMP_URL":  "s3://dumps?region=eu-west-1&endpoint=http://minio:9000&use_path_style=true",
		"DUMP_NAME": "wikidata-test_1.0", "WIKIBASE_CONFIG": good, "TEMPORAL_NAMESPACE": "prod.wikibase",
		"TEMPORAL_TASK_QUEUE": "entitybase/blue", "KAFKA_ENTITY_CHANGE_TOPIC": "wb.entity_change-v2",
		"KAFKA_CONSUMER_GROUP": "watchlist-consumer#2", "SCHEDULE_CATCHUP_WINDOW": "10s",
		"WORKER_STOP_TIMEOUT": "2m", "OUTBOX_POLL_INTERVAL": "1ms",
	}))
	require.NoError(t, err)
	require.Equal(t, "wikidata-test_1.0", c.DumpName)
	require.Equal(t, good, c.WikibaseConfig)
	require.Equal(t, 10*time.Second, c.CatchupWindow)
	for _, dumpURL := range []string{"file://./dumps", "file:///var/lib/dumps", "file:dumps"} {
		_, err := config.LoadFrom(env(map[string]string{"DUMP_URL": dumpURL}))
		require.NoError(t, err, dumpURL)
	}
}

func TestSettingsThatMustDifferFromEachOther(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"TEMPORAL_STREAM_TASK_QUEUE": "entitybase-workers"},
			`TEMPORAL_TASK_QUEUE and TEMPORAL_STREAM_TASK_QUEUE are both "entitybase-workers"`},
		{map[string]string{"KAFKA_CONSUMER_GROUP": "g", "ENTITY_DIFF_CONSUMER_GROUP": "g"},
			`KAFKA_CONSUMER_GROUP and ENTITY_DIFF_CONSUMER_GROUP are both "g"`},
		{map[string]string{"KAFKA_ENTITY_DIFF_TOPIC": "entitybase.entity_change"},
			`KAFKA_ENTITY_CHANGE_TOPIC and KAFKA_ENTITY_DIFF_TOPIC are both "entitybase.entity_change"`},
		{map[string]string{"KAFKA_ENTITY_DIFF_TOPIC": "entitybase.entity_change.dlq"},
			`KAFKA_ENTITY_DIFF_TOPIC="entitybase.entity_change.dlq" is the dead-letter topic of KAFKA_ENTITY_CHANGE_TOPIC`},
	} {
		_, err := config.LoadFrom(env(tc.env))
		require.ErrorContains(t, err, tc.want)
	}
}

func TestTLSAndSASLSettingsTogether(t *testing.T) {
	ca := tlstest.NewCA(t, "ca")
	leaf := ca.Client(t, "client")
	other := ca.Client(t, "other")

	c, err := config.LoadFrom(env(nil))
	require.NoError(t, err)
	require.False(t, c.TemporalTLSEnabled)
	require.False(t, c.KafkaTLSEnabled)

	for _, on := range []map[string]string{
		{"TEMPORAL_TLS": "true"}, {"TEMPORAL_TLS_CA": ca.File}, {"TEMPORAL_TLS_SERVER_NAME": "temporal.example"},
		{"TEMPORAL_API_KEY": "k"}, {"TEMPORAL_TLS_CERT": leaf.CertFile, "TEMPORAL_TLS_KEY": leaf.KeyFile},
	} {
		c, err := config.LoadFrom(env(on))
		require.NoError(t, err, on)
		require.True(t, c.TemporalTLSEnabled, "%v implies TLS", on)
	}
	c, err = config.LoadFrom(env(map[string]string{"KAFKA_TLS_CA": ca.File, "KAFKA_SASL_MECHANISM": "scram-sha-512", "KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD": "p"}))
	require.NoError(t, err)
	require.True(t, c.KafkaTLSEnabled)
	require.Equal(t, config.SASL{Mechanism: "SCRAM-SHA-512", Username: "u", Password: "p"}, c.KafkaSASL)
	c, err = config.LoadFrom(env(map[string]string{"KAFKA_SASL_MECHANISM": "PLAIN", "KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD": "p"}))
	require.NoError(t, err)
	require.False(t, c.KafkaTLSEnabled, "SASL without TLS (SASL_PLAINTEXT) is allowed")

	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"TEMPORAL_TLS": "false", "TEMPORAL_API_KEY": "k"}, "TEMPORAL_TLS=false, but TEMPORAL_API_KEY need TLS"},
		{map[string]string{"KAFKA_TLS": "off", "KAFKA_TLS_CA": ca.File}, "KAFKA_TLS=false, but KAFKA_TLS_CA need TLS"},
		{map[string]string{"TEMPORAL_TLS_CERT": leaf.CertFile}, "TEMPORAL_TLS_CERT is set without TEMPORAL_TLS_KEY"},
		{map[string]string{"KAFKA_TLS_KEY": leaf.KeyFile}, "KAFKA_TLS_KEY is set without KAFKA_TLS_CERT"},
		{map[string]string{"TEMPORAL_TLS_CERT": leaf.CertFile, "TEMPORAL_TLS_KEY": other.KeyFile}, "private key does not match public key"},
		{map[string]string{"KAFKA_SASL_MECHANISM": "PLAIN", "KAFKA_SASL_USERNAME": "u"}, "KAFKA_SASL_MECHANISM=PLAIN needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"},
		{map[string]string{"KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD": "p"}, "without KAFKA_SASL_MECHANISM"},
		{map[string]string{"MYSQL_TLS_CA": ca.File, "MYSQL_DSN": "root@tcp(db:3306)/x?tls=skip-verify"}, "MYSQL_TLS_CA is set and MYSQL_DSN asks for tls=skip-verify"},
	} {
		_, err := config.LoadFrom(env(tc.env))
		require.ErrorContains(t, err, tc.want, tc.env)
	}
}

func TestMySQLTLSCAPointsTheDSNAtIt(t *testing.T) {
	ca := tlstest.NewCA(t, "mysql-ca")
	c, err := config.LoadFrom(env(map[string]string{"MYSQL_TLS_CA": ca.File, "MYSQL_DSN": "app:pw@tcp(db.example:3306)/wb?parseTime=true"}))
	require.NoError(t, err)
	dsn, err := mysql.ParseDSN(c.MySQLDSN)
	require.NoError(t, err)
	require.Equal(t, config.MySQLTLSConfigName, dsn.TLSConfig)
	require.NotNil(t, dsn.TLS)
	require.True(t, dsn.TLS.RootCAs.Equal(ca.Pool()), "the registered configuration trusts MYSQL_TLS_CA")
	require.Equal(t, "db.example", dsn.TLS.ServerName)
	require.Equal(t, "pw", dsn.Passwd)
}

// TestSecretsAreNotShown: the API key, the SASL password and the DSN's password appear in
// no error about them and in no print of the Config.
func TestSecretsAreNotShown(t *testing.T) {
	const apiKey, saslPass, dbPass = "tmprl-KEY-3141", "sasl-PW-2718", "db-PW-1618"
	_, err := config.LoadFrom(env(map[string]string{
		"TEMPORAL_API_KEY": apiKey + "\x00", "KAFKA_SASL_PASSWORD": saslPass + "\x00",
		"MYSQL_DSN": "app:" + dbPass + "@tcp(db:3306", "LOG_LEVEL": "loud",
	}))
	require.Error(t, err)
	for _, name := range []string{"TEMPORAL_API_KEY", "KAFKA_SASL_PASSWORD", "MYSQL_DSN", "LOG_LEVEL"} {
		require.ErrorContains(t, err, name)
	}
	require.ErrorContains(t, err, `LOG_LEVEL="loud"`, "other values are still quoted")
	require.ErrorContains(t, err, `MYSQL_DSN="app:***@tcp(db:3306"`)
	for _, s := range []string{apiKey, saslPass, dbPass} {
		require.NotContains(t, err.Error(), s)
	}

	c, err := config.LoadFrom(env(map[string]string{"TEMPORAL_API_KEY": apiKey, "KAFKA_SASL_MECHANISM": "PLAIN", "KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD": saslPass}))
	require.NoError(t, err)
	require.Equal(t, apiKey, c.TemporalAPIKey.Reveal())
	require.Equal(t, saslPass, c.KafkaSASL.Password.Reveal())
	js, err := json.Marshal(c)
	require.NoError(t, err)
	for _, out := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), string(js)} {
		require.NotContains(t, out, apiKey)
		require.NotContains(t, out, saslPass)
		require.Contains(t, out, "hidden")
	}
	// Nor in `starter config`, whose defaults of secrets are empty.
	for _, v := range config.Vars() {
		require.NotContains(t, v.Default, apiKey)
	}
}
