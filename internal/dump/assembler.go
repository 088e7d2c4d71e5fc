package dump

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"reflect"
	"strings"
	"time"
)

// Metadata describes one finished dump file. It is stored next to the file
// (Layout.MetadataKey), one per file: never a shared metadata.json.
type Metadata struct {
	Name   string `json:"name"`
	File   string `json:"file"`
	Key    string `json:"key"`
	Date   string `json:"date"`
	Format Format `json:"format"`
	Flavor Flavor `json:"flavor"`
	Kind   Kind   `json:"kind"`
	// SnapshotTime is the moment the dump's view of the data was taken.
	SnapshotTime time.Time `json:"snapshot_time"`
	// The dump covers changes in [TimeRangeStart, TimeRangeEnd); a full
	// dump has no start.
	TimeRangeStart    *time.Time       `json:"time_range_start"`
	TimeRangeEnd      time.Time        `json:"time_range_end"`
	EntityCount       int64            `json:"entity_count"`
	EntityCounts      map[string]int64 `json:"entity_counts"`
	Bytes             int64            `json:"bytes"`
	UncompressedBytes int64            `json:"uncompressed_bytes"`
	Compression       string           `json:"compression"`
	MD5               string           `json:"md5"`
	SHA1              string           `json:"sha1"`
	SHA256            string           `json:"sha256"`
	StartedAt         time.Time        `json:"started_at"`
	FinishedAt        time.Time        `json:"finished_at"`
	DurationSeconds   float64          `json:"duration_seconds"`
	Parts             []PartInfo       `json:"parts"`
}

// Pointer is the content of a latest-* pointer object: where the latest
// finished dump of one kind is.
type Pointer struct {
	File         string    `json:"file"`
	Key          string    `json:"key"`
	MetadataKey  string    `json:"metadata_key"`
	Date         string    `json:"date"`
	SnapshotTime time.Time `json:"snapshot_time"`
	Bytes        int64     `json:"bytes"`
	SHA256       string    `json:"sha256"`
}

// AssembleRequest says which dump file to assemble from which parts.
type AssembleRequest struct {
	Layout Layout
	// Parts is the number of chunks; parts 0..Parts-1 must all be written.
	Parts   int
	Framing Framing
	// SnapshotTime is when the dump's data was read; it ends the time range.
	SnapshotTime time.Time
	// StartedAt is when the dump run started, for the duration. With SnapshotTime it
	// tells this run's metadata from another run's.
	StartedAt time.Time
	// Replace publishes over a finished dump of the same file made by another run. Without
	// it, that dump is kept as it is (a published dump never changes) and returned.
	Replace bool
}

// Assembled is the outcome of Assemble: the published dump's metadata.
type Assembled struct {
	Metadata
	// Kept says another run had already published the file, which was kept as it is:
	// Metadata is that run's, and this run's parts were deleted unused.
	Kept bool
}

// Assembler turns finished parts into the published dump file.
type Assembler struct {
	Store Store
	// Level compresses the framing members (parts are never recompressed).
	Level int
	// Now gives the finish time; time.Now if nil.
	Now func() time.Time
	// LockLatest, if set, serializes the read-compare-write of a latest-* pointer (key)
	// across processes; assemblies of different dates update the same pointer.
	LockLatest func(ctx context.Context, key string) (unlock func(), err error)
}

// Assemble publishes the dump file described by req, in this order:
//
//  1. concatenate header, parts (with separators) and footer into the dump
//     file, hashing it (md5, sha1, sha256) in the same pass;
//  2. merge its lines into the day's checksum files;
//  3. write its metadata;
//  4. point latest-* at it, unless it points to a newer date;
//  5. delete the parts, and what killed writes left of them.
//
// Each step is idempotent, and the metadata marks steps 1–3 as done, so
// running Assemble again after a failure at any point finishes the job and
// leaves the same dump file, checksums and pointer.
//
// A file that another run has published is kept unless req.Replace: steps 2,
// 4 and 5 are repeated for it (finishing its publication if that run was
// interrupted) and this run's parts are deleted. With req.Replace the new
// file replaces it in step 1: the object appears only when complete, so a
// reader sees the old file or the new one, never part of either.
//
// Callers serialize assemblies of one date: they share the checksum files.
func (a *Assembler) Assemble(ctx context.Context, req AssembleRequest) (Assembled, error) {
	l := req.Layout
	if err := l.Validate(); err != nil {
		return Assembled{}, fmt.Errorf("assemble: %w", err)
	}
	if req.Parts < 0 {
		return Assembled{}, fmt.Errorf("assemble %s: part count %d is negative", l.FileName(), req.Parts)
	}
	if req.SnapshotTime.IsZero() {
		return Assembled{}, fmt.Errorf("assemble %s: missing snapshot time", l.FileName())
	}
	previous, published, err := a.Published(ctx, l)
	if err != nil {
		return Assembled{}, fmt.Errorf("assemble %s: %w", l.FileName(), err)
	}
	if published && !sameRun(previous, req) && !req.Replace {
		if err := a.writeChecksums(ctx, l, previous); err != nil {
			return Assembled{}, err
		}
		if err := a.finish(ctx, l, previous); err != nil {
			return Assembled{}, err
		}
		return Assembled{Metadata: previous, Kept: true}, nil
	}
	parts, missing, err := a.readPartInfos(ctx, l, req.Parts)
	if err != nil {
		return Assembled{}, err
	}

	meta := previous
	done := published && sameRun(previous, req) && (len(missing) > 0 || reflect.DeepEqual(previous.Parts, parts))
	if !done {
		if len(missing) > 0 {
			return Assembled{}, fmt.Errorf("assemble %s: %d of %d parts are not finished, first missing is part %d (%s)",
				l.FileName(), len(missing), req.Parts, missing[0], l.PartKey(missing[0]))
		}
		if meta, err = a.concatenate(ctx, req, parts); err != nil {
			return Assembled{}, err
		}
	}
	if err := a.writeChecksums(ctx, l, meta); err != nil {
		return Assembled{}, err
	}
	if !done {
		if err := a.writeMetadata(ctx, l, meta); err != nil {
			return Assembled{}, err
		}
	}
	if err := a.finish(ctx, l, meta); err != nil {
		return Assembled{}, err
	}
	return Assembled{Metadata: meta}, nil
}

// finish ends the publication of meta's file: the latest pointer, and the removal of the
// parts and of what killed writes of the date's files left.
func (a *Assembler) finish(ctx context.Context, l Layout, meta Metadata) error {
	if err := a.updateLatest(ctx, l, meta); err != nil {
		return err
	}
	if err := a.deleteParts(ctx, l); err != nil {
		return err
	}
	// The file, its metadata and the checksum files are written only by assemblies of this
	// date, which the caller serializes, so no write of them is running now.
	prefixes := []string{l.FileKey() + "."}
	for _, algo := range ChecksumAlgorithms {
		prefixes = append(prefixes, l.ChecksumKey(algo)+".")
	}
	for _, p := range prefixes {
		if _, err := a.Store.RemoveAbandoned(ctx, p); err != nil {
			return fmt.Errorf("assemble %s: %w", l.FileName(), err)
		}
	}
	return nil
}

// sameRun reports whether meta was written by the run req belongs to (an earlier attempt
// of this assembly).
func sameRun(meta Metadata, req AssembleRequest) bool {
	return meta.StartedAt.Equal(req.StartedAt.UTC()) && meta.SnapshotTime.Equal(req.SnapshotTime.UTC())
}

// Published returns the metadata of l's published file, and whether the file is there as
// the metadata describes it. Metadata without its file (or with a file of another size)
// is a publication that was damaged or is being replaced right now: not published.
func (a *Assembler) Published(ctx context.Context, l Layout) (Metadata, bool, error) {
	meta, ok, err := a.readMetadata(ctx, l)
	if err != nil || !ok {
		return Metadata{}, false, err
	}
	info, err := a.Store.Stat(ctx, l.FileKey())
	if errors.Is(err, ErrNotFound) {
		return meta, false, nil
	}
	if err != nil {
		return Metadata{}, false, err
	}
	return meta, info.Size == meta.Bytes, nil
}

func (a *Assembler) readMetadata(ctx context.Context, l Layout) (Metadata, bool, error) {
	b, err := ReadAll(ctx, a.Store, l.MetadataKey())
	if errors.Is(err, ErrNotFound) {
		return Metadata{}, false, nil
	}
	if err != nil {
		return Metadata{}, false, err
	}
	var m Metadata
	if err := json.Unmarshal(b, &m); err != nil {
		return Metadata{}, false, fmt.Errorf("metadata %s: %w", l.MetadataKey(), err)
	}
	return m, true, nil
}

func (a *Assembler) readPartInfos(ctx context.Context, l Layout, n int) ([]PartInfo, []int, error) {
	parts := make([]PartInfo, 0, n)
	var missing []int
	for i := 0; i < n; i++ {
		info, err := ReadPartInfo(ctx, a.Store, l, i)
		if errors.Is(err, ErrNotFound) {
			missing = append(missing, i)
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("assemble %s: %w", l.FileName(), err)
		}
		parts = append(parts, info)
	}
	return parts, missing, nil
}

// concatenate writes the dump file and returns its metadata. Parts are
// copied byte for byte: a gzip file may hold many members and every reader
// (gzip -d, zcat, Go's compress/gzip) decompresses them as one stream.
func (a *Assembler) concatenate(ctx context.Context, req AssembleRequest, parts []PartInfo) (Metadata, error) {
	l := req.Layout
	header, err := a.member(req.Framing.Header)
	if err != nil {
		return Metadata{}, err
	}
	separator, err := a.member(req.Framing.Separator)
	if err != nil {
		return Metadata{}, err
	}
	footer, err := a.member(req.Framing.Footer)
	if err != nil {
		return Metadata{}, err
	}

	w, err := a.Store.NewWriter(ctx, l.FileKey(), "application/gzip")
	if err != nil {
		return Metadata{}, fmt.Errorf("assemble %s: %w", l.FileName(), err)
	}
	md5h, sha1h, sha256h := md5.New(), sha1.New(), sha256.New()
	out := &countingWriter{w: io.MultiWriter(w, md5h, sha1h, sha256h)}
	meta := Metadata{
		Name: l.Name, File: l.FileName(), Key: l.FileKey(), Date: l.DateStamp(),
		Format: l.Format, Flavor: l.Flavor, Kind: l.Kind,
		SnapshotTime: req.SnapshotTime.UTC(), TimeRangeEnd: req.SnapshotTime.UTC(),
		EntityCounts: map[string]int64{}, Compression: "gzip", Parts: parts,
		UncompressedBytes: int64(len(req.Framing.Header) + len(req.Framing.Footer)),
	}
	if l.Kind == KindIncremental {
		since := l.Since.UTC()
		meta.TimeRangeStart = &since
	}
	write := func() error {
		if _, err := out.Write(header); err != nil {
			return err
		}
		nonEmpty := 0
		for _, p := range parts {
			if p.UncompressedBytes == 0 {
				continue // an empty chunk adds nothing, not even a separator
			}
			if nonEmpty > 0 {
				if _, err := out.Write(separator); err != nil {
					return err
				}
				meta.UncompressedBytes += int64(len(req.Framing.Separator))
			}
			if err := a.copyPart(ctx, l, p, out); err != nil {
				return err
			}
			nonEmpty++
			meta.UncompressedBytes += p.UncompressedBytes
			for t, n := range p.Entities {
				meta.EntityCounts[t] += n
				meta.EntityCount += n
			}
		}
		_, err := out.Write(footer)
		return err
	}
	if err := write(); err != nil {
		_ = w.Abort()
		return Metadata{}, fmt.Errorf("assemble %s: %w", l.FileName(), err)
	}
	if err := w.Close(); err != nil {
		return Metadata{}, fmt.Errorf("assemble %s: %w", l.FileName(), err)
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	meta.Bytes = out.n
	meta.MD5 = hexSum(md5h)
	meta.SHA1 = hexSum(sha1h)
	meta.SHA256 = hexSum(sha256h)
	meta.StartedAt = req.StartedAt.UTC()
	meta.FinishedAt = now().UTC()
	if !req.StartedAt.IsZero() {
		meta.DurationSeconds = meta.FinishedAt.Sub(meta.StartedAt).Seconds()
	}
	return meta, nil
}

func (a *Assembler) copyPart(ctx context.Context, l Layout, p PartInfo, out io.Writer) error {
	r, err := a.Store.NewReader(ctx, l.PartKey(p.Index))
	if err != nil {
		return fmt.Errorf("part %d: %w", p.Index, err)
	}
	defer r.Close()
	n, err := io.Copy(out, r)
	if err != nil {
		return fmt.Errorf("copy part %d: %w", p.Index, err)
	}
	// A part whose size disagrees with its record was cut short or
	// replaced; publishing it would corrupt the dump.
	if n != p.CompressedBytes {
		return fmt.Errorf("part %d (%s) has %d bytes, its record says %d", p.Index, l.PartKey(p.Index), n, p.CompressedBytes)
	}
	return nil
}

func (a *Assembler) member(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, nil
	}
	return gzipMember(b, a.Level)
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

func (m Metadata) sum(algo ChecksumAlgorithm) string {
	switch algo {
	case MD5:
		return m.MD5
	case SHA1:
		return m.SHA1
	default:
		return m.SHA256
	}
}

// writeChecksums merges the file's line into each of the day's checksum
// files. Two dumps of the same date assembled at the very same moment could
// race on a file (object stores have no locks); the dump workflow assembles
// one file at a time per date.
func (a *Assembler) writeChecksums(ctx context.Context, l Layout, meta Metadata) error {
	for _, algo := range ChecksumAlgorithms {
		key := l.ChecksumKey(algo)
		existing, err := ReadAll(ctx, a.Store, key)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("assemble %s: %w", l.FileName(), err)
		}
		merged, err := MergeChecksumLine(existing, meta.File, meta.sum(algo))
		if err != nil {
			return fmt.Errorf("assemble %s: %s: %w", l.FileName(), key, err)
		}
		if string(merged) == string(existing) {
			continue
		}
		if err := a.Store.ReplaceAtomic(ctx, key, merged, "text/plain; charset=utf-8"); err != nil {
			return fmt.Errorf("assemble %s: %w", l.FileName(), err)
		}
	}
	return nil
}

func (a *Assembler) writeMetadata(ctx context.Context, l Layout, meta Metadata) error {
	b, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return fmt.Errorf("assemble %s: encode metadata: %w", l.FileName(), err)
	}
	if err := a.Store.ReplaceAtomic(ctx, l.MetadataKey(), append(b, '\n'), "application/json"); err != nil {
		return fmt.Errorf("assemble %s: %w", l.FileName(), err)
	}
	return nil
}

// updateLatest points latest-* at this dump unless the pointer names a newer
// date: latest is the newest date, whenever each date was dumped. Of two dumps
// of one date (one replacing the other) the later snapshot wins.
func (a *Assembler) updateLatest(ctx context.Context, l Layout, meta Metadata) error {
	if a.LockLatest != nil {
		unlock, err := a.LockLatest(ctx, l.LatestKey())
		if err != nil {
			return fmt.Errorf("assemble %s: %w", l.FileName(), err)
		}
		defer unlock()
	}
	p := Pointer{
		File: meta.File, Key: meta.Key, MetadataKey: l.MetadataKey(), Date: meta.Date,
		SnapshotTime: meta.SnapshotTime, Bytes: meta.Bytes, SHA256: meta.SHA256,
	}
	current, err := ReadPointer(ctx, a.Store, l)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return fmt.Errorf("assemble %s: %w", l.FileName(), err)
	case current.Key == p.Key && current.SHA256 == p.SHA256 && current.SnapshotTime.Equal(p.SnapshotTime):
		return nil // already there
	case current.Date > meta.Date || current.Date == meta.Date && current.SnapshotTime.After(meta.SnapshotTime):
		return nil
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("assemble %s: encode pointer: %w", l.FileName(), err)
	}
	if err := a.Store.ReplaceAtomic(ctx, l.LatestKey(), append(b, '\n'), "application/json"); err != nil {
		return fmt.Errorf("assemble %s: %w", l.FileName(), err)
	}
	// Under the lock no other write of the pointer runs.
	if a.LockLatest != nil {
		if _, err := a.Store.RemoveAbandoned(ctx, l.LatestKey()+"."); err != nil {
			return fmt.Errorf("assemble %s: %w", l.FileName(), err)
		}
	}
	return nil
}

// ReadPointer reads the latest-* pointer for dumps like l.
func ReadPointer(ctx context.Context, store Store, l Layout) (Pointer, error) {
	b, err := ReadAll(ctx, store, l.LatestKey())
	if err != nil {
		return Pointer{}, err
	}
	var p Pointer
	if err := json.Unmarshal(b, &p); err != nil {
		return Pointer{}, fmt.Errorf("latest pointer %s: %w", l.LatestKey(), err)
	}
	return p, nil
}

// deleteParts deletes the parts of every run of the file (those of runs that never
// finished too: the file is published) and what killed writes left among them.
func (a *Assembler) deleteParts(ctx context.Context, l Layout) error {
	root := l.PartsRoot()
	objs, err := a.Store.List(ctx, root)
	if err != nil {
		return fmt.Errorf("assemble %s: %w", l.FileName(), err)
	}
	for _, o := range objs {
		if !strings.HasPrefix(o.Key, root) {
			continue
		}
		if err := a.Store.Delete(ctx, o.Key); err != nil {
			return fmt.Errorf("assemble %s: %w", l.FileName(), err)
		}
	}
	if _, err := a.Store.RemoveAbandoned(ctx, root); err != nil {
		return fmt.Errorf("assemble %s: %w", l.FileName(), err)
	}
	return nil
}
