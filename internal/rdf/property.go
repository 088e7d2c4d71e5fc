package rdf

import (
	"regexp"
	"strings"

	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// objectDatatypes are the datatypes whose simple values are IRIs
// ('rdf-data-type' => ObjectProperty in Wikibase's datatype definitions).
var objectDatatypes = map[string]bool{
	wikibase.DatatypeWikibaseItem:     true,
	wikibase.DatatypeWikibaseProperty: true,
	wikibase.DatatypeCommonsMedia:     true,
	wikibase.DatatypeGeoShape:         true,
	wikibase.DatatypeTabularData:      true,
	wikibase.DatatypeURL:              true,
	wikibase.DatatypeWikibaseLexeme:   true,
	wikibase.DatatypeWikibaseForm:     true,
	wikibase.DatatypeWikibaseSense:    true,
	wikibase.DatatypeEntitySchema:     true,
}

var nonWordRun = regexp.MustCompile(`\W+`)

// propertyTypeName is the local name of wikibase:propertyType:
// ucwords(strtr(id, '-', ' ')) without non-word characters, e.g.
// globe-coordinate → GlobeCoordinate, commonsMedia → CommonsMedia.
func propertyTypeName(datatype string) string {
	words := strings.Fields(strings.ReplaceAll(datatype, "-", " "))
	for i, w := range words {
		words[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	return nonWordRun.ReplaceAllString(strings.Join(words, " "), "")
}

// addPropertyDeclarations is PropertySpecificComponentsRdfBuilder: the
// property's type, its predicates and their OWL types, and the novalue
// class.
func (r *Renderer) addPropertyDeclarations(pid, datatype string) {
	src := r.voc.properties
	s := &r.main
	prop := iri(src.entity, pid)
	ont := func(n string) Term { return iri(r.voc.wikibase, n) }
	p := func(ns *namespace) Term { return iri(ns, pid) }
	s.triple(prop, ont("propertyType"), ont(propertyTypeName(datatype)))
	s.triple(prop, ont("directClaim"), p(src.direct))
	s.triple(prop, ont("claim"), p(src.claim))
	s.triple(prop, ont("statementProperty"), p(src.statementProp))
	s.triple(prop, ont("statementValue"), p(src.statementValue))
	s.triple(prop, ont("qualifier"), p(src.qualifier))
	s.triple(prop, ont("qualifierValue"), p(src.qualifierValue))
	s.triple(prop, ont("reference"), p(src.referenceProp))
	s.triple(prop, ont("referenceValue"), p(src.referenceValue))
	normalized := datatype == wikibase.DatatypeExternalID || datatype == wikibase.DatatypeQuantity
	if normalized {
		s.triple(prop, ont("directClaimNormalized"), p(src.directNormalized))
		s.triple(prop, ont("statementValueNormalized"), p(src.statementValueNorm))
		s.triple(prop, ont("qualifierValueNormalized"), p(src.qualifierValueNorm))
		s.triple(prop, ont("referenceValueNormalized"), p(src.referenceValueNorm))
	}
	s.triple(prop, ont("novalue"), p(src.novalue))

	objectProperty := iri(r.voc.owl, "ObjectProperty")
	datatypeProperty := iri(r.voc.owl, "DatatypeProperty")
	simpleType := datatypeProperty
	if objectDatatypes[datatype] {
		simpleType = objectProperty
	}
	s.triple(p(src.claim), r.t.a, objectProperty)
	s.triple(p(src.statementValue), r.t.a, objectProperty)
	s.triple(p(src.qualifierValue), r.t.a, objectProperty)
	s.triple(p(src.referenceValue), r.t.a, objectProperty)
	s.triple(p(src.direct), r.t.a, simpleType)
	s.triple(p(src.statementProp), r.t.a, simpleType)
	s.triple(p(src.qualifier), r.t.a, simpleType)
	s.triple(p(src.referenceProp), r.t.a, simpleType)
	if normalized {
		s.triple(p(src.statementValueNorm), r.t.a, objectProperty)
		s.triple(p(src.qualifierValueNorm), r.t.a, objectProperty)
		s.triple(p(src.referenceValueNorm), r.t.a, objectProperty)
		if datatype == wikibase.DatatypeQuantity {
			s.triple(p(src.directNormalized), r.t.a, datatypeProperty)
		} else {
			s.triple(p(src.directNormalized), r.t.a, objectProperty)
		}
	}
	restriction := blank(wikibase.NoValueRestrictionNodeID(src.name, pid))
	s.triple(p(src.novalue), r.t.a, iri(r.voc.owl, "Class"))
	s.triple(p(src.novalue), iri(r.voc.owl, "complementOf"), restriction)
	s.triple(restriction, r.t.a, iri(r.voc.owl, "Restriction"))
	s.triple(restriction, iri(r.voc.owl, "onProperty"), p(src.direct))
	s.triple(restriction, iri(r.voc.owl, "someValuesFrom"), iri(r.voc.owl, "Thing"))
}

// addPropertyStubs declares every property the entity uses (the
// PROPERTIES flag of Special:EntityData; dumps declare properties once,
// from the property entities).
func (r *Renderer) addPropertyStubs(e *wikibase.Entity) {
	seen := map[string]bool{}
	e.AllSnaks(func(s *wikibase.Snak) {
		if seen[s.Property] {
			return
		}
		seen[s.Property] = true
		dt, _ := r.props.Datatype(s.Property)
		r.main.triple(iri(r.voc.properties.entity, s.Property), r.t.a, iri(r.voc.wikibase, "Property"))
		r.addPropertyDeclarations(s.Property, dt)
	})
}
