package dump

import (
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/klauspost/compress/gzip"
)

// DefaultLevel is the gzip level of parts unless configured otherwise.
// Wikimedia uses -9; level 6 gives files a few per cent larger at a fraction
// of the CPU time, which matters more for a weekly run over 100 M entities.
const DefaultLevel = gzip.DefaultCompression

// PartStats counts what one part holds.
type PartStats struct {
	// Entities counts entities by type ("item", "property", "lexeme"...).
	Entities          map[string]int64 `json:"entities"`
	UncompressedBytes int64            `json:"uncompressed_bytes"`
	CompressedBytes   int64            `json:"compressed_bytes"`
}

// EntityTotal is the number of entities over all types.
func (s PartStats) EntityTotal() int64 {
	var n int64
	for _, c := range s.Entities {
		n += c
	}
	return n
}

// EntityTypes returns the entity types in s, sorted.
func (s PartStats) EntityTypes() []string {
	types := make([]string, 0, len(s.Entities))
	for t := range s.Entities {
		types = append(types, t)
	}
	sort.Strings(types)
	return types
}

// PartWriter compresses one chunk's output as exactly one gzip member. The
// member is deterministic: the header carries no name, no mtime and a fixed
// OS byte, and the level is fixed, so the same bytes in give the same bytes
// out on every run and every machine running the same library version.
type PartWriter struct {
	out   *countingWriter
	gz    *gzip.Writer
	stats PartStats
	err   error
}

// NewPartWriter starts a gzip member on dst at level (gzip.NoCompression to
// gzip.BestCompression, or gzip.DefaultCompression).
func NewPartWriter(dst io.Writer, level int) (*PartWriter, error) {
	out := &countingWriter{w: dst}
	gz, err := gzip.NewWriterLevel(out, level)
	if err != nil {
		return nil, fmt.Errorf("gzip level %d: %w", level, err)
	}
	// The zero time.Time would be written as a garbage mtime (its Unix
	// seconds truncated to 32 bits); the epoch writes 0, "no time".
	gz.ModTime = time.Unix(0, 0)
	return &PartWriter{out: out, gz: gz, stats: PartStats{Entities: map[string]int64{}}}, nil
}

// Write compresses p. It does not count entities; see CountEntity.
func (p *PartWriter) Write(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	n, err := p.gz.Write(b)
	p.stats.UncompressedBytes += int64(n)
	if err != nil {
		p.err = fmt.Errorf("compress part: %w", err)
		return n, p.err
	}
	return n, nil
}

// CountEntity records that one entity of entityType was written.
func (p *PartWriter) CountEntity(entityType string) { p.stats.Entities[entityType]++ }

// Close ends the gzip member (it does not close dst) and returns the counts.
func (p *PartWriter) Close() (PartStats, error) {
	if p.err != nil {
		return PartStats{}, p.err
	}
	if err := p.gz.Close(); err != nil {
		p.err = fmt.Errorf("finish gzip member: %w", err)
		return PartStats{}, p.err
	}
	p.stats.CompressedBytes = p.out.n
	return p.stats, nil
}

// Stats returns the counts so far; CompressedBytes is final only after Close.
func (p *PartWriter) Stats() PartStats {
	s := p.stats
	s.CompressedBytes = p.out.n
	return s
}

// gzipMember compresses b as one complete, deterministic gzip member.
func gzipMember(b []byte, level int) ([]byte, error) {
	var buf bytesBuffer
	w, err := NewPartWriter(&buf, level)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	if _, err := w.Close(); err != nil {
		return nil, err
	}
	return buf.b, nil
}

type bytesBuffer struct{ b []byte }

func (w *bytesBuffer) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
