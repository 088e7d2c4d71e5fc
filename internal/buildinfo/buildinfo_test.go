package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDescribeNamesVersionCommitAndGo(t *testing.T) {
	platform := " " + runtime.GOOS + "/" + runtime.GOARCH
	vcs := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261130132338-8b227a5ec37d+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "8b227a5ec37d1714bd2a7615969fb217d838154b"},
			{Key: "vcs.time", Value: "2026-11-30T13:23:38Z"}, {Key: "vcs.modified", Value: "true"},
		}}
	for _, tc := range []struct {
		name, version string
		bi            *debug.BuildInfo
		want          string
	}{
		{"recorded by the toolchain", "", vcs,
			"worker v0.0.0-20261130132338-8b227a5ec37d+dirty (commit 8b227a5ec37d, 2026-11-30T13:23:38Z, modified) go1.26.8" + platform},
		{"given at link time", "v1.4.0-3-g8b227a5", vcs,
			"worker v1.4.0-3-g8b227a5 (commit 8b227a5ec37d, 2026-11-30T13:23:38Z, modified) go1.26.8" + platform},
		{"no VCS information", "v1.4.0", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			"worker v1.4.0 go1.26.8" + platform},
		{"no build information", "", nil, "worker (devel) " + runtime.Version() + platform},
	} {
		assert.Equal(t, tc.want, describe("worker", tc.version, tc.bi), tc.name)
	}
}
