// Package testdata locates the read-only shared fixtures (reference data from
// Wikidata and Wikibase) that live beside the repository, so that every test
// finds them the same way and skips with the same message when they are absent.
package testdata

import (
	"os"
	"path/filepath"
	"testing"
)

// SharedDir returns the absolute path of the shared folder that sits beside
// the repository root (the directory holding fixtures/ and reference/).
//
// It walks up from the test's working directory (the package directory) until
// <dir>/../shared/fixtures exists. When no such folder is found the test is
// skipped, because the fixtures are not part of the repository.
func SharedDir(t testing.TB) string {
	t.Helper()
	dir, err := FindSharedDir()
	if err != nil {
		t.Skipf("../shared not present: %v", err)
	}
	return dir
}

// FindSharedDir is SharedDir for callers that must not skip (fuzz seed
// corpora, benchmarks that fall back to generated data): it returns an
// error when the shared folder is absent.
func FindSharedDir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; {
		shared := filepath.Join(dir, "..", "shared")
		if info, err := os.Stat(filepath.Join(shared, "fixtures")); err == nil && info.IsDir() {
			return filepath.Clean(shared), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", &notFoundError{from: wd}
}

type notFoundError struct{ from string }

func (e *notFoundError) Error() string {
	return "no shared/fixtures beside any parent of " + e.from
}
