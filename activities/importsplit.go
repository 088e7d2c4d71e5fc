package activities

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/s2"
	"go.temporal.io/sdk/activity"
	"go.uber.org/zap"

	"github.com/entitybase/entitybase-workers/internal/dump"
	"github.com/entitybase/entitybase-workers/internal/logging"
	"github.com/entitybase/entitybase-workers/internal/permanent"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// The one-pass import: SplitImport reads the source once, from its first byte to its last,
// and writes its chunks to the staging store (IMPORT_STAGING_URL, or DUMP_URL under
// "import/"), where every worker reads them. Chunk activities then read their own chunk
// file only, so the work is linear in the input whatever its size or compression, and a URL
// is downloaded once. The split also records the datatypes of the properties it meets, which
// spares a second pass over the input before the entities are stored.

// SplitImportInput names the source, how big chunks are and where they go.
type SplitImportInput struct {
	Source     string
	Format     string
	ChunkLines int
	// Staging is the key prefix of this import's chunk files in the staging store, ending in
	// "/"; the workflow removes everything under it when the import ends.
	Staging string
}

// ReadCounts say how much reading an import cost: bytes fetched from the source (as stored,
// compressed or not) and bytes out of its decompressor, against the source's size. A
// one-pass import fetches and decompresses each byte once: FetchedBytes == SourceBytes and
// DecompressedBytes == the plan's TotalBytes, plus what a resumed split reads again.
type ReadCounts struct {
	SourceBytes       int64 `json:",omitempty"`
	FetchedBytes      int64 `json:",omitempty"`
	DecompressedBytes int64 `json:",omitempty"`
}

// FetchedPerByte is FetchedBytes per byte of the source.
func (c ReadCounts) FetchedPerByte() float64 {
	if c.SourceBytes == 0 {
		return 0
	}
	return float64(c.FetchedBytes) / float64(c.SourceBytes)
}

// SplitImportResult is the plan of the staged chunks and what reading the source cost.
type SplitImportResult struct {
	Plan PlanImportResult
	Read ReadCounts
	// Properties counts the property datatypes recorded.
	Properties int
}

// splitProgress is the split's heartbeat: the chunks written and where the next one starts,
// so that a retry writes none of them again and, for a plain file or URL, reads none of the
// source again (it seeks, or asks for a byte range). A compressed source is read again up to
// Offset, once per killed attempt: a deflate or bzip2 stream cannot be entered in the middle.
type splitProgress struct {
	Result SplitImportResult
	// SourceIndex is the source being split; Offset (uncompressed), RawOffset (as stored, known
	// for plain sources only) and Line are where its next chunk starts.
	SourceIndex int
	Offset      int64
	RawOffset   int64
	Line        int
	Compression wikibase.Compression `json:",omitempty"`
	Format      string               `json:",omitempty"`
}

// SplitImport streams the source once and stages it as chunk files: a dump by ranges of
// ChunkLines lines, a file whose first value spans lines (Special:EntityData) whole; a
// directory is every *.json, *.json.gz and *.json.bz2 file in it, sorted by name. Chunk
// files are written whole or not at all, under names fixed by their index, and datatypes are
// an upsert, so a retry (continuing from the heartbeat) leaves the same files and rows.
func (a *Importer) SplitImport(ctx context.Context, in SplitImportInput) (SplitImportResult, error) {
	if a.Staging == nil {
		return SplitImportResult{}, permanent.Errorf(permanent.BadConfig, "import staging store: the worker has none (IMPORT_STAGING_URL or DUMP_URL)")
	}
	if in.ChunkLines <= 0 {
		in.ChunkLines = DefaultImportChunkLines
	}
	if in.Staging == "" || !strings.HasSuffix(in.Staging, "/") {
		return SplitImportResult{}, permanent.Errorf(permanent.BadInput, "import staging prefix %q: want a prefix ending in /", in.Staging)
	}
	sources, err := ImportSources(in.Source)
	if err != nil {
		return SplitImportResult{}, permanent.Errorf(permanent.BadInput, "import source %w", err)
	}
	var p splitProgress
	if activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &p); err != nil {
			logging.ForActivity(ctx, a.Log).Warn("import split: unreadable heartbeat, splitting from the start", zap.Error(err))
			p = splitProgress{}
		}
	}
	p.Result.Plan.Staging = in.Staging
	s := &splitter{importer: a, in: in, p: p, readBase: p.Result.Read, lastBeat: time.Now()}
	for ; s.p.SourceIndex < len(sources); s.p.SourceIndex++ {
		if err := s.splitSource(ctx, sources[s.p.SourceIndex]); err != nil {
			return SplitImportResult{}, err
		}
		s.p.Offset, s.p.RawOffset, s.p.Line, s.p.Compression, s.p.Format = 0, 0, 0, "", ""
	}
	s.syncRead()
	return s.p.Result, nil
}

// splitter is one attempt of SplitImport.
type splitter struct {
	importer *Importer
	in       SplitImportInput
	p        splitProgress
	lastBeat time.Time
	// properties are the property lines of the chunk being written, whose datatypes are
	// recorded before the chunk counts as written; document is the text of an entitydata
	// chunk.
	properties [][]byte
	document   []byte
	// fetched and decompressed count this attempt's bytes, on top of readBase (the
	// heartbeat's). The decoder may read ahead on a goroutine of its own (ReadAhead), so they
	// are atomic, and syncRead copies them into p.
	fetched, decompressed atomic.Int64
	readBase              ReadCounts
	// published is how many chunks the plan publishPlan last wrote has, at lastPublished.
	published     int
	lastPublished time.Time
}

// syncRead brings p's read counts up to date.
func (s *splitter) syncRead() {
	s.p.Result.Read.FetchedBytes = s.readBase.FetchedBytes + s.fetched.Load()
	s.p.Result.Read.DecompressedBytes = s.readBase.DecompressedBytes + s.decompressed.Load()
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// splitSource stages one source from the progress's position in it.
func (s *splitter) splitSource(ctx context.Context, src string) error {
	res := &s.p.Result
	raw, seeked, size, err := s.importer.openAt(ctx, src, s.p.Compression, s.p.RawOffset)
	if err != nil {
		return err
	}
	defer raw.Close()
	var rawPos atomic.Int64 // the position in the source as stored
	rawPos.Store(seeked)
	fetched := countingReader{r: raw, n: &s.fetched}
	posReader := countingReader{r: fetched, n: &rawPos}
	dec, compression, err := wikibase.Decompress(posReader)
	if err != nil {
		return readFailure("import source "+src, compression, err)
	}
	if compression == wikibase.CompressionGzip {
		// Inflate holds one core: it runs on a goroutine of its own, beside the split's
		// line scanning and chunk compression. (A Bzip2Reader decodes on every core.)
		dec = wikibase.ReadAhead(dec)
	}
	if c, ok := dec.(io.Closer); ok { // the decoder's goroutines
		defer c.Close()
	}
	var offset atomic.Int64 // uncompressed bytes read in this attempt, from the seek position
	if seeked > 0 {
		offset.Store(s.p.Offset)
	}
	br := bufio.NewReaderSize(countingReader{r: countingReader{r: dec, n: &s.decompressed}, n: &offset}, 1<<20)
	if s.p.Offset > offset.Load() {
		// A compressed source: decompress again up to where the last attempt's chunks end.
		if _, err := io.CopyN(io.Discard, br, s.p.Offset-offset.Load()); err != nil {
			if errors.Is(err, io.EOF) {
				return permanent.Errorf(permanent.BadInput, "import source %s ends before byte %d, where an earlier attempt stopped (did it change?)", src, s.p.Offset)
			}
			return readFailure("import source "+src, compression, err)
		}
	}
	s.p.Compression = compression
	format := s.p.Format
	if format == "" {
		format = s.in.Format
		if format == "" || format == ImportFormatAuto {
			head, _ := br.Peek(4096)
			format = ImportFormatDump
			if wikibase.SpansLines(head) {
				format = ImportFormatEntityData
			}
		}
		s.p.Format = format
	}
	switch format {
	case ImportFormatEntityData, ImportFormatDump:
	default:
		return permanent.Errorf(permanent.BadInput, "import format %q: want auto, dump or entitydata", format)
	}

	cur := SourceChunk{Source: src, Format: format, Offset: s.p.Offset, FirstLine: s.p.Line + 1}
	var w *chunkWriter
	defer func() {
		if w != nil { // a chunk not written whole is discarded
			w.abort()
		}
	}()
	for {
		if w == nil {
			cur.Index = res.Plan.Len()
			cur.Key = StagedChunkKey(s.in.Staging, cur.Index)
			if w, err = s.newChunkWriter(ctx, cur.Key); err != nil {
				return err
			}
		}
		line, err := readLine(br)
		if len(line) > 0 {
			if _, werr := w.Write(line); werr != nil {
				return fmt.Errorf("write %s to the import staging store: %w", cur.Key, werr)
			}
			switch {
			case format == ImportFormatDump:
				cur.Lines++
				if mayBeProperty(line) {
					s.properties = append(s.properties, bytes.Clone(line))
				}
			case len(s.document) < wikibase.DefaultMaxLineBytes:
				// A document's properties are found once it is whole.
				s.document = append(s.document, line...)
			}
			cur.Bytes += int64(len(line))
		}
		eof := errors.Is(err, io.EOF)
		if err != nil && !eof {
			return readFailure("import source "+src, compression, err)
		}
		if (eof && cur.Bytes > 0) || (format == ImportFormatDump && cur.Lines == s.in.ChunkLines) {
			if err := s.commitChunk(ctx, w, cur); err != nil {
				return err
			}
			w = nil
			s.p.Offset, s.p.Line = offset.Load()-int64(br.Buffered()), s.p.Line+cur.Lines
			if compression == wikibase.CompressionNone {
				s.p.RawOffset = s.p.Offset
			}
			s.heartbeat(ctx, true)
			cur = SourceChunk{Source: src, Format: format, Offset: s.p.Offset, FirstLine: s.p.Line + 1}
		}
		if eof {
			break
		}
		s.heartbeat(ctx, false)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	res.Plan.TotalLines += int64(s.p.Line)
	res.Plan.TotalBytes += s.p.Offset
	if size < 0 {
		size = rawPos.Load()
	}
	res.Read.SourceBytes += size
	return nil
}

// mayBeProperty reports whether the JSON of an entity may be a property's: it is parsed then.
// Wikibase writes "type" first, so that is where it looks; other JSON is searched whole.
func mayBeProperty(json []byte) bool {
	if rest, ok := bytes.CutPrefix(json, []byte(`{"type":"`)); ok {
		return bytes.HasPrefix(rest, []byte(`property"`))
	}
	return bytes.Contains(json, []byte(`"type":"property"`)) || bytes.Contains(json, []byte(`"type": "property"`))
}

// readLine reads one line, whatever its length (a line longer than the buffer comes back
// whole, copied).
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if !errors.Is(err, bufio.ErrBufferFull) {
		return line, err
	}
	long := bytes.Clone(line)
	for errors.Is(err, bufio.ErrBufferFull) {
		line, err = br.ReadSlice('\n')
		long = append(long, line...)
	}
	return long, err
}

// heartbeat records the progress: after every chunk, and every second between (the
// position recorded is the last chunk's end either way). It also publishes the plan so far.
func (s *splitter) heartbeat(ctx context.Context, chunk bool) {
	if !chunk && time.Since(s.lastBeat) < time.Second {
		return
	}
	s.syncRead()
	activity.RecordHeartbeat(ctx, s.p)
	s.lastBeat = time.Now()
	s.publishPlan(ctx)
}

// commitChunk records the datatypes of the chunk's properties, then makes the chunk file
// visible and adds it to the plan.
func (s *splitter) commitChunk(ctx context.Context, w *chunkWriter, c SourceChunk) error {
	if bytes.Contains(s.document, []byte(`"property"`)) {
		s.properties = append(s.properties, s.document)
	}
	s.document = s.document[:0]
	if len(s.properties) > 0 {
		// Read as the chunk is (dump lines, entities documents), to find the same properties;
		// what does not parse is the entities pass's to reject.
		m := wikibase.DatatypeMap{}
		for _, text := range s.properties {
			r, err := wikibase.NewEntityReader(bytes.NewReader(text))
			if err != nil {
				continue
			}
			for {
				rec, err := r.Next()
				if errors.Is(err, io.EOF) || (err != nil && !errors.As(err, new(*wikibase.LineError))) {
					break
				}
				if err != nil {
					continue
				}
				if e, _, err := rec.Parse(); err == nil && e != nil && e.Type == wikibase.TypeProperty {
					m.AddProperty(e)
				}
			}
		}
		if err := (&store.Entities{DB: s.importer.DB}).SaveDatatypes(ctx, m); err != nil {
			w.abort()
			return fmt.Errorf("chunk %d of %s: %w", c.Index, c.Source, err)
		}
		s.p.Result.Properties += len(m)
		s.properties = s.properties[:0]
	}
	if err := w.close(); err != nil {
		return fmt.Errorf("write %s to the import staging store: %w", c.Key, err)
	}
	s.p.Result.Plan.addStaged(c)
	return nil
}

// chunkWriter writes one chunk file, compressed with S2 (several hundred MB/s per core, so
// it does not hold up the split; the chunks of Wikidata's dump take about a fifth of its JSON).
type chunkWriter struct {
	obj dump.ObjectWriter
	*s2.Writer
}

func (s *splitter) newChunkWriter(ctx context.Context, key string) (*chunkWriter, error) {
	obj, err := s.importer.Staging.NewWriter(ctx, key, "application/x-snappy-framed")
	if err != nil {
		return nil, fmt.Errorf("write %s to the import staging store %s: %w", key, s.importer.Staging, err)
	}
	return &chunkWriter{obj: obj, Writer: s2.NewWriter(obj, s2.WriterConcurrency(runtime.GOMAXPROCS(0)))}, nil
}

func (w *chunkWriter) close() error {
	if err := w.Writer.Close(); err != nil {
		w.obj.Abort()
		return err
	}
	return w.obj.Close()
}

func (w *chunkWriter) abort() {
	w.Writer.Close()
	w.obj.Abort()
}

// openAt opens a source at rawOffset when it can without reading what comes before: a plain
// file is seeked, a plain URL asked for a byte range. Otherwise (a compressed source, or a
// server without ranges) it opens the source at its start. It returns where the reader
// starts and the source's size (-1 if unknown).
func (a *Importer) openAt(ctx context.Context, src string, compression wikibase.Compression, rawOffset int64) (io.ReadCloser, int64, int64, error) {
	if compression != wikibase.CompressionNone {
		rawOffset = 0
	}
	if !isURL(src) {
		path := strings.TrimPrefix(src, "file://")
		f, err := os.Open(path)
		if err != nil {
			return nil, 0, 0, permanent.Errorf(permanent.BadInput, "import source %v (the path must be readable by the worker)", pathError(path, err))
		}
		size := int64(-1)
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			size = st.Size()
		}
		if rawOffset > 0 {
			if _, err := f.Seek(rawOffset, io.SeekStart); err != nil {
				f.Close()
				return nil, 0, 0, fmt.Errorf("import source %s: seek to byte %d: %w", path, rawOffset, err)
			}
		}
		return sourceReader{f}, rawOffset, size, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return nil, 0, 0, permanent.Errorf(permanent.BadInput, "import source %s: %w", src, err)
	}
	if rawOffset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", rawOffset))
	}
	resp, err := a.httpClient().Do(req)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("fetch %s: %w", src, err)
	}
	switch {
	case resp.StatusCode == http.StatusPartialContent && rawOffset > 0:
		size := int64(-1)
		if resp.ContentLength >= 0 {
			size = rawOffset + resp.ContentLength
		}
		return sourceReader{resp.Body}, rawOffset, size, nil
	case resp.StatusCode == http.StatusOK:
		return sourceReader{resp.Body}, 0, resp.ContentLength, nil
	}
	resp.Body.Close()
	if resp.StatusCode >= 400 && resp.StatusCode < 500 {
		return nil, 0, 0, permanent.Errorf(permanent.BadInput, "fetch %s: HTTP %s", src, resp.Status)
	}
	return nil, 0, 0, fmt.Errorf("fetch %s: HTTP %s", src, resp.Status)
}

func (a *Importer) httpClient() *http.Client {
	if a.HTTP != nil {
		return a.HTTP
	}
	return http.DefaultClient
}

// stagedChunkReader opens a staged chunk file.
func (a *Importer) stagedChunkReader(ctx context.Context, c SourceChunk) (io.Reader, func(), error) {
	if a.Staging == nil {
		return nil, nil, permanent.Errorf(permanent.BadConfig, "import staging store: the worker has none (IMPORT_STAGING_URL or DUMP_URL)")
	}
	r, err := a.Staging.NewReader(ctx, c.Key)
	if errors.Is(err, dump.ErrNotFound) {
		return nil, nil, permanent.Errorf(permanent.BadInput, "chunk %d of %s: its staged file %s is gone from %s (was the staging store cleaned during the import?)",
			c.Index, c.Source, c.Key, a.Staging)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read %s from the import staging store: %w", c.Key, err)
	}
	return s2.NewReader(sourceReader{r}), func() { r.Close() }, nil
}

// chunkDoneKey holds the result of a staged chunk imported (or settled), written before its
// chunk file is deleted: a retry after the deletion answers it.
func chunkDoneKey(c SourceChunk, settle bool) string {
	if settle {
		return stagedChunkFile(c, ".settled.json")
	}
	return stagedChunkFile(c, ".done.json")
}

// chunkProvisionalKey holds what a provisional chunk assumed and deferred.
func chunkProvisionalKey(c SourceChunk) string { return stagedChunkFile(c, ".provisional.json") }

// stagedChunkFile is the file beside a staged chunk's with the suffix.
func stagedChunkFile(c SourceChunk, suffix string) string {
	return strings.TrimSuffix(c.Key, ".json.s2") + suffix
}

// finishStagedChunk records the result of an imported staged chunk and what it left
// provisional, and deletes its file unless it left anything.
func (a *Importer) finishStagedChunk(ctx context.Context, in ImportChunkInput, prov Provisional, res ImportChunkResult) error {
	c := in.Chunk
	unsettled := len(prov.Assumed) > 0 || len(prov.Deferred) > 0
	if unsettled {
		data, err := json.Marshal(prov)
		if err != nil {
			return err
		}
		if err := a.Staging.ReplaceAtomic(ctx, chunkProvisionalKey(c), data, "application/json"); err != nil {
			return fmt.Errorf("record what chunk %d left provisional in the import staging store: %w", c.Index, err)
		}
	}
	data, err := json.Marshal(res)
	if err != nil {
		return err
	}
	if err := a.Staging.ReplaceAtomic(ctx, chunkDoneKey(c, in.Settle), data, "application/json"); err != nil {
		return fmt.Errorf("record chunk %d done in the import staging store: %w", c.Index, err)
	}
	if unsettled {
		return nil
	}
	if err := a.Staging.Delete(ctx, c.Key); err != nil {
		return fmt.Errorf("delete chunk %d from the import staging store: %w", c.Index, err)
	}
	return nil
}

// stagedChunkDone returns the result recorded by an attempt that imported the chunk.
func (a *Importer) stagedChunkDone(ctx context.Context, in ImportChunkInput) (ImportChunkResult, bool, error) {
	var res ImportChunkResult
	ok, err := a.readStagedJSON(ctx, chunkDoneKey(in.Chunk, in.Settle), &res)
	return res, ok, err
}

// readStagedJSON reads the JSON file key of the import staging store into v; ok is false if
// there is no such file.
func (a *Importer) readStagedJSON(ctx context.Context, key string, v any) (ok bool, err error) {
	data, err := dump.ReadAll(ctx, a.Staging, key)
	if errors.Is(err, dump.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s from the import staging store: %w", key, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("%s in the import staging store: %w", key, err)
	}
	return true, nil
}

// RemoveImportStagingInput names an import's staging prefix.
type RemoveImportStagingInput struct{ Staging string }

// RemoveImportStagingResult counts the files removed.
type RemoveImportStagingResult struct{ Removed int }

// RemoveImportStaging deletes every file under an import's staging prefix, also what a
// killed split left half-written. Deleting what is gone is no error, so idempotent.
func (a *Importer) RemoveImportStaging(ctx context.Context, in RemoveImportStagingInput) (RemoveImportStagingResult, error) {
	if a.Staging == nil || in.Staging == "" {
		return RemoveImportStagingResult{}, nil
	}
	objs, err := a.Staging.List(ctx, in.Staging)
	if err != nil {
		return RemoveImportStagingResult{}, fmt.Errorf("list the import staging store: %w", err)
	}
	for _, o := range objs {
		if err := a.Staging.Delete(ctx, o.Key); err != nil {
			return RemoveImportStagingResult{}, fmt.Errorf("clean the import staging store: %w", err)
		}
		activity.RecordHeartbeat(ctx, o.Key)
	}
	abandoned, err := a.Staging.RemoveAbandoned(ctx, in.Staging)
	if err != nil {
		return RemoveImportStagingResult{}, fmt.Errorf("clean the import staging store: %w", err)
	}
	return RemoveImportStagingResult{Removed: len(objs) + abandoned}, nil
}
