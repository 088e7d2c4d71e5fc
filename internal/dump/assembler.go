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
	// StartedAt is when the dump run started, for the duration.
	StartedAt time.Time
}

// Assembler turns finished parts into the published dump file.
type Assembler struct {
	Store Store
	// Level compresses the framing members (parts are never recompressed).
	Level int
	// Now gives the finish time; time.Now if nil.
	Now func() time.Time
}

// Assemble publishes the dump file described by req, in this order:
//
//  1. concatenate header, parts (with separators) and footer into the dump
//     file, hashing it (md5, sha1, sha256) in the same pass;
//  2. merge its lines into the day's checksum files;
//  3. write its metadata;
//  4. point latest-* at it, unless a newer dump is already there;
//  5. delete the parts.
//
// Each step is idempotent, and the metadata marks steps 1–3 as done, so
// running Assemble again after a failure at any point finishes the job and
// leaves the same dump file, checksums and pointer.
func (a *Assembler) Assemble(ctx context.Context, req AssembleRequest) (Metadata, error) {
	l := req.Layout
	if err := l.Validate(); err != nil {
		return Metadata{}, fmt.Errorf("assemble: %w", err)
	}
	if req.Parts < 0 {
		return Metadata{}, fmt.Errorf("assemble %s: part count %d is negative", l.FileName(), req.Parts)
	}
	if req.SnapshotTime.IsZero() {
		return Metadata{}, fmt.Errorf("assemble %s: missing snapshot time", l.FileName())
	}
	previous, havePrevious, err := a.readMetadata(ctx, l)
	if err != nil {
		return Metadata{}, err
	}
	parts, missing, err := a.readPartInfos(ctx, l, req.Parts)
	if err != nil {
		return Metadata{}, err
	}

	meta := previous
	done, err := a.alreadyAssembled(ctx, l, previous, havePrevious, parts, missing)
	if err != nil {
		return Metadata{}, err
	}
	if !done {
		if len(missing) > 0 {
			return Metadata{}, fmt.Errorf("assemble %s: %d of %d parts are not finished, first missing is part %d (%s)",
				l.FileName(), len(missing), req.Parts, missing[0], l.PartKey(missing[0]))
		}
		if meta, err = a.concatenate(ctx, req, parts); err != nil {
			return Metadata{}, err
		}
	}
	if err := a.writeChecksums(ctx, l, meta); err != nil {
		return Metadata{}, err
	}
	if !done {
		if err := a.writeMetadata(ctx, l, meta); err != nil {
			return Metadata{}, err
		}
	}
	if err := a.updateLatest(ctx, l, meta); err != nil {
		return Metadata{}, err
	}
	if err := a.deleteParts(ctx, l); err != nil {
		return Metadata{}, err
	}
	return meta, nil
}

// alreadyAssembled reports whether an earlier run got past the metadata
// step for these same parts, so only the later steps remain.
func (a *Assembler) alreadyAssembled(ctx context.Context, l Layout, previous Metadata, havePrevious bool, parts []PartInfo, missing []int) (bool, error) {
	if !havePrevious {
		return false, nil
	}
	info, err := a.Store.Stat(ctx, l.FileKey())
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("assemble %s: %w", l.FileName(), err)
	}
	if info.Size != previous.Bytes {
		return false, nil
	}
	// Parts gone means the earlier run was deleting them; all parts present
	// but different means a new run of the same dump.
	if len(missing) > 0 {
		return true, nil
	}
	return reflect.DeepEqual(previous.Parts, parts), nil
}

func (a *Assembler) readMetadata(ctx context.Context, l Layout) (Metadata, bool, error) {
	b, err := ReadAll(ctx, a.Store, l.MetadataKey())
	if errors.Is(err, ErrNotFound) {
		return Metadata{}, false, nil
	}
	if err != nil {
		return Metadata{}, false, fmt.Errorf("assemble %s: %w", l.FileName(), err)
	}
	var m Metadata
	if err := json.Unmarshal(b, &m); err != nil {
		return Metadata{}, false, fmt.Errorf("assemble %s: metadata %s: %w", l.FileName(), l.MetadataKey(), err)
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

// updateLatest points latest-* at this dump unless the pointer already names
// a dump with a later snapshot (re-assembling an old date must not roll
// latest back).
func (a *Assembler) updateLatest(ctx context.Context, l Layout, meta Metadata) error {
	current, err := ReadPointer(ctx, a.Store, l)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return fmt.Errorf("assemble %s: %w", l.FileName(), err)
	case current.SnapshotTime.After(meta.SnapshotTime):
		return nil
	}
	p := Pointer{
		File: meta.File, Key: meta.Key, MetadataKey: l.MetadataKey(), Date: meta.Date,
		SnapshotTime: meta.SnapshotTime, Bytes: meta.Bytes, SHA256: meta.SHA256,
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("assemble %s: encode pointer: %w", l.FileName(), err)
	}
	if err := a.Store.ReplaceAtomic(ctx, l.LatestKey(), append(b, '\n'), "application/json"); err != nil {
		return fmt.Errorf("assemble %s: %w", l.FileName(), err)
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

func (a *Assembler) deleteParts(ctx context.Context, l Layout) error {
	objs, err := a.Store.List(ctx, l.PartsPrefix())
	if err != nil {
		return fmt.Errorf("assemble %s: %w", l.FileName(), err)
	}
	for _, o := range objs {
		if !strings.HasPrefix(o.Key, l.PartsPrefix()) {
			continue
		}
		if err := a.Store.Delete(ctx, o.Key); err != nil {
			return fmt.Errorf("assemble %s: %w", l.FileName(), err)
		}
	}
	return nil
}
