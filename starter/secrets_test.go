package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSecretsStayHidden: the API key, the SASL password and the DSN's password appear neither
// in `starter config`, nor in the failures `starter dev health` reports about the services
// they are for, nor in the error about a bad value.
func TestSecretsStayHidden(t *testing.T) {
	const apiKey, saslPass, dbPass = "tmprl-KEY-8128", "sasl-PW-496", "db-PW-6174"
	secrets := []string{apiKey, saslPass, dbPass}
	t.Setenv("MYSQL_DSN", "app:"+dbPass+"@tcp(127.0.0.1:1)/nothing")
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	t.Setenv("TEMPORAL_API_KEY", apiKey)
	t.Setenv("KAFKA_BROKERS", "127.0.0.1:1")
	t.Setenv("KAFKA_SASL_MECHANISM", "SCRAM-SHA-256")
	t.Setenv("KAFKA_SASL_USERNAME", "app")
	t.Setenv("KAFKA_SASL_PASSWORD", saslPass)

	for _, args := range [][]string{{"config"}, {"config", "--markdown"}} {
		code, out, errOut := runCLI(args...)
		require.Equal(t, 0, code, errOut)
		require.Contains(t, out, "TEMPORAL_API_KEY")
		for _, s := range secrets {
			require.NotContains(t, out+errOut, s)
		}
	}

	code, out, errOut := runCLI("dev", "health")
	require.Equal(t, 1, code)
	for _, name := range []string{"mysql", "kafka", "temporal"} {
		require.Contains(t, out, name)
	}
	require.Contains(t, out, "127.0.0.1:1", "the failures are reported")
	for _, s := range secrets {
		require.NotContains(t, out+errOut, s)
	}

	t.Setenv("TEMPORAL_API_KEY", apiKey+"\x07")
	t.Setenv("KAFKA_SASL_PASSWORD", saslPass+"\x07")
	t.Setenv("MYSQL_DSN", "app:"+dbPass+"@tcp(127.0.0.1:1")
	code, out, errOut = runCLI("ids", "next", "--type", "item")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "TEMPORAL_API_KEY")
	require.Contains(t, errOut, "KAFKA_SASL_PASSWORD")
	require.Contains(t, errOut, `MYSQL_DSN="app:***@tcp(127.0.0.1:1"`)
	for _, s := range secrets {
		require.NotContains(t, out+errOut, s)
	}
}
