// Package buildinfo says which build a binary is, for `worker --version` and
// `starter --version`: the version, the commit it was built from and the Go release.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// Version is the version the build was given, set at link time by the Makefile
// (-ldflags "-X …/buildinfo.Version=$(git describe --tags --always --dirty)"). When empty,
// the module version the Go toolchain recorded is used: a pseudo-version in a git checkout
// built with -buildvcs, "(devel)" otherwise.
var Version string

// String describes this binary as program's version line, e.g.
// "starter v1.2.0 (commit 8b227a5ec37d, 2026-11-30T13:23:38Z) go1.26.8 linux/amd64".
func String(program string) string {
	bi, _ := debug.ReadBuildInfo()
	return describe(program, Version, bi)
}

// describe is String for a given link-time version and build info (nil when the binary has
// none).
func describe(program, version string, bi *debug.BuildInfo) string {
	goVersion := runtime.Version()
	settings := map[string]string{}
	if bi != nil {
		if version == "" {
			version = bi.Main.Version
		}
		goVersion = bi.GoVersion
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
	}
	if version == "" {
		version = "(devel)"
	}
	var vcs []string
	if rev := settings["vcs.revision"]; rev != "" {
		vcs = append(vcs, "commit "+rev[:min(len(rev), 12)])
	}
	if t := settings["vcs.time"]; t != "" {
		vcs = append(vcs, t)
	}
	if settings["vcs.modified"] == "true" {
		vcs = append(vcs, "modified")
	}
	line := program + " " + version
	if len(vcs) > 0 {
		line += " (" + strings.Join(vcs, ", ") + ")"
	}
	return line + " " + goVersion + " " + runtime.GOOS + "/" + runtime.GOARCH
}
