package activities

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.uber.org/zap"

	"github.com/entitybase/entitybase-workers/internal/dump"
	"github.com/entitybase/entitybase-workers/internal/logging"
	"github.com/entitybase/entitybase-workers/internal/metrics"
	"github.com/entitybase/entitybase-workers/internal/permanent"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// Import formats.
const (
	ImportFormatAuto       = "auto"
	ImportFormatDump       = "dump"
	ImportFormatEntityData = "entitydata"
)

// The defaults of an import, used where its input leaves them 0; `starter import` shows them
// as its flags' defaults.
const (
	DefaultImportChunkLines  = 5000 // dump lines per chunk
	DefaultImportBatchSize   = 200  // entities per database transaction
	DefaultImportParallelism = 2    // chunks in flight
)

// Importer holds the activities of ImportWorkflow.
type Importer struct {
	DB  *sql.DB
	Log *zap.Logger
	// HTTP fetches http(s) sources; nil means http.DefaultClient.
	HTTP *http.Client
	// Staging holds the chunk files of SplitImport (IMPORT_STAGING_URL, or DUMP_URL's store).
	Staging dump.Store
	// Limits bound each stored entity (ENTITY_MAX_BYTES, *_MAX_CHARS); larger ones are
	// rejected. The zero value means store.DefaultLimits.
	Limits store.Limits
	// Metrics counts what the imports commit and reject; nil counts nothing.
	Metrics *metrics.Work
}

// SourceChunk is one piece of an import's source: a range of dump lines or one
// Special:EntityData file.
type SourceChunk struct {
	Index  int
	Source string // the file or URL the chunk is in
	Format string // dump or entitydata
	// Offset is the byte offset in the uncompressed stream where the chunk's first line starts,
	// FirstLine its 1-based line number and Lines how many lines it spans (dump only).
	Offset    int64
	FirstLine int
	Lines     int
	Bytes     int64
	// Key is the chunk's file in the import staging store, written by SplitImport; "" for
	// the chunks of PlanImport, which are read from the source itself.
	Key string `json:",omitempty"`
}

// PlanImportInput names the source and how big chunks should be.
type PlanImportInput struct {
	Source     string
	Format     string
	ChunkLines int
}

// PlanImportResult lists the chunks in input order: PlanImport's one by one (Chunks), a
// split's as runs (Runs, Staging). A split's plan is heartbeated and carried in the import
// workflow's state, where Temporal refuses 2 MiB: Wikidata's dump has some 23,000 chunks,
// about 4.7 MB listed one by one and some 15 bytes each as runs.
type PlanImportResult struct {
	Chunks []SourceChunk `json:",omitempty"`
	Runs   []ChunkRun    `json:",omitempty"`
	// Staging is the prefix of the staged chunk files of Runs (StagedChunkKey).
	Staging    string `json:",omitempty"`
	TotalLines int64
	TotalBytes int64
}

// ChunkRun is chunks First, First+1, ... of one source, each starting where the one before
// ends: the first at Offset (of the uncompressed stream) and line FirstLine, chunk First+k
// spanning Lines[k] lines and Bytes[k] bytes.
type ChunkRun struct {
	Source    string
	Format    string
	First     int
	Offset    int64
	FirstLine int
	Lines     []int
	Bytes     []int64
}

// StagedChunkKey is the file of a split's chunk i in the staging store.
func StagedChunkKey(staging string, i int) string {
	return fmt.Sprintf("%schunk-%07d.json.s2", staging, i)
}

// addStaged appends a split's chunk c, which starts where the plan's last chunk ends if it
// is of the same source.
func (p *PlanImportResult) addStaged(c SourceChunk) {
	if n := len(p.Runs); n == 0 || p.Runs[n-1].Source != c.Source {
		p.Runs = append(p.Runs, ChunkRun{Source: c.Source, Format: c.Format, First: c.Index, Offset: c.Offset, FirstLine: c.FirstLine})
	}
	r := &p.Runs[len(p.Runs)-1]
	r.Lines = append(r.Lines, c.Lines)
	r.Bytes = append(r.Bytes, c.Bytes)
}

// Len is the number of chunks.
func (p PlanImportResult) Len() int {
	if n := len(p.Runs); n > 0 {
		return p.Runs[n-1].First + len(p.Runs[n-1].Lines)
	}
	return len(p.Chunks)
}

// Chunk is chunk i.
func (p PlanImportResult) Chunk(i int) SourceChunk {
	if len(p.Runs) == 0 {
		return p.Chunks[i]
	}
	r := p.Runs[sort.Search(len(p.Runs), func(r int) bool { return p.Runs[r].First > i })-1]
	k := i - r.First
	c := SourceChunk{Index: i, Source: r.Source, Format: r.Format, Offset: r.Offset, FirstLine: r.FirstLine,
		Lines: r.Lines[k], Bytes: r.Bytes[k], Key: StagedChunkKey(p.Staging, i)}
	for j := range k {
		c.Offset += r.Bytes[j]
		c.FirstLine += r.Lines[j]
	}
	return c
}

// After is the plan of the chunks from i on, as runs (a split's plan).
func (p PlanImportResult) After(i int) PlanImportResult {
	after := PlanImportResult{Staging: p.Staging}
	for j, c := range p.All() {
		if j >= i {
			after.addStaged(c)
		}
	}
	return after
}

// Extend appends the chunks of more, which follow p's (a split's plans).
func (p *PlanImportResult) Extend(more PlanImportResult) {
	for _, c := range more.All() {
		p.addStaged(c)
	}
}

// All yields the chunks in order.
func (p PlanImportResult) All() iter.Seq2[int, SourceChunk] {
	if len(p.Runs) == 0 {
		return slices.All(p.Chunks)
	}
	return func(yield func(int, SourceChunk) bool) {
		for _, r := range p.Runs {
			for i, c := range r.all(p.Staging) {
				if !yield(i, c) {
					return
				}
			}
		}
	}
}

// all yields the run's chunks.
func (r ChunkRun) all(staging string) iter.Seq2[int, SourceChunk] {
	return func(yield func(int, SourceChunk) bool) {
		c := SourceChunk{Source: r.Source, Format: r.Format, Offset: r.Offset, FirstLine: r.FirstLine}
		for k := range r.Lines {
			c.Index, c.Lines, c.Bytes, c.Key = r.First+k, r.Lines[k], r.Bytes[k], StagedChunkKey(staging, r.First+k)
			if !yield(c.Index, c) {
				return
			}
			c.Offset += c.Bytes
			c.FirstLine += c.Lines
		}
	}
}

// ImportCounts are what an import did. Created, Updated and Unchanged count entities and
// redirects; Redirects counts the redirects among those created or updated. Older counts
// the entities whose source revision (lastrevid) is older than the one stored, which is
// kept.
type ImportCounts struct {
	Created, Updated, Unchanged, Rejected int64
	Redirects                             int64 `json:",omitempty"`
	Older                                 int64 `json:",omitempty"`
	Lines, Bytes                          int64
	// Corrected counts the entities stored again (a new revision) because a datatype they
	// were stored with while the split ran is not their property's (see Settle).
	Corrected int64 `json:",omitempty"`
}

// Add adds o to c.
func (c *ImportCounts) Add(o ImportCounts) {
	c.Created += o.Created
	c.Updated += o.Updated
	c.Unchanged += o.Unchanged
	c.Rejected += o.Rejected
	c.Redirects += o.Redirects
	c.Older += o.Older
	c.Lines += o.Lines
	c.Bytes += o.Bytes
	c.Corrected += o.Corrected
}

// Rejection is an entity (or redirect) that could not be imported.
type Rejection struct {
	Source   string
	Line     int    // the line the entity starts on
	EntityID string // when known
	Reason   string
}

// ImportChunkInput is one chunk and which pass it is in.
type ImportChunkInput struct {
	Chunk SourceChunk
	// DatatypesOnly records only the datatypes of the property entities (the first pass, so
	// every snak's datatype is known in the second, whatever the order of the input); otherwise
	// every entity is stored.
	DatatypesOnly bool
	// Provisional says the split is still running, so the datatypes of properties later in
	// the source are not recorded yet. Where a snak's property is not known, the chunk
	// stores the entity with the datatype read with the snak, or, if the snak has none,
	// leaves the entity for later (Deferred). It notes every datatype it stored snaks with
	// (Assumed), and keeps its staged file until the split has ended: see
	// CheckImportDatatypes and Settle.
	Provisional bool
	// Settle finishes a provisional chunk with the final datatypes: it stores the entities
	// the chunk deferred, and, if one of the datatypes it assumed is not the property's, all
	// its other entities again.
	Settle      bool
	BatchSize   int
	UserID      int64
	EditSummary string
}

// ImportChunkResult counts one chunk; Rejections holds the first MaxRejections reasons.
type ImportChunkResult struct {
	Counts     ImportCounts
	Rejections []Rejection
}

// MaxRejections bounds the reasons a chunk reports (all are counted).
const MaxRejections = 100

// ImportChunkProgress is the chunk's heartbeat, recorded after each committed batch: a retry
// skips what is already stored, and `starter import --wait` counts the chunks in flight.
type ImportChunkProgress struct {
	LinesDone  int
	Counts     ImportCounts
	Rejections []Rejection
	// Provisional is what a provisional chunk left unsettled.
	Provisional
}

// Provisional is what a provisional chunk stored on assumptions or left for later.
type Provisional struct {
	// Assumed are the datatypes it stored snaks with, of properties known or not: the split
	// may still record a property's, or record another one for a property known.
	Assumed []AssumedDatatype `json:",omitempty"`
	// Deferred are the entities it did not store: a snak of theirs has an unknown property
	// and no datatype of its own.
	Deferred []DeferredEntity `json:",omitempty"`
}

// AssumedDatatype is a datatype a provisional chunk stored snaks of a property with.
type AssumedDatatype struct{ Property, Datatype string }

// DeferredEntity is an entity a provisional chunk left for later: its line and id.
type DeferredEntity struct {
	Line int
	ID   string
}

// result is the chunk's result; its rejections in line order (the store's come when a batch
// is saved, after the parser's of later lines).
func (hb *ImportChunkProgress) result() ImportChunkResult {
	sort.SliceStable(hb.Rejections, func(i, j int) bool { return hb.Rejections[i].Line < hb.Rejections[j].Line })
	return ImportChunkResult{Counts: hb.Counts, Rejections: hb.Rejections}
}

// LoadPropertyDatatypesInput names a property_id,datatype CSV (file or URL).
type LoadPropertyDatatypesInput struct{ Source string }

// LoadPropertyDatatypesResult counts the properties recorded.
type LoadPropertyDatatypesResult struct{ Properties int }

// LoadPropertyDatatypes records a --properties CSV in property_datatypes. An upsert of fixed
// values, so idempotent.
func (a *Importer) LoadPropertyDatatypes(ctx context.Context, in LoadPropertyDatatypesInput) (LoadPropertyDatatypesResult, error) {
	r, err := a.open(ctx, in.Source)
	if err != nil {
		return LoadPropertyDatatypesResult{}, err
	}
	defer r.Close()
	m, err := wikibase.ReadPropertyDatatypes(r)
	if err != nil {
		return LoadPropertyDatatypesResult{}, readFailure("properties CSV "+in.Source, wikibase.CompressionNone, err)
	}
	if err := (&store.Entities{DB: a.DB}).SaveDatatypes(ctx, m); err != nil {
		return LoadPropertyDatatypesResult{}, err
	}
	return LoadPropertyDatatypesResult{Properties: len(m)}, nil
}

// PlanImport splits the source into chunks: dump files by line ranges (with the byte offset of
// each range), files whose first value spans lines (Special:EntityData files, pretty-printed
// JSON) one chunk each; a directory is every *.json, *.json.gz and *.json.bz2 file in it,
// sorted by name. Read-only, so idempotent.
func (a *Importer) PlanImport(ctx context.Context, in PlanImportInput) (PlanImportResult, error) {
	if in.ChunkLines <= 0 {
		in.ChunkLines = DefaultImportChunkLines
	}
	sources, err := ImportSources(in.Source)
	if err != nil {
		return PlanImportResult{}, permanent.Errorf(permanent.BadInput, "import source %w", err)
	}
	var out PlanImportResult
	for _, src := range sources {
		if err := a.planSource(ctx, src, in, &out); err != nil {
			return PlanImportResult{}, err
		}
	}
	return out, nil
}

func (a *Importer) planSource(ctx context.Context, src string, in PlanImportInput, out *PlanImportResult) error {
	raw, err := a.open(ctx, src)
	if err != nil {
		return err
	}
	defer raw.Close()
	r, compression, err := wikibase.Decompress(raw)
	if err != nil {
		return readFailure("import source "+src, compression, err)
	}
	br := bufio.NewReaderSize(r, 1<<20)
	format := in.Format
	if format == "" || format == ImportFormatAuto {
		head, _ := br.Peek(4096)
		format = ImportFormatDump
		if wikibase.SpansLines(head) {
			format = ImportFormatEntityData
		}
	}
	switch format {
	case ImportFormatEntityData:
		n, err := io.Copy(io.Discard, br)
		if err != nil {
			return readFailure("import source "+src, compression, err)
		}
		out.Chunks = append(out.Chunks, SourceChunk{Index: len(out.Chunks), Source: src, Format: format, Bytes: n})
		out.TotalBytes += n
		return nil
	case ImportFormatDump:
	default:
		return permanent.Errorf(permanent.BadInput, "import format %q: want auto, dump or entitydata", format)
	}
	var offset int64
	line := 0
	cur := SourceChunk{Source: src, Format: format, FirstLine: 1}
	lastBeat := time.Now()
	for {
		n, err := skipLine(br)
		if n > 0 {
			line++
			cur.Lines++
			cur.Bytes += n
			offset += n
			if cur.Lines == in.ChunkLines {
				cur.Index = len(out.Chunks)
				out.Chunks = append(out.Chunks, cur)
				cur = SourceChunk{Source: src, Format: format, Offset: offset, FirstLine: line + 1}
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return readFailure("import source "+src, compression, err)
		}
		if time.Since(lastBeat) > time.Second {
			activity.RecordHeartbeat(ctx, line)
			lastBeat = time.Now()
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
	if cur.Lines > 0 {
		cur.Index = len(out.Chunks)
		out.Chunks = append(out.Chunks, cur)
	}
	out.TotalLines += int64(line)
	out.TotalBytes += offset
	return nil
}

// skipLine consumes one line and returns its length.
func skipLine(br *bufio.Reader) (int64, error) {
	var n int64
	for {
		b, err := br.ReadSlice('\n')
		n += int64(len(b))
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return n, err
	}
}

// ImportChunk stores the entities of one chunk in batches (or, in the first pass, the
// datatypes of its properties). Saving unchanged content is a no-op and the heartbeat records
// the lines already committed, so a retry (or a new worker after a crash) stores exactly what
// an uninterrupted run would.
//
// A staged chunk (SplitImport's) is deleted once imported, after its result is recorded
// beside it, which is what a retry after the deletion answers; a provisional chunk that
// assumed or deferred anything is kept until it is settled.
func (a *Importer) ImportChunk(ctx context.Context, in ImportChunkInput) (ImportChunkResult, error) {
	staged := in.Chunk.Key != "" && !in.DatatypesOnly
	if staged {
		if res, ok, err := a.stagedChunkDone(ctx, in); err != nil || ok {
			return res, err
		}
	}
	ci, err := a.newChunkImport(ctx, in)
	if err != nil {
		return ImportChunkResult{}, err
	}
	if in.Settle {
		if ci.settle, err = a.settling(ctx, in.Chunk, ci.datatypes); err != nil {
			return ImportChunkResult{}, err
		}
	}
	if err := ci.importRecords(ctx); err != nil {
		return ImportChunkResult{}, err
	}
	res := ci.hb.result()
	if staged {
		if err := a.finishStagedChunk(ctx, in, ci.hb.Provisional, res); err != nil {
			return ImportChunkResult{}, err
		}
	}
	if !in.DatatypesOnly && !in.Settle {
		a.Metrics.ImportChunkDone(in.Chunk.Bytes)
	}
	return res, nil
}

// chunkImport is one attempt of ImportChunk: what is done (hb, which a retry continues from)
// and the entities and redirects waiting to be saved in one batch.
type chunkImport struct {
	importer  *Importer
	in        ImportChunkInput
	entities  *store.Entities
	batchSize int
	hb        ImportChunkProgress
	// counted is what hb counted when the metrics last recorded it: an attempt records only
	// what it commits itself, so a retry does not count an earlier attempt's work again.
	counted ImportCounts

	datatypes wikibase.DatatypeMap
	// assumed is hb.Assumed as a set; settle is what a settling chunk finishes.
	assumed map[AssumedDatatype]bool
	settle  *settling

	batch      []store.SaveRequest
	batchLines []int // the line of each request in batch
	// batchCorrections says which requests of batch store an entity again with the final
	// datatypes (a settling chunk's, see settling).
	batchCorrections []bool
	redirects        []wikibase.Redirect
	redirectLines    []int
	// upTo is the last line whose entity is in batch (or skipped): after a flush every line up
	// to it is committed.
	upTo int
}

// newChunkImport continues from an earlier attempt's heartbeat and reads the property
// datatypes that the entities' snaks are saved with.
func (a *Importer) newChunkImport(ctx context.Context, in ImportChunkInput) (*chunkImport, error) {
	ci := &chunkImport{importer: a, in: in, batchSize: in.BatchSize}
	if activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &ci.hb); err != nil {
			logging.ForActivity(ctx, a.Log).Warn("import chunk: unreadable heartbeat, starting the chunk over", zap.Error(err))
			ci.hb = ImportChunkProgress{}
		}
	}
	ci.upTo = ci.hb.LinesDone
	ci.counted = ci.hb.Counts
	ci.assumed = map[AssumedDatatype]bool{}
	for _, d := range ci.hb.Assumed {
		ci.assumed[d] = true
	}
	if ci.batchSize <= 0 {
		ci.batchSize = DefaultImportBatchSize
	}
	ci.entities = &store.Entities{DB: a.DB, Limits: a.Limits}
	datatypes, err := ci.entities.Datatypes(ctx)
	if err != nil {
		return nil, err
	}
	ci.datatypes, ci.entities.DatatypeLookup = datatypes, datatypes
	return ci, nil
}

// reject counts a rejected entity and keeps the first MaxRejections reasons.
func (ci *chunkImport) reject(line int, id, reason string) {
	ci.hb.Counts.Rejected++
	if len(ci.hb.Rejections) < MaxRejections {
		ci.hb.Rejections = append(ci.hb.Rejections, Rejection{Source: ci.in.Chunk.Source, Line: line, EntityID: id, Reason: reason})
	}
}

// add puts e into the batch, unless the pass leaves it out: the datatypes pass keeps only
// properties. Its page metadata, when it has a revision ID, is the stored revision's.
func (ci *chunkImport) add(line int, e *wikibase.Entity) {
	if ci.in.DatatypesOnly && e.Type != wikibase.TypeProperty {
		return
	}
	correction := false
	if ci.settle != nil && !ci.settle.deferred[DeferredEntity{line, e.ID}] {
		if !ci.settle.redo {
			return // stored by the provisional chunk
		}
		correction = true
	}
	var src *store.SourceRevision
	if !ci.in.DatatypesOnly { // the second pass rejects what is wrong, once
		var err error
		if src, err = sourceRevision(e); err != nil {
			if !correction {
				ci.reject(line, e.ID, err.Error())
			}
			return
		}
	}
	e.Page = nil
	if ci.in.Provisional && ci.deferUnknown(line, e) {
		return
	}
	ci.batch = append(ci.batch, store.SaveRequest{Entity: e, UserID: ci.in.UserID, EditSummary: ci.in.EditSummary, EditType: "import", Source: src})
	ci.batchLines = append(ci.batchLines, line)
	ci.batchCorrections = append(ci.batchCorrections, correction)
}

// deferUnknown reports whether a provisional chunk leaves e for later, because a snak of it
// has an unknown property and no datatype of its own; otherwise it notes the datatypes e is
// stored with.
func (ci *chunkImport) deferUnknown(line int, e *wikibase.Entity) bool {
	var used []AssumedDatatype
	deferred := false
	wikibase.SnakDatatypes(e, ci.datatypes, func(p, dt string, known bool) {
		if !known && dt == "" {
			deferred = true
		}
		used = append(used, AssumedDatatype{p, dt})
	})
	if deferred {
		ci.hb.Deferred = append(ci.hb.Deferred, DeferredEntity{line, e.ID})
		return true
	}
	for _, d := range used {
		if !ci.assumed[d] {
			ci.assumed[d] = true
			ci.hb.Assumed = append(ci.hb.Assumed, d)
		}
	}
	return false
}

// sourceRevision is the revision metadata of e's page metadata (Special:EntityData files,
// dumps made with --page-metadata), or nil when it has no revision ID.
func sourceRevision(e *wikibase.Entity) (*store.SourceRevision, error) {
	if e.Page == nil || e.Page.LastRevID == 0 {
		return nil, nil
	}
	if e.Page.LastRevID < 0 {
		return nil, fmt.Errorf("lastrevid %d is not a revision id (want a positive number)", e.Page.LastRevID)
	}
	src := &store.SourceRevision{RevisionID: e.Page.LastRevID, PageID: max(e.Page.PageID, 0)}
	if e.Page.Modified != "" {
		t, err := time.Parse(time.RFC3339, e.Page.Modified)
		if err != nil {
			return nil, fmt.Errorf("modified %q is not a time like 2025-12-27T16:06:06Z", e.Page.Modified)
		}
		src.Modified = t
	}
	return src, nil
}

// flush saves the batch (in the datatypes pass, the datatypes of its properties), then its
// redirects, and records in the heartbeat that every line up to upTo is committed.
func (ci *chunkImport) flush(ctx context.Context) error {
	c := ci.in.Chunk
	if len(ci.batch) > 0 && ci.in.DatatypesOnly {
		m := wikibase.DatatypeMap{}
		for _, r := range ci.batch {
			m.AddProperty(r.Entity)
		}
		if err := ci.entities.SaveDatatypes(ctx, m); err != nil {
			return fmt.Errorf("chunk %d of %s: %w", c.Index, c.Source, err)
		}
	} else if len(ci.batch) > 0 {
		res, err := ci.entities.SaveBatch(ctx, ci.batch)
		if err != nil {
			return fmt.Errorf("chunk %d of %s: %w", c.Index, c.Source, err)
		}
		for i, r := range res {
			if ci.batchCorrections[i] { // counted when the provisional chunk stored it
				if r.Status == store.StatusUpdated {
					ci.hb.Counts.Corrected++
				}
				continue
			}
			switch r.Status {
			case store.StatusCreated:
				ci.hb.Counts.Created++
			case store.StatusUpdated:
				ci.hb.Counts.Updated++
			case store.StatusUnchanged:
				ci.hb.Counts.Unchanged++
			case store.StatusOlder:
				ci.hb.Counts.Older++
			case store.StatusRejected:
				ci.reject(ci.batchLines[i], r.EntityID, r.Reason)
			}
		}
	}
	// The batch's redirects after its entities: a redirect's target may be among them.
	for i, red := range ci.redirects {
		res, err := ci.entities.SaveRedirect(ctx, store.RedirectRequest{From: red.From, To: red.To, Create: true,
			UserID: ci.in.UserID, EditSummary: ci.in.EditSummary})
		switch {
		case errors.Is(err, store.ErrRejected):
			ci.reject(ci.redirectLines[i], red.From, err.Error())
		case err != nil:
			return fmt.Errorf("chunk %d of %s: %w", c.Index, c.Source, err)
		case res.Status == store.StatusUnchanged:
			ci.hb.Counts.Unchanged++
		case res.Status == store.StatusCreated:
			ci.hb.Counts.Created++
			ci.hb.Counts.Redirects++
		default:
			ci.hb.Counts.Updated++
			ci.hb.Counts.Redirects++
		}
	}
	ci.hb.LinesDone = ci.upTo
	ci.batch, ci.batchLines, ci.batchCorrections = ci.batch[:0], ci.batchLines[:0], ci.batchCorrections[:0]
	ci.redirects, ci.redirectLines = ci.redirects[:0], ci.redirectLines[:0]
	activity.RecordHeartbeat(ctx, ci.hb)
	done, was := ci.hb.Counts, ci.counted
	ci.importer.Metrics.ImportCommitted(done.Created-was.Created, done.Updated-was.Updated,
		done.Unchanged-was.Unchanged, done.Rejected-was.Rejected)
	ci.counted = done
	return nil
}

// importRecords imports the chunk's records, batchSize entities and redirects at a time;
// lines committed before a retry are skipped.
func (ci *chunkImport) importRecords(ctx context.Context) error {
	c := ci.in.Chunk
	r, compression, closeSource, err := ci.importer.chunkReader(ctx, c)
	if err != nil {
		return err
	}
	defer closeSource()
	lineNo := func(n int) int { return max(c.FirstLine, 1) + n - 1 }
	lastLine := 0 // the line of the last record read
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var lineErr *wikibase.LineError
		if errors.As(err, &lineErr) {
			if ci.rejects() && lineErr.Line > ci.hb.LinesDone {
				ci.reject(lineNo(lineErr.Line), lineErr.EntityID, lineErr.Err.Error())
			}
			continue
		}
		if errors.Is(err, wikibase.ErrNoEntities) {
			// JSON without entities, such as {"entities":{}}: listed like an entity that is
			// not valid, so that the rest of a directory is imported.
			if ci.rejects() {
				ci.reject(lineNo(1), "", err.Error())
			}
			continue
		}
		if err != nil {
			return readFailure(fmt.Sprintf("chunk %d of %s", c.Index, c.Source), compression, err)
		}
		if rec.Line <= ci.hb.LinesDone {
			continue // committed before a retry
		}
		if ci.settle != nil && !ci.settle.redo && !ci.settle.lines[lineNo(rec.Line)] {
			continue // stored by the provisional chunk
		}
		// A batch is written only at the start of a line, so that the lines up to upTo are
		// committed whole (a line may hold many entities).
		if rec.Line > lastLine {
			ci.upTo = rec.Line - 1
			if len(ci.batch)+len(ci.redirects) >= ci.batchSize {
				if err := ci.flush(ctx); err != nil {
					return err
				}
				if ctx.Err() != nil {
					return ctx.Err()
				}
			}
		}
		lastLine = rec.Line
		ci.addRecord(lineNo(rec.Line), rec)
	}
	ci.upTo = max(lastLine, c.Lines, ci.hb.LinesDone)
	if err := ci.flush(ctx); err != nil {
		return err
	}
	if !ci.in.DatatypesOnly && ci.settle == nil {
		ci.hb.Counts.Lines, ci.hb.Counts.Bytes = int64(c.Lines), c.Bytes
	}
	return nil
}

// rejects says whether this pass rejects what is wrong: the entities pass does, once (not
// when it settles a provisional chunk).
func (ci *chunkImport) rejects() bool { return !ci.in.DatatypesOnly && ci.settle == nil }

// addRecord adds the entity or redirect a record holds, or rejects it. The datatypes pass
// parses only what looks like a property and rejects nothing (the second pass does).
func (ci *chunkImport) addRecord(line int, rec wikibase.Record) {
	if ci.in.DatatypesOnly {
		if !mayBeProperty(rec.JSON) {
			return
		}
		if e, _, err := rec.Parse(); err == nil && e != nil {
			ci.add(line, e)
		}
		return
	}
	e, redirect, err := rec.Parse()
	if err != nil {
		if ci.rejects() {
			ci.reject(line, rec.Error(err).EntityID, explainParseError(err))
		}
		return
	}
	if e != nil {
		ci.add(line, e)
	}
	if redirect != nil && ci.settle == nil {
		ci.redirects = append(ci.redirects, *redirect)
		ci.redirectLines = append(ci.redirectLines, line)
	}
}

// chunkReader opens the records of a chunk: a whole file, or a dump's line range from its
// byte offset. It returns the file's compression for readFailure.
func (a *Importer) chunkReader(ctx context.Context, c SourceChunk) (*wikibase.EntityReader, wikibase.Compression, func(), error) {
	if c.Key != "" {
		staged, closeStaged, err := a.stagedChunkReader(ctx, c)
		if err != nil {
			return nil, "", nil, err
		}
		r, err := wikibase.NewEntityReader(staged)
		if err != nil {
			closeStaged()
			return nil, "", nil, fmt.Errorf("chunk %d of %s: read %s: %w", c.Index, c.Source, c.Key, err)
		}
		if c.Format == ImportFormatDump {
			r.Lines = c.Lines
		}
		return r, wikibase.CompressionNone, closeStaged, nil
	}
	raw, err := a.open(ctx, c.Source)
	if err != nil {
		return nil, "", nil, err
	}
	dec, compression, err := wikibase.Decompress(raw)
	if err != nil {
		raw.Close()
		return nil, "", nil, readFailure("import source "+c.Source, compression, err)
	}
	closeSource := func() {
		if c, ok := dec.(io.Closer); ok { // a Bzip2Reader's goroutines
			c.Close()
		}
		raw.Close()
	}
	br := bufio.NewReaderSize(dec, 1<<20)
	if _, err := io.CopyN(io.Discard, br, c.Offset); err != nil {
		closeSource()
		if errors.Is(err, io.EOF) {
			return nil, "", nil, permanent.Errorf(permanent.BadInput,
				"chunk %d of %s: the source ends before byte %d, where the plan put the chunk (did it change?)", c.Index, c.Source, c.Offset)
		}
		return nil, "", nil, readFailure(fmt.Sprintf("chunk %d of %s", c.Index, c.Source), compression, err)
	}
	r, err := wikibase.NewEntityReader(br)
	if err != nil {
		closeSource()
		return nil, "", nil, readFailure(fmt.Sprintf("chunk %d of %s", c.Index, c.Source), compression, err)
	}
	if c.Format == ImportFormatDump {
		r.Lines = c.Lines
	}
	return r, compression, closeSource, nil
}

// explainParseError is the reason a rejected entity gets; a missing id says what to do about it.
func explainParseError(err error) string {
	if errors.Is(err, wikibase.ErrNoID) {
		return "entity has no id: the importer does not allocate ids yet; give every entity its id"
	}
	return err.Error()
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// ImportSources lists the files an import of source reads: the file itself, every *.json,
// *.json.gz and *.json.bz2 file of a directory (sorted by name), or an http(s) URL as it is.
// The CLI checks a source with it before starting an import; an error names the source and
// what is wrong with it.
func ImportSources(source string) ([]string, error) {
	if isURL(source) {
		u, err := url.Parse(source)
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			return nil, fmt.Errorf("%q: not a valid URL: %w", source, urlErr.Err)
		}
		if err != nil || u.Hostname() == "" {
			return nil, fmt.Errorf("%q: not a valid URL (no host)", source)
		}
		return []string{source}, nil
	}
	return wikibase.InputFiles(strings.TrimPrefix(source, "file://"))
}

// pathError is "PATH: what is wrong", without the name of the system call.
func pathError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", path, pe.Err)
	}
	return fmt.Errorf("%s: %w", path, err)
}

// open returns the raw bytes of a file or http(s) URL; errors of reading them are
// sourceReadErrors.
func (a *Importer) open(ctx context.Context, src string) (io.ReadCloser, error) {
	if !isURL(src) {
		path := strings.TrimPrefix(src, "file://")
		f, err := os.Open(path)
		if err != nil {
			return nil, permanent.Errorf(permanent.BadInput, "import source %v (the path must be readable by the worker)", pathError(path, err))
		}
		return sourceReader{f}, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return nil, permanent.Errorf(permanent.BadInput, "import source %s: %w", src, err)
	}
	resp, err := a.httpClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", src, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		if resp.StatusCode >= 400 && resp.StatusCode < 500 {
			return nil, permanent.Errorf(permanent.BadInput, "fetch %s: HTTP %s", src, resp.Status)
		}
		return nil, fmt.Errorf("fetch %s: HTTP %s", src, resp.Status)
	}
	return sourceReader{resp.Body}, nil
}

// sourceReader marks the errors of reading a source itself (a disk, a connection cut short)
// as sourceReadErrors: a retry may not meet them again. Decompressors pass the errors of the
// reader under them through unchanged, so every other error of a decompressed stream is
// about its bytes (a gzip or bzip2 stream that ends early or does not decode), which every
// retry would meet again.
type sourceReader struct{ r io.ReadCloser }

func (s sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF { // io.EOF is returned as it is, never wrapped
		err = &sourceReadError{err}
	}
	return n, err
}

func (s sourceReader) Close() error { return s.r.Close() }

type sourceReadError struct{ err error }

func (e *sourceReadError) Error() string { return e.err.Error() }
func (e *sourceReadError) Unwrap() error { return e.err }

// readFailure is the error of reading what names: a failure to read the source is retried;
// anything else is the input itself, a permanent BadInput error.
func readFailure(what string, compression wikibase.Compression, err error) error {
	if errors.As(err, new(*sourceReadError)) {
		return fmt.Errorf("read %s: %w", what, err)
	}
	if compression == wikibase.CompressionGzip || compression == wikibase.CompressionBzip2 {
		return permanent.Errorf(permanent.BadInput, "%s: the %s stream is truncated or corrupt: %w", what, compression, err)
	}
	return permanent.Errorf(permanent.BadInput, "%s: %w", what, err)
}
