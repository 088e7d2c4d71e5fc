package dump

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/entitybase/entitybase-workers/internal/dump/dumptest"
)

func TestOpenStoreFileURLs(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	t.Chdir(root)
	tests := []struct {
		url, dir string
	}{
		{"", "dumps"},
		{"file://./dumps", "dumps"},
		{"file://./nested/out", "nested/out"},
		{"file:rel", "rel"},
		{"file://" + filepath.ToSlash(filepath.Join(root, "abs")), "abs"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			s, err := OpenStore(ctx, tt.url)
			require.NoError(t, err)
			defer s.Close()
			require.NoError(t, s.ReplaceAtomic(ctx, "20260105/x.txt", []byte("hello"), "text/plain"))
			b, err := os.ReadFile(filepath.Join(root, tt.dir, "20260105", "x.txt"))
			require.NoError(t, err, "relative paths are relative to the working directory")
			assert.Equal(t, "hello", string(b))
		})
	}
}

func TestOpenStoreRejects(t *testing.T) {
	for url, wantErr := range map[string]string{
		"ftp://host/x":      `unsupported scheme "ftp"`,
		"dumps":             `unsupported scheme ""`,
		"s3://":             "missing bucket name",
		"file://host/x":     `file URL host "host"`,
		"file://":           "no path",
		"file://./a%zz":     "invalid URL escape",
		"http://bucket/key": `unsupported scheme "http"`,
	} {
		t.Run(url, func(t *testing.T) {
			_, err := OpenStore(context.Background(), url)
			require.Error(t, err)
			assert.Contains(t, err.Error(), wantErr)
		})
	}
}

func TestFileStoreOperations(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenFileStore(dir)
	require.NoError(t, err)
	defer s.Close()
	// A leftover temp file of an interrupted write is not an object.
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "d"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "d", "c.gz.18a2b3c4d5e6f708.tmp"), []byte("x"), 0o644))
	testStoreOperations(t, s)
}

// The S3 backend against an in-process S3 server speaking the real protocol (gofakes3), so
// the aws-sdk client, path-style addressing, copy and not-found mapping are exercised.
func TestS3StoreOperations(t *testing.T) {
	bucketURL, backend := dumptest.S3(t, "dumps")
	s, err := OpenStore(context.Background(), bucketURL)
	require.NoError(t, err)
	defer s.Close()
	testStoreOperations(t, s)

	obj, err := backend.GetObject("dumps", "d/a.json", nil)
	require.NoError(t, err, "the object is in the S3 server")
	defer obj.Contents.Close()
	b, err := io.ReadAll(obj.Contents)
	require.NoError(t, err)
	assert.Equal(t, `{"v":2}`, string(b))
	assert.Equal(t, "application/json", obj.Metadata["Content-Type"])
}

// testStoreOperations runs every Store operation against s, which holds no objects.
func testStoreOperations(t *testing.T, s *BlobStore) {
	ctx := context.Background()
	w, err := s.NewWriter(ctx, "d/b.gz", "application/gzip")
	require.NoError(t, err)
	_, err = w.Write([]byte("0123456789"))
	require.NoError(t, err)
	ok, err := s.Exists(ctx, "d/b.gz")
	require.NoError(t, err)
	assert.False(t, ok, "nothing is visible before Close")
	require.NoError(t, w.Close())
	require.NoError(t, w.Close(), "a second Close is harmless")

	aborted, err := s.NewWriter(ctx, "d/a.gz", "application/gzip")
	require.NoError(t, err)
	_, err = aborted.Write([]byte("partial"))
	require.NoError(t, err)
	require.NoError(t, aborted.Abort())
	require.NoError(t, aborted.Close())
	ok, err = s.Exists(ctx, "d/a.gz")
	require.NoError(t, err)
	assert.False(t, ok, "an aborted write leaves nothing")

	require.NoError(t, s.ReplaceAtomic(ctx, "d/a.json", []byte("{}"), "application/json"))
	require.NoError(t, s.ReplaceAtomic(ctx, "d/a.json", []byte(`{"v":2}`), "application/json"))

	objs, err := s.List(ctx, "d/")
	require.NoError(t, err)
	var listed []string
	for _, o := range objs {
		listed = append(listed, o.Key)
	}
	assert.Equal(t, []string{"d/a.json", "d/b.gz"}, listed)
	assert.Equal(t, int64(7), objs[0].Size)

	b, err := ReadAll(ctx, s, "d/a.json")
	require.NoError(t, err)
	assert.Equal(t, `{"v":2}`, string(b))
	tmp, err := s.List(ctx, tmpPrefix)
	require.NoError(t, err)
	assert.Empty(t, tmp, "ReplaceAtomic cleans up its temporary object")

	info, err := s.Stat(ctx, "d/b.gz")
	require.NoError(t, err)
	assert.Equal(t, int64(10), info.Size)

	_, err = s.Stat(ctx, "d/missing")
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = s.NewReader(ctx, "d/missing")
	assert.ErrorIs(t, err, ErrNotFound)
	require.NoError(t, s.Delete(ctx, "d/b.gz"))
	require.NoError(t, s.Delete(ctx, "d/b.gz"), "deleting twice is not an error")
	ok, err = s.Exists(ctx, "d/b.gz")
	require.NoError(t, err)
	assert.False(t, ok)
}

func TestFileStoreLeavesOnlyItsObjects(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := OpenFileStore(dir)
	require.NoError(t, err)
	defer s.Close()
	for _, key := range []string{"20260101/parts/f.json.gz/part-000000.gz", "20260101/f.json.gz"} {
		w, err := s.NewWriter(ctx, key, "application/gzip")
		require.NoError(t, err)
		_, err = w.Write([]byte("x"))
		require.NoError(t, err)
		require.NoError(t, w.Close())
	}
	require.NoError(t, s.ReplaceAtomic(ctx, "latest/f.pointer.json", []byte("{}"), "application/json"))
	require.NoError(t, s.Delete(ctx, "20260101/parts/f.json.gz/part-000000.gz"))

	var files []string
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && path != dir {
			rel, _ := filepath.Rel(dir, path)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	}))
	// No metadata sidecars, and the folders the deleted part lived in are gone.
	require.ElementsMatch(t, []string{"20260101", "20260101/f.json.gz", "latest", "latest/f.pointer.json"}, files)
}
