package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStatsCommandsRejectMistakesBeforeConnecting(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"stats", "run"}, "want one job"},
		{[]string{"stats", "run", "weekly"}, `unknown job "weekly"`},
		{[]string{"stats", "run", "general", "--date", "2026-02-30"}, `--date "2026-02-30": want a day in the form YYYY-MM-DD`},
		{[]string{"stats", "general", "--date", "yesterday"}, `--date "yesterday"`},
	} {
		code, _, errOut := runCLI(tc.args...)
		require.Equal(t, 2, code, "%v: %s", tc.args, errOut)
		require.Contains(t, errOut, tc.want)
	}
}
