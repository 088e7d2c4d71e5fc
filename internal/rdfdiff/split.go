package rdfdiff

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/entitybase/entitybase-workers/internal/events"
)

// Envelope is what every rdf_change event of one revision carries besides
// its RDF.
type Envelope struct {
	Meta      events.RDFChangeMeta
	EntityID  string
	RevID     int64
	Operation events.RDFOperation
}

// Messages turns a diff into encoded rdf_change events of at most maxBytes
// each: one event when it fits, otherwise parts numbered by sequence and
// sequence_length that a consumer assembles (all parts of one entity_id and
// rev_id) before applying them. Every part carries the same operation. A
// delete carries no RDF and is always one event.
func Messages(env Envelope, d Diff, maxBytes int) ([][]byte, error) {
	if env.Operation == events.RDFDelete {
		msg, err := encode(env, Diff{}, 0, 1)
		if err != nil {
			return nil, err
		}
		return [][]byte{msg}, nil
	}
	overhead, err := envelopeSize(env)
	if err != nil {
		return nil, err
	}
	budget := maxBytes - overhead
	if budget < 1 {
		return nil, fmt.Errorf("split rdf_change of %s@%d: %d bytes per message leave no room for RDF after the %d-byte envelope",
			env.EntityID, env.RevID, maxBytes, overhead)
	}
	parts, err := pack(d, budget)
	if err != nil {
		return nil, fmt.Errorf("split rdf_change of %s@%d: %w", env.EntityID, env.RevID, err)
	}
	out := make([][]byte, len(parts))
	for i, p := range parts {
		msg, err := encode(env, p, i, len(parts))
		if err != nil {
			return nil, err
		}
		if len(msg) > maxBytes {
			return nil, fmt.Errorf("split rdf_change of %s@%d: part %d is %d bytes, over the %d-byte limit", env.EntityID, env.RevID, i, len(msg), maxBytes)
		}
		out[i] = msg
	}
	return out, nil
}

// Assemble puts the parts of one split change back together (in any order);
// it is what a consumer does before applying a change, and what the tests do.
func Assemble(parts []events.RDFChange) (Diff, error) {
	var d Diff
	if len(parts) == 0 {
		return d, fmt.Errorf("assemble rdf_change: no parts")
	}
	n := parts[0].SequenceLength
	if len(parts) != n {
		return d, fmt.Errorf("assemble rdf_change of %s@%d: %d parts of %d", parts[0].EntityID, parts[0].RevID, len(parts), n)
	}
	seen := make([]bool, n)
	for _, p := range parts {
		if p.SequenceLength != n || p.EntityID != parts[0].EntityID || p.RevID != parts[0].RevID || seen[p.Sequence] {
			return d, fmt.Errorf("assemble rdf_change of %s@%d: inconsistent part %d", parts[0].EntityID, parts[0].RevID, p.Sequence)
		}
		seen[p.Sequence] = true
		d.Added = append(d.Added, dataLines(p.AddedData)...)
		d.Deleted = append(d.Deleted, dataLines(p.DeletedData)...)
		d.Linked = append(d.Linked, dataLines(p.LinkedSharedData)...)
		d.Unlinked = append(d.Unlinked, dataLines(p.UnlinkedSharedData)...)
	}
	return d, nil
}

func dataLines(p *events.RDFData) []string {
	if p == nil {
		return nil
	}
	return strings.Split(strings.TrimSuffix(p.Data, "\n"), "\n")
}

func encode(env Envelope, d Diff, seq, n int) ([]byte, error) {
	return events.RDFChange{
		Schema: events.RDFChangeSchema, Meta: env.Meta, DT: env.Meta.DT,
		EntityID: env.EntityID, RevID: env.RevID, Operation: env.Operation,
		AddedData:          events.TurtleData(ntriples(d.Added)),
		DeletedData:        events.TurtleData(ntriples(d.Deleted)),
		LinkedSharedData:   events.TurtleData(ntriples(d.Linked)),
		UnlinkedSharedData: events.TurtleData(ntriples(d.Unlinked)),
		Sequence:           seq,
		SequenceLength:     n,
	}.Marshal()
}

// ntriples joins lines into an N-Triples document (which is also Turtle).
func ntriples(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\n"
}

// envelopeSize is the encoded size of an event of env with all four payloads
// present but empty and the widest sequence numbers a split can have.
func envelopeSize(env Envelope) (int, error) {
	empty := &events.RDFData{MimeType: events.MIMETurtle}
	b, err := events.RDFChange{
		Schema: events.RDFChangeSchema, Meta: env.Meta, DT: env.Meta.DT,
		EntityID: env.EntityID, RevID: env.RevID, Operation: events.RDFDiff,
		AddedData: empty, DeletedData: empty, LinkedSharedData: empty, UnlinkedSharedData: empty,
		Sequence: 999998, SequenceLength: 999999,
	}.Marshal()
	if err != nil {
		return 0, err
	}
	return len(b), nil
}

// pack distributes the diff's triples over parts whose escaped RDF stays
// within budget bytes, keeping each list's order.
func pack(d Diff, budget int) ([]Diff, error) {
	parts := []Diff{{}}
	size := 0
	lists := []func(*Diff) *[]string{
		func(p *Diff) *[]string { return &p.Added },
		func(p *Diff) *[]string { return &p.Deleted },
		func(p *Diff) *[]string { return &p.Linked },
		func(p *Diff) *[]string { return &p.Unlinked },
	}
	for _, list := range lists {
		for _, line := range *list(&d) {
			cost := jsonStringLen(line) + len(`\n`)
			if cost > budget {
				return nil, fmt.Errorf("a triple of %d bytes (escaped) does not fit in one message (%d bytes left after the envelope); raise KAFKA_MAX_MESSAGE_BYTES", cost, budget)
			}
			if size+cost > budget {
				parts = append(parts, Diff{})
				size = 0
			}
			p := &parts[len(parts)-1]
			*list(p) = append(*list(p), line)
			size += cost
		}
	}
	return parts, nil
}

// jsonStringLen is the length of s inside a JSON string as encoding/json
// writes it (HTML-escaping <, > and &), without the quotes.
func jsonStringLen(s string) int {
	n := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f':
				n += 2
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				n += 6
			default:
				n++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			n += 6 // \ufffd
		case r == '\u2028' || r == '\u2029':
			n += 6
		default:
			n += size
		}
		i += size
	}
	return n
}
