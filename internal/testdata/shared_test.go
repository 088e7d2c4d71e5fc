package testdata

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSharedDirFindsFixtures(t *testing.T) {
	dir := SharedDir(t)
	if !filepath.IsAbs(dir) {
		t.Fatalf("SharedDir returned relative path %q", dir)
	}
	if filepath.Base(dir) != "shared" {
		t.Fatalf("SharedDir returned %q, want a folder named shared", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "fixtures", "wikidata", "properties.csv")); err != nil {
		t.Fatalf("shared dir %q lacks the Wikidata fixtures: %v", dir, err)
	}
}
