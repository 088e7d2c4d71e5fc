package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/entitybase/entitybase-workers/internal/config"
)

// noServers points the CLI at ports nothing listens on: a command that got past its checks
// fails to connect (exit 1) instead of reaching a server somewhere.
func noServers(t *testing.T) {
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	t.Setenv("MYSQL_DSN", "root@tcp(127.0.0.1:1)/nothing")
	t.Setenv("KAFKA_BROKERS", "127.0.0.1:1")
}

func runCLI(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestEveryCommandDescribesItself(t *testing.T) {
	code, out, _ := runCLI("--help")
	require.Equal(t, 0, code)
	for _, c := range commands() {
		require.Contains(t, out, c.path, "top-level help lists %q", c.path)
	}
}

// badValues are, for every command, command lines (after the command's path) each with one
// flag value the command refuses, and the flag it must name. Every command is listed, so a
// new one has to say what it checks.
var badValues = map[string][]struct {
	args []string
	flag string
}{
	"dev up":             {{[]string{"--temporal-port", "0"}, "--temporal-port"}, {[]string{"--ui-port", "70000"}, "--ui-port"}, {[]string{"--kafka-port", "-1"}, "--kafka-port"}, {[]string{"--temporal-port", "x"}, "-temporal-port"}},
	"dev setup":          nil,
	"dev health":         {{[]string{"--timeout", "0s"}, "--timeout"}, {[]string{"--timeout", "soon"}, "-timeout"}},
	"dev seed":           {{[]string{"--entities", "0"}, "--entities"}, {[]string{"--entities", "5", "--batch", "0"}, "--batch"}, {[]string{"--entities", "many"}, "-entities"}},
	"import":             {{[]string{"d.json", "--format", "xml"}, "--format"}, {[]string{"d.json", "--chunk-lines", "0"}, "--chunk-lines"}, {[]string{"d.json", "--parallelism", "0"}, "--parallelism"}, {[]string{"d.json", "--batch", "-3"}, "--batch"}},
	"import cancel":      nil,
	"dump":               {{[]string{"--format", "xml"}, "--format"}, {[]string{"--flavor", "lite"}, "--flavor"}, {[]string{"--incremental", "--since", "yesterday"}, "--since"}, {[]string{"--date", "2026-01-04"}, "--date"}, {[]string{"--entity-types", "spaceship"}, "--entity-types"}, {[]string{"--chunk-size", "-1"}, "--chunk-size"}},
	"dump status":        nil,
	"dump cancel":        nil,
	"convert":            {{[]string{"--format", "json"}, "--format"}, {[]string{"--flavor", "lite"}, "--flavor"}, {[]string{"--workers", "-1"}, "--workers"}, {[]string{"--date", "2026-01-05"}, "--date"}},
	"ids next":           {{[]string{"--type", "planet"}, "--type"}, {[]string{"--type", "item", "-n", "0"}, "-n"}, {nil, "--type"}},
	"ids status":         nil,
	"schedules apply":    nil,
	"schedules list":     nil,
	"stats run":          {{[]string{"weekly"}, "job"}, {[]string{"general", "--date", "2026-02-30"}, "--date"}},
	"stats general":      {{[]string{"--date", "yesterday"}, "--date"}},
	"stats users":        {{[]string{"--date", "2026-13-01"}, "--date"}},
	"stats backlinks":    {{[]string{"--date", "20260101"}, "--date"}},
	"watch add":          {{[]string{"--entity", "Q42"}, "--user"}, {[]string{"--user", "7"}, "--entity"}, {[]string{"--user", "7", "--entity", "foo"}, "entity id"}, {[]string{"--user", "7", "--entity", "Q42", "--properties", "31"}, "property"}},
	"watch remove":       {{[]string{"--user", "-1", "--entity", "Q42"}, "--user"}, {[]string{"--user", "7", "--entity", "Q0"}, "entity id"}},
	"watch list":         {{nil, "--user"}, {[]string{"--user", "seven"}, "-user"}},
	"notifications list": {{nil, "--user"}, {[]string{"--user", "7", "--limit", "0"}, "--limit"}},
	"events publish":     {{[]string{"--topic", "a topic", "f.jsonl"}, "--topic"}},
	"config":             {{[]string{"--markdown=maybe"}, "-markdown"}},
	"version":            nil,
}

// TestEveryCommandTreatsTheCommandLineAlike checks, for every command, what scripts rely on:
// --help on stdout once with exit 0; an unknown flag, an argument too many and a bad flag
// value exit 2 with one line on stderr naming the mistake, before anything is contacted.
func TestEveryCommandTreatsTheCommandLineAlike(t *testing.T) {
	noServers(t)
	listed := map[string]bool{}
	for _, c := range commands() {
		listed[c.path] = true
		t.Run(c.path, func(t *testing.T) {
			path := strings.Fields(c.path)
			code, out, errOut := runCLI(append(path, "--help")...)
			assert.Equal(t, 0, code)
			assert.Empty(t, errOut)
			assert.Equal(t, 1, strings.Count(out, "Usage: starter "+c.path), "help printed once: %q", out)
			assert.Contains(t, out, c.summary)

			code, out, errOut = runCLI(append(path, "--no-such-flag")...)
			assert.Equal(t, 2, code)
			assert.Empty(t, out)
			assert.Equal(t, "starter "+c.path+": flag provided but not defined: -no-such-flag\n", errOut)

			extra := append(path, slices.Repeat([]string{"extra-arg"}, c.operands.max+1)...)
			code, out, errOut = runCLI(extra...)
			assert.Equal(t, 2, code, "%v: %s", extra, errOut)
			assert.Empty(t, out)
			assert.Contains(t, errOut, "extra-arg")
			assert.Equal(t, 1, strings.Count(errOut, "\n"), "one line: %q", errOut)

			cases, ok := badValues[c.path]
			require.True(t, ok, "badValues lists %q", c.path)
			for _, bad := range cases {
				args := append(slices.Clone(path), bad.args...)
				code, out, errOut := runCLI(args...)
				assert.Equal(t, 2, code, "%v: %s", args, errOut)
				assert.Empty(t, out, "%v", args)
				assert.Contains(t, errOut, bad.flag, "%v", args)
				assert.Equal(t, 1, strings.Count(errOut, "\n"), "%v: one line: %q", args, errOut)
			}
		})
	}
	for path := range badValues {
		assert.True(t, listed[path], "badValues lists %q, which is no command", path)
	}
}

func TestGroupsListTheirCommands(t *testing.T) {
	for _, args := range [][]string{{"ids", "--help"}, {"ids", "-h"}, {"help", "ids"}} {
		code, out, errOut := runCLI(args...)
		assert.Equal(t, 0, code, "%v", args)
		assert.Empty(t, errOut, "%v", args)
		assert.Contains(t, out, "Usage: starter ids <command>", "%v", args)
		assert.Contains(t, out, "ids next", "%v", args)
		assert.Contains(t, out, "ids status", "%v", args)
		assert.NotContains(t, out, "dump status", "%v", args)
	}

	code, out, errOut := runCLI("ids")
	assert.Equal(t, 2, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "ids next")
	assert.True(t, strings.HasSuffix(errOut, "\nstarter ids: name a command\n"), "%q", errOut)

	code, out, errOut = runCLI()
	assert.Equal(t, 2, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "dump status")

	code, out, _ = runCLI("help", "dump", "status")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "Usage: starter dump status WORKFLOW_ID")

	code, _, errOut = runCLI("ids", "--frobnicate")
	assert.Equal(t, 2, code)
	assert.Equal(t, "starter ids: unknown flag --frobnicate; run `starter ids --help`\n", errOut)

	code, _, errOut = runCLI("frobnicate")
	assert.Equal(t, 2, code)
	assert.Equal(t, "starter: unknown command \"frobnicate\"; run `starter --help` for the list\n", errOut)
}

func TestVersionIsPrintedWhateverTheEnvironment(t *testing.T) {
	t.Setenv("WATCHLIST_SHARDS", "many") // a bad setting does not stop --version
	for _, args := range [][]string{{"--version"}, {"version"}} {
		code, out, errOut := runCLI(args...)
		assert.Equal(t, 0, code, "%v", args)
		assert.Empty(t, errOut)
		assert.Regexp(t, `^starter \S+ .*go1\.\d+.*\n$`, out)
	}
	code, _, _ := runCLI("--version", "now")
	assert.Equal(t, 2, code)
}

func TestFlagsMayFollowArgumentsAndDashDashEndsThem(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	wait := fs.Bool("wait", false, "")
	args, err := parseInterspersed(fs, []string{"a.json", "--wait", "--", "--b", "c"})
	require.NoError(t, err)
	assert.True(t, *wait)
	assert.Equal(t, []string{"a.json", "--b", "c"}, args)
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
