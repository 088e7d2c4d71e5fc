package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/entitybase/entitybase-workers/workflows"
)

func TestDumpInputFromFlags(t *testing.T) {
	now := time.Date(2026, 1, 4, 23, 30, 0, 0, time.FixedZone("CET", 3600))
	in, err := dumpInput("json", "full", false, "", "", "", "", 0, 0, now)
	require.NoError(t, err)
	assert.Equal(t, workflows.DumpInput{Format: "json", Flavor: "full", Kind: "full", Date: "20260104"}, in)
	assert.Equal(t, "dump-json-full-20260104", dumpWorkflowID(in))

	in, err = dumpInput("nt", "truthy", true, "2026-01-01", "20260103", "", "item, property", 3, 500, now)
	require.NoError(t, err)
	assert.Equal(t, workflows.DumpInput{Format: "nt", Flavor: "truthy", Kind: "incremental",
		Since: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), EntityTypes: []string{"item", "property"},
		Parallelism: 3, ChunkSize: 500, Date: "20260103"}, in)
	assert.Equal(t, "dump-nt-truthy-20260103-incremental-20260101000000", dumpWorkflowID(in))

	// --as-of names the day; a cut or a day not yet reached is today as of now.
	in, err = dumpInput("json", "full", false, "", "", "2026-01-02T12:30:00.5+01:00", "", 0, 0, now)
	require.NoError(t, err)
	assert.Equal(t, "20260102", in.Date)
	assert.Equal(t, time.Date(2026, 1, 2, 11, 30, 0, 500000000, time.UTC), in.AsOf)
	in, err = dumpInput("json", "full", false, "", "20260102", "2026-01-02T00:00:00Z", "", 0, 0, now)
	require.NoError(t, err)
	assert.Equal(t, "20260102", in.Date)
	for _, future := range [][2]string{{"20260105", ""}, {"", "2026-01-04T23:00:00Z"}, {"", "2026-02-01T00:00:00Z"}} {
		in, err = dumpInput("json", "full", false, "", future[0], future[1], "", 0, 0, now)
		require.NoError(t, err)
		assert.Equal(t, "20260104", in.Date, "%v", future)
		assert.True(t, in.AsOf.IsZero(), "%v", future)
	}
}

func TestDumpFlagMistakesExitTwo(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"dump", "--format", "xml"}, `--format "xml": want json, ttl or nt`},
		{[]string{"dump", "--flavor", "truthy"}, "--flavor truthy: JSON dumps are only full"},
		{[]string{"dump", "--format", "ttl", "--flavor", "lite"}, `--flavor "lite": want full or truthy`},
		{[]string{"dump", "--incremental"}, "--incremental needs --since TIME"},
		{[]string{"dump", "--since", "2026-01-01"}, "--since needs --incremental"},
		{[]string{"dump", "--incremental", "--since", "yesterday"}, `--since "yesterday": want RFC 3339`},
		{[]string{"dump", "--date", "2026-01-04"}, `--date "2026-01-04": want YYYYMMDD`},
		{[]string{"dump", "--as-of", "2026-01-04"}, `--as-of "2026-01-04": want RFC 3339`},
		{[]string{"dump", "--as-of", "2026-01-04T10:00:00Z", "--date", "20260105"}, "--as-of 2026-01-04T10:00:00Z is not on --date 20260105"},
		{[]string{"dump", "--incremental", "--since", "2026-01-04", "--as-of", "2026-01-03T10:00:00Z"}, "--since 2026-01-04 is not before --as-of"},
		{[]string{"dump", "extra"}, `unexpected argument "extra"`},
		{[]string{"dump", "status"}, "want one dump workflow ID"},
		{[]string{"dump", "cancel", "a", "b"}, "want one dump workflow ID, like dump-json-full-20260105, got 2 arguments: a b"},
	} {
		code, _, errOut := runCLI(tc.args...)
		assert.Equal(t, 2, code, "%v", tc.args)
		assert.Contains(t, errOut, tc.want, "%v", tc.args)
	}
}
