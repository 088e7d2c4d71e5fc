package rdf

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// parseNTLine is a strict N-Triples (RDF 1.1) line parser for tests. It
// returns the triple with every term in a canonical form (escapes
// resolved, literals re-quoted), so output of different writers compares
// as terms. Empty and comment lines return ok=false.
func parseNTLine(line string) (triple string, ok bool, err error) {
	p := ntParser{s: line}
	p.ws()
	if p.eof() || p.peek() == '#' {
		return "", false, nil
	}
	var terms [3]string
	for i := range terms {
		if terms[i], err = p.term(i); err != nil {
			return "", false, fmt.Errorf("%w in %q", err, line)
		}
		p.ws()
	}
	if p.eof() || p.peek() != '.' {
		return "", false, fmt.Errorf("no final '.' in %q", line)
	}
	p.i++
	p.ws()
	if !p.eof() && p.peek() != '#' {
		return "", false, fmt.Errorf("text after '.' in %q", line)
	}
	return terms[0] + " " + terms[1] + " " + terms[2], true, nil
}

type ntParser struct {
	s string
	i int
}

func (p *ntParser) eof() bool  { return p.i >= len(p.s) }
func (p *ntParser) peek() byte { return p.s[p.i] }
func (p *ntParser) ws() {
	for !p.eof() && (p.peek() == ' ' || p.peek() == '\t') {
		p.i++
	}
}

func (p *ntParser) term(pos int) (string, error) {
	if p.eof() {
		return "", fmt.Errorf("missing term %d", pos+1)
	}
	switch c := p.peek(); {
	case c == '<':
		return p.iri()
	case c == '_' && pos != 1:
		return p.blank()
	case c == '"' && pos == 2:
		return p.literal()
	default:
		return "", fmt.Errorf("unexpected %q at term %d", c, pos+1)
	}
}

func (p *ntParser) iri() (string, error) {
	p.i++
	var b strings.Builder
	for {
		if p.eof() {
			return "", fmt.Errorf("unterminated IRI")
		}
		c := p.peek()
		switch {
		case c == '>':
			p.i++
			iri := b.String()
			if !strings.Contains(iri, ":") {
				return "", fmt.Errorf("relative IRI <%s>", iri)
			}
			return "<" + iri + ">", nil
		case c == '\\':
			r, err := p.uchar()
			if err != nil {
				return "", err
			}
			if r <= 0x20 || strings.ContainsRune("<>\"{}|^`\\", r) {
				return "", fmt.Errorf("escaped %q not allowed in IRI", r)
			}
			b.WriteRune(r)
		case c <= 0x20 || strings.IndexByte("<\"{}|^`", c) >= 0:
			return "", fmt.Errorf("character %q not allowed in IRI", c)
		default:
			r, size := utf8.DecodeRuneInString(p.s[p.i:])
			if r == utf8.RuneError && size == 1 {
				return "", fmt.Errorf("invalid UTF-8 in IRI")
			}
			b.WriteString(p.s[p.i : p.i+size])
			p.i += size
		}
	}
}

func (p *ntParser) uchar() (rune, error) {
	// At a backslash: \uXXXX or \UXXXXXXXX.
	if p.i+1 >= len(p.s) {
		return 0, fmt.Errorf("dangling backslash")
	}
	n := 0
	switch p.s[p.i+1] {
	case 'u':
		n = 4
	case 'U':
		n = 8
	default:
		return 0, fmt.Errorf("bad escape \\%c", p.s[p.i+1])
	}
	if p.i+2+n > len(p.s) {
		return 0, fmt.Errorf("short \\u escape")
	}
	v, err := strconv.ParseUint(p.s[p.i+2:p.i+2+n], 16, 32)
	if err != nil || !utf8.ValidRune(rune(v)) {
		return 0, fmt.Errorf("bad \\u escape %q", p.s[p.i:p.i+2+n])
	}
	p.i += 2 + n
	return rune(v), nil
}

func (p *ntParser) blank() (string, error) {
	if !strings.HasPrefix(p.s[p.i:], "_:") {
		return "", fmt.Errorf("bad blank node")
	}
	p.i += 2
	start := p.i
	for !p.eof() && (isAlnum(p.peek()) || p.peek() == '_' || p.peek() == '-' || p.peek() == '.') {
		p.i++
	}
	label := p.s[start:p.i]
	if label == "" || label[0] == '-' || label[0] == '.' || label[len(label)-1] == '.' {
		return "", fmt.Errorf("bad blank node label %q", label)
	}
	// serdi renames labels starting with "b"; Wikibase's are lower-case
	// hex, so case carries no meaning here.
	return "_:" + strings.ToLower(label), nil
}

func (p *ntParser) literal() (string, error) {
	p.i++
	var b strings.Builder
	for {
		if p.eof() {
			return "", fmt.Errorf("unterminated literal")
		}
		c := p.peek()
		if c == '"' {
			p.i++
			break
		}
		if c == '\n' || c == '\r' {
			return "", fmt.Errorf("raw line break in literal")
		}
		if c == '\\' {
			if p.i+1 >= len(p.s) {
				return "", fmt.Errorf("dangling backslash")
			}
			if esc := strings.IndexByte("tbnrf\"'\\", p.s[p.i+1]); esc >= 0 {
				b.WriteByte("\t\b\n\r\f\"'\\"[esc])
				p.i += 2
				continue
			}
			r, err := p.uchar()
			if err != nil {
				return "", err
			}
			b.WriteRune(r)
			continue
		}
		r, size := utf8.DecodeRuneInString(p.s[p.i:])
		if r == utf8.RuneError && size == 1 {
			return "", fmt.Errorf("invalid UTF-8 in literal")
		}
		b.WriteString(p.s[p.i : p.i+size])
		p.i += size
	}
	lit := strconv.Quote(b.String())
	if !p.eof() && p.peek() == '@' {
		p.i++
		start := p.i
		for !p.eof() && (isAlnum(p.peek()) || p.peek() == '-') {
			p.i++
		}
		tag := p.s[start:p.i]
		if !validLanguageTag(tag) && !isNTLangTag(tag) {
			return "", fmt.Errorf("bad language tag %q", tag)
		}
		return lit + "@" + strings.ToLower(tag), nil
	}
	if strings.HasPrefix(p.s[p.i:], "^^") {
		p.i += 2
		dt, err := p.iri()
		if err != nil {
			return "", err
		}
		if dt == "<"+nsXSD+"string>" {
			return lit, nil
		}
		return lit + "^^" + dt, nil
	}
	return lit, nil
}

// isNTLangTag is the N-Triples LANGTAG production.
func isNTLangTag(tag string) bool {
	parts := strings.Split(tag, "-")
	for i, part := range parts {
		if part == "" {
			return false
		}
		for j := 0; j < len(part); j++ {
			if !isAlpha(part[j]) && (i == 0 || part[j] < '0' || part[j] > '9') {
				return false
			}
		}
	}
	return true
}

// parseNTriples parses a whole document into a set of canonical triples.
func parseNTriples(data string) (map[string]bool, error) {
	set := map[string]bool{}
	for n, line := range strings.Split(data, "\n") {
		tr, ok, err := parseNTLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n+1, err)
		}
		if ok {
			set[tr] = true
		}
	}
	return set, nil
}
