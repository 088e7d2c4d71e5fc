package wikibase

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// maxNesting bounds how deep unknown JSON values may nest. Entity JSON is at
// most about ten levels deep; the limit only stops hostile input from turning
// the recursive skipper into a stack-growth problem.
const maxNesting = 512

// scanner is a small hand-written JSON reader over a complete document in
// memory. It exists because entity parsing is on the hot path of dumps and
// imports: walking the bytes once with no reflection is several times faster
// than encoding/json, and it lets the parser keep key order and raw number
// text where Wikibase's output depends on them.
type scanner struct {
	data    []byte
	pos     int
	scratch []byte
	intern  *internTable
}

// syntaxError reports malformed JSON with the byte offset where it was found.
type syntaxError struct {
	Offset int
	Msg    string
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.Offset, e.Msg)
}

func (s *scanner) errorf(format string, args ...any) error {
	return &syntaxError{Offset: s.pos, Msg: fmt.Sprintf(format, args...)}
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek returns the next non-space byte without consuming it, or 0 at the end.
func (s *scanner) peek() byte {
	// Compact JSON (every dump line) has no space between tokens.
	if s.pos < len(s.data) && s.data[s.pos] > ' ' {
		return s.data[s.pos]
	}
	s.skipSpace()
	if s.pos >= len(s.data) {
		return 0
	}
	return s.data[s.pos]
}

func (s *scanner) expect(c byte) error {
	if s.peek() != c {
		if s.pos >= len(s.data) {
			return s.errorf("unexpected end of input, want %q", c)
		}
		return s.errorf("unexpected %q, want %q", s.data[s.pos], c)
	}
	s.pos++
	return nil
}

// literal consumes one of the JSON literals true, false, null.
func (s *scanner) literal(word string) bool {
	if len(s.data)-s.pos >= len(word) && string(s.data[s.pos:s.pos+len(word)]) == word {
		s.pos += len(word)
		return true
	}
	return false
}

// consumeNull consumes a null literal if one comes next.
func (s *scanner) consumeNull() bool {
	if s.peek() == 'n' {
		return s.literal("null")
	}
	return false
}

// object walks a JSON object, calling fn for each member with the scanner
// positioned at the member's value; fn must consume that value. The key slice
// is only valid during the call.
func (s *scanner) object(fn func(key []byte) error) error {
	if err := s.expect('{'); err != nil {
		return err
	}
	if s.peek() == '}' {
		s.pos++
		return nil
	}
	for {
		if s.peek() != '"' {
			return s.errorf("object key must be a string")
		}
		key, err := s.stringBytes()
		if err != nil {
			return err
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		if err := fn(key); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return nil
		case 0:
			return s.errorf("unexpected end of input inside an object")
		default:
			return s.errorf("expected ',' or '}' after object member")
		}
	}
}

// array walks a JSON array, calling fn for each element; fn must consume it.
func (s *scanner) array(fn func() error) error {
	if err := s.expect('['); err != nil {
		return err
	}
	if s.peek() == ']' {
		s.pos++
		return nil
	}
	for {
		if err := fn(); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return nil
		case 0:
			return s.errorf("unexpected end of input inside an array")
		default:
			return s.errorf("expected ',' or ']' after array element")
		}
	}
}

// mapOrEmptyArray walks a JSON object, but also accepts an empty array,
// which is how PHP's json_encode writes an empty associative array.
func (s *scanner) mapOrEmptyArray(fn func(key []byte) error) error {
	switch s.peek() {
	case '[':
		s.pos++
		if s.peek() != ']' {
			return s.errorf("expected an object (a non-empty array is not a map)")
		}
		s.pos++
		return nil
	case 'n':
		if s.literal("null") {
			return nil
		}
	}
	return s.object(fn)
}

// str reads a JSON string and returns it as a Go string.
func (s *scanner) str() (string, error) {
	b, err := s.stringBytes()
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// specialBytes flags the bytes of w, eight string bytes read little-endian, that
// are a quote, a backslash, a control character or non-ASCII (and "/" if
// slash): the high bit of each such byte is set in the result. Bytes above
// the first flagged one may be flagged falsely (a borrow), so only the
// lowest flag is exact; the result is 0 exactly when there is none.
func specialBytes(w uint64, slash bool) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	zero := func(v uint64) uint64 { return (v - lo) &^ v }
	m := w | (w-lo*0x20)&^w | zero(w^(lo*'"')) | zero(w^(lo*'\\'))
	if slash {
		m |= zero(w ^ (lo * '/'))
	}
	return m & hi
}

// stringBytes reads a JSON string. The result aliases the input when the
// string has no escapes and valid UTF-8, else the scanner's scratch buffer;
// either way it is only valid until the next call.
func (s *scanner) stringBytes() ([]byte, error) {
	if s.peek() != '"' {
		if s.pos >= len(s.data) {
			return nil, s.errorf("unexpected end of input, want a string")
		}
		return nil, s.errorf("unexpected %q, want a string", s.data[s.pos])
	}
	s.pos++
	start := s.pos
	ascii := true
	for i := start; i < len(s.data); i++ {
		// Skip eight plain bytes at a time, else land on the first byte that is not.
		for i+8 <= len(s.data) {
			m := specialBytes(binary.LittleEndian.Uint64(s.data[i:]), false)
			if m != 0 {
				i += bits.TrailingZeros64(m) / 8
				break
			}
			i += 8
		}
		if i >= len(s.data) {
			break
		}
		c := s.data[i]
		switch {
		case c == '"':
			s.pos = i + 1
			if ascii || utf8.Valid(s.data[start:i]) {
				return s.data[start:i], nil
			}
			return s.unescape(start)
		case c == '\\':
			return s.unescape(start)
		case c < 0x20:
			s.pos = i
			return nil, s.errorf("control character 0x%02x in string", c)
		case c >= 0x80:
			ascii = false
		}
	}
	s.pos = len(s.data)
	return nil, s.errorf("unterminated string")
}

// unescape decodes the string starting at start (just after the opening
// quote) into the scratch buffer. Invalid UTF-8 and lone surrogates become
// U+FFFD, as encoding/json does, so that every parsed string is valid UTF-8.
func (s *scanner) unescape(start int) ([]byte, error) {
	out := s.scratch[:0]
	i := start
	for i < len(s.data) {
		c := s.data[i]
		switch {
		case c == '"':
			s.pos = i + 1
			s.scratch = out
			return out, nil
		case c < 0x20:
			s.pos = i
			return nil, s.errorf("control character 0x%02x in string", c)
		case c == '\\':
			if i+1 >= len(s.data) {
				s.pos = i
				return nil, s.errorf("unterminated escape")
			}
			e := s.data[i+1]
			i += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := hex4(s.data, i)
				if !ok {
					s.pos = i
					return nil, s.errorf(`invalid \u escape`)
				}
				i += 4
				if utf16.IsSurrogate(r) {
					r2, ok2 := rune(-1), false
					if i+6 <= len(s.data) && s.data[i] == '\\' && s.data[i+1] == 'u' {
						r2, ok2 = hex4(s.data, i+2)
					}
					if dec := utf16.DecodeRune(r, r2); ok2 && dec != utf8.RuneError {
						r = dec
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				out = utf8.AppendRune(out, r)
			default:
				s.pos = i - 1
				return nil, s.errorf("invalid escape character %q", e)
			}
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, size := utf8.DecodeRune(s.data[i:])
			if r == utf8.RuneError && size == 1 {
				out = utf8.AppendRune(out, utf8.RuneError)
			} else {
				out = append(out, s.data[i:i+size]...)
			}
			i += size
		}
	}
	s.pos = len(s.data)
	return nil, s.errorf("unterminated string")
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// number reads a JSON number and returns its exact text.
func (s *scanner) number() ([]byte, error) {
	s.skipSpace()
	start := s.pos
	i := s.pos
	d := s.data
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	default:
		s.pos = i
		return nil, s.errorf("invalid number")
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			s.pos = i
			return nil, s.errorf("invalid number: no digits after decimal point")
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			s.pos = i
			return nil, s.errorf("invalid number: no digits in exponent")
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	s.pos = i
	return d[start:i], nil
}

// integer reads a JSON number that must be an integer.
func (s *scanner) integer() (int64, error) {
	start := s.pos
	text, err := s.number()
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(string(text), 10, 64)
	if err != nil {
		s.pos = start
		return 0, s.errorf("want an integer, got %s", text)
	}
	return n, nil
}

// float reads a JSON number as a float64.
func (s *scanner) float() (float64, error) {
	start := s.pos
	text, err := s.number()
	if err != nil {
		return 0, err
	}
	f, err := strconv.ParseFloat(string(text), 64)
	if err != nil {
		var numErr *strconv.NumError
		if errors.As(err, &numErr) && errors.Is(numErr.Err, strconv.ErrRange) {
			s.pos = start
			return 0, s.errorf("number %s out of range for a float", text)
		}
		s.pos = start
		return 0, s.errorf("invalid number %s", text)
	}
	return f, nil
}

// skip consumes one JSON value of any kind, validating it, and returns its
// raw bytes.
func (s *scanner) skip() ([]byte, error) {
	s.skipSpace()
	start := s.pos
	if err := s.skipValue(0); err != nil {
		return nil, err
	}
	return s.data[start:s.pos], nil
}

func (s *scanner) skipValue(depth int) error {
	if depth > maxNesting {
		return s.errorf("nesting deeper than %d levels", maxNesting)
	}
	switch c := s.peek(); c {
	case '{':
		return s.object(func([]byte) error { return s.skipValue(depth + 1) })
	case '[':
		return s.array(func() error { return s.skipValue(depth + 1) })
	case '"':
		_, err := s.stringBytes()
		return err
	case 't':
		if s.literal("true") {
			return nil
		}
	case 'f':
		if s.literal("false") {
			return nil
		}
	case 'n':
		if s.literal("null") {
			return nil
		}
	case 0:
		return s.errorf("unexpected end of input, want a value")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			_, err := s.number()
			return err
		}
	}
	return s.errorf("unexpected %q, want a value", s.data[s.pos])
}

// end checks that nothing but white space follows the document.
func (s *scanner) end() error {
	if s.peek() != 0 {
		return s.errorf("unexpected data after the JSON value")
	}
	return nil
}

// internTable caches short strings that repeat across and within entities
// (property ids, language codes, datatypes, units, calendar models, common
// item ids). Reusing them saves most of the parser's small allocations; the
// cached strings are immutable, so tables are shared through a pool.
type internTable struct {
	slots [4096]string
}

var internPool = sync.Pool{New: func() any { return new(internTable) }}

// maxInternLen bounds interned strings; longer ones are rarely repeated.
const maxInternLen = 48

// internStr reads a JSON string, reusing an earlier identical string when
// one is cached.
func (s *scanner) internStr() (string, error) {
	b, err := s.stringBytes()
	if err != nil {
		return "", err
	}
	return s.internBytes(b), nil
}

// internBytes returns b as a string, from the intern table when possible.
func (s *scanner) internBytes(b []byte) string {
	if s.intern == nil || len(b) > maxInternLen {
		return string(b)
	}
	// FNV-1a picks the slot; a collision just replaces the slot.
	h := uint32(2166136261)
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	slot := &s.intern.slots[h%uint32(len(s.intern.slots))]
	if *slot != string(b) {
		*slot = string(b)
	}
	return *slot
}
