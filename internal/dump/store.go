package dump

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

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
	// Close releases the backend's resources.
	Close() error
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
type BlobStore struct {
	bucket *blob.Bucket
	// skipKey hides backend artefacts (fileblob's in-flight temp files) from List.
	skipKey func(string) bool
	// dir is the root of a file store ("" for object stores), whose folders left empty by a
	// delete are removed, as an object store has no folders to leave behind.
	dir string
}

// tmpPrefix holds the temporary objects of ReplaceAtomic, away from the
// dated directories that List is used on.
const tmpPrefix = "_tmp/"

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
	dir, err := parseStoreURL(rawURL)
	if err != nil {
		return nil, err
	}
	if dir != "" {
		return OpenFileStore(dir)
	}
	b, err := blob.OpenBucket(ctx, rawURL)
	if err != nil {
		return nil, fmt.Errorf("open dump store %q: %w", rawURL, err)
	}
	return &BlobStore{bucket: b, skipKey: func(string) bool { return false }}, nil
}

// CheckStoreURL reports what is wrong with rawURL as a store URL, without opening the store:
// the configuration checks DUMP_URL at start with it.
func CheckStoreURL(rawURL string) error {
	_, err := parseStoreURL(rawURL)
	return err
}

// parseStoreURL returns the directory of a file store URL, or "" for a valid s3:// URL.
func parseStoreURL(rawURL string) (dir string, err error) {
	if rawURL == "" {
		rawURL = DefaultStoreURL
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("dump store URL %q: %w", rawURL, err)
	}
	switch u.Scheme {
	case "file":
		dir, err := fileURLPath(u)
		if err != nil {
			return "", fmt.Errorf("dump store URL %q: %w", rawURL, err)
		}
		return dir, nil
	case "s3":
		if u.Host == "" {
			return "", fmt.Errorf("dump store URL %q: missing bucket name (s3://bucket)", rawURL)
		}
		return "", nil
	default:
		return "", fmt.Errorf("dump store URL %q: unsupported scheme %q, want file or s3", rawURL, u.Scheme)
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
	return &BlobStore{bucket: b, skipKey: fileblobTemp.MatchString, dir: abs}, nil
}

// NewWriter implements Store.
func (s *BlobStore) NewWriter(ctx context.Context, key, contentType string) (ObjectWriter, error) {
	// Cancelling the writer's context is gocloud's way to abort a write.
	wctx, cancel := context.WithCancel(ctx)
	w, err := s.bucket.NewWriter(wctx, key, &blob.WriterOptions{ContentType: contentType})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("write %s: %w", key, err)
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
		return n, fmt.Errorf("write %s: %w", w.key, err)
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
		return fmt.Errorf("commit %s: %w", w.key, err)
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
	var out []ObjectInfo
	it := s.bucket.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("list %q: %w", prefix, err)
		}
		if obj.IsDir || s.skipKey(obj.Key) {
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
	ok, err := s.bucket.Exists(ctx, key)
	if err != nil {
		return false, fmt.Errorf("check %s: %w", key, err)
	}
	return ok, nil
}

// Delete implements Store.
func (s *BlobStore) Delete(ctx context.Context, key string) error {
	if err := s.bucket.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	if s.dir != "" {
		// os.Remove fails on a folder that is not empty, which ends the walk up.
		for d := filepath.Dir(filepath.Join(s.dir, filepath.FromSlash(key))); d != s.dir && strings.HasPrefix(d, s.dir); d = filepath.Dir(d) {
			if os.Remove(d) != nil {
				break
			}
		}
	}
	return nil
}

// ReplaceAtomic implements Store: it writes a temporary object and copies it
// over key. A copy is a single atomic operation on S3 and a write-then-rename
// on files, so readers never see a partial object.
func (s *BlobStore) ReplaceAtomic(ctx context.Context, key string, data []byte, contentType string) error {
	var suffix [8]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return fmt.Errorf("replace %s: %w", key, err)
	}
	tmp := tmpPrefix + strings.ReplaceAll(key, "/", "_") + "." + hex.EncodeToString(suffix[:])
	w, err := s.NewWriter(ctx, tmp, contentType)
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
	copyErr := s.bucket.Copy(ctx, key, tmp, nil)
	if err := s.Delete(ctx, tmp); err != nil && copyErr == nil {
		return fmt.Errorf("replace %s: remove temporary copy: %w", key, err)
	}
	if copyErr != nil {
		return fmt.Errorf("replace %s: %w", key, copyErr)
	}
	return nil
}

// Close implements Store.
func (s *BlobStore) Close() error {
	if err := s.bucket.Close(); err != nil {
		return fmt.Errorf("close dump store: %w", err)
	}
	return nil
}

func notFound(err error) error {
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
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
