package wikibase

import (
	"bytes"
	"errors"
	"fmt"
)

// Encoder writes entities as Wikidata JSON dump lines: the output of
// Wikibase's compact entity serializer (JsonDumpGenerator, dumps-rdf.md §1.1).
// That is: keys in Wikibase's order, "datatype" injected on every snak, main
// snaks and reference snaks without "hash", qualifier snaks and references
// with it (recomputed from content), empty maps as {}, and optional page
// metadata at the end.
//
// An Encoder reuses buffers between calls and is not safe for concurrent
// use; give each goroutine its own.
type Encoder struct {
	// Datatypes gives snak datatypes. When it does not know a property, the
	// property entity's own datatype (for its own id) and then the datatype
	// read with the snak are used; with none of them the snak has no
	// "datatype", as in Wikibase for deleted properties.
	Datatypes DatatypeLookup
	// UTF8 writes non-ASCII text and "/" as they are. By default strings are
	// escaped as PHP's json_encode does ("\/", "\u00e9"), byte for byte like
	// Wikidata's dumps.
	UTF8 bool
	// SitelinkURLs writes the "url" of sitelinks that have one, as
	// Special:EntityData does; dumps have none.
	SitelinkURLs bool
	// StoredHashes uses the qualifier and reference hashes read with the
	// entity when present instead of recomputing them. Faster, but it trusts
	// the input; Wikibase always recomputes.
	StoredHashes bool

	hasher Hasher
	buf    []byte
	entity *Entity
	err    error
}

// Marshal returns the dump line of e (without a trailing comma or newline)
// in a slice of its own. page, when not nil, is appended as pageid, ns,
// title, lastrevid, modified.
func (enc *Encoder) Marshal(e *Entity, page *PageMetadata) ([]byte, error) {
	// Encoding into a reused buffer and copying the result once costs less
	// than growing a new slice to the size of the line.
	b, err := enc.AppendEntity(enc.buf[:0], e, page)
	enc.buf = b
	if err != nil {
		return nil, err
	}
	return bytes.Clone(b), nil
}

// AppendEntity appends the dump line of e to dst.
func (enc *Encoder) AppendEntity(dst []byte, e *Entity, page *PageMetadata) ([]byte, error) {
	if e == nil {
		return dst, errors.New("encode entity: entity is nil")
	}
	if e.Type == "" || e.ID == "" {
		return dst, fmt.Errorf("encode entity %q: entity needs a type and an id", e.ID)
	}
	enc.entity, enc.err = e, nil
	start := len(dst)
	b := append(dst, '{')
	b = appendKey(b, "type")
	b = enc.str(b, e.Type)
	if e.Type == TypeProperty || e.present&secDatatype != 0 {
		b = append(b, `,"datatype":`...)
		b = enc.str(b, e.Datatype)
	}
	b = append(b, `,"id":`...)
	b = enc.str(b, e.ID)

	var sections section
	switch e.Type {
	case TypeItem:
		sections = secLabels | secDescriptions | secAliases | secClaims | secSitelinks
	case TypeProperty:
		sections = secLabels | secDescriptions | secAliases | secClaims
	case TypeLexeme:
		sections = secLemmas | secLexicalCategory | secLanguage | secClaims | secForms | secSenses
	default:
		sections = e.present &^ secDatatype
		// A type the model does not know keeps whatever sections it had.
		if len(e.Labels) > 0 {
			sections |= secLabels
		}
		if len(e.Claims) > 0 {
			sections |= secClaims
		}
	}
	if sections&secLabels != 0 {
		b = append(b, `,"labels":`...)
		b = enc.terms(b, e.Labels)
	}
	if sections&secDescriptions != 0 {
		b = append(b, `,"descriptions":`...)
		b = enc.terms(b, e.Descriptions)
	}
	if sections&secAliases != 0 {
		b = append(b, `,"aliases":`...)
		b = enc.aliases(b, e.Aliases)
	}
	if sections&secLemmas != 0 {
		b = append(b, `,"lemmas":`...)
		b = enc.terms(b, e.Lemmas)
	}
	if sections&secLexicalCategory != 0 {
		b = append(b, `,"lexicalCategory":`...)
		b = enc.str(b, e.LexicalCategory)
	}
	if sections&secLanguage != 0 {
		b = append(b, `,"language":`...)
		b = enc.str(b, e.Language)
	}
	if sections&secClaims != 0 {
		b = append(b, `,"claims":`...)
		b = enc.claims(b, e.Claims)
	}
	if sections&secSitelinks != 0 {
		b = append(b, `,"sitelinks":`...)
		b = enc.sitelinks(b, e.Sitelinks)
	}
	if sections&secForms != 0 {
		b = append(b, `,"forms":`...)
		b = enc.forms(b, e.Forms)
	}
	if sections&secSenses != 0 {
		b = append(b, `,"senses":`...)
		b = enc.senses(b, e.Senses)
	}
	b = enc.extra(b, e.Extra)
	if page != nil {
		b = append(b, `,"pageid":`...)
		b = appendInt(b, page.PageID)
		b = append(b, `,"ns":`...)
		b = appendInt(b, page.NS)
		b = append(b, `,"title":`...)
		b = enc.str(b, page.Title)
		b = append(b, `,"lastrevid":`...)
		b = appendInt(b, page.LastRevID)
		b = append(b, `,"modified":`...)
		b = enc.str(b, page.Modified)
	}
	b = append(b, '}')
	enc.entity = nil
	if enc.err != nil {
		return b[:start], fmt.Errorf("encode entity %s: %w", e.ID, enc.err)
	}
	return b, nil
}

func (enc *Encoder) fail(err error) {
	if enc.err == nil {
		enc.err = err
	}
}

func (enc *Encoder) str(b []byte, s string) []byte {
	return appendJSONString(b, s, !enc.UTF8)
}

// extra appends members kept verbatim from the input.
func (enc *Encoder) extra(b []byte, fields []RawField) []byte {
	for _, f := range fields {
		b = append(b, ',')
		b = enc.str(b, f.Key)
		b = append(b, ':')
		b = append(b, f.Value...)
	}
	return b
}

func (enc *Encoder) term(b []byte, t *Term) []byte {
	b = append(b, `{"language":`...)
	b = enc.str(b, t.Language)
	b = append(b, `,"value":`...)
	b = enc.str(b, t.Value)
	b = enc.extra(b, t.Extra)
	return append(b, '}')
}

func (enc *Encoder) terms(b []byte, terms []Term) []byte {
	b = append(b, '{')
	for i := range terms {
		if i > 0 {
			b = append(b, ',')
		}
		b = enc.str(b, terms[i].Language)
		b = append(b, ':')
		b = enc.term(b, &terms[i])
	}
	return append(b, '}')
}

func (enc *Encoder) aliases(b []byte, groups []AliasGroup) []byte {
	b = append(b, '{')
	first := true
	for _, g := range groups {
		if len(g.Aliases) == 0 {
			continue // Wikibase drops empty alias groups
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = enc.str(b, g.Language)
		b = append(b, ':', '[')
		for i := range g.Aliases {
			if i > 0 {
				b = append(b, ',')
			}
			b = enc.term(b, &g.Aliases[i])
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func (enc *Encoder) sitelinks(b []byte, links []Sitelink) []byte {
	b = append(b, '{')
	for i := range links {
		l := &links[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = enc.str(b, l.Site)
		b = append(b, `:{"site":`...)
		b = enc.str(b, l.Site)
		b = append(b, `,"title":`...)
		b = enc.str(b, l.Title)
		b = append(b, `,"badges":`...)
		b = enc.stringList(b, l.Badges)
		if enc.SitelinkURLs && l.URL != "" {
			b = append(b, `,"url":`...)
			b = enc.str(b, l.URL)
		}
		b = enc.extra(b, l.Extra)
		b = append(b, '}')
	}
	return append(b, '}')
}

func (enc *Encoder) stringList(b []byte, list []string) []byte {
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = enc.str(b, s)
	}
	return append(b, ']')
}

func (enc *Encoder) claims(b []byte, groups []StatementGroup) []byte {
	b = append(b, '{')
	first := true
	for g := range groups {
		if len(groups[g].Statements) == 0 {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = enc.str(b, groups[g].Property)
		b = append(b, ':', '[')
		for i := range groups[g].Statements {
			if i > 0 {
				b = append(b, ',')
			}
			b = enc.statement(b, &groups[g].Statements[i])
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func (enc *Encoder) statement(b []byte, st *Statement) []byte {
	b = append(b, `{"mainsnak":`...)
	b = enc.snak(b, &st.MainSnak, "")
	b = append(b, `,"type":"statement"`...)
	if len(st.Qualifiers) > 0 {
		b = append(b, `,"qualifiers":`...)
		b = enc.snakList(b, st.Qualifiers, true, `,"qualifiers-order":`)
	}
	if st.ID != "" {
		b = append(b, `,"id":`...)
		b = enc.str(b, st.ID)
	}
	b = append(b, `,"rank":`...)
	rank := st.Rank
	if rank == "" {
		rank = RankNormal
	}
	b = enc.str(b, rank)
	if len(st.References) > 0 {
		b = append(b, `,"references":[`...)
		for i := range st.References {
			if i > 0 {
				b = append(b, ',')
			}
			b = enc.reference(b, &st.References[i])
		}
		b = append(b, ']')
	}
	b = enc.extra(b, st.Extra)
	return append(b, '}')
}

func (enc *Encoder) reference(b []byte, r *Reference) []byte {
	hash := r.Hash
	if !enc.StoredHashes || hash == "" {
		h, err := enc.hasher.ReferenceHash(r)
		switch {
		case err == nil:
			hash = h
		case hash == "":
			enc.fail(err)
		}
	}
	b = append(b, `{"hash":`...)
	b = enc.str(b, hash)
	b = append(b, `,"snaks":`...)
	b = enc.snakList(b, r.Snaks, false, `,"snaks-order":`)
	b = enc.extra(b, r.Extra)
	return append(b, '}')
}

// snakList writes snaks grouped by property in order of first appearance,
// followed by the order member naming that property order.
func (enc *Encoder) snakList(b []byte, snaks []Snak, withHash bool, orderKey string) []byte {
	var orderBuf [16]string
	order := orderBuf[:0]
	for i := range snaks {
		pid := snaks[i].Property
		seen := false
		for _, p := range order {
			if p == pid {
				seen = true
				break
			}
		}
		if !seen {
			order = append(order, pid)
		}
	}
	b = append(b, '{')
	for n, pid := range order {
		if n > 0 {
			b = append(b, ',')
		}
		b = enc.str(b, pid)
		b = append(b, ':', '[')
		first := true
		for i := range snaks {
			if snaks[i].Property != pid {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			hash := ""
			if withHash {
				hash = enc.snakHash(&snaks[i])
			}
			b = enc.snak(b, &snaks[i], hash)
		}
		b = append(b, ']')
	}
	b = append(b, '}')
	b = append(b, orderKey...)
	return enc.stringList(b, order)
}

func (enc *Encoder) snakHash(s *Snak) string {
	if enc.StoredHashes && s.Hash != "" {
		return s.Hash
	}
	h, err := enc.hasher.SnakHash(s)
	if err != nil {
		if s.Hash != "" {
			return s.Hash // a value type we cannot hash keeps its stored hash
		}
		enc.fail(err)
	}
	return h
}

func (enc *Encoder) datatype(s *Snak) string {
	if enc.Datatypes != nil {
		if dt, ok := enc.Datatypes.Datatype(s.Property); ok {
			return dt
		}
	}
	if e := enc.entity; e != nil && e.Type == TypeProperty && e.ID == s.Property && e.Datatype != "" {
		return e.Datatype
	}
	return s.Datatype
}

// snak writes a snak; hash is written when not empty.
func (enc *Encoder) snak(b []byte, s *Snak, hash string) []byte {
	b = append(b, `{"snaktype":`...)
	switch s.Type {
	case SnakValue:
		b = append(b, `"value"`...)
	case SnakSomeValue:
		b = append(b, `"somevalue"`...)
	case SnakNoValue:
		b = append(b, `"novalue"`...)
	default:
		enc.fail(fmt.Errorf("snak of %s has invalid type %d", s.Property, s.Type))
		b = append(b, `"invalid"`...)
	}
	b = append(b, `,"property":`...)
	b = enc.str(b, s.Property)
	if hash != "" {
		b = append(b, `,"hash":`...)
		b = enc.str(b, hash)
	}
	if s.Type == SnakValue {
		b = append(b, `,"datavalue":{"value":`...)
		b = enc.value(b, s.Value)
		b = append(b, `,"type":`...)
		if s.Value != nil {
			b = enc.str(b, s.Value.ValueType())
		} else {
			b = append(b, `""`...)
		}
		b = append(b, '}')
	}
	if dt := enc.datatype(s); dt != "" {
		b = append(b, `,"datatype":`...)
		b = enc.str(b, dt)
	}
	b = enc.extra(b, s.Extra)
	return append(b, '}')
}

func (enc *Encoder) value(b []byte, v Value) []byte {
	switch v := v.(type) {
	case *StringValue:
		return enc.str(b, v.Value)
	case *EntityIDValue:
		b = append(b, `{"entity-type":`...)
		b = enc.str(b, v.EntityType)
		if n, ok := v.NumericID(); ok {
			b = append(b, `,"numeric-id":`...)
			b = appendInt(b, n)
		}
		b = append(b, `,"id":`...)
		b = enc.str(b, v.ID)
		return append(b, '}')
	case *MonolingualTextValue:
		b = append(b, `{"text":`...)
		b = enc.str(b, v.Text)
		b = append(b, `,"language":`...)
		b = enc.str(b, v.Language)
		return append(b, '}')
	case *TimeValue:
		b = append(b, `{"time":`...)
		b = enc.str(b, v.Time)
		b = append(b, `,"timezone":`...)
		b = appendInt(b, v.Timezone)
		b = append(b, `,"before":`...)
		b = appendInt(b, v.Before)
		b = append(b, `,"after":`...)
		b = appendInt(b, v.After)
		b = append(b, `,"precision":`...)
		b = appendInt(b, v.Precision)
		b = append(b, `,"calendarmodel":`...)
		b = enc.str(b, v.CalendarModel)
		return append(b, '}')
	case *QuantityValue:
		b = append(b, `{"amount":`...)
		b = enc.str(b, v.Amount)
		b = append(b, `,"unit":`...)
		b = enc.str(b, v.Unit)
		if v.Bounded() {
			b = append(b, `,"upperBound":`...)
			b = enc.str(b, v.UpperBound)
			b = append(b, `,"lowerBound":`...)
			b = enc.str(b, v.LowerBound)
		}
		return append(b, '}')
	case *GlobeCoordinateValue:
		var err error
		b = append(b, `{"latitude":`...)
		b, err = appendJSONFloat(b, v.Latitude)
		enc.failIf(err)
		b = append(b, `,"longitude":`...)
		b, err = appendJSONFloat(b, v.Longitude)
		enc.failIf(err)
		b = append(b, `,"altitude":`...)
		b, err = appendOptionalJSONFloat(b, v.Altitude)
		enc.failIf(err)
		b = append(b, `,"precision":`...)
		b, err = appendOptionalJSONFloat(b, v.Precision)
		enc.failIf(err)
		b = append(b, `,"globe":`...)
		b = enc.str(b, v.Globe)
		return append(b, '}')
	case *UnknownValue:
		if len(v.Raw) == 0 {
			enc.fail(fmt.Errorf("value of type %q has no JSON", v.Type))
			return append(b, "null"...)
		}
		return append(b, v.Raw...)
	}
	enc.fail(fmt.Errorf("cannot encode value %T", v))
	return append(b, "null"...)
}

func (enc *Encoder) failIf(err error) {
	if err != nil {
		enc.fail(err)
	}
}

func (enc *Encoder) forms(b []byte, forms []Form) []byte {
	b = append(b, '[')
	for i := range forms {
		f := &forms[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = enc.str(b, f.ID)
		b = append(b, `,"representations":`...)
		b = enc.terms(b, f.Representations)
		b = append(b, `,"grammaticalFeatures":`...)
		b = enc.stringList(b, f.GrammaticalFeatures)
		b = append(b, `,"claims":`...)
		b = enc.claims(b, f.Claims)
		b = enc.extra(b, f.Extra)
		b = append(b, '}')
	}
	return append(b, ']')
}

func (enc *Encoder) senses(b []byte, senses []Sense) []byte {
	b = append(b, '[')
	for i := range senses {
		s := &senses[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = enc.str(b, s.ID)
		b = append(b, `,"glosses":`...)
		b = enc.terms(b, s.Glosses)
		b = append(b, `,"claims":`...)
		b = enc.claims(b, s.Claims)
		b = enc.extra(b, s.Extra)
		b = append(b, '}')
	}
	return append(b, ']')
}
