package dump

import (
	"context"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
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

	files := listTree(t, dir)
	// No metadata sidecars, and the folders the deleted part lived in are gone.
	require.ElementsMatch(t, []string{"20260101", "20260101/f.json.gz", "latest", "latest/f.pointer.json"}, files)
}

// A worker killed while writing leaves a temporary file (file store) or an unfinished
// multipart upload (S3); RemoveAbandoned removes those under its prefix and nothing else.
func TestRemoveAbandonedFileWrites(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := OpenFileStore(dir)
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.ReplaceAtomic(ctx, "d/p/part-000001.gz", []byte("kept"), "application/gzip"))
	for _, key := range []string{"d/p/part-000001.gz.18ecd1333ccfefda.tmp", "d/p/x/part-000002.gz.18ecd1333ccfefdb.tmp", "d/q/part-000001.gz.18ecd1333ccfefdc.tmp"} {
		path := filepath.Join(dir, filepath.FromSlash(key))
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte("partial"), 0o644))
	}
	n, err := s.RemoveAbandoned(ctx, "d/p/")
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	files := listTree(t, dir)
	assert.Equal(t, []string{"d", "d/p", "d/p/part-000001.gz", "d/q", "d/q/part-000001.gz.18ecd1333ccfefdc.tmp"}, files,
		"the empty folder d/p/x is gone too")
}

func TestRemoveAbandonedS3Uploads(t *testing.T) {
	ctx := context.Background()
	srv := dumptest.NewS3(t, "dumps")
	s, err := OpenStore(ctx, srv.URL)
	require.NoError(t, err)
	defer s.Close()
	var client *s3.Client
	require.True(t, s.bucket.As(&client))
	// Uploads a killed worker started and never completed.
	for _, key := range []string{"d/p/part-000001.gz", "d/p/part-000002.gz", "d/q/part-000001.gz"} {
		up, err := client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("dumps"), Key: aws.String(key)})
		require.NoError(t, err)
		_, err = client.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("dumps"), Key: aws.String(key), UploadId: up.UploadId,
			PartNumber: aws.Int32(1), Body: strings.NewReader("partial")})
		require.NoError(t, err)
	}
	n, err := s.RemoveAbandoned(ctx, "d/p/")
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	left, err := client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("dumps")})
	require.NoError(t, err)
	require.Len(t, left.Uploads, 1)
	assert.Equal(t, "d/q/part-000001.gz", aws.ToString(left.Uploads[0].Key))
}

// Credentials S3 refuses (a wrong secret, a revoked key) and a directory that may not be
// written are denied; an endpoint that refuses connections is not (that passes).
func TestStoreErrorsThatAreDenied(t *testing.T) {
	ctx := context.Background()
	srv := dumptest.NewS3(t, "dumps")
	good, err := OpenStore(ctx, srv.URL)
	require.NoError(t, err)
	defer good.Close()
	require.NoError(t, good.Probe(ctx))

	t.Setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
	wrongSecret, err := OpenStore(ctx, srv.URL)
	require.NoError(t, err, "opening checks nothing")
	defer wrongSecret.Close()
	err = wrongSecret.Probe(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "SignatureDoesNotMatch")
	assert.Contains(t, err.Error(), srv.URL, "the error names the store")
	assert.True(t, IsDenied(err))
	_, err = wrongSecret.Stat(ctx, "x")
	assert.True(t, IsDenied(err), "HEAD has no error document, only 403: %v", err)

	srv.RevokeKey()
	err = good.Probe(ctx)
	assert.Contains(t, err.Error(), "InvalidAccessKeyId")
	assert.True(t, IsDenied(err))

	noBucket, err := OpenStore(ctx, strings.Replace(srv.URL, "s3://dumps", "s3://other", 1))
	require.NoError(t, err)
	defer noBucket.Close()
	t.Setenv("AWS_SECRET_ACCESS_KEY", dumptest.SecretAccessKey)

	srv.Stop()
	err = noBucket.Probe(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "connection refused")
	assert.False(t, IsDenied(err))

	if os.Geteuid() != 0 { // root may write anywhere
		dir := t.TempDir()
		readOnly, err := OpenFileStore(dir)
		require.NoError(t, err)
		defer readOnly.Close()
		require.NoError(t, os.Chmod(dir, 0o555))
		t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
		err = readOnly.Probe(ctx)
		require.Error(t, err)
		assert.True(t, IsDenied(err), "%v", err)
	}
}

// A store in trouble is not a store without the object. What is missing gets rewritten or
// given up on: a checksum file started afresh (dropping the other files' lines), the latest
// pointer replaced, an import's chunk failed for good. gocloud's S3 driver says NotFound for
// any failed request whose text holds "301" (a request ID, a port).
func TestStoreFailuresAreNotMissingObjects(t *testing.T) {
	if testing.Short() {
		t.Skip("the S3 client retries each failed request twice, seconds apart")
	}
	ctx := context.Background()
	srv := dumptest.NewS3(t, "dumps")
	s, err := OpenStore(ctx, srv.URL)
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.ReplaceAtomic(ctx, "d/sha1sums.txt", []byte("x  f.gz\n"), "text/plain"))

	port := closedPortHolding(t, "301")
	refusing, err := OpenStore(ctx, "s3://dumps?region=us-east-1&use_path_style=true&endpoint="+url.QueryEscape("http://127.0.0.1:"+port))
	require.NoError(t, err)
	defer refusing.Close()

	srv.FailPaths(`^/dumps/d/`)
	t.Run("failing", func(t *testing.T) {
		for name, s := range map[string]*BlobStore{"503 with a request ID holding 301": s, "refused on port " + port: refusing} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				_, err := s.Stat(ctx, "d/sha1sums.txt")
				require.Error(t, err)
				assert.Contains(t, err.Error(), "301")
				assert.NotContains(t, err.Error(), "NotFound", "the S3 client's error, not gocloud's guess")
				assert.NotErrorIs(t, err, ErrNotFound)
				_, err = ReadAll(ctx, s, "d/sha1sums.txt")
				require.Error(t, err)
				assert.NotErrorIs(t, err, ErrNotFound)
				ok, err := s.Exists(ctx, "d/sha1sums.txt")
				assert.Error(t, err, "exists: %v", ok)
				assert.Error(t, s.Delete(ctx, "d/sha1sums.txt"), "a delete that failed is not done")
			})
		}
	})

	srv.FailPaths(`^$`)
	b, err := ReadAll(ctx, s, "d/sha1sums.txt")
	require.NoError(t, err)
	assert.Equal(t, "x  f.gz\n", string(b), "the object is still there")
	_, err = s.Stat(ctx, "d/missing")
	assert.ErrorIs(t, err, ErrNotFound, "a 404 is missing")
}

// closedPortHolding returns a local TCP port with digits in it that nothing listens on.
func closedPortHolding(t *testing.T, digits string) string {
	t.Helper()
	for p := 1024; p < 65536; p++ {
		port := strconv.Itoa(p)
		if !strings.Contains(port, digits) {
			continue
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+port)
		if err == nil {
			require.NoError(t, l.Close())
			return port
		}
	}
	t.Fatalf("no free local port holding %q", digits)
	return ""
}

// listTree lists the files and folders below dir, as slash-separated relative paths.
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && path != dir {
			rel, _ := filepath.Rel(dir, path)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	}))
	return files
}
