package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/entitybase/entitybase-workers/internal/config"
)

func runCLI(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestEveryCommandDescribesItself(t *testing.T) {
	code, out, _ := runCLI("--help")
	require.Equal(t, 0, code)
	require.NotEmpty(t, commands)
	for _, c := range commands {
		require.Contains(t, out, c.path, "top-level help lists %q", c.path)
		t.Run(c.path, func(t *testing.T) {
			code, out, _ := runCLI(append(strings.Fields(c.path), "--help")...)
			require.Equal(t, 0, code)
			require.Contains(t, out, "Usage: starter "+c.path)
			require.Contains(t, out, c.summary)
		})
	}
}

func TestCommandLineMistakesExitTwoWithAReason(t *testing.T) {
	code, _, errOut := runCLI("dev", "up", "--no-such-flag")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "flag provided but not defined: -no-such-flag")

	code, _, errOut = runCLI("frobnicate")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, `unknown command "frobnicate"`)

	code, _, errOut = runCLI("dev")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "name a subcommand")
	require.Contains(t, errOut, "dev up")
}

func TestBadEnvironmentExitsTwoNamingTheVariable(t *testing.T) {
	t.Setenv("WATCHLIST_SHARDS", "many")
	code, _, errOut := runCLI("config")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, `WATCHLIST_SHARDS="many": want a whole number from 1 to 1024`)
}

func TestConfigMarkdownListsEveryVariable(t *testing.T) {
	code, out, _ := runCLI("config", "--markdown")
	require.Equal(t, 0, code)
	for _, name := range []string{"TEMPORAL_ADDRESS", "MYSQL_DSN", "KAFKA_BROKERS", "JSON_DUMP_SCHEDULE", "ID_RANGE_SIZE"} {
		require.Contains(t, out, "| `"+name+"` |")
	}
}

// TestREADMEConfigTableIsGenerated keeps the README's table equal to `starter config
// --markdown`, which prints the one table in internal/config (name, default and meaning).
func TestREADMEConfigTableIsGenerated(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	code, table, _ := runCLI("config", "--markdown")
	require.Equal(t, 0, code)
	require.Contains(t, string(readme), table, "README's configuration table: replace it with the output of `starter config --markdown`")
	for _, v := range config.Vars() {
		require.Contains(t, table, "| `"+v.Name+"` | `"+v.Default+"` |")
	}
}

func TestFormatCountsNamesEachTypeInPlainEnglish(t *testing.T) {
	require.Equal(t, "7 items, 1 property, 2 lexemes", formatCounts(map[string]int64{"item": 7, "property": 1, "lexeme": 2}))
	require.Equal(t, "none", formatCounts(nil))
}
