package dump

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	testDate     = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	testSnapshot = time.Date(2026, 1, 5, 2, 0, 0, 0, time.UTC)
	testFinish   = time.Date(2026, 1, 5, 2, 30, 0, 0, time.UTC)
)

func jsonLayout() Layout {
	return Layout{Name: "wikidata", Date: testDate, Format: FormatJSON, Flavor: FlavorFull, Kind: KindAll}
}

func openTestStore(t *testing.T) *BlobStore {
	t.Helper()
	s, err := OpenFileStore(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// writeJSONChunks writes one part per chunk; chunks[i] holds entity numbers.
func writeJSONChunks(t *testing.T, s Store, l Layout, chunks [][]int) {
	t.Helper()
	for i, chunk := range chunks {
		_, err := WritePart(context.Background(), s, l, i, DefaultLevel, func(pw *PartWriter) error {
			jw := NewJSONEntityWriter(pw)
			for _, e := range chunk {
				if err := jw.WriteEntity("item", sampleEntity(e)); err != nil {
					return err
				}
			}
			return nil
		})
		require.NoError(t, err)
	}
}

// wikibaseFraming is what Wikibase's JsonDumpGenerator writes.
func wikibaseFraming(chunks [][]int) string {
	var b strings.Builder
	b.WriteString("[\n")
	first := true
	for _, c := range chunks {
		for _, e := range c {
			if !first {
				b.WriteString(",\n")
			}
			first = false
			b.Write(sampleEntity(e))
		}
	}
	b.WriteString("\n]\n")
	return b.String()
}

func assembler(s Store) *Assembler {
	return &Assembler{Store: s, Level: DefaultLevel, Now: func() time.Time { return testFinish }}
}

func request(l Layout, parts int) AssembleRequest {
	return AssembleRequest{Layout: l, Parts: parts, Framing: JSONFraming, SnapshotTime: testSnapshot, StartedAt: testSnapshot}
}

func readObject(t *testing.T, s Store, key string) []byte {
	t.Helper()
	b, err := ReadAll(context.Background(), s, key)
	require.NoError(t, err)
	return b
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	require.NoError(t, err)
	out, err := io.ReadAll(zr)
	require.NoError(t, err, "the whole multi-member file must decompress")
	return out
}

func TestAssembleJSONFraming(t *testing.T) {
	tests := []struct {
		name   string
		chunks [][]int
	}{
		{"zero chunks", nil},
		{"one empty chunk", [][]int{{}}},
		{"only empty chunks", [][]int{{}, {}, {}}},
		{"one entity", [][]int{{1}}},
		{"one entity after empty chunks", [][]int{{}, {}, {7}}},
		{"one entity before empty chunks", [][]int{{7}, {}, {}}},
		{"several chunks", [][]int{{1, 2, 3}, {4}, {5, 6}}},
		{"empty chunks between", [][]int{{}, {1, 2}, {}, {}, {3}, {}, {4, 5, 6}, {}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTestStore(t)
			l := jsonLayout()
			writeJSONChunks(t, s, l, tt.chunks)
			meta, err := assembler(s).Assemble(context.Background(), request(l, len(tt.chunks)))
			require.NoError(t, err)

			raw := gunzip(t, readObject(t, s, l.FileKey()))
			assert.Equal(t, wikibaseFraming(tt.chunks), string(raw))

			// One valid JSON array and nothing after it.
			dec := json.NewDecoder(bytes.NewReader(raw))
			var entities []json.RawMessage
			require.NoError(t, dec.Decode(&entities))
			_, err = dec.Token()
			assert.ErrorIs(t, err, io.EOF)

			want := 0
			for _, c := range tt.chunks {
				want += len(c)
			}
			assert.Len(t, entities, want)
			assert.Equal(t, int64(want), meta.EntityCount)
			assert.Equal(t, int64(len(raw)), meta.UncompressedBytes)
		})
	}
	assert.Equal(t, "[\n\n]\n", wikibaseFraming(nil), "an empty dump is what Wikibase writes")
}

func TestAssembleChecksumsAndMetadata(t *testing.T) {
	s := openTestStore(t)
	l := jsonLayout()
	chunks := [][]int{{1, 2}, {}, {3}}
	writeJSONChunks(t, s, l, chunks)
	part2 := readObject(t, s, l.PartKey(2))

	// Another dump of the same date is already listed in the checksum files.
	other := "3f786850e387550fdab836ed7e6dc881de23001b  wikidata-20260105-all-BETA.ttl.gz\n"
	require.NoError(t, s.ReplaceAtomic(context.Background(), l.ChecksumKey(SHA1), []byte(other), "text/plain"))

	meta, err := assembler(s).Assemble(context.Background(), request(l, len(chunks)))
	require.NoError(t, err)

	file := readObject(t, s, l.FileKey())
	md5sum, sha1sum, sha256sum := md5.Sum(file), sha1.Sum(file), sha256.Sum256(file)
	assert.Equal(t, hex.EncodeToString(md5sum[:]), meta.MD5)
	assert.Equal(t, hex.EncodeToString(sha1sum[:]), meta.SHA1)
	assert.Equal(t, hex.EncodeToString(sha256sum[:]), meta.SHA256)
	assert.Equal(t, int64(len(file)), meta.Bytes)
	assert.True(t, bytes.HasSuffix(file, append(mustMember(t, ",\n"), append(part2, mustMember(t, "\n]\n")...)...)),
		"parts are concatenated as they are, not recompressed")

	assert.Equal(t, hex.EncodeToString(md5sum[:])+"  wikidata-20260105-all.json.gz\n", string(readObject(t, s, l.ChecksumKey(MD5))))
	assert.Equal(t, other+hex.EncodeToString(sha1sum[:])+"  wikidata-20260105-all.json.gz\n", string(readObject(t, s, l.ChecksumKey(SHA1))))
	assert.Equal(t, hex.EncodeToString(sha256sum[:])+"  wikidata-20260105-all.json.gz\n", string(readObject(t, s, l.ChecksumKey(SHA256))))

	var stored Metadata
	require.NoError(t, json.Unmarshal(readObject(t, s, l.MetadataKey()), &stored))
	assert.Equal(t, meta.Metadata, stored)
	assert.Equal(t, Metadata{
		Name: "wikidata", File: "wikidata-20260105-all.json.gz", Key: "20260105/wikidata-20260105-all.json.gz",
		Date: "20260105", Format: FormatJSON, Flavor: FlavorFull, Kind: KindAll,
		SnapshotTime: testSnapshot, TimeRangeEnd: testSnapshot,
		EntityCount: 3, EntityCounts: map[string]int64{"item": 3},
		Bytes: int64(len(file)), UncompressedBytes: int64(len(gunzip(t, file))), Compression: "gzip",
		MD5: meta.MD5, SHA1: meta.SHA1, SHA256: meta.SHA256,
		StartedAt: testSnapshot, FinishedAt: testFinish, DurationSeconds: 1800,
		Parts: meta.Parts,
	}, meta.Metadata)
	require.Len(t, meta.Parts, 3)
	assert.Equal(t, int64(0), meta.Parts[1].UncompressedBytes)

	p, err := ReadPointer(context.Background(), s, l)
	require.NoError(t, err)
	assert.Equal(t, Pointer{File: meta.File, Key: meta.Key, MetadataKey: l.MetadataKey(), Date: "20260105",
		SnapshotTime: testSnapshot, Bytes: meta.Bytes, SHA256: meta.SHA256}, p)

	parts, err := s.List(context.Background(), l.PartsPrefix())
	require.NoError(t, err)
	assert.Empty(t, parts, "parts are deleted once the file is published")
}

func mustMember(t *testing.T, s string) []byte {
	t.Helper()
	b, err := gzipMember([]byte(s), DefaultLevel)
	require.NoError(t, err)
	return b
}

func TestAssembleIncrementalRDF(t *testing.T) {
	s := openTestStore(t)
	since := testSnapshot.Add(-7 * 24 * time.Hour)
	l := Layout{Name: "wikidata", Date: testDate, Format: FormatNTriples, Flavor: FlavorTruthy, Kind: KindIncremental, Since: since}
	triples := []string{"<a> <b> <c> .\n", "", "<d> <e> \"f\" .\n<g> <h> <i> .\n"}
	for i, tr := range triples {
		_, err := WritePart(context.Background(), s, l, i, 1, func(pw *PartWriter) error {
			if tr != "" {
				pw.CountEntity("item")
			}
			_, err := pw.Write([]byte(tr))
			return err
		})
		require.NoError(t, err)
	}
	header := "# dump header\n"
	meta, err := (&Assembler{Store: s, Level: 1}).Assemble(context.Background(),
		AssembleRequest{Layout: l, Parts: 3, Framing: RDFFraming([]byte(header)), SnapshotTime: testSnapshot})
	require.NoError(t, err)
	assert.Equal(t, header+strings.Join(triples, ""), string(gunzip(t, readObject(t, s, l.FileKey()))))
	require.NotNil(t, meta.TimeRangeStart)
	assert.Equal(t, since, *meta.TimeRangeStart)
	assert.Equal(t, int64(2), meta.EntityCount)
	assert.Equal(t, KindIncremental, meta.Kind)
}

// snapshot returns every object.
func snapshot(t *testing.T, s Store) map[string]string {
	t.Helper()
	objs, err := s.List(context.Background(), "")
	require.NoError(t, err)
	out := map[string]string{}
	for _, o := range objs {
		out[o.Key] = string(readObject(t, s, o.Key))
	}
	return out
}

func keys(m map[string]string) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}

// failingStore fails the nth mutating operation (counting from 1), as a
// worker killed at that point would leave things.
type failingStore struct {
	Store
	failAt, ops int
}

var errInjected = errors.New("injected failure")

func (f *failingStore) step() error {
	f.ops++
	if f.ops == f.failAt {
		return errInjected
	}
	return nil
}

func (f *failingStore) NewWriter(ctx context.Context, key, contentType string) (ObjectWriter, error) {
	w, err := f.Store.NewWriter(ctx, key, contentType)
	if err != nil {
		return nil, err
	}
	return &failingWriter{ObjectWriter: w, store: f}, nil
}

func (f *failingStore) Delete(ctx context.Context, key string) error {
	if err := f.step(); err != nil {
		return err
	}
	return f.Store.Delete(ctx, key)
}

func (f *failingStore) ReplaceAtomic(ctx context.Context, key string, data []byte, contentType string) error {
	if err := f.step(); err != nil {
		return err
	}
	return f.Store.ReplaceAtomic(ctx, key, data, contentType)
}

type failingWriter struct {
	ObjectWriter
	store *failingStore
}

func (w *failingWriter) Close() error {
	if err := w.store.step(); err != nil {
		_ = w.ObjectWriter.Abort()
		return err
	}
	return w.ObjectWriter.Close()
}

func TestAssembleIsIdempotentAfterAnInterruption(t *testing.T) {
	chunks := [][]int{{1, 2}, {}, {3, 4, 5}, {6}}
	l := jsonLayout()
	ctx := context.Background()

	clean := openTestStore(t)
	writeJSONChunks(t, clean, l, chunks)
	_, err := assembler(clean).Assemble(ctx, request(l, len(chunks)))
	require.NoError(t, err)
	want := snapshot(t, clean)
	require.Equal(t, []string{
		"20260105/wikidata-20260105-all.json.gz",
		"20260105/wikidata-20260105-all.json.gz.meta.json",
		"20260105/wikidata-20260105-md5sums.txt",
		"20260105/wikidata-20260105-sha1sums.txt",
		"20260105/wikidata-20260105-sha256sums.txt",
		"latest/wikidata-latest-all.json.gz.pointer.json",
	}, keys(want))

	// Running again on a finished dump changes nothing.
	_, err = assembler(clean).Assemble(ctx, request(l, len(chunks)))
	require.NoError(t, err)
	assert.Equal(t, want, snapshot(t, clean))

	// Fail each mutating step in turn (1 write, 3 checksum files, metadata,
	// pointer, 8 part objects to delete), then run again.
	for failAt := 1; ; failAt++ {
		s := openTestStore(t)
		writeJSONChunks(t, s, l, chunks)
		f := &failingStore{Store: s, failAt: failAt}
		_, err := assembler(f).Assemble(ctx, request(l, len(chunks)))
		if err == nil {
			require.Greater(t, failAt, 10, "every step before clean-up must have been interrupted")
			assert.Equal(t, want, snapshot(t, s))
			break
		}
		require.ErrorIs(t, err, errInjected, "step %d", failAt)
		_, err = assembler(s).Assemble(ctx, request(l, len(chunks)))
		require.NoError(t, err, "re-run after failure at step %d", failAt)
		assert.Equal(t, want, snapshot(t, s), "state after failure at step %d and a re-run", failAt)
	}
}

// newRun is another run of the same dump, started later with a later cut.
func newRun(l Layout, parts int) AssembleRequest {
	req := request(l, parts)
	req.SnapshotTime, req.StartedAt = testSnapshot.Add(time.Hour), testSnapshot.Add(time.Hour)
	return req
}

// publishOne publishes a one-entity dump of l and returns it.
func publishOne(t *testing.T, s Store, l Layout) Assembled {
	t.Helper()
	writeJSONChunks(t, s, l, [][]int{{1}})
	first, err := assembler(s).Assemble(context.Background(), request(l, 1))
	require.NoError(t, err)
	require.False(t, first.Kept)
	return first
}

func TestAssembleKeepsADumpAnotherRunPublished(t *testing.T) {
	s := openTestStore(t)
	l := jsonLayout()
	ctx := context.Background()
	first := publishOne(t, s, l)
	published := snapshot(t, s)

	writeJSONChunks(t, s, l, [][]int{{1, 2}, {3}})
	second, err := assembler(s).Assemble(ctx, newRun(l, 2))
	require.NoError(t, err)
	assert.True(t, second.Kept)
	assert.Equal(t, first.Metadata, second.Metadata)
	assert.Equal(t, published, snapshot(t, s), "the published dump is unchanged and the second run's parts are gone")
}

func TestAssembleReplaceSwapsTheWholeDump(t *testing.T) {
	s := openTestStore(t)
	l := jsonLayout()
	ctx := context.Background()
	first := publishOne(t, s, l)

	writeJSONChunks(t, s, l, [][]int{{1, 2}, {3}})
	req := newRun(l, 2)
	req.Replace = true
	second, err := assembler(s).Assemble(ctx, req)
	require.NoError(t, err)
	assert.False(t, second.Kept)
	assert.NotEqual(t, first.SHA256, second.SHA256)
	assert.Equal(t, int64(3), second.EntityCount)
	file := readObject(t, s, l.FileKey())
	assert.Equal(t, wikibaseFraming([][]int{{1, 2}, {3}}), string(gunzip(t, file)))
	for _, algo := range ChecksumAlgorithms {
		sums, err := ParseChecksumFile(readObject(t, s, l.ChecksumKey(algo)))
		require.NoError(t, err)
		assert.Equal(t, map[string]string{l.FileName(): second.sum(algo)}, sums)
	}
	var meta Metadata
	require.NoError(t, json.Unmarshal(readObject(t, s, l.MetadataKey()), &meta))
	assert.Equal(t, second.Metadata, meta)
	sum := sha256.Sum256(file)
	assert.Equal(t, hex.EncodeToString(sum[:]), meta.SHA256)
	p, err := ReadPointer(ctx, s, l)
	require.NoError(t, err)
	assert.Equal(t, second.SHA256, p.SHA256)
	assert.Equal(t, second.SnapshotTime, p.SnapshotTime)
}

// A damaged publication (metadata without its file) is no publication: the next run
// writes the file.
func TestAssembleRepairsADamagedPublication(t *testing.T) {
	s := openTestStore(t)
	l := jsonLayout()
	ctx := context.Background()
	publishOne(t, s, l)
	require.NoError(t, s.Delete(ctx, l.FileKey()))
	_, published, err := assembler(s).Published(ctx, l)
	require.NoError(t, err)
	require.False(t, published)

	writeJSONChunks(t, s, l, [][]int{{1, 2}})
	again, err := assembler(s).Assemble(ctx, newRun(l, 1))
	require.NoError(t, err)
	assert.False(t, again.Kept)
	assert.Equal(t, int64(2), again.EntityCount)
	_, published, err = assembler(s).Published(ctx, l)
	require.NoError(t, err)
	assert.True(t, published)
}

// Temporary files of writes a killed worker never finished, among the parts and beside
// the dump's own files, are gone once the dump is published.
func TestAssembleRemovesAbandonedWrites(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenFileStore(dir)
	require.NoError(t, err)
	defer s.Close()
	l := jsonLayout()
	l.Run = "0123abcd"
	writeJSONChunks(t, s, l, [][]int{{1}, {2}})
	for _, key := range []string{
		l.PartKey(1) + ".18ecd1333ccfefda.tmp", l.PartInfoKey(0) + ".18ecd1333ccfefdb.tmp",
		l.FileKey() + ".18ecd1333ccfefdc.tmp", l.MetadataKey() + ".18ecd1333ccfefdd.tmp",
		l.ChecksumKey(SHA1) + ".18ecd1333ccfefde.tmp", l.LatestKey() + ".18ecd1333ccfefdf.tmp",
		l.PartsRoot() + "00ff00ff/part-000000.gz.18ecd1333ccfefe0.tmp",
	} {
		path := filepath.Join(dir, filepath.FromSlash(key))
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte("partial"), 0o644))
	}
	a := assembler(s)
	a.LockLatest = func(context.Context, string) (func(), error) { return func() {}, nil }
	_, err = a.Assemble(context.Background(), request(l, 2))
	require.NoError(t, err)
	assert.Equal(t, []string{
		"20260105",
		"20260105/wikidata-20260105-all.json.gz",
		"20260105/wikidata-20260105-all.json.gz.meta.json",
		"20260105/wikidata-20260105-md5sums.txt",
		"20260105/wikidata-20260105-sha1sums.txt",
		"20260105/wikidata-20260105-sha256sums.txt",
		"latest",
		"latest/wikidata-latest-all.json.gz.pointer.json",
	}, listTree(t, dir), "no temporary file and no empty parts folder is left")
}

func TestAssembleErrors(t *testing.T) {
	ctx := context.Background()
	l := jsonLayout()

	t.Run("missing part", func(t *testing.T) {
		s := openTestStore(t)
		writeJSONChunks(t, s, l, [][]int{{1}, {2}})
		_, err := assembler(s).Assemble(ctx, request(l, 3))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "1 of 3 parts are not finished, first missing is part 2")
		ok, err := s.Exists(ctx, l.FileKey())
		require.NoError(t, err)
		assert.False(t, ok)
	})
	t.Run("truncated part", func(t *testing.T) {
		s := openTestStore(t)
		writeJSONChunks(t, s, l, [][]int{{1}, {2}})
		b := readObject(t, s, l.PartKey(1))
		require.NoError(t, s.ReplaceAtomic(ctx, l.PartKey(1), b[:len(b)-3], "application/gzip"))
		_, err := assembler(s).Assemble(ctx, request(l, 2))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "part 1 (20260105/parts/wikidata-20260105-all.json.gz/part-000001.gz) has")
		ok, err := s.Exists(ctx, l.FileKey())
		require.NoError(t, err)
		assert.False(t, ok, "a failed assembly publishes nothing")
	})
	t.Run("bad request", func(t *testing.T) {
		s := openTestStore(t)
		_, err := assembler(s).Assemble(ctx, AssembleRequest{Layout: l, Parts: 0})
		assert.ErrorContains(t, err, "missing snapshot time")
		_, err = assembler(s).Assemble(ctx, AssembleRequest{Layout: Layout{Name: "x"}, SnapshotTime: testSnapshot})
		assert.ErrorContains(t, err, "dump date")
	})
}

// latest-* names the newest date, whichever date was dumped last; of two dumps of one
// date, the later cut.
func TestLatestPointerIsTheNewestDate(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	newer := jsonLayout()
	newer.Date = testDate.AddDate(0, 0, 7)
	writeJSONChunks(t, s, newer, [][]int{{1}})
	req := request(newer, 1)
	req.SnapshotTime = newer.Date.Add(2 * time.Hour)
	_, err := assembler(s).Assemble(ctx, req)
	require.NoError(t, err)

	// An older date dumped later: its cut may be later too (it was taken now), or not.
	older := jsonLayout()
	for _, cut := range []time.Time{newer.Date.Add(3 * time.Hour), testDate.Add(2 * time.Hour)} {
		writeJSONChunks(t, s, older, [][]int{{2}})
		req := request(older, 1)
		req.SnapshotTime, req.StartedAt, req.Replace = cut, cut, true
		_, err = assembler(s).Assemble(ctx, req)
		require.NoError(t, err)
		p, err := ReadPointer(ctx, s, older)
		require.NoError(t, err)
		assert.Equal(t, newer.FileKey(), p.Key)
	}

	// The newer date dumped again with a later cut moves the pointer to that dump.
	writeJSONChunks(t, s, newer, [][]int{{1, 2}})
	req = request(newer, 1)
	req.SnapshotTime, req.StartedAt, req.Replace = newer.Date.Add(5*time.Hour), newer.Date.Add(5*time.Hour), true
	again, err := assembler(s).Assemble(ctx, req)
	require.NoError(t, err)
	p, err := ReadPointer(ctx, s, newer)
	require.NoError(t, err)
	assert.Equal(t, again.SHA256, p.SHA256)
}

func TestWritePartIsRepeatable(t *testing.T) {
	s := openTestStore(t)
	l := jsonLayout()
	writeJSONChunks(t, s, l, [][]int{{1, 2, 3}})
	first := readObject(t, s, l.PartKey(0))
	writeJSONChunks(t, s, l, [][]int{{1, 2, 3}})
	assert.Equal(t, first, readObject(t, s, l.PartKey(0)))

	info, err := ReadPartInfo(context.Background(), s, l, 0)
	require.NoError(t, err)
	assert.Equal(t, int64(len(first)), info.CompressedBytes)
	assert.Equal(t, int64(3), info.EntityTotal())

	_, err = WritePart(context.Background(), s, l, 1, DefaultLevel, func(*PartWriter) error { return fmt.Errorf("source down") })
	require.ErrorContains(t, err, "source down")
	for _, key := range []string{l.PartKey(1), l.PartInfoKey(1)} {
		ok, err := s.Exists(context.Background(), key)
		require.NoError(t, err)
		assert.False(t, ok, "a failed chunk leaves no %s", key)
	}
}
