package activities

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/entitybase/entitybase-workers/internal/dump"
	"github.com/entitybase/entitybase-workers/internal/metrics"
	"github.com/entitybase/entitybase-workers/internal/permanent"
	"github.com/entitybase/entitybase-workers/internal/rdf"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// Dumps holds the dump activities: the snapshot that starts a dump, one chunk (one part of
// the dump file) at a time, and the assembly of the parts into the published file.
type Dumps struct {
	DB *sql.DB
	// Store is the store of DUMP_URL, which the worker opens and closes.
	Store dump.Store
	// Name, ChunkSize and Parallelism are the configured defaults (DUMP_NAME,
	// DUMP_CHUNK_SIZE, DUMP_PARALLELISM) that the snapshot hands to the workflow.
	Name        string
	ChunkSize   int
	Parallelism int
	// Level is the gzip level of parts and framing; 0 means dump.DefaultLevel.
	Level int
	// Formats overrides the renderers per dump format; nil means the built-in JSON, Turtle
	// and N-Triples formats.
	Formats map[dump.Format]DumpFormat
	// RDFConfigPath is WIKIBASE_CONFIG (concept URIs, sites); empty means Wikidata's.
	RDFConfigPath string
	Log           *zap.Logger
	// Metrics counts the entities and bytes written and the files published; nil counts
	// nothing.
	Metrics *metrics.Work

	rdf rdfState
}

// DumpSnapshotInput asks for the consistent cut a dump reads.
type DumpSnapshotInput struct {
	// AsOf is the cut asked for; zero or a time not yet reached means now.
	AsOf time.Time
}

// DumpCut is the cut a dump reads: every entity with internal_id <= MaxInternalID, each at its latest
// revision created at or before Time. Also the configured defaults, so the workflow (which
// cannot read configuration) records them in its history.
type DumpCut struct {
	Time          time.Time
	MaxInternalID int64
	Name          string
	ChunkSize     int
	Parallelism   int
	// Run names the plan's parts (dump.Layout.Run); set by DumpBegin.
	Run string
}

// DumpSnapshot takes the cut (dumps started before DumpBegin existed). Idempotent: it only
// reads; a retry gives a later cut, and the workflow keeps whichever result was recorded
// first.
func (a *Dumps) DumpSnapshot(ctx context.Context, in DumpSnapshotInput) (DumpCut, error) {
	s := DumpCut{Name: a.Name, ChunkSize: a.ChunkSize, Parallelism: a.Parallelism}
	// Microseconds: created_at is TIMESTAMP(6), and a cut finer than the column would compare
	// differently after a round trip through the database.
	s.Time = time.Now().UTC().Truncate(time.Microsecond)
	if !in.AsOf.IsZero() && in.AsOf.Before(s.Time) {
		s.Time = in.AsOf.UTC().Truncate(time.Microsecond)
	}
	// The mapping is read after the time is taken: an entity created after the cut has
	// either a larger internal id or revisions newer than the cut, so it is left out.
	if err := a.DB.QueryRowContext(ctx, "SELECT COALESCE(MAX(internal_id), 0) FROM entity_id_mapping").Scan(&s.MaxInternalID); err != nil {
		return DumpCut{}, fmt.Errorf("read highest internal id: %w", err)
	}
	return s, nil
}

// DumpBeginInput asks to start a dump of File; its Name is DUMP_NAME and its Run the plan's,
// both filled in here.
type DumpBeginInput struct {
	File dump.Layout
	// AsOf is the cut asked for; zero or a time not yet reached means now.
	AsOf time.Time
	// ChunkSize (0: DUMP_CHUNK_SIZE) and EntityTypes (sorted type letters; empty: all) are
	// the chunking asked for.
	ChunkSize   int
	EntityTypes []string
	// Replace asks for a new dump even if the file is published.
	Replace bool
}

// DumpBeginResult is the published file (Published), or the cut and plan to run.
type DumpBeginResult struct {
	Published *DumpAssembleResult
	Snapshot  DumpCut
	// Continued says the plan is that of an earlier run of the file that did not finish
	// (cancelled, failed, killed): its parts are used as they are.
	Continued bool
}

// DumpBegin decides, from the store, whether the dump is to be written: a published file
// (its metadata, and the file as the metadata describes it) is returned as it is, unless
// Replace. Otherwise it continues the plan of an earlier unfinished run of the file that
// asked for the same cut and chunking, or takes a new cut and records its plan. Deciding
// from the store, not from workflow IDs, holds however the dump was started (CLI,
// schedule) and however long ago (the workflow history may be gone). Idempotent: a retry
// finds the plan an earlier attempt recorded and continues it.
func (a *Dumps) DumpBegin(ctx context.Context, in DumpBeginInput) (res DumpBeginResult, err error) {
	defer func() { err = a.storeFailure(err) }()
	in.File.Name = a.Name
	l := in.File
	if err := l.Validate(); err != nil {
		return DumpBeginResult{}, permanent.Errorf(permanent.BadInput, "%w", err)
	}
	meta, published, err := (&dump.Assembler{Store: a.Store}).Published(ctx, l)
	if err != nil {
		return DumpBeginResult{}, fmt.Errorf("read published %s: %w", l.FileName(), err)
	}
	if published && !in.Replace {
		out := assembleResult(l, meta, true)
		return DumpBeginResult{Published: &out}, nil
	}
	chunkSize := in.ChunkSize
	if chunkSize == 0 {
		chunkSize = a.ChunkSize
	}
	explicitCut := !in.AsOf.IsZero() && in.AsOf.Before(time.Now())
	plans, err := dump.ReadPlans(ctx, a.Store, l)
	if err != nil {
		return DumpBeginResult{}, fmt.Errorf("read unfinished runs of %s: %w", l.FileName(), err)
	}
	for _, p := range plans {
		switch {
		case p.ChunkSize != chunkSize || !slices.Equal(p.EntityTypes, in.EntityTypes):
		case explicitCut && !p.SnapshotTime.Equal(in.AsOf.UTC().Truncate(time.Microsecond)):
		case published && !p.SnapshotTime.After(meta.SnapshotTime): // replacing: only a newer cut
		default:
			snap := DumpCut{Time: p.SnapshotTime, MaxInternalID: p.MaxInternalID, Name: a.Name,
				ChunkSize: chunkSize, Parallelism: a.Parallelism, Run: p.Run()}
			return DumpBeginResult{Snapshot: snap, Continued: true}, nil
		}
	}
	snap, err := a.DumpSnapshot(ctx, DumpSnapshotInput{AsOf: in.AsOf})
	if err != nil {
		return DumpBeginResult{}, err
	}
	plan := dump.Plan{SnapshotTime: snap.Time, MaxInternalID: snap.MaxInternalID, ChunkSize: chunkSize, EntityTypes: in.EntityTypes}
	if err := dump.WritePlan(ctx, a.Store, l, plan); err != nil {
		return DumpBeginResult{}, err
	}
	snap.ChunkSize, snap.Run = chunkSize, plan.Run()
	return DumpBeginResult{Snapshot: snap}, nil
}

// DumpChunkInput is one chunk: the entities with internal ids in (AfterID, UpToID].
type DumpChunkInput struct {
	File         dump.Layout
	Index        int
	AfterID      int64
	UpToID       int64
	SnapshotTime time.Time
	// EntityTypes restricts the dump to these type letters (Q, P, L, E); empty means all.
	EntityTypes []string
}

// DumpChunkResult is what the chunk's part holds.
type DumpChunkResult struct {
	Index             int
	Entities          int64
	EntityCounts      map[string]int64
	UncompressedBytes int64
	CompressedBytes   int64
	// AlreadyDone says the part was finished by an earlier attempt or run and was kept.
	AlreadyDone bool
}

// DumpChunkProgress is the chunk's heartbeat: the last internal id written and the count.
type DumpChunkProgress struct {
	Index    int
	CursorID int64
	Entities int64
}

// dumpHeartbeatEvery bounds how often a chunk heartbeats (the SDK throttles further).
const dumpHeartbeatEvery = time.Second

// DumpChunk writes part Index of the dump file: the entities of its id range at their latest
// revision not newer than the snapshot, rendered by the file's format, as one gzip member.
// Idempotent: a part whose record exists is kept as it is, and otherwise the part is
// rewritten from the start with the same bytes (fixed order, deterministic gzip), so a
// retried or resumed chunk never changes the dump.
func (a *Dumps) DumpChunk(ctx context.Context, in DumpChunkInput) (res DumpChunkResult, err error) {
	defer func() { err = a.storeFailure(err) }()
	l := in.File
	if err := l.Validate(); err != nil {
		return DumpChunkResult{}, permanent.Errorf(permanent.BadInput, "%w", err)
	}
	if in.UpToID < in.AfterID || in.SnapshotTime.IsZero() {
		return DumpChunkResult{}, permanent.Errorf(permanent.BadInput,
			"chunk %d: id range (%d, %d] or snapshot time %s is not valid", in.Index, in.AfterID, in.UpToID, in.SnapshotTime)
	}
	format, err := a.format(l.Format)
	if err != nil {
		return DumpChunkResult{}, err
	}
	info, err := dump.ReadPartInfo(ctx, a.Store, l, in.Index)
	switch {
	case err == nil:
		return chunkResult(info, true), nil
	case !errors.Is(err, dump.ErrNotFound):
		return DumpChunkResult{}, fmt.Errorf("chunk %d: %w", in.Index, err)
	}

	if activity.HasHeartbeatDetails(ctx) {
		// A gzip member cannot be continued, so the part restarts; the cursor is logged
		// to show how much the lost attempt had done.
		var p DumpChunkProgress
		if activity.GetHeartbeatDetails(ctx, &p) == nil {
			activity.GetLogger(ctx).Info("rewriting dump part after a lost attempt", "Part", in.Index, "LostAtID", p.CursorID, "LostEntities", p.Entities)
		}
	}
	lastBeat := time.Now()
	info, err = dump.WritePart(ctx, a.Store, l, in.Index, a.level(), func(pw *dump.PartWriter) error {
		sink, err := format.NewSink(ctx, pw, in.File, in.SnapshotTime)
		if err != nil {
			return err
		}
		var n int64
		err = a.scanRevisions(ctx, in, func(r *DumpRevision) error {
			if r.IsDeleted || (r.IsRedirect && !format.IncludesRedirects()) {
				return nil
			}
			if err := sink.WriteRevision(r); err != nil {
				return fmt.Errorf("entity %s revision %d: %w", r.EntityID, r.RevisionID, err)
			}
			n++
			if time.Since(lastBeat) >= dumpHeartbeatEvery {
				lastBeat = time.Now()
				activity.RecordHeartbeat(ctx, DumpChunkProgress{Index: in.Index, CursorID: r.InternalID, Entities: n})
			}
			return nil
		})
		if err != nil {
			return err
		}
		return sink.Close()
	})
	if err != nil {
		return DumpChunkResult{}, fmt.Errorf("chunk %d: %w", in.Index, err)
	}
	a.Metrics.DumpPart(string(l.Format), info.Entities, info.UncompressedBytes, info.CompressedBytes)
	return chunkResult(info, false), nil
}

func chunkResult(info dump.PartInfo, done bool) DumpChunkResult {
	return DumpChunkResult{
		Index: info.Index, Entities: info.EntityTotal(), EntityCounts: info.Entities,
		UncompressedBytes: info.UncompressedBytes, CompressedBytes: info.CompressedBytes, AlreadyDone: done,
	}
}

// DumpRevision is one entity at the revision a dump shows.
type DumpRevision struct {
	InternalID int64
	EntityID   string
	EntityType string // Q, P, L, E
	RevisionID int64
	CreatedAt  time.Time
	// Modified is the revision's time as shown (the source's, for an imported revision) and
	// PageID the entity's page ID (the source's, or the internal id).
	Modified    time.Time
	PageID      int64
	IsRedirect  bool
	IsDeleted   bool
	RedirectsTo string // entity id, for a redirect
	// Line is the stored content: the compact dump line without page metadata, or
	// {"entity":…,"redirect":…} for a redirect. Valid until the next row.
	Line []byte
}

// chunkQuery selects, for each entity of an id range, its latest revision created at or
// before the snapshot. The correlated MAX reads the entity's revisions through the primary
// key (internal_id, revision_id), so the content of older revisions is never fetched.
const chunkQuery = `SELECT m.internal_id, m.entity_id, m.entity_type, r.revision_id, r.created_at,
 COALESCE(r.modified_at, r.created_at), COALESCE(h.page_id, m.internal_id),
 r.is_redirect, r.is_deleted, t.entity_id, r.content_encoding, r.content
 FROM entity_id_mapping m
 LEFT JOIN entity_head h ON h.internal_id = m.internal_id
 JOIN entity_revisions r ON r.internal_id = m.internal_id AND r.revision_id = (
   SELECT MAX(r2.revision_id) FROM entity_revisions r2 WHERE r2.internal_id = m.internal_id AND r2.created_at <= ?)
 LEFT JOIN entity_id_mapping t ON t.internal_id = r.redirects_to
 WHERE m.internal_id > ? AND m.internal_id <= ?`

// scanRevisions streams the chunk's entities in internal id order. Incremental dumps keep
// the entities whose shown revision is newer than Since: revisions of an entity are
// numbered in time order, so that is exactly "changed in (since, snapshot]".
func (a *Dumps) scanRevisions(ctx context.Context, in DumpChunkInput, fn func(*DumpRevision) error) error {
	q := chunkQuery
	args := []any{in.SnapshotTime.UTC(), in.AfterID, in.UpToID}
	if in.File.Kind == dump.KindIncremental {
		q += " AND r.created_at > ?"
		args = append(args, in.File.Since.UTC())
	}
	if len(in.EntityTypes) > 0 {
		q += " AND m.entity_type IN (?" + strings.Repeat(",?", len(in.EntityTypes)-1) + ")"
		for _, t := range in.EntityTypes {
			args = append(args, t)
		}
	}
	q += " ORDER BY m.internal_id"

	// Reading and decompressing run on their own goroutine, ahead of fn (which
	// compresses), so the database round trips overlap with compression. Slots are
	// recycled, which bounds memory to scanAhead entities.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	free := make(chan *scanSlot, scanAhead)
	for range scanAhead {
		free <- &scanSlot{}
	}
	full := make(chan *scanSlot, scanAhead)
	readErr := make(chan error, 1)
	go func() {
		defer close(full)
		readErr <- a.readRevisions(ctx, q, args, in, free, full)
	}()
	var fnErr error
	for slot := range full {
		if fnErr == nil {
			fnErr = fn(&slot.r)
			if fnErr != nil {
				cancel()
			}
		}
		free <- slot
	}
	if err := <-readErr; err != nil && fnErr == nil {
		return err
	}
	return fnErr
}

// scanAhead is how many entities the reader may be ahead of the writer.
const scanAhead = 32

type scanSlot struct {
	r       DumpRevision
	content []byte // r.Line's buffer, reused
}

func (a *Dumps) readRevisions(ctx context.Context, q string, args []any, in DumpChunkInput, free <-chan *scanSlot, full chan<- *scanSlot) error {
	rows, err := a.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("read revisions of ids (%d, %d]: %w", in.AfterID, in.UpToID, err)
	}
	defer rows.Close()
	var (
		to       sql.NullString
		encoding string
		content  sql.RawBytes // valid until the next row; decoded before it
	)
	for rows.Next() {
		var slot *scanSlot
		select {
		case slot = <-free:
		case <-ctx.Done():
			return ctx.Err()
		}
		r := &slot.r
		if err := rows.Scan(&r.InternalID, &r.EntityID, &r.EntityType, &r.RevisionID, &r.CreatedAt, &r.Modified, &r.PageID,
			&r.IsRedirect, &r.IsDeleted, &to, &encoding, &content); err != nil {
			return fmt.Errorf("read revisions of ids (%d, %d]: %w", in.AfterID, in.UpToID, err)
		}
		r.RedirectsTo, r.Line = to.String, nil
		if !r.IsDeleted && !(r.IsRedirect && r.RedirectsTo == "") {
			if slot.content, err = store.DecodeContent(encoding, content, slot.content[:0]); err != nil {
				return fmt.Errorf("entity %s revision %d: %w", r.EntityID, r.RevisionID, err)
			}
			r.Line = slot.content
		}
		full <- slot
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read revisions of ids (%d, %d]: %w", in.AfterID, in.UpToID, err)
	}
	return nil
}

// DumpAssembleInput names the dump file to publish from its parts.
type DumpAssembleInput struct {
	File         dump.Layout
	Parts        int
	SnapshotTime time.Time
	StartedAt    time.Time
	// Replace publishes over the file if another run has published it (--force); without
	// it that file is kept.
	Replace bool
}

// DumpAssembleResult describes the published file.
type DumpAssembleResult struct {
	File         string
	Key          string
	MetadataKey  string
	Bytes        int64
	MD5          string
	SHA1         string
	SHA256       string
	EntityCount  int64
	EntityCounts map[string]int64
	// ChecksumKeys are the day's md5sums, sha1sums and sha256sums files.
	ChecksumKeys []string
	// SnapshotTime is the cut of the file's data.
	SnapshotTime time.Time
	// AlreadyPublished says the file had been published by another run and was kept as it
	// is; the fields describe that file.
	AlreadyPublished bool `json:",omitempty"`
}

// assembleResult describes the published file of l from its metadata.
func assembleResult(l dump.Layout, meta dump.Metadata, kept bool) DumpAssembleResult {
	out := DumpAssembleResult{
		File: meta.File, Key: meta.Key, MetadataKey: l.MetadataKey(), Bytes: meta.Bytes,
		MD5: meta.MD5, SHA1: meta.SHA1, SHA256: meta.SHA256,
		EntityCount: meta.EntityCount, EntityCounts: meta.EntityCounts,
		SnapshotTime: meta.SnapshotTime, AlreadyPublished: kept,
	}
	for _, algo := range dump.ChecksumAlgorithms {
		out.ChecksumKeys = append(out.ChecksumKeys, l.ChecksumKey(algo))
	}
	return out
}

// assembleLockWait is how long an assembly waits for another dump of the same date.
const assembleLockWait = 10 * time.Minute

// DumpAssemble concatenates the parts into the dump file, merges its checksums into the
// day's files, writes its metadata, moves latest-* and deletes the parts; a file another
// run published is kept unless in.Replace. Idempotent: dump.Assembler.Assemble finishes an
// interrupted assembly and repeats a finished one without change. The day's checksum files
// are read-merge-written, so assemblies of one date take a MySQL named lock (shared by
// every worker) for the whole run, and updates of a latest-* pointer one of their own.
func (a *Dumps) DumpAssemble(ctx context.Context, in DumpAssembleInput) (res DumpAssembleResult, err error) {
	defer func() { err = a.storeFailure(err) }()
	l := in.File
	if err := l.Validate(); err != nil {
		return DumpAssembleResult{}, permanent.Errorf(permanent.BadInput, "%w", err)
	}
	format, err := a.format(l.Format)
	if err != nil {
		return DumpAssembleResult{}, err
	}
	framing, err := format.Framing(ctx, in.File, in.SnapshotTime)
	if err != nil {
		return DumpAssembleResult{}, err
	}
	// Assembly streams the whole file; heartbeats say the worker is alive meanwhile.
	stopBeats := heartbeatWhile(ctx, 5*time.Second)
	defer stopBeats()

	unlock, err := a.lock(ctx, "dump-assemble-"+l.DateStamp()+"-"+l.Name, "another dump of "+l.DateStamp()+" is still assembling")
	if err != nil {
		return DumpAssembleResult{}, fmt.Errorf("assemble %s: %w", l.FileName(), err)
	}
	defer unlock()
	asm := &dump.Assembler{Store: a.Store, Level: a.level(), LockLatest: func(ctx context.Context, key string) (func(), error) {
		return a.lock(ctx, "dump-latest-"+key, "another dump is moving "+key)
	}}
	meta, err := asm.Assemble(ctx, dump.AssembleRequest{
		Layout: l, Parts: in.Parts, Framing: framing, SnapshotTime: in.SnapshotTime, StartedAt: in.StartedAt, Replace: in.Replace,
	})
	if err != nil {
		return DumpAssembleResult{}, err
	}
	if !meta.Kept {
		a.Metrics.DumpPublished(string(l.Format))
	}
	return assembleResult(l, meta.Metadata, meta.Kept), nil
}

// lock takes a MySQL named lock (shared by every worker) on a connection of its own; the
// returned function releases it (a lost connection releases it too). busy says what holds
// it, for the error after assembleLockWait.
func (a *Dumps) lock(ctx context.Context, name, busy string) (func(), error) {
	conn, err := a.DB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("database connection for lock %s: %w", name, err)
	}
	// MySQL limits lock names to 64 characters.
	if len(name) > 64 {
		sum := sha256.Sum256([]byte(name))
		name = name[:47] + "-" + hex.EncodeToString(sum[:8])
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", name, int(assembleLockWait.Seconds())).Scan(&got); err != nil {
		conn.Close()
		return nil, fmt.Errorf("take lock %s: %w", name, err)
	}
	if got.Int64 != 1 {
		conn.Close()
		return nil, fmt.Errorf("%s after %s (lock %s)", busy, assembleLockWait, name)
	}
	return func() {
		// Background: the release must happen even when the activity was cancelled.
		_, _ = conn.ExecContext(context.Background(), "SELECT RELEASE_LOCK(?)", name)
		conn.Close()
	}, nil
}

// heartbeatWhile heartbeats every interval until the returned function is called.
func heartbeatWhile(ctx context.Context, every time.Duration) func() {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return func() { close(done) }
}

func (a *Dumps) level() int {
	if a.Level == 0 {
		return dump.DefaultLevel
	}
	return a.Level
}

func (a *Dumps) format(f dump.Format) (DumpFormat, error) {
	formats := a.Formats
	if formats == nil {
		formats = map[dump.Format]DumpFormat{
			dump.FormatJSON:     JSONDumpFormat{},
			dump.FormatTurtle:   &rdfDumpFormat{dumps: a, format: rdf.Turtle},
			dump.FormatNTriples: &rdfDumpFormat{dumps: a, format: rdf.NTriples},
		}
	}
	df, ok := formats[f]
	if !ok {
		return nil, permanent.Errorf(permanent.BadInput, "dump format %q is not available in this worker", f)
	}
	return df, nil
}

// storeFailure makes the store's refusal of access (dump.IsDenied: credentials, a
// permission, no such bucket) non-retryable, with a message naming the store: retrying
// cannot change the configuration. Other failures (an unreachable store) keep retrying.
func (a *Dumps) storeFailure(err error) error {
	var appErr *temporal.ApplicationError
	if err == nil || errors.As(err, &appErr) || !dump.IsDenied(err) {
		return err
	}
	return permanent.Errorf(permanent.BadConfig, "dump store %s (DUMP_URL) refuses access: %w", a.Store, err)
}

// DumpFormat renders the entities of a dump format into parts.
type DumpFormat interface {
	// IncludesRedirects says whether redirects are dumped (RDF: owl:sameAs) or left out (JSON).
	IncludesRedirects() bool
	// NewSink starts the entity output of one part of file, whose data is as of snapshot.
	NewSink(ctx context.Context, part *dump.PartWriter, file dump.Layout, snapshot time.Time) (EntitySink, error)
	// Framing is what goes around the parts in the dump file.
	Framing(ctx context.Context, file dump.Layout, snapshot time.Time) (dump.Framing, error)
}

// EntitySink writes the entities of one part.
type EntitySink interface {
	// WriteRevision writes one entity (never a deleted one; a redirect only when the format
	// includes redirects).
	WriteRevision(r *DumpRevision) error
	// Close ends the part's entity output (not the gzip member).
	Close() error
}

// JSONDumpFormat is Wikidata's JSON dump: the stored compact line with page metadata.
type JSONDumpFormat struct{}

// IncludesRedirects implements DumpFormat: Wikidata's JSON dumps have no redirects.
func (JSONDumpFormat) IncludesRedirects() bool { return false }

// Framing implements DumpFormat.
func (JSONDumpFormat) Framing(context.Context, dump.Layout, time.Time) (dump.Framing, error) {
	return dump.JSONFraming, nil
}

// NewSink implements DumpFormat.
func (JSONDumpFormat) NewSink(_ context.Context, part *dump.PartWriter, _ dump.Layout, _ time.Time) (EntitySink, error) {
	return &jsonSink{w: dump.NewJSONEntityWriter(part)}, nil
}

type jsonSink struct {
	w    *dump.JSONEntityWriter
	line []byte
}

func (s *jsonSink) WriteRevision(r *DumpRevision) error {
	var err error
	if s.line, err = AppendDumpLine(s.line[:0], r); err != nil {
		return err
	}
	return s.w.WriteEntity(entityTypeName(r.EntityType), s.line)
}

func (s *jsonSink) Close() error { return nil }

// entityTypeName is the dump's name of an entity type letter ("item" for Q); an unknown
// letter names itself.
func entityTypeName(letter string) string {
	if t, ok := wikibase.EntityTypeOfLetter(letter); ok {
		return t.Name
	}
	return letter
}

// AppendDumpLine appends r's JSON dump line: the stored line with Wikidata's page metadata
// (pageid, ns, title, lastrevid, modified) spliced in before the closing brace, where
// Wikibase's --page-metadata puts it: the page ID and the revision's ID and time (an
// imported entity's from its source), the namespace and title of the entity's type.
func AppendDumpLine(dst []byte, r *DumpRevision) ([]byte, error) {
	line := bytes.TrimRight(r.Line, " \n\r\t")
	if len(line) < 2 || line[0] != '{' || line[len(line)-1] != '}' {
		return dst, errors.New("stored content is not a JSON object")
	}
	typ, ok := wikibase.EntityTypeOfLetter(r.EntityType)
	if !ok {
		return dst, fmt.Errorf("entity type %q has no page namespace", r.EntityType)
	}
	dst = append(dst, line[:len(line)-1]...)
	if len(line) > 2 {
		dst = append(dst, ',')
	}
	dst = append(dst, `"pageid":`...)
	dst = strconv.AppendInt(dst, r.pageID(), 10)
	dst = append(dst, `,"ns":`...)
	dst = strconv.AppendInt(dst, typ.Namespace, 10)
	// Entity ids and the prefixes are plain ASCII without characters JSON escapes.
	dst = append(dst, `,"title":"`...)
	dst = append(dst, typ.TitlePrefix...)
	dst = append(dst, r.EntityID...)
	dst = append(dst, `","lastrevid":`...)
	dst = strconv.AppendInt(dst, r.RevisionID, 10)
	dst = append(dst, `,"modified":"`...)
	dst = r.modified().UTC().AppendFormat(dst, "2006-01-02T15:04:05Z")
	dst = append(dst, `"}`...)
	return dst, nil
}

// pageID is the page ID shown: PageID, or the internal id when it is not set.
func (r *DumpRevision) pageID() int64 {
	if r.PageID > 0 {
		return r.PageID
	}
	return r.InternalID
}

// modified is the time shown: Modified, or CreatedAt when it is not set.
func (r *DumpRevision) modified() time.Time {
	if r.Modified.IsZero() {
		return r.CreatedAt
	}
	return r.Modified
}
