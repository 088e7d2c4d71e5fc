package wikibase

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/klauspost/compress/gzip"
)

// ParseEntities parses a JSON document holding entities, a Special:EntityData or
// wbgetentities answer ({"entities":{"Q42":{...}}}) or a single entity object, and returns
// its entities in document order. A redirect in it is an error: ParseEntities is for
// documents of entities (tests, fixtures); inputs read with an EntityReader.
func ParseEntities(data []byte) ([]*Entity, error) {
	r, err := NewEntityReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	var out []*Entity
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		e, redirect, err := rec.Parse()
		if err != nil {
			return nil, rec.Error(err)
		}
		if redirect != nil {
			return nil, rec.Error(fmt.Errorf("%s redirects to %s; a document of entities was expected", redirect.From, redirect.To))
		}
		out = append(out, e)
	}
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
// including multi-member gzip as Wikidata publishes it, decoded by klauspost/compress's
// inflate, 1.2–1.4× the standard library's on synthetic dumps, bzip2 including
// concatenated streams, decoded on all cores by a Bzip2Reader, or none). A reader
// that is an io.Closer should be closed if it is not read to its end.
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
		return NewBzip2Reader(br), c, nil
	default:
		return br, c, nil
	}
}

// LineError reports an entity of the input that could not be read or parsed. An
// EntityReader carries on with the next entity after returning one.
type LineError struct {
	// Source names the file, when the input is one of several files.
	Source string
	// Line is the line the entity starts on.
	Line int
	// EntityID is the id found for the entity, if any.
	EntityID string
	Err      error
}

func (e *LineError) Error() string {
	where := fmt.Sprintf("line %d", e.Line)
	if e.Source != "" {
		where = e.Source + " " + where
	}
	if e.EntityID != "" {
		return fmt.Sprintf("%s (entity %s): %v", where, e.EntityID, e.Err)
	}
	return fmt.Sprintf("%s: %v", where, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// ErrNoEntities is the error of an input that holds JSON values but no entity, such as a
// Special:EntityData document with an empty "entities" object.
var ErrNoEntities = errors.New("no entities in the input: want a Wikidata JSON dump (one entity per line, as in latest-all.json), a JSON array of entities, or Special:EntityData documents ({\"entities\":{...}})")

// DefaultMaxLineBytes bounds one line of a dump, and a value that spans lines.
// Wikidata's largest entities are a few megabytes; the bound only protects against input
// without newlines.
const DefaultMaxLineBytes = 256 << 20

// Record is one entity of an input, not yet parsed.
type Record struct {
	// Source names the file the record is in (set by FilesReader).
	Source string
	// Line is the 1-based line the entity starts on.
	Line int
	// Key is the member name of the entity in an "entities" object (Special:EntityData,
	// wbgetentities); "" for dump lines.
	Key string
	// JSON is the entity's JSON object. It is only valid until the reader reads on.
	JSON []byte
}

// Redirect is an entity id that redirects to another entity of its type, what a merge
// leaves behind (Wikibase's EntityRedirect).
type Redirect struct {
	From, To string
}

// Parse parses the record into an entity, a redirect, or both. Two forms are redirects:
// Wikibase's redirect content {"entity":"Q1","redirect":"Q2"} (a redirect alone), and an
// entity under another id's key in an "entities" object, as wbgetentities answers for a
// redirected id ({"entities":{"Q1":{"id":"Q2",...,"redirects":{"from":"Q1","to":"Q2"}}}}):
// the entity Q2 and the redirect Q1 → Q2. The answer's "redirects" member is not entity
// content and is dropped.
func (r Record) Parse() (*Entity, *Redirect, error) {
	// Wikibase's redirect content, {"entity":"Q1","redirect":"Q2"}.
	if firstKeyIs(r.JSON, "entity") {
		red, err := parseRedirectContent(r.JSON)
		if err != nil {
			return nil, nil, err
		}
		if r.Key != "" && r.Key != red.From {
			return nil, nil, fmt.Errorf("redirect of %s under key %q", red.From, r.Key)
		}
		return nil, &red, nil
	}
	e, err := ParseEntity(r.JSON)
	if err != nil {
		return nil, nil, err
	}
	e.Extra = dropRawField(e.Extra, "redirects")
	if r.Key == "" || r.Key == e.ID {
		return e, nil, nil
	}
	red := Redirect{From: r.Key, To: e.ID}
	if err := red.validate(); err != nil {
		return nil, nil, fmt.Errorf("entity under key %q has id %q: %w", r.Key, e.ID, err)
	}
	return e, &red, nil
}

// Error is err about this record, as a *LineError naming its place and entity.
func (r Record) Error(err error) *LineError {
	id := r.Key
	if id == "" {
		id = EntityIDOf(r.JSON)
	}
	return &LineError{Source: r.Source, Line: r.Line, EntityID: id, Err: err}
}

func (red Redirect) validate() error {
	fromType, ok := EntityTypeOfID(red.From)
	if !ok {
		return fmt.Errorf("%q is not an entity id", red.From)
	}
	toType, ok := EntityTypeOfID(red.To)
	if !ok {
		return fmt.Errorf("redirect target %q is not an entity id", red.To)
	}
	if fromType != toType || red.From == red.To {
		return fmt.Errorf("%s cannot redirect to %s: an entity redirects to another entity of its type", red.From, red.To)
	}
	return nil
}

func parseRedirectContent(data []byte) (Redirect, error) {
	s := scanner{data: data}
	var red Redirect
	err := s.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "entity":
			red.From, err = s.str()
		case "redirect":
			red.To, err = s.str()
		default:
			err = fmt.Errorf("unexpected member %q in a redirect", key)
		}
		return err
	})
	if err == nil {
		err = s.end()
	}
	if err == nil {
		err = red.validate()
	}
	if err != nil {
		return Redirect{}, fmt.Errorf("redirect: %w", err)
	}
	return red, nil
}

func dropRawField(fields []RawField, key string) []RawField {
	for i, f := range fields {
		if f.Key == key {
			return append(fields[:i:i], fields[i+1:]...)
		}
	}
	return fields
}

// firstKeyIs reports whether data is an object whose first member is key: "entities" for a
// Special:EntityData or wbgetentities document. It looks at the first bytes only (it runs
// for every line of a dump).
func firstKeyIs(data []byte, key string) bool {
	s := scanner{data: data}
	if s.peek() != '{' {
		return false
	}
	s.pos++
	if s.peek() != '"' || !bytes.HasPrefix(s.data[s.pos+1:], []byte(key)) || len(s.data) <= s.pos+1+len(key) || s.data[s.pos+1+len(key)] != '"' {
		return false
	}
	s.pos += len(key) + 2
	return s.peek() == ':'
}

// RecordReader yields the records of an input; io.EOF ends it.
type RecordReader interface {
	Next() (Record, error)
}

// EntityReader reads the entities of an input in any of the forms Wikidata publishes or
// answers them in, plain or compressed (gzip, bzip2):
//
//   - a JSON dump: "[" on the first line, one entity per line with a trailing comma, "]" on
//     the last (or lines without the brackets);
//   - a JSON array of entities, on one line ([{...},{...}]) or one entity per line;
//   - Special:EntityData or wbgetentities documents, {"entities":{"Q42":{...}}}, and single
//     entity objects, on one line or pretty-printed over many.
//
// It streams: memory use is one line, or one value that spans lines.
type EntityReader struct {
	r           *bufio.Reader
	compression Compression
	line        int // lines read so far
	buf         []byte
	queue       []queued
	// value collects the lines of a value that spans lines, from line valueLine on.
	value     []byte
	valueLine int
	depth     jsonDepth
	// found counts the records and errors returned; content says the input had a value.
	found   int
	content bool
	done    bool

	// MaxLineBytes bounds one line, and a value that spans lines; a longer one is skipped
	// with a LineError. Zero means DefaultMaxLineBytes.
	MaxLineBytes int
	// Lines, when positive, ends a dump after that many lines: an import chunk's range.
	Lines int
}

type queued struct {
	rec Record
	err error
}

// NewEntityReader returns a reader over a plain, gzip or bzip2 input, detecting the
// compression from the first bytes.
func NewEntityReader(r io.Reader) (*EntityReader, error) {
	dr, c, err := Decompress(r)
	if err != nil {
		return nil, err
	}
	return &EntityReader{r: bufio.NewReaderSize(dr, 1<<20), compression: c}, nil
}

// Compression returns the compression detected on the input.
func (d *EntityReader) Compression() Compression { return d.compression }

// Next returns the next record. A malformed entity or line gives a *LineError, and calling
// Next again continues with the following one. At the end it returns io.EOF, or
// ErrNoEntities when the input had values but no entity; any other error is the input's
// own (a truncated or corrupt stream) and ends it.
func (d *EntityReader) Next() (Record, error) {
	for len(d.queue) == 0 {
		if d.done {
			if d.content && d.found == 0 {
				d.content = false // said once
				return Record{}, ErrNoEntities
			}
			return Record{}, io.EOF
		}
		if err := d.readLine(); err != nil {
			return Record{}, err
		}
	}
	q := d.queue[0]
	d.queue = d.queue[1:]
	d.found++
	return q.rec, q.err
}

func (d *EntityReader) limit() int {
	if d.MaxLineBytes > 0 {
		return d.MaxLineBytes
	}
	return DefaultMaxLineBytes
}

// readLine reads the next line of the input and queues its entities, or adds it to the value
// that spans lines.
func (d *EntityReader) readLine() error {
	if d.Lines > 0 && d.line >= d.Lines {
		d.end(fmt.Sprintf("before line %d, where the range ends", d.line+1))
		return nil
	}
	line, tooLong, err := d.readRawLine(d.limit())
	if err != nil && !(errors.Is(err, io.EOF) && len(line) > 0) {
		if errors.Is(err, io.EOF) {
			d.end("at the end of the input")
			return nil
		}
		return fmt.Errorf("read line %d: %w", d.line+1, err)
	}
	d.line++
	if d.value != nil {
		// A line that starts with "{" at its first column begins a new value: pretty-printed
		// JSON indents what is inside one, so the pending value was cut short (a truncated
		// dump line).
		if tooLong || len(line) == 0 || line[0] != '{' {
			d.continueValue(line, tooLong)
			return nil
		}
		d.endValue("before the next entity")
	}
	d.startLine(line, tooLong)
	return nil
}

// startLine queues the entities of a line, or starts a value that spans lines.
func (d *EntityReader) startLine(line []byte, tooLong bool) {
	n := d.line
	if tooLong {
		d.content = true
		d.queue = append(d.queue, queued{err: &LineError{Line: n, Err: fmt.Errorf("line longer than %d bytes", d.limit())}})
		return
	}
	line = bytes.TrimSpace(line)
	line = bytes.TrimSuffix(bytes.TrimPrefix(line, []byte{','}), []byte{','})
	if len(line) == 0 {
		return
	}
	at := func(int) int { return n }
	// The fast path, every entity line of Wikidata's dumps: one object. Anything else
	// (brackets, an array on one line) is split into its values.
	if line[0] == '{' && line[len(line)-1] == '}' {
		d.addValue(line, 0, at)
		return
	}
	var depth jsonDepth
	depth.feed(line)
	if depth.open() {
		d.value, d.valueLine, d.depth = append(d.value[:0], line...), n, depth
		d.value = append(d.value, '\n')
		return
	}
	d.splitValues(line, at)
}

// continueValue adds a line to the value that spans lines, and queues the value's entities
// once it is complete.
func (d *EntityReader) continueValue(line []byte, tooLong bool) {
	if tooLong || len(d.value)+len(line) > d.limit() {
		d.content = true
		d.queue = append(d.queue, queued{err: &LineError{Line: d.valueLine, Err: fmt.Errorf("value longer than %d bytes", d.limit())}})
		d.value = nil
		// The rest of the value is read as lines; what does not parse is reported.
		return
	}
	d.value = append(d.value, line...)
	d.depth.feed(line)
	if d.depth.open() {
		return
	}
	value := d.value
	d.value = nil
	lines := lineCounter{data: value, line: d.valueLine}
	d.splitValues(value, lines.at)
}

// end ends the input.
func (d *EntityReader) end(where string) {
	d.done = true
	d.endValue(where)
}

// endValue reports a value that spans lines and has not ended.
func (d *EntityReader) endValue(where string) {
	if d.value == nil {
		return
	}
	d.content = true
	d.queue = append(d.queue, queued{err: &LineError{Line: d.valueLine, EntityID: EntityIDOf(d.value),
		Err: fmt.Errorf("the JSON value that starts here does not end %s", where)}})
	d.value = nil
}

// jsonDepth follows the nesting of JSON text fed to it in pieces. Brackets outside every
// object are a dump's framing (the array around its entities) and do not count.
type jsonDepth struct {
	depth             int
	inString, escaped bool
}

func (j *jsonDepth) feed(b []byte) {
	for _, c := range b {
		if j.inString {
			switch {
			case j.escaped:
				j.escaped = false
			case c == '\\':
				j.escaped = true
			case c == '"':
				j.inString = false
			}
			continue
		}
		switch c {
		case '"':
			j.inString = true
		case '{':
			j.depth++
		case '}':
			j.depth--
		case '[':
			if j.depth > 0 {
				j.depth++
			}
		case ']':
			if j.depth > 0 {
				j.depth--
			}
		}
	}
}

// open reports whether a value has begun and not ended.
func (j *jsonDepth) open() bool { return j.depth > 0 || j.inString }

// SpansLines reports whether an input whose first bytes are head starts with a value that
// spans lines (a pretty-printed Special:EntityData document or entity), so that it cannot
// be cut into line ranges. A Wikidata dump, one entity per line, does not.
func SpansLines(head []byte) bool {
	for len(head) > 0 {
		line, rest, complete := bytes.Cut(head, []byte{'\n'})
		if !complete {
			return false // a first line longer than head is a dump line
		}
		head = rest
		line = bytes.Trim(bytes.TrimSpace(line), ",[]")
		if len(line) == 0 {
			continue
		}
		if line[0] == '{' && line[len(line)-1] == '}' {
			return false
		}
		var depth jsonDepth
		depth.feed(line)
		return depth.open()
	}
	return false
}

// readRawLine reads up to and including the next newline.
func (d *EntityReader) readRawLine(limit int) ([]byte, bool, error) {
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

// splitValues queues the entities of the JSON values in data, which are separated by white
// space, commas or array brackets; lineAt gives the line of an offset in data. A value that
// is not well-formed ends data: where it ends cannot be known.
func (d *EntityReader) splitValues(data []byte, lineAt func(int) int) {
	s := scanner{data: data}
	for {
		for s.pos < len(s.data) && strings.IndexByte(" \t\r\n,[]", s.data[s.pos]) >= 0 {
			s.pos++
		}
		if s.pos >= len(s.data) {
			return
		}
		d.content = true
		start := s.pos
		if s.data[start] != '{' {
			d.queue = append(d.queue, queued{err: &LineError{Line: lineAt(start),
				Err: fmt.Errorf("want an entity object, found %s", excerpt(s.data[start:]))}})
			return
		}
		raw, err := s.skip()
		if err != nil {
			d.queue = append(d.queue, queued{err: &LineError{Line: lineAt(start), EntityID: EntityIDOf(s.data[start:]),
				Err: fmt.Errorf("%w (an entity of a dump is on one line)", err)}})
			return
		}
		d.addValue(raw, start, lineAt)
	}
}

// addValue queues one JSON object of the input: an entity, a redirect, or an entities
// document, whose members it queues. offset is raw's place in the data lineAt counts in.
func (d *EntityReader) addValue(raw []byte, offset int, lineAt func(int) int) {
	d.content = true
	if !firstKeyIs(raw, "entities") {
		d.queue = append(d.queue, queued{rec: Record{Line: lineAt(offset), JSON: raw}})
		return
	}
	s := scanner{data: raw}
	err := s.object(func(key []byte) error {
		if string(key) != "entities" {
			_, err := s.skip()
			return err
		}
		return s.mapOrEmptyArray(func(key []byte) error {
			k := string(key)
			s.skipSpace()
			start := s.pos
			member, err := s.skip()
			if err != nil {
				return fmt.Errorf("entities.%s: %w", k, err)
			}
			d.queue = append(d.queue, queued{rec: Record{Line: lineAt(offset + start), Key: k, JSON: member}})
			return nil
		})
	})
	if err != nil {
		d.queue = append(d.queue, queued{err: &LineError{Line: lineAt(offset + s.pos), Err: err}})
	}
}

// excerpt is the start of b for an error message.
func excerpt(b []byte) string {
	if len(b) > 20 {
		return fmt.Sprintf("%q...", b[:20])
	}
	return fmt.Sprintf("%q", b)
}

// lineCounter gives the line of offsets of data asked for in increasing order.
type lineCounter struct {
	data []byte
	pos  int
	line int
}

func (c *lineCounter) at(offset int) int {
	if offset < c.pos { // not in order: count from the start
		c.pos, c.line = 0, 1
	}
	c.line += bytes.Count(c.data[c.pos:offset], []byte{'\n'})
	c.pos = offset
	return c.line
}

// InputFiles lists the files an input path stands for: the file itself, or every *.json,
// *.json.gz and *.json.bz2 file of a directory, sorted by name. An error names the path and
// what is wrong with it.
func InputFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, pathError(path, err)
	}
	if !st.IsDir() {
		// Opening is the one sure test of being readable.
		f, err := os.Open(path)
		if err != nil {
			return nil, pathError(path, err)
		}
		f.Close()
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, pathError(path, err)
	}
	var files []string
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() && (strings.HasSuffix(n, ".json") || strings.HasSuffix(n, ".json.gz") || strings.HasSuffix(n, ".json.bz2")) {
			files = append(files, filepath.Join(path, n))
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: directory has no .json, .json.gz or .json.bz2 files", path)
	}
	return files, nil
}

// pathError is "PATH: what is wrong", without the name of the system call.
func pathError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", path, pe.Err)
	}
	return fmt.Errorf("%s: %w", path, err)
}

// FilesReader reads the entities of files one after the other (the files of a directory),
// each record and error naming its file.
type FilesReader struct {
	files []string
	next  int
	f     *os.File
	cur   *EntityReader
}

// NewFilesReader returns a reader of files, in the order given.
func NewFilesReader(files []string) *FilesReader { return &FilesReader{files: files} }

// Next implements RecordReader.
func (m *FilesReader) Next() (Record, error) {
	for {
		if m.cur == nil {
			if m.next >= len(m.files) {
				return Record{}, io.EOF
			}
			name := m.files[m.next]
			m.next++
			f, err := os.Open(name)
			if err != nil {
				return Record{}, pathError(name, err)
			}
			r, err := NewEntityReader(f)
			if err != nil {
				f.Close()
				return Record{}, fmt.Errorf("%s: %w", name, err)
			}
			m.f, m.cur = f, r
		}
		name := m.f.Name()
		rec, err := m.cur.Next()
		switch {
		case err == nil:
			rec.Source = name
			return rec, nil
		case errors.Is(err, io.EOF):
			m.f.Close()
			m.f, m.cur = nil, nil
			continue
		}
		var le *LineError
		if errors.As(err, &le) {
			le.Source = name
			return Record{}, le
		}
		return Record{}, fmt.Errorf("%s: %w", name, err)
	}
}

// Close closes the file being read.
func (m *FilesReader) Close() error {
	if m.f == nil {
		return nil
	}
	err := m.f.Close()
	m.f, m.cur = nil, nil
	return err
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
