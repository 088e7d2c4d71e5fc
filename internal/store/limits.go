package store

import (
	"fmt"
	"unicode/utf8"

	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// Limits bound one entity, as Wikibase bounds what one edit may store. Every save checks them,
// so no writer (import, seed, sample) stores what the knowledge base would refuse, and no
// revision row comes near MariaDB's max_allowed_packet. A zero field means its default.
type Limits struct {
	// EntityBytes bounds the serialized JSON of the entity (Wikibase's
	// maxSerializedEntitySize).
	EntityBytes int
	// LabelChars, DescriptionChars and AliasChars bound each label, description and alias in
	// Unicode characters, not bytes (Wikibase's string-limits for multilingual text).
	LabelChars, DescriptionChars, AliasChars int
}

// DefaultLimits are Wikidata's: 2 MiB of serialized JSON, 250 characters per term.
var DefaultLimits = Limits{EntityBytes: 2 << 20, LabelChars: 250, DescriptionChars: 250, AliasChars: 250}

// MaxEntityBytes is the highest EntityBytes allowed: a revision row holds the entity once,
// compressed (never much larger than the JSON), so below half of MariaDB's default
// max_allowed_packet (16 MiB) every row fits in one packet with room for the other columns.
const MaxEntityBytes = 8 << 20

func (l Limits) orDefaults() Limits {
	d := DefaultLimits
	if l.EntityBytes > 0 {
		d.EntityBytes = l.EntityBytes
	}
	if l.LabelChars > 0 {
		d.LabelChars = l.LabelChars
	}
	if l.DescriptionChars > 0 {
		d.DescriptionChars = l.DescriptionChars
	}
	if l.AliasChars > 0 {
		d.AliasChars = l.AliasChars
	}
	return d
}

// checkTerms returns why e's labels, descriptions or aliases are too long, or "".
func (l Limits) checkTerms(e *wikibase.Entity) string {
	check := func(what string, terms []wikibase.Term, limit int, variable string) string {
		for _, t := range terms {
			if n := utf8.RuneCountInString(t.Value); n > limit {
				return fmt.Sprintf("%s (%s) is %d characters, over the limit of %d (%s)", what, t.Language, n, limit, variable)
			}
		}
		return ""
	}
	if r := check("label", e.Labels, l.LabelChars, "LABEL_MAX_CHARS"); r != "" {
		return r
	}
	if r := check("description", e.Descriptions, l.DescriptionChars, "DESCRIPTION_MAX_CHARS"); r != "" {
		return r
	}
	for _, g := range e.Aliases {
		if r := check("alias", g.Aliases, l.AliasChars, "ALIAS_MAX_CHARS"); r != "" {
			return r
		}
	}
	return ""
}

// checkSize returns why a serialized entity is too big, or "".
func (l Limits) checkSize(line []byte) string {
	if len(line) > l.EntityBytes {
		return fmt.Sprintf("serialized entity is %d bytes, over the limit of %d bytes (ENTITY_MAX_BYTES)", len(line), l.EntityBytes)
	}
	return ""
}
