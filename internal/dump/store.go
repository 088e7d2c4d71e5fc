package dump

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/s3blob" // registers s3:// for OpenStore
	"gocloud.dev/gcerrors"
)

// DefaultStoreURL is where dumps go when DUMP_URL is not set: ./dumps
// relative to the worker's working directory.
const DefaultStoreURL = "file://./dumps"

// ErrNotFound is returned (wrapped) when an object does not exist.
var ErrNotFound = errors.New("object not found")

// Store is what the dump code needs from object storage. Keys use "/" as the
// separator whatever the backend.
type Store interface {
	// NewWriter starts a streaming write. Nothing is visible under key until
	// Close succeeds; Abort discards what was written.
	NewWriter(ctx context.Context, key, contentType string) (ObjectWriter, error)
	// NewReader streams an object; a missing object gives ErrNotFound.
	NewReader(ctx context.Context, key string) (io.ReadCloser, error)
	// List returns the objects whose key starts with prefix, sorted by key.
	List(ctx context.Context, prefix string) ([]ObjectInfo, error)
	// Stat returns an object's size and time; a missing object gives ErrNotFound.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// Exists reports whether key exists.
	Exists(ctx context.Context, key string) (bool, error)
	// Delete removes key; deleting a missing object is not an error, so
	// clean-up steps can be retried.
	Delete(ctx context.Context, key string) error
	// ReplaceAtomic writes data under key so that readers see either the old
	// or the new content, never a mix or a truncated object.
	ReplaceAtomic(ctx context.Context, key string, data []byte, contentType string) error
	// RemoveAbandoned removes what writes under prefix that never finished (a
	// killed worker's) left behind, and returns how many it removed. Only call it
	// where no write under prefix is still running.
	RemoveAbandoned(ctx context.Context, prefix string) (int, error)
	// Close releases the backend's resources.
	Close() error
	// String names the store in messages: its URL.
	String() string
}

// ObjectWriter is a streaming write into a Store.
type ObjectWriter interface {
	io.Writer
	// Close commits the object.
	Close() error
	// Abort discards the object; Close after Abort does nothing.
	Abort() error
}

// ObjectInfo describes one stored object.
type ObjectInfo struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// BlobStore is a Store on a gocloud.dev bucket: a directory (file://) or an
// S3-compatible bucket (s3://).
//
// A write becomes visible only when it is complete, on both backends: fileblob
// writes a temporary file next to the target ("<key>.<hex>.tmp") and renames it
// on Close; S3 stores an object with one PutObject or, for large ones, a
// multipart upload that shows nothing until it is completed. A worker killed
// mid-write leaves such a temporary file, or an unfinished multipart upload
// (invisible, but stored and billed), which RemoveAbandoned clears.
type BlobStore struct {
	bucket *blob.Bucket
	url    string
	// dir is the root of a file store ("" for object stores), whose folders left empty by a
	// delete are removed, as an object store has no folders to leave behind.
	dir string
	// s3Bucket is the bucket name of an S3 store ("" for file stores).
	s3Bucket string
}

// fileblob names its in-flight temp files "<key>.<hex nanos>.tmp".
var fileblobTemp = regexp.MustCompile(`\.[0-9a-f]+\.tmp$`)

// OpenStore opens the dump store named by rawURL (DUMP_URL):
//
//	file://./dumps                  relative to the working directory
//	file:///var/lib/dumps           absolute
//	s3://bucket?region=us-east-1&endpoint=http://minio:9000&use_path_style=true
//
// An empty URL means DefaultStoreURL. A file store's directory is created if
// missing. S3 credentials come from the usual AWS environment.
func OpenStore(ctx context.Context, rawURL string) (*BlobStore, error) {
	if rawURL == "" {
		rawURL = DefaultStoreURL
	}
	u, dir, err := parseStoreURL(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "file" {
		s, err := OpenFileStore(dir)
		if err != nil {
			return nil, err
		}
		s.url = rawURL
		return s, nil
	}
	b, err := blob.OpenBucket(ctx, rawURL)
	if err != nil {
		return nil, fmt.Errorf("open dump store %q: %w", rawURL, err)
	}
	return &BlobStore{bucket: b, url: rawURL, s3Bucket: u.Host}, nil
}

// CheckStoreURL reports what is wrong with rawURL as a store URL, without opening the store:
// the configuration checks DUMP_URL at start with it.
func CheckStoreURL(rawURL string) error {
	if rawURL == "" {
		rawURL = DefaultStoreURL
	}
	_, _, err := parseStoreURL(rawURL)
	return err
}

// parseStoreURL parses a file:// or s3:// store URL and returns a file store's directory.
func parseStoreURL(rawURL string) (u *url.URL, dir string, err error) {
	u, err = url.Parse(rawURL)
	if err != nil {
		return nil, "", fmt.Errorf("dump store URL %q: %w", rawURL, err)
	}
	switch u.Scheme {
	case "file":
		dir, err := fileURLPath(u)
		if err != nil {
			return nil, "", fmt.Errorf("dump store URL %q: %w", rawURL, err)
		}
		return u, dir, nil
	case "s3":
		if u.Host == "" {
			return nil, "", fmt.Errorf("dump store URL %q: missing bucket name (s3://bucket)", rawURL)
		}
		return u, "", nil
	default:
		return nil, "", fmt.Errorf("dump store URL %q: unsupported scheme %q, want file or s3", rawURL, u.Scheme)
	}
}

// fileURLPath turns file://./rel, file:///abs and file:rel into a path.
func fileURLPath(u *url.URL) (string, error) {
	var p string
	switch {
	case u.Opaque != "":
		p = u.Opaque
	case u.Host == "" || u.Host == "localhost":
		p = u.Path
	case u.Host == "." || u.Host == "..":
		p = u.Host + u.Path
	default:
		return "", fmt.Errorf("file URL host %q: use file://./relative/dir or file:///absolute/dir", u.Host)
	}
	if p == "" {
		return "", errors.New("file URL has no path")
	}
	return filepath.FromSlash(p), nil
}

// OpenFileStore opens a directory as a store, creating it if missing.
// Relative paths are relative to the working directory.
func OpenFileStore(dir string) (*BlobStore, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("dump store directory %q: %w", dir, err)
	}
	// Temp files next to their targets: the rename that commits a write
	// then never crosses a file system boundary. No .attrs sidecar files: the dump folder
	// holds exactly Wikimedia's files.
	b, err := fileblob.OpenBucket(abs, &fileblob.Options{CreateDir: true, NoTempDir: true, Metadata: fileblob.MetadataDontWrite})
	if err != nil {
		return nil, fmt.Errorf("open dump store directory %q: %w", abs, err)
	}
	return &BlobStore{bucket: b, url: "file://" + filepath.ToSlash(abs), dir: abs}, nil
}

// String is the store's URL.
func (s *BlobStore) String() string { return s.url }

// NewWriter implements Store.
func (s *BlobStore) NewWriter(ctx context.Context, key, contentType string) (ObjectWriter, error) {
	// Cancelling the writer's context is gocloud's way to abort a write.
	wctx, cancel := context.WithCancel(ctx)
	w, err := s.bucket.NewWriter(wctx, key, &blob.WriterOptions{ContentType: contentType})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("write %s: %w", key, storeErr(err))
	}
	return &blobWriter{key: key, w: w, cancel: cancel}, nil
}

type blobWriter struct {
	key    string
	w      *blob.Writer
	cancel context.CancelFunc
	done   bool
}

func (w *blobWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	if err != nil {
		return n, fmt.Errorf("write %s: %w", w.key, storeErr(err))
	}
	return n, nil
}

func (w *blobWriter) Close() error {
	if w.done {
		return nil
	}
	w.done = true
	defer w.cancel()
	if err := w.w.Close(); err != nil {
		return fmt.Errorf("commit %s: %w", w.key, storeErr(err))
	}
	return nil
}

func (w *blobWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.cancel()
	// Close after cancel discards the upload; its error only says so.
	_ = w.w.Close()
	return nil
}

// NewReader implements Store.
func (s *BlobStore) NewReader(ctx context.Context, key string) (io.ReadCloser, error) {
	r, err := s.bucket.NewReader(ctx, key, nil)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, notFound(err))
	}
	return r, nil
}

// List implements Store.
func (s *BlobStore) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	// An object deleted while the listing runs (an import deletes each staged chunk once it
	// is stored) fails the file store's walk with NotFound; the listing starts over.
	for attempt := 1; ; attempt++ {
		out, err := s.list(ctx, prefix)
		if err != nil && missing(err) && attempt < 10 {
			continue
		}
		return out, err
	}
}

func (s *BlobStore) list(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	var out []ObjectInfo
	it := s.bucket.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("list %q: %w", prefix, storeErr(err))
		}
		if obj.IsDir || s.isTemp(obj.Key) {
			continue
		}
		out = append(out, ObjectInfo{Key: obj.Key, Size: obj.Size, ModTime: obj.ModTime})
	}
	return out, nil
}

// Stat implements Store.
func (s *BlobStore) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	a, err := s.bucket.Attributes(ctx, key)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("stat %s: %w", key, notFound(err))
	}
	return ObjectInfo{Key: key, Size: a.Size, ModTime: a.ModTime}, nil
}

// Exists implements Store.
func (s *BlobStore) Exists(ctx context.Context, key string) (bool, error) {
	_, err := s.bucket.Attributes(ctx, key)
	switch {
	case err == nil:
		return true, nil
	case missing(err):
		return false, nil
	default:
		return false, fmt.Errorf("check %s: %w", key, storeErr(err))
	}
}

// Delete implements Store.
func (s *BlobStore) Delete(ctx context.Context, key string) error {
	if err := s.bucket.Delete(ctx, key); err != nil && !missing(err) {
		return fmt.Errorf("delete %s: %w", key, storeErr(err))
	}
	s.removeEmptyFolders(key)
	return nil
}

// removeEmptyFolders removes the folders of a file store that key's removal left empty.
func (s *BlobStore) removeEmptyFolders(key string) {
	if s.dir == "" {
		return
	}
	// os.Remove fails on a folder that is not empty, which ends the walk up.
	for d := filepath.Dir(filepath.Join(s.dir, filepath.FromSlash(key))); d != s.dir && strings.HasPrefix(d, s.dir); d = filepath.Dir(d) {
		if os.Remove(d) != nil {
			break
		}
	}
}

// ReplaceAtomic implements Store: a write is atomic on both backends (see
// BlobStore), so it is one write.
func (s *BlobStore) ReplaceAtomic(ctx context.Context, key string, data []byte, contentType string) error {
	w, err := s.NewWriter(ctx, key, contentType)
	if err != nil {
		return fmt.Errorf("replace %s: %w", key, err)
	}
	if _, err := w.Write(data); err != nil {
		_ = w.Abort()
		return fmt.Errorf("replace %s: %w", key, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("replace %s: %w", key, err)
	}
	return nil
}

// isTemp reports whether a key listed by a file store is a temporary file of a write.
func (s *BlobStore) isTemp(key string) bool { return s.dir != "" && fileblobTemp.MatchString(key) }

// RemoveAbandoned implements Store: a file store's temporary files under prefix, an S3
// store's unfinished multipart uploads under prefix.
func (s *BlobStore) RemoveAbandoned(ctx context.Context, prefix string) (int, error) {
	if s.s3Bucket != "" {
		return s.abortUploads(ctx, prefix)
	}
	n := 0
	it := s.bucket.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("list %q: %w", prefix, storeErr(err))
		}
		if obj.IsDir || !s.isTemp(obj.Key) {
			continue
		}
		// fileblob does not address its own temporary files as objects.
		path := filepath.Join(s.dir, filepath.FromSlash(obj.Key))
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return n, fmt.Errorf("remove abandoned write %s: %w", obj.Key, err)
		}
		s.removeEmptyFolders(obj.Key)
		n++
	}
}

// abortUploads aborts the unfinished multipart uploads under prefix.
func (s *BlobStore) abortUploads(ctx context.Context, prefix string) (int, error) {
	var client *s3.Client
	if !s.bucket.As(&client) {
		return 0, errors.New("abort unfinished uploads: the S3 store has no S3 client")
	}
	n := 0
	in := &s3.ListMultipartUploadsInput{Bucket: aws.String(s.s3Bucket), Prefix: aws.String(prefix)}
	for {
		out, err := client.ListMultipartUploads(ctx, in)
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode() == "NoSuchUpload" {
			// Some S3-compatible servers (gofakes3) answer so when a bucket never had an upload.
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("list unfinished uploads under %q: %w", prefix, err)
		}
		for _, u := range out.Uploads {
			_, err := client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
				Bucket: aws.String(s.s3Bucket), Key: u.Key, UploadId: u.UploadId,
			})
			if err != nil && !missing(err) {
				return n, fmt.Errorf("abort unfinished upload of %s: %w", aws.ToString(u.Key), err)
			}
			n++
		}
		if !aws.ToBool(out.IsTruncated) {
			return n, nil
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
}

// Probe writes a small object and deletes it again: it checks that the store is reachable
// and that its credentials may write and delete, which reading a URL cannot tell.
func (s *BlobStore) Probe(ctx context.Context) error {
	var name [8]byte
	if _, err := rand.Read(name[:]); err != nil {
		return err
	}
	key := probePrefix + hex.EncodeToString(name[:])
	if err := s.ReplaceAtomic(ctx, key, []byte("probe\n"), "text/plain"); err != nil {
		return fmt.Errorf("dump store %s: %w", s.url, err)
	}
	if err := s.Delete(ctx, key); err != nil {
		return fmt.Errorf("dump store %s: %w", s.url, err)
	}
	return nil
}

// probePrefix holds Probe's objects, apart from the dated folders.
const probePrefix = "_probe/"

// Close implements Store.
func (s *BlobStore) Close() error {
	if err := s.bucket.Close(); err != nil {
		return fmt.Errorf("close dump store: %w", storeErr(err))
	}
	return nil
}

// deniedCodes are S3's error codes for a request it refuses however often it is
// sent: wrong or revoked credentials, a missing permission, no such bucket.
var deniedCodes = map[string]bool{
	"AccessDenied": true, "Forbidden": true, "SignatureDoesNotMatch": true, "InvalidAccessKeyId": true,
	"InvalidToken": true, "AuthorizationHeaderMalformed": true, "AllAccessDisabled": true,
	"AccountProblem": true, "NotSignedUp": true, "NoSuchBucket": true, "InvalidBucketName": true,
}

// IsDenied reports whether err is the store refusing access: credentials it rejects, a
// permission they lack, a bucket that does not exist, a directory that may not be written.
// Retrying cannot help; the configuration (DUMP_URL, the AWS credentials, the directory's
// permissions) has to change. An unreachable store or a full disk is not denied: that
// passes.
func IsDenied(err error) bool {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && deniedCodes[apiErr.ErrorCode()] {
		return true
	}
	var respErr *smithyhttp.ResponseError
	if errors.As(err, &respErr) && (respErr.HTTPStatusCode() == 401 || respErr.HTTPStatusCode() == 403) {
		return true
	}
	return gcerrors.Code(err) == gcerrors.PermissionDenied || errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS)
}

// missing reports whether err is the store saying that the object (or, while a file store
// lists, a file) does not exist. For S3 that is its answer 404, unless the bucket is what
// is missing. gocloud's S3 driver also says NotFound for a request that failed with "301"
// anywhere in its text (its guess at a bucket in another region), such as a request ID or a
// port number: a store in trouble would look empty.
func missing(err error) bool {
	var opErr *smithy.OperationError
	if !errors.As(err, &opErr) {
		return gcerrors.Code(err) == gcerrors.NotFound
	}
	var respErr *smithyhttp.ResponseError
	if !errors.As(err, &respErr) || respErr.HTTPStatusCode() != http.StatusNotFound {
		return false
	}
	var apiErr smithy.APIError
	return !errors.As(err, &apiErr) || apiErr.ErrorCode() != "NoSuchBucket"
}

// notFound is storeErr(err), marked ErrNotFound if it says the object is missing.
func notFound(err error) error {
	if missing(err) {
		return fmt.Errorf("%w: %w", ErrNotFound, storeErr(err))
	}
	return storeErr(err)
}

// storeErr is err as the store's client gave it: for S3 the AWS SDK's error (operation, URL,
// status, request ID) without gocloud's wrapper, whose "(code=NotFound)" may be a wrong guess
// (see missing).
func storeErr(err error) error {
	var opErr *smithy.OperationError
	if errors.As(err, &opErr) {
		return opErr
	}
	return err
}

// ReadAll reads a whole (small) object such as a checksum file or metadata.
func ReadAll(ctx context.Context, s Store, key string) ([]byte, error) {
	r, err := s.NewReader(ctx, key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return b, nil
}
