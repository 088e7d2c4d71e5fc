package wikibase

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
)

// ParseEntities parses a JSON document holding entities: either a
// Special:EntityData / wbgetentities answer ({"entities":{"Q42":{...}}}),
// returning its entities in document order, or a single entity object.
func ParseEntities(data []byte) ([]*Entity, error) {
	s := scanner{data: data}
	if s.peek() != '{' {
		return nil, s.errorf("want a JSON object")
	}
	hasEntities := false
	// A first pass over the top-level keys decides which form this is; it
	// only looks at keys and skips values.
	err := s.object(func(key []byte) error {
		if string(key) == "entities" {
			hasEntities = true
		}
		_, err := s.skip()
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := s.end(); err != nil {
		return nil, err
	}
	if !hasEntities {
		e, err := ParseEntity(data)
		if err != nil {
			return nil, err
		}
		return []*Entity{e}, nil
	}
	p := parser{s: scanner{data: data}}
	p.s.intern = internPool.Get().(*internTable)
	defer internPool.Put(p.s.intern)
	var out []*Entity
	err = p.s.object(func(key []byte) error {
		if string(key) != "entities" {
			_, err := p.s.skip()
			return err
		}
		return p.s.mapOrEmptyArray(func(key []byte) error {
			k := string(key)
			e := &Entity{}
			if err := p.entity(e); err != nil {
				return fmt.Errorf("entities.%s: %w", k, err)
			}
			out = append(out, e)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Compression of a dump stream, detected from its first bytes.
type Compression string

// Compressions a DumpReader understands.
const (
	CompressionNone  Compression = "none"
	CompressionGzip  Compression = "gzip"
	CompressionBzip2 Compression = "bzip2"
)

// DetectCompression returns the compression of a stream from its magic
// bytes.
func DetectCompression(head []byte) Compression {
	switch {
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		return CompressionGzip
	case len(head) >= 3 && string(head[:3]) == "BZh":
		return CompressionBzip2
	}
	return CompressionNone
}

// Decompress wraps r in a decompressor chosen by its magic bytes (gzip,
// including multi-member gzip as Wikidata publishes it, bzip2 including
// concatenated streams, or none).
func Decompress(r io.Reader) (io.Reader, Compression, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	head, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, "", fmt.Errorf("read stream header: %w", err)
	}
	if len(head) >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd {
		return nil, "", errors.New("zstd compressed input is not supported; decompress it first")
	}
	switch c := DetectCompression(head); c {
	case CompressionGzip:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, "", fmt.Errorf("open gzip stream: %w", err)
		}
		return zr, c, nil
	case CompressionBzip2:
		return bzip2.NewReader(br), c, nil
	default:
		return br, c, nil
	}
}

// LineError reports a dump line that could not be parsed. The DumpReader
// carries on with the next line after returning one.
type LineError struct {
	Line int
	// EntityID is the id found on the line, if any.
	EntityID string
	Err      error
}

func (e *LineError) Error() string {
	if e.EntityID != "" {
		return fmt.Sprintf("dump line %d (entity %s): %v", e.Line, e.EntityID, e.Err)
	}
	return fmt.Sprintf("dump line %d: %v", e.Line, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// DefaultMaxLineBytes bounds one dump line. Wikidata's largest entities are
// a few megabytes; the bound only protects against input without newlines.
const DefaultMaxLineBytes = 256 << 20

// DumpReader reads a Wikidata JSON dump: "[" on the first line, one entity
// per line with a trailing comma, "]" on the last line. Snippets without the
// brackets are read too. It streams: memory use is one line.
type DumpReader struct {
	r           *bufio.Reader
	compression Compression
	line        int
	buf         []byte
	// MaxLineBytes bounds one line; longer lines are skipped with a
	// LineError. Zero means DefaultMaxLineBytes.
	MaxLineBytes int
}

// NewDumpReader returns a reader over a plain, gzip or bzip2 dump stream,
// detecting the compression from the first bytes.
func NewDumpReader(r io.Reader) (*DumpReader, error) {
	dr, c, err := Decompress(r)
	if err != nil {
		return nil, err
	}
	return &DumpReader{r: bufio.NewReaderSize(dr, 1<<20), compression: c}, nil
}

// Compression returns the compression detected on the stream.
func (d *DumpReader) Compression() Compression { return d.compression }

// NextLine returns the next entity line, with framing (brackets, trailing
// comma, white space) removed, and its 1-based line number. The bytes are
// only valid until the next call. At the end it returns io.EOF. A line
// longer than MaxLineBytes gives a *LineError and is skipped.
func (d *DumpReader) NextLine() ([]byte, int, error) {
	limit := d.MaxLineBytes
	if limit <= 0 {
		limit = DefaultMaxLineBytes
	}
	for {
		line, tooLong, err := d.readLine(limit)
		if err != nil && !(errors.Is(err, io.EOF) && len(line) > 0) {
			if errors.Is(err, io.EOF) {
				return nil, d.line, io.EOF
			}
			return nil, d.line, fmt.Errorf("read dump line %d: %w", d.line+1, err)
		}
		d.line++
		if tooLong {
			return nil, d.line, &LineError{Line: d.line, Err: fmt.Errorf("line longer than %d bytes", limit)}
		}
		line = bytes.TrimSpace(line)
		line = bytes.TrimSuffix(line, []byte{','})
		line = bytes.TrimPrefix(line, []byte{','})
		line = bytes.TrimSpace(line)
		switch string(line) {
		case "", "[", "]":
			continue
		}
		return line, d.line, nil
	}
}

// readLine reads up to and including the next newline.
func (d *DumpReader) readLine(limit int) ([]byte, bool, error) {
	d.buf = d.buf[:0]
	tooLong := false
	for {
		chunk, err := d.r.ReadSlice('\n')
		if !tooLong {
			if len(d.buf)+len(chunk) > limit {
				tooLong = true
				d.buf = d.buf[:0]
			} else {
				d.buf = append(d.buf, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && (len(d.buf) > 0 || tooLong) && errors.Is(err, io.EOF) {
			return d.buf, tooLong, nil
		}
		return d.buf, tooLong, err
	}
}

// Next returns the next entity and its line number. A malformed line gives a
// *LineError (with the line number and the entity id if one could be read);
// calling Next again continues with the following line. At the end it
// returns io.EOF; any other error is fatal.
func (d *DumpReader) Next() (*Entity, int, error) {
	line, n, err := d.NextLine()
	if err != nil {
		return nil, n, err
	}
	e, err := ParseEntity(line)
	if err != nil {
		return nil, n, &LineError{Line: n, EntityID: EntityIDOf(line), Err: err}
	}
	return e, n, nil
}

// errStop ends a scan that found what it looked for.
var errStop = errors.New("stop")

// EntityIDOf returns the "id" member of an entity's top-level JSON object, reading only as far
// as that member: a line malformed further on still names its entity, and the ids of
// statements, forms and senses are never taken for it. It is "" when no id comes before the
// object's first error.
func EntityIDOf(data []byte) string {
	s := scanner{data: data}
	var id string
	s.object(func(key []byte) error {
		if string(key) != "id" {
			_, err := s.skip()
			return err
		}
		if s.peek() == '"' {
			if v, err := s.str(); err == nil && len(v) <= 64 {
				id = v
			}
		}
		return errStop
	})
	return id
}
