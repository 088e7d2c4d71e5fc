package wikibase

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Property datatype ids as they appear in JSON ("datatype").
const (
	DatatypeWikibaseItem     = "wikibase-item"
	DatatypeWikibaseProperty = "wikibase-property"
	DatatypeWikibaseLexeme   = "wikibase-lexeme"
	DatatypeWikibaseForm     = "wikibase-form"
	DatatypeWikibaseSense    = "wikibase-sense"
	DatatypeString           = "string"
	DatatypeExternalID       = "external-id"
	DatatypeURL              = "url"
	DatatypeCommonsMedia     = "commonsMedia"
	DatatypeGeoShape         = "geo-shape"
	DatatypeTabularData      = "tabular-data"
	DatatypeMonolingualText  = "monolingualtext"
	DatatypeTime             = "time"
	DatatypeQuantity         = "quantity"
	DatatypeGlobeCoordinate  = "globe-coordinate"
	DatatypeMath             = "math"
	DatatypeMusicalNotation  = "musical-notation"
	DatatypeEntitySchema     = "entity-schema"
)

// DatatypeLookup gives the datatype of a property, as Wikibase's
// PropertyDataTypeLookup does. It reports false for unknown properties.
type DatatypeLookup interface {
	Datatype(pid string) (string, bool)
}

// DatatypeMap is a DatatypeLookup backed by a map from property id to
// datatype id.
type DatatypeMap map[string]string

// Datatype implements DatatypeLookup.
func (m DatatypeMap) Datatype(pid string) (string, bool) {
	dt, ok := m[pid]
	return dt, ok
}

// AddProperty records the datatype of a property entity; other entities are
// ignored. It lets the properties of a dump feed the lookup for the items.
func (m DatatypeMap) AddProperty(e *Entity) {
	if e.Type == TypeProperty && e.Datatype != "" {
		m[e.ID] = e.Datatype
	}
}

// SnakDatatypes calls fn for each snak of e with the datatype that serializing and
// summarizing e give it: lookup's if it knows the property (known), otherwise the datatype
// read with the snak (which may be ""), and for a property's snaks about itself also the
// property's datatype. e is stored the same way with another lookup only if that lookup
// gives each property every datatype fn was called with, or, for a property that was not
// known, does not know it either.
func SnakDatatypes(e *Entity, lookup DatatypeLookup, fn func(property, datatype string, known bool)) {
	e.AllSnaks(func(s *Snak) {
		if dt, ok := lookup.Datatype(s.Property); ok {
			fn(s.Property, dt, true)
			return
		}
		fn(s.Property, s.Datatype, false)
		if e.Type == TypeProperty && e.ID == s.Property && e.Datatype != "" {
			fn(s.Property, e.Datatype, false)
		}
	})
}

// canonicalDatatypes maps lower-cased datatype ids to Wikibase's spelling,
// since some exports write "commonsmedia".
var canonicalDatatypes = map[string]string{
	"commonsmedia": DatatypeCommonsMedia,
}

// CanonicalDatatype returns Wikibase's spelling of a datatype id.
func CanonicalDatatype(dt string) string {
	if c, ok := canonicalDatatypes[strings.ToLower(dt)]; ok {
		return c
	}
	return dt
}

// ReadPropertyDatatypes reads a "property_id,datatype" CSV (with or without
// that header line) into a DatatypeMap, normalising datatype ids to
// Wikibase's spelling.
func ReadPropertyDatatypes(r io.Reader) (DatatypeMap, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 2
	cr.ReuseRecord = true
	m := DatatypeMap{}
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return m, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read property datatypes: %w", err)
		}
		pid, dt := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		if line == 1 && pid == "property_id" {
			continue
		}
		if typ, ok := EntityTypeOfID(pid); !ok || typ != TypeProperty {
			return nil, fmt.Errorf("read property datatypes: line %d: %q is not a property id", line, pid)
		}
		if dt == "" {
			return nil, fmt.Errorf("read property datatypes: line %d: property %s has no datatype", line, pid)
		}
		m[pid] = CanonicalDatatype(dt)
	}
}
