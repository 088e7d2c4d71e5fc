package config_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/entitybase/entitybase-workers/internal/config"
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
	require.Len(t, c.Schedules, len(config.ScheduledJobs))
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
}

func TestBadValuesNameTheVariableAndWhatIsAccepted(t *testing.T) {
	cases := map[string]string{
		"LOG_LEVEL":                    "want one of debug, info, warn, error",
		"HEALTH_ADDR":                  "want [host]:port",
		"WATCHLIST_SHARDS":             "want a whole number from 1 to 1024",
		"ID_PREFETCH_AT":               "greater than 0 and at most 1",
		"BRIDGE_BATCH_WAIT":            "duration",
		"TEMPORAL_NAMESPACE_RETENTION": "want a duration of at least 1h0m0s",
		"KAFKA_BRIDGE_ENABLED":         "want true or false",
		"KAFKA_BROKERS":                "want host:port",
		"JSON_DUMP_SCHEDULE":           "has 1 fields, want 5",
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
	require.ErrorContains(t, err, `TEMPORAL_NAMESPACE_RETENTION="30m": want a duration of at least 1h0m0s`, "Temporal refuses a shorter retention")
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
