package rdf

import (
	"strings"
	"sync"

	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// PropertyInfo is a PropertyLookup filled from property datatypes (a CSV,
// a DatatypeMap) and from property entities, whose canonical URI pattern
// statement gives normalized external-id values, and holding the Units that
// unit items give normalized quantities. It is safe for concurrent use, so a
// converter can learn properties while rendering.
type PropertyInfo struct {
	canonicalURIProperty string
	units                *Units

	mu        sync.RWMutex
	datatypes map[string]string
	patterns  map[string]string
}

// NewPropertyInfo returns an empty lookup holding cfg's URI patterns.
func NewPropertyInfo(cfg *Config) *PropertyInfo {
	p := &PropertyInfo{
		canonicalURIProperty: cfg.CanonicalURIProperty,
		units:                NewUnits(cfg),
		datatypes:            map[string]string{},
		patterns:             map[string]string{},
	}
	for pid, pattern := range cfg.URIPatterns {
		p.patterns[pid] = pattern
	}
	return p
}

// AddDatatypes records datatypes (e.g. from wikibase.ReadPropertyDatatypes).
func (p *PropertyInfo) AddDatatypes(m wikibase.DatatypeMap) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pid, dt := range m {
		p.datatypes[pid] = wikibase.CanonicalDatatype(dt)
	}
}

// SetDatatype records one property's datatype.
func (p *PropertyInfo) SetDatatype(pid, datatype string) {
	p.mu.Lock()
	p.datatypes[pid] = wikibase.CanonicalDatatype(datatype)
	p.mu.Unlock()
}

// AddProperty learns a property entity's datatype and canonical URI
// pattern (the best-ranked string value of the canonical URI property);
// other entities are ignored.
func (p *PropertyInfo) AddProperty(e *wikibase.Entity) {
	if e.Type != wikibase.TypeProperty || e.ID == "" {
		return
	}
	pattern := ""
	if p.canonicalURIProperty != "" {
		for gi := range e.Claims {
			g := &e.Claims[gi]
			if g.Property != p.canonicalURIProperty {
				continue
			}
			best := bestRank(g)
			for si := range g.Statements {
				st := &g.Statements[si]
				if st.Rank != best || st.MainSnak.Type != wikibase.SnakValue {
					continue
				}
				if s, ok := st.MainSnak.Value.(*wikibase.StringValue); ok && strings.Contains(s.Value, "$1") {
					pattern = s.Value
					break
				}
			}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if e.Datatype != "" {
		p.datatypes[e.ID] = wikibase.CanonicalDatatype(e.Datatype)
	}
	if pattern != "" {
		p.patterns[e.ID] = pattern
	}
}

// Datatype implements wikibase.DatatypeLookup.
func (p *PropertyInfo) Datatype(pid string) (string, bool) {
	p.mu.RLock()
	dt, ok := p.datatypes[pid]
	p.mu.RUnlock()
	return dt, ok
}

// URIPattern implements PropertyLookup.
func (p *PropertyInfo) URIPattern(pid string) string {
	p.mu.RLock()
	pattern := p.patterns[pid]
	p.mu.RUnlock()
	return pattern
}

// Units returns the unit conversions, to learn unit items into.
func (p *PropertyInfo) Units() *Units { return p.units }

// UnitConversion implements PropertyLookup.
func (p *PropertyInfo) UnitConversion(unit string) (UnitConversion, bool) {
	return p.units.Conversion(unit)
}

// Len returns the number of properties with a known datatype.
func (p *PropertyInfo) Len() int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return len(p.datatypes)
}
