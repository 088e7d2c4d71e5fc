package wikibase

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// ParseEntity parses one entity object in Wikibase JSON: the form inside
// Special:EntityData, a dump line without its trailing comma, or Wikibase's
// internal and legacy forms (entity ids as {"entity-type","numeric-id"},
// empty maps written as [], no hashes). It returns an error for invalid
// input and never a partly filled entity.
func ParseEntity(data []byte) (*Entity, error) {
	p := parser{s: scanner{data: data}}
	p.s.intern = internPool.Get().(*internTable)
	defer internPool.Put(p.s.intern)
	e := &Entity{}
	if err := p.entity(e); err != nil {
		return nil, err
	}
	if err := p.s.end(); err != nil {
		return nil, err
	}
	return e, nil
}

// parser turns scanner tokens into the entity model.
type parser struct {
	s scanner
	// Lists are collected in these and copied out at their exact size, rather than grown
	// from nothing for every statement group and snak list. A nested list (none in
	// Wikibase's model) would find the field empty and grow its own.
	snaks []Snak
	stmts []Statement
}

// exact copies a collected list into a slice of its own size; nil when empty.
func exact[T any](list []T) []T {
	if len(list) == 0 {
		return nil
	}
	return append(make([]T, 0, len(list)), list...)
}

// fieldError names the JSON member an error was found in.
func fieldError(field string, err error) error {
	return fmt.Errorf("%s: %w", field, err)
}

func (p *parser) rawField(key []byte) (RawField, error) {
	k := string(key) // copy before the scanner reuses its buffer
	raw, err := p.s.skip()
	if err != nil {
		return RawField{}, fieldError(k, err)
	}
	return RawField{Key: k, Value: append([]byte(nil), raw...)}, nil
}

func (p *parser) entity(e *Entity) error {
	s := &p.s
	if s.peek() != '{' {
		return s.errorf("an entity must be a JSON object")
	}
	var page PageMetadata
	err := s.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "type":
			e.Type, err = s.str()
			return wrapField("type", err)
		case "id":
			e.ID, err = s.str()
			return wrapField("id", err)
		case "datatype":
			e.present |= secDatatype
			e.Datatype, err = s.str()
			return wrapField("datatype", err)
		case "labels":
			e.present |= secLabels
			e.Labels, err = p.termMap()
			return wrapField("labels", err)
		case "descriptions":
			e.present |= secDescriptions
			e.Descriptions, err = p.termMap()
			return wrapField("descriptions", err)
		case "aliases":
			e.present |= secAliases
			e.Aliases, err = p.aliasMap()
			return wrapField("aliases", err)
		case "claims":
			e.present |= secClaims
			e.Claims, err = p.claims()
			return wrapField("claims", err)
		case "sitelinks":
			e.present |= secSitelinks
			e.Sitelinks, err = p.sitelinks()
			return wrapField("sitelinks", err)
		case "lemmas":
			e.present |= secLemmas
			e.Lemmas, err = p.termMap()
			return wrapField("lemmas", err)
		case "lexicalCategory":
			e.present |= secLexicalCategory
			e.LexicalCategory, err = s.internStr()
			return wrapField("lexicalCategory", err)
		case "language":
			e.present |= secLanguage
			e.Language, err = s.internStr()
			return wrapField("language", err)
		case "forms":
			e.present |= secForms
			e.Forms, err = p.forms()
			return wrapField("forms", err)
		case "senses":
			e.present |= secSenses
			e.Senses, err = p.senses()
			return wrapField("senses", err)
		case "pageid":
			page.has |= pageHasPageID
			page.PageID, err = s.integer()
			return wrapField("pageid", err)
		case "ns":
			page.has |= pageHasNS
			page.NS, err = s.integer()
			return wrapField("ns", err)
		case "title":
			page.has |= pageHasTitle
			page.Title, err = s.str()
			return wrapField("title", err)
		case "lastrevid":
			page.has |= pageHasLastRevID
			page.LastRevID, err = s.integer()
			return wrapField("lastrevid", err)
		case "modified":
			page.has |= pageHasModified
			page.Modified, err = s.str()
			return wrapField("modified", err)
		default:
			f, err := p.rawField(key)
			if err != nil {
				return err
			}
			e.Extra = appendRawField(e.Extra, f)
			return nil
		}
	})
	if err != nil {
		return err
	}
	if page.has != 0 {
		e.Page = &page
	}
	return validateEntity(e)
}

func wrapField(field string, err error) error {
	if err == nil {
		return nil
	}
	return fieldError(field, err)
}

// appendRawField adds f, replacing an earlier member of the same key the way
// PHP's json_decode does (last value wins, first position kept).
func appendRawField(fields []RawField, f RawField) []RawField {
	for i := range fields {
		if fields[i].Key == f.Key {
			fields[i].Value = f.Value
			return fields
		}
	}
	return append(fields, f)
}

// ErrNoID is the parse error of an entity without an id.
var ErrNoID = errors.New("entity has no id")

func validateEntity(e *Entity) error {
	if e.Type == "" {
		return errors.New("entity has no type")
	}
	if e.ID == "" {
		return ErrNoID
	}
	switch e.Type {
	case TypeItem, TypeProperty, TypeLexeme:
		if typ, ok := EntityTypeOfID(e.ID); !ok || typ != e.Type {
			return fmt.Errorf("id %q is not a valid %s id", e.ID, e.Type)
		}
	}
	if e.Type == TypeProperty && e.Datatype == "" {
		return fmt.Errorf("property %s has no datatype", e.ID)
	}
	return nil
}

// termMap reads {"en":{"language":"en","value":"..."}, ...}.
func (p *parser) termMap() ([]Term, error) {
	var terms []Term
	var index map[string]int // position by language, once there are many
	err := p.s.mapOrEmptyArray(func(key []byte) error {
		k := p.s.internBytes(key)
		t, err := p.term()
		if err != nil {
			return fieldError(k, err)
		}
		if t.Language == "" {
			t.Language = k
		}
		// PHP keeps the first position and the last value of a repeated language.
		if index == nil && len(terms) >= 16 {
			index = make(map[string]int, 2*len(terms))
			for i := range terms {
				index[terms[i].Language] = i
			}
		}
		if index != nil {
			if i, ok := index[t.Language]; ok {
				terms[i] = t
				return nil
			}
			index[t.Language] = len(terms)
		} else {
			for i := range terms {
				if terms[i].Language == t.Language {
					terms[i] = t
					return nil
				}
			}
		}
		terms = append(terms, t)
		return nil
	})
	return terms, err
}

func (p *parser) term() (Term, error) {
	var t Term
	hasValue := false
	s := &p.s
	err := s.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "language":
			t.Language, err = s.internStr()
			return wrapField("language", err)
		case "value":
			hasValue = true
			t.Value, err = s.str()
			return wrapField("value", err)
		default:
			f, err := p.rawField(key)
			if err != nil {
				return err
			}
			t.Extra = appendRawField(t.Extra, f)
			return nil
		}
	})
	if err != nil {
		return t, err
	}
	if !hasValue {
		return t, errors.New("term has no value")
	}
	return t, nil
}

func (p *parser) aliasMap() ([]AliasGroup, error) {
	var groups []AliasGroup
	err := p.s.mapOrEmptyArray(func(key []byte) error {
		lang := p.s.internBytes(key)
		var aliases []Term
		err := p.s.array(func() error {
			t, err := p.term()
			if err != nil {
				return err
			}
			if t.Language == "" {
				t.Language = lang
			}
			aliases = append(aliases, t)
			return nil
		})
		if err != nil {
			return fieldError(lang, err)
		}
		for i := range groups {
			if groups[i].Language == lang {
				groups[i].Aliases = aliases
				return nil
			}
		}
		groups = append(groups, AliasGroup{Language: lang, Aliases: aliases})
		return nil
	})
	return groups, err
}

func (p *parser) sitelinks() ([]Sitelink, error) {
	var links []Sitelink
	s := &p.s
	err := s.mapOrEmptyArray(func(key []byte) error {
		site := p.s.internBytes(key)
		var l Sitelink
		hasTitle := false
		err := s.object(func(key []byte) error {
			var err error
			switch string(key) {
			case "site":
				l.Site, err = s.internStr()
				return wrapField("site", err)
			case "title":
				hasTitle = true
				l.Title, err = s.str()
				return wrapField("title", err)
			case "badges":
				l.Badges, err = p.stringArray()
				return wrapField("badges", err)
			case "url":
				l.URL, err = s.str()
				return wrapField("url", err)
			default:
				f, err := p.rawField(key)
				if err != nil {
					return err
				}
				l.Extra = appendRawField(l.Extra, f)
				return nil
			}
		})
		if err != nil {
			return fieldError(site, err)
		}
		if !hasTitle {
			return fieldError(site, errors.New("sitelink has no title"))
		}
		if l.Site == "" {
			l.Site = site
		}
		for i := range links {
			if links[i].Site == l.Site {
				links[i] = l
				return nil
			}
		}
		links = append(links, l)
		return nil
	})
	return links, err
}

func (p *parser) stringArray() ([]string, error) {
	var buf [8]string
	out := buf[:0]
	err := p.s.array(func() error {
		v, err := p.s.internStr()
		out = append(out, v)
		return err
	})
	return exact(out), err
}

// claims reads the claims map. Statements are regrouped by their main snak's
// property in order of first appearance, which is what Wikibase's own
// deserialize/serialize cycle does.
func (p *parser) claims() ([]StatementGroup, error) {
	var groups []StatementGroup
	regroup := false
	err := p.s.mapOrEmptyArray(func(key []byte) error {
		pid := p.s.internBytes(key)
		stmts := p.stmts[:0]
		p.stmts = nil
		err := p.s.array(func() error {
			st, err := p.statement()
			if err != nil {
				return fieldError(strconv.Itoa(len(stmts)), err)
			}
			if st.MainSnak.Property != pid {
				regroup = true
			}
			stmts = append(stmts, st)
			return nil
		})
		p.stmts = stmts[:0]
		if err != nil {
			return fieldError(pid, err)
		}
		for i := range groups {
			if groups[i].Property == pid {
				groups[i].Statements = exact(stmts)
				return nil
			}
		}
		groups = append(groups, StatementGroup{Property: pid, Statements: exact(stmts)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if regroup || hasEmptyGroup(groups) {
		groups = groupStatements(groups)
	}
	return groups, nil
}

func hasEmptyGroup(groups []StatementGroup) bool {
	for _, g := range groups {
		if len(g.Statements) == 0 {
			return true
		}
	}
	return false
}

// groupStatements regroups statements by main snak property.
func groupStatements(in []StatementGroup) []StatementGroup {
	var out []StatementGroup
	for _, g := range in {
		for _, st := range g.Statements {
			pid := st.MainSnak.Property
			found := false
			for i := range out {
				if out[i].Property == pid {
					out[i].Statements = append(out[i].Statements, st)
					found = true
					break
				}
			}
			if !found {
				out = append(out, StatementGroup{Property: pid, Statements: []Statement{st}})
			}
		}
	}
	return out
}

func (p *parser) statement() (Statement, error) {
	var st Statement
	var order []string
	hasOrder, hasMain := false, false
	s := &p.s
	err := s.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "mainsnak":
			hasMain = true
			st.MainSnak, err = p.snak()
			return wrapField("mainsnak", err)
		case "type":
			var typ string
			typ, err = s.str()
			if err == nil && typ != "statement" && typ != "claim" {
				err = fmt.Errorf("unknown statement type %q", typ)
			}
			return wrapField("type", err)
		case "id":
			st.ID, err = s.str()
			return wrapField("id", err)
		case "rank":
			st.Rank, err = s.internStr()
			if err == nil && st.Rank != RankNormal && st.Rank != RankPreferred && st.Rank != RankDeprecated {
				err = fmt.Errorf("unknown rank %q", st.Rank)
			}
			return wrapField("rank", err)
		case "qualifiers":
			st.Qualifiers, err = p.snakMap()
			return wrapField("qualifiers", err)
		case "qualifiers-order":
			hasOrder = true
			order, err = p.stringArray()
			return wrapField("qualifiers-order", err)
		case "references":
			err = s.array(func() error {
				r, err := p.reference()
				if err != nil {
					return fieldError(strconv.Itoa(len(st.References)), err)
				}
				st.References = append(st.References, r)
				return nil
			})
			return wrapField("references", err)
		default:
			f, err := p.rawField(key)
			if err != nil {
				return err
			}
			st.Extra = appendRawField(st.Extra, f)
			return nil
		}
	})
	if err != nil {
		return st, err
	}
	if !hasMain {
		return st, errors.New("statement has no mainsnak")
	}
	if st.Rank == "" {
		st.Rank = RankNormal
	}
	if hasOrder {
		st.Qualifiers = orderByProperty(st.Qualifiers, order)
	}
	return st, nil
}

func (p *parser) reference() (Reference, error) {
	var r Reference
	var order []string
	hasOrder := false
	s := &p.s
	err := s.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "hash":
			r.Hash, err = s.str()
			return wrapField("hash", err)
		case "snaks":
			r.Snaks, err = p.snakMap()
			return wrapField("snaks", err)
		case "snaks-order":
			hasOrder = true
			order, err = p.stringArray()
			return wrapField("snaks-order", err)
		default:
			f, err := p.rawField(key)
			if err != nil {
				return err
			}
			r.Extra = appendRawField(r.Extra, f)
			return nil
		}
	})
	if err != nil {
		return r, err
	}
	if hasOrder {
		r.Snaks = orderByProperty(r.Snaks, order)
	}
	return r, nil
}

// snakMap reads {"P1":[snak,...],...} into a flat list in map order.
func (p *parser) snakMap() ([]Snak, error) {
	type span struct {
		key        string
		start, end int
	}
	snaks := p.snaks[:0]
	p.snaks = nil
	defer func() { p.snaks = snaks[:0] }()
	var spans []span
	replaced := false
	err := p.s.mapOrEmptyArray(func(key []byte) error {
		pid := p.s.internBytes(key)
		start := len(snaks)
		err := p.s.array(func() error {
			sn, err := p.snak()
			if err != nil {
				return fieldError(strconv.Itoa(len(snaks)-start), err)
			}
			snaks = append(snaks, sn)
			return nil
		})
		if err != nil {
			return fieldError(pid, err)
		}
		for i := range spans {
			if spans[i].key == pid {
				// PHP keeps the first position and the last value of a
				// repeated key.
				spans[i].start, spans[i].end = start, len(snaks)
				replaced = true
				return nil
			}
		}
		spans = append(spans, span{key: pid, start: start, end: len(snaks)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !replaced {
		return exact(snaks), nil
	}
	out := make([]Snak, 0, len(snaks))
	for _, sp := range spans {
		out = append(out, snaks[sp.start:sp.end]...)
	}
	return out, nil
}

// orderByProperty orders snaks by the property order given (Wikibase's
// SnakList::orderByProperty): properties named in order first, in that
// order, then the rest in their current order.
func orderByProperty(snaks []Snak, order []string) []Snak {
	if len(snaks) < 2 || len(order) == 0 {
		return snaks
	}
	// Most input is already in order; check before copying.
	i := 0
	for _, pid := range order {
		for i < len(snaks) && snaks[i].Property == pid {
			i++
		}
	}
	if i == len(snaks) {
		return snaks
	}
	out := make([]Snak, 0, len(snaks))
	used := make([]bool, len(snaks))
	for _, pid := range order {
		for j := range snaks {
			if !used[j] && snaks[j].Property == pid {
				out = append(out, snaks[j])
				used[j] = true
			}
		}
	}
	for j := range snaks {
		if !used[j] {
			out = append(out, snaks[j])
		}
	}
	return out
}

func (p *parser) snak() (Snak, error) {
	var sn Snak
	var value Value
	hasDataValue := false
	s := &p.s
	err := s.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "snaktype":
			var typ []byte
			typ, err = s.stringBytes()
			if err != nil {
				return fieldError("snaktype", err)
			}
			switch string(typ) {
			case "value":
				sn.Type = SnakValue
			case "somevalue":
				sn.Type = SnakSomeValue
			case "novalue":
				sn.Type = SnakNoValue
			default:
				return fmt.Errorf("snaktype: unknown snak type %q", typ)
			}
			return nil
		case "property":
			sn.Property, err = s.internStr()
			return wrapField("property", err)
		case "hash":
			sn.Hash, err = s.str()
			return wrapField("hash", err)
		case "datatype":
			sn.Datatype, err = s.internStr()
			return wrapField("datatype", err)
		case "datavalue":
			hasDataValue = true
			value, err = p.dataValue()
			return wrapField("datavalue", err)
		default:
			f, err := p.rawField(key)
			if err != nil {
				return err
			}
			sn.Extra = appendRawField(sn.Extra, f)
			return nil
		}
	})
	if err != nil {
		return sn, err
	}
	if sn.Type == 0 {
		return sn, errors.New("snak has no snaktype")
	}
	if typ, ok := EntityTypeOfID(sn.Property); !ok || typ != TypeProperty {
		return sn, fmt.Errorf("snak property %q is not a property id", sn.Property)
	}
	switch {
	case sn.Type == SnakValue && !hasDataValue:
		return sn, fmt.Errorf("value snak of %s has no datavalue", sn.Property)
	case sn.Type != SnakValue && hasDataValue:
		return sn, fmt.Errorf("%s snak of %s has a datavalue", sn.Type, sn.Property)
	case hasDataValue:
		sn.Value = value
	}
	return sn, nil
}

// dataValue reads {"value":...,"type":"..."} and decodes the value. The
// members may come in either order. Wikibase writes the value first, and its
// shape (the first member of an object) nearly always tells its type, so it
// is decoded as it is read; when the shape says nothing, or turns out wrong,
// it is decoded from its raw JSON once the type is known.
func (p *parser) dataValue() (Value, error) {
	var raw []byte
	var typ, decodedAs string
	var decoded Value
	hasValue, hasType := false, false
	s := &p.s
	err := s.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "value":
			hasValue = true
			s.skipSpace()
			start := s.pos
			if t := s.valueShape(); t != "" && (!hasType || t == typ) {
				if v, err := p.knownValue(t); err == nil {
					decoded, decodedAs, raw = v, t, s.data[start:s.pos]
					return nil
				}
				s.pos = start
			}
			raw, err = s.skip()
			return wrapField("value", err)
		case "type":
			hasType = true
			typ, err = s.internStr()
			return wrapField("type", err)
		default:
			return fmt.Errorf("unexpected member %q", key)
		}
	})
	switch {
	case err != nil:
		return nil, err
	case !hasValue:
		return nil, errors.New("datavalue has no value")
	case !hasType || typ == "":
		return nil, errors.New("datavalue has no type")
	case decoded != nil && decodedAs == typ:
		return decoded, nil
	}
	return p.value(typ, raw)
}

// valueShape guesses the type of the value at the current position from its
// first byte and, for an object, its first member as Wikibase orders them.
// It returns "" when it cannot tell.
func (s *scanner) valueShape() string {
	if s.pos >= len(s.data) {
		return ""
	}
	switch s.data[s.pos] {
	case '"':
		return ValueTypeString
	case '{':
	default:
		return ""
	}
	i := s.pos + 1
	for i < len(s.data) && (s.data[i] == ' ' || s.data[i] == '\t' || s.data[i] == '\n' || s.data[i] == '\r') {
		i++
	}
	if i >= len(s.data) || s.data[i] != '"' {
		return ""
	}
	end := bytes.IndexByte(s.data[i+1:], '"')
	if end < 0 {
		return ""
	}
	switch string(s.data[i+1 : i+1+end]) {
	case "entity-type", "numeric-id", "id":
		return ValueTypeEntityID
	case "text":
		return ValueTypeMonolingualText
	case "time":
		return ValueTypeTime
	case "amount":
		return ValueTypeQuantity
	case "latitude":
		return ValueTypeGlobeCoordinate
	}
	return ""
}

// errUnknownMember marks a known value type carrying members the model does
// not know; such values are kept verbatim instead.
var errUnknownMember = errors.New("unknown member")

// value decodes a datavalue's value of the given type from raw JSON.
func (p *parser) value(typ string, raw []byte) (Value, error) {
	saved := p.s
	p.s = scanner{data: raw, scratch: saved.scratch, intern: saved.intern}
	v, err := p.knownValue(typ)
	if err == nil {
		err = p.s.end()
	}
	p.s = scanner{data: saved.data, pos: saved.pos, scratch: p.s.scratch, intern: saved.intern}
	if errors.Is(err, errUnknownMember) {
		return &UnknownValue{Type: typ, Raw: append([]byte(nil), raw...)}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s value: %w", typ, err)
	}
	return v, nil
}

func (p *parser) knownValue(typ string) (Value, error) {
	s := &p.s
	switch typ {
	case ValueTypeString:
		v, err := s.str()
		if err != nil {
			return nil, err
		}
		return &StringValue{Value: v}, nil
	case ValueTypeEntityID:
		return p.entityIDValue()
	case ValueTypeMonolingualText:
		v := &MonolingualTextValue{}
		var hasText, hasLang bool
		err := s.object(func(key []byte) error {
			var err error
			switch string(key) {
			case "text":
				hasText = true
				v.Text, err = s.str()
			case "language":
				hasLang = true
				v.Language, err = s.internStr()
			default:
				return errUnknownMember
			}
			return wrapField(string(key), err)
		})
		if err != nil {
			return nil, err
		}
		if !hasText || !hasLang {
			return nil, errors.New("needs text and language")
		}
		return v, nil
	case ValueTypeTime:
		return p.timeValue()
	case ValueTypeQuantity:
		return p.quantityValue()
	case ValueTypeGlobeCoordinate:
		return p.globeValue()
	default:
		if _, err := s.skip(); err != nil {
			return nil, err
		}
		return nil, errUnknownMember
	}
}

func (p *parser) entityIDValue() (Value, error) {
	s := &p.s
	var entityType, id string
	var num int64
	hasNum := false
	err := s.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "entity-type":
			entityType, err = s.internStr()
			return wrapField("entity-type", err)
		case "id":
			id, err = s.internStr()
			return wrapField("id", err)
		case "numeric-id":
			hasNum = true
			// Very old serializations wrote the number as a string.
			if s.peek() == '"' {
				var text string
				text, err = s.str()
				if err == nil {
					num, err = strconv.ParseInt(text, 10, 64)
				}
			} else {
				num, err = s.integer()
			}
			return wrapField("numeric-id", err)
		default:
			return errUnknownMember
		}
	})
	if err != nil {
		return nil, err
	}
	if id == "" {
		if entityType == "" || !hasNum {
			return nil, errors.New("needs an id, or entity-type and numeric-id")
		}
		if _, known := jsonEntityType(entityType); !known {
			return nil, errUnknownMember
		}
		id, err = entityIDFromParts(entityType, num)
		if err != nil {
			return nil, err
		}
		return &EntityIDValue{EntityType: entityType, ID: id}, nil
	}
	typ, ok := EntityTypeOfID(id)
	if !ok {
		if entityType == "" {
			return nil, fmt.Errorf("id %q has no entity-type and is not a known id form", id)
		}
		if hasNum {
			return nil, errUnknownMember
		}
		// Entity types of extensions (entity-schema, ...) keep their id.
		return &EntityIDValue{EntityType: entityType, ID: id}, nil
	}
	if entityType != "" && entityType != typ {
		return nil, fmt.Errorf("entity-type %q does not match id %q", entityType, id)
	}
	if hasNum {
		if n, ok := numericID(id); !ok || n != num {
			return nil, fmt.Errorf("numeric-id %d does not match id %q", num, id)
		}
	}
	return &EntityIDValue{EntityType: typ, ID: id}, nil
}

func (p *parser) timeValue() (Value, error) {
	s := &p.s
	v := &TimeValue{}
	var has uint8
	err := s.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "time":
			has |= 1
			v.Time, err = s.str()
		case "timezone":
			has |= 2
			v.Timezone, err = s.integer()
		case "before":
			has |= 4
			v.Before, err = s.integer()
		case "after":
			has |= 8
			v.After, err = s.integer()
		case "precision":
			has |= 16
			v.Precision, err = s.integer()
		case "calendarmodel":
			has |= 32
			v.CalendarModel, err = s.internStr()
		default:
			return errUnknownMember
		}
		return wrapField(string(key), err)
	})
	if err != nil {
		return nil, err
	}
	if has != 63 {
		return nil, errors.New("needs time, timezone, before, after, precision and calendarmodel")
	}
	if v.Precision < 0 || v.Precision > 14 {
		return nil, fmt.Errorf("precision %d is outside 0..14", v.Precision)
	}
	return v, nil
}

func (p *parser) quantityValue() (Value, error) {
	s := &p.s
	v := &QuantityValue{}
	hasAmount, hasUnit := false, false
	err := s.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "amount":
			hasAmount = true
			v.Amount, err = s.str()
		case "unit":
			hasUnit = true
			v.Unit, err = s.internStr()
		case "upperBound":
			v.UpperBound, err = s.str()
		case "lowerBound":
			v.LowerBound, err = s.str()
		default:
			return errUnknownMember
		}
		return wrapField(string(key), err)
	})
	if err != nil {
		return nil, err
	}
	if !hasAmount || !hasUnit {
		return nil, errors.New("needs amount and unit")
	}
	for _, n := range []struct{ name, text string }{
		{"amount", v.Amount}, {"upperBound", v.UpperBound}, {"lowerBound", v.LowerBound},
	} {
		if n.text == "" && n.name != "amount" {
			continue
		}
		if !isDecimal(n.text) {
			return nil, fmt.Errorf("%s %q is not a signed decimal like +1.5", n.name, n.text)
		}
	}
	if (v.UpperBound == "") != (v.LowerBound == "") {
		return nil, errors.New("needs both upperBound and lowerBound, or neither")
	}
	return v, nil
}

// isDecimal checks Wikibase's DecimalValue form: a sign, digits, and an
// optional fraction.
func isDecimal(s string) bool {
	if len(s) < 2 || (s[0] != '+' && s[0] != '-') {
		return false
	}
	digits, dot := 0, false
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot && digits > 0 && i+1 < len(s):
			dot = true
		default:
			return false
		}
	}
	return digits > 0
}

func (p *parser) globeValue() (Value, error) {
	s := &p.s
	v := &GlobeCoordinateValue{}
	hasLat, hasLon := false, false
	err := s.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "latitude":
			hasLat = true
			v.Latitude, err = s.float()
		case "longitude":
			hasLon = true
			v.Longitude, err = s.float()
		case "altitude":
			v.Altitude, err = p.optionalFloat()
		case "precision":
			v.Precision, err = p.optionalFloat()
		case "globe":
			v.Globe, err = s.internStr()
		default:
			return errUnknownMember
		}
		return wrapField(string(key), err)
	})
	if err != nil {
		return nil, err
	}
	if !hasLat || !hasLon {
		return nil, errors.New("needs latitude and longitude")
	}
	if v.Globe == "" {
		// Wikibase's deserializer defaults a missing globe to Earth.
		v.Globe = GlobeEarth
	}
	return v, nil
}

// GlobeEarth is the globe of coordinates on Earth.
const GlobeEarth = "http://www.wikidata.org/entity/Q2"

func (p *parser) optionalFloat() (*float64, error) {
	if p.s.consumeNull() {
		return nil, nil
	}
	f, err := p.s.float()
	if err != nil {
		return nil, err
	}
	return &f, nil
}

func (p *parser) forms() ([]Form, error) {
	var forms []Form
	s := &p.s
	err := s.array(func() error {
		var f Form
		err := s.object(func(key []byte) error {
			var err error
			switch string(key) {
			case "id":
				f.ID, err = s.str()
				return wrapField("id", err)
			case "representations":
				f.Representations, err = p.termMap()
				return wrapField("representations", err)
			case "grammaticalFeatures":
				f.GrammaticalFeatures, err = p.stringArray()
				return wrapField("grammaticalFeatures", err)
			case "claims":
				f.Claims, err = p.claims()
				return wrapField("claims", err)
			default:
				rf, err := p.rawField(key)
				if err != nil {
					return err
				}
				f.Extra = appendRawField(f.Extra, rf)
				return nil
			}
		})
		if err != nil {
			return fieldError(strconv.Itoa(len(forms)), err)
		}
		forms = append(forms, f)
		return nil
	})
	return forms, err
}

func (p *parser) senses() ([]Sense, error) {
	var senses []Sense
	s := &p.s
	err := s.array(func() error {
		var sn Sense
		err := s.object(func(key []byte) error {
			var err error
			switch string(key) {
			case "id":
				sn.ID, err = s.str()
				return wrapField("id", err)
			case "glosses":
				sn.Glosses, err = p.termMap()
				return wrapField("glosses", err)
			case "claims":
				sn.Claims, err = p.claims()
				return wrapField("claims", err)
			default:
				rf, err := p.rawField(key)
				if err != nil {
					return err
				}
				sn.Extra = appendRawField(sn.Extra, rf)
				return nil
			}
		})
		if err != nil {
			return fieldError(strconv.Itoa(len(senses)), err)
		}
		senses = append(senses, sn)
		return nil
	})
	return senses, err
}
