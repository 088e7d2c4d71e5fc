package rdf

import (
	"unicode/utf8"
)

// Format is an RDF serialization.
type Format uint8

// Formats.
const (
	Turtle Format = iota + 1
	NTriples
)

// ParseFormat reads "ttl" or "nt".
func ParseFormat(s string) (Format, bool) {
	switch s {
	case "ttl", "turtle":
		return Turtle, true
	case "nt", "ntriples", "n-triples":
		return NTriples, true
	}
	return 0, false
}

// String returns the file extension of the format.
func (f Format) String() string {
	switch f {
	case Turtle:
		return "ttl"
	case NTriples:
		return "nt"
	}
	return "invalid"
}

// sink serializes triples into a byte buffer. In Turtle it groups
// consecutive triples of one subject with ";" and of one subject and
// predicate with ",", as Purtle's TurtleRdfWriter lays them out.
type sink struct {
	buf    []byte
	turtle bool
	rdfNS  *namespace

	open       bool
	subj, pred Term
	triples    int
}

func (s *sink) triple(subj, pred, obj Term) {
	s.triples++
	if !s.turtle {
		s.buf = appendNTTerm(s.buf, subj)
		s.buf = append(s.buf, ' ')
		s.buf = appendNTTerm(s.buf, pred)
		s.buf = append(s.buf, ' ')
		s.buf = appendNTTerm(s.buf, obj)
		s.buf = append(s.buf, " .\n"...)
		return
	}
	if s.open && subj == s.subj {
		if pred == s.pred {
			s.buf = append(s.buf, ",\n\t\t"...)
		} else {
			s.buf = append(s.buf, " ;\n\t"...)
			s.buf = s.appendTurtlePredicate(s.buf, pred)
			s.buf = append(s.buf, ' ')
			s.pred = pred
		}
		s.buf = appendTurtleTerm(s.buf, obj)
		return
	}
	s.close()
	s.buf = appendTurtleTerm(s.buf, subj)
	s.buf = append(s.buf, ' ')
	s.buf = s.appendTurtlePredicate(s.buf, pred)
	s.buf = append(s.buf, ' ')
	s.buf = appendTurtleTerm(s.buf, obj)
	s.open, s.subj, s.pred = true, subj, pred
}

// close ends the open Turtle statement, if any.
func (s *sink) close() {
	if s.open {
		s.buf = append(s.buf, " .\n\n"...)
		s.open = false
	}
}

func (s *sink) appendTurtlePredicate(dst []byte, p Term) []byte {
	if p.ns == s.rdfNS && p.value == "type" {
		return append(dst, 'a')
	}
	return appendTurtleTerm(dst, p)
}

// Terms.

func appendNTTerm(dst []byte, t Term) []byte { return appendTerm(dst, t, false) }

func appendTurtleTerm(dst []byte, t Term) []byte { return appendTerm(dst, t, true) }

// appendTerm writes t in N-Triples or, with turtle, in Turtle: prefixed names where the
// namespace allows them and literals in UTF-8 rather than \u escapes.
func appendTerm(dst []byte, t Term, turtle bool) []byte {
	switch t.kind {
	case kindIRI:
		if turtle && t.ns != nil && t.ns.turtle && validLocalName(t.value) {
			dst = append(dst, t.ns.prefix...)
			dst = append(dst, ':')
			return append(dst, t.value...)
		}
		dst = append(dst, '<')
		if t.ns != nil {
			dst = appendIRIChars(dst, t.ns.iri)
		}
		dst = appendIRIChars(dst, t.value)
		return append(dst, '>')
	case kindBlank:
		dst = append(dst, "_:"...)
		return appendBlankLabel(dst, t.value)
	default:
		dst = append(dst, '"')
		dst = appendLiteralChars(dst, t.value, !turtle)
		dst = append(dst, '"')
		if t.lang != "" && validLanguageTag(t.lang) {
			dst = append(dst, '@')
			return append(dst, t.lang...)
		}
		if t.dt != "" {
			dst = append(dst, "^^"...)
			dst = appendTerm(dst, Term{kind: kindIRI, ns: t.dtNS, value: t.dt}, turtle)
		}
		return dst
	}
}

const hexDigits = "0123456789ABCDEF"

// appendIRIChars escapes as Purtle's N3Quoter::escapeIRI: space and
// "<>\`^|{} become %XX. Control characters and invalid UTF-8, which Purtle
// lets through into unparsable output, are percent-encoded too.
func appendIRIChars(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c <= ' ', c == 0x7f, c == '"', c == '<', c == '>', c == '\\', c == '`', c == '^', c == '|', c == '{', c == '}':
				dst = append(dst, '%', hexDigits[c>>4], hexDigits[c&15])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, '%', hexDigits[c>>4], hexDigits[c&15])
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}

// appendLiteralChars escapes as Purtle's N3Quoter::escapeLiteral: \ and ",
// the named control escapes \b \t \n \f \r, other control characters as
// \uXXXX; with ascii (N-Triples) every non-ASCII character as \uXXXX or
// \UXXXXXXXX. Invalid UTF-8 becomes U+FFFD.
func appendLiteralChars(dst []byte, s string, ascii bool) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch c {
			case '\\':
				dst = append(dst, '\\', '\\')
			case '"':
				dst = append(dst, '\\', '"')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\r':
				dst = append(dst, '\\', 'r')
			default:
				if c < 0x20 {
					dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
				} else {
					dst = append(dst, c)
				}
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if !ascii {
			if r == utf8.RuneError && size == 1 {
				dst = utf8.AppendRune(dst, r)
			} else {
				dst = append(dst, s[i-size:i]...)
			}
			continue
		}
		if r <= 0xFFFF {
			dst = append(dst, '\\', 'u', hexDigits[r>>12&15], hexDigits[r>>8&15], hexDigits[r>>4&15], hexDigits[r&15])
		} else {
			dst = append(dst, '\\', 'U')
			for shift := 28; shift >= 0; shift -= 4 {
				dst = append(dst, hexDigits[r>>uint(shift)&15])
			}
		}
	}
	return dst
}

// appendBlankLabel writes a blank-node label, replacing characters a label
// may not have; Wikibase's labels are hex hashes and pass unchanged.
func appendBlankLabel(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, 'b')
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlnum(c) || c == '_' || (i > 0 && c == '-') {
			dst = append(dst, c)
		} else {
			dst = append(dst, '_')
		}
	}
	return dst
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// validLanguageTag accepts tags that both Purtle (/^[\da-z-]{2,}$/i) and
// the N-Triples grammar ([a-zA-Z]+ ('-' [a-zA-Z0-9]+)*) accept; Wikibase
// writes a plain literal for the rest.
func validLanguageTag(tag string) bool {
	if len(tag) < 2 || !isAlpha(tag[0]) {
		return false
	}
	inFirst, prevDash := true, false
	for i := 0; i < len(tag); i++ {
		c := tag[i]
		switch {
		case c == '-':
			if prevDash {
				return false
			}
			prevDash, inFirst = true, false
		case isAlpha(c):
			prevDash = false
		case c >= '0' && c <= '9':
			if inFirst {
				return false
			}
			prevDash = false
		default:
			return false
		}
	}
	return !prevDash
}

// validLocalName reports whether a local name can follow a prefix in
// Turtle without escapes: ASCII letters, digits, "_" and "-", not starting
// with "-".
func validLocalName(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// validPrefixName reports whether s is a Turtle PN_PREFIX made of ASCII
// letters, digits, "_" and "-" starting with a letter (or empty).
func validPrefixName(s string) bool {
	if s == "" {
		return true
	}
	if !isAlpha(s[0]) || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && s[i] != '_' && s[i] != '-' {
			return false
		}
	}
	return true
}
