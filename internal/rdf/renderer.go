package rdf

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// PropertyLookup tells the mapping what it needs to know about properties:
// their datatype and, for external identifiers, their canonical URI
// pattern; and about units: their conversion to standard units.
type PropertyLookup interface {
	wikibase.DatatypeLookup
	// URIPattern returns the property's canonical URI pattern ($1 = the
	// identifier), or "" if it has none.
	URIPattern(pid string) string
	// UnitConversion returns how quantities in a unit (an item id) convert
	// to standard units, if they do.
	UnitConversion(unit string) (UnitConversion, bool)
}

// Renderer turns entities into Chunks. It holds reusable buffers, so each
// goroutine needs its own; Renderers of one configuration produce
// identical output.
type Renderer struct {
	cfg    *Config
	voc    *vocabulary
	format Format
	flags  Flags
	props  PropertyLookup
	sites  *siteTable
	hasher wikibase.Hasher

	main, sub sink
	chunk     *Chunk
	// rendered holds the blocks of the entity being rendered, so a node
	// an entity uses twice is rendered once.
	rendered map[string]struct{}
	// pending are value nodes waiting for the current statement to end.
	pending []pendingValueNode

	t terms
}

// NewRenderer returns a Renderer for one configuration, format and set of
// producer flags.
func NewRenderer(cfg *Config, format Format, flags Flags, props PropertyLookup) (*Renderer, error) {
	if cfg == nil {
		return nil, errors.New("new rdf renderer: no config")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new rdf renderer: %w", err)
	}
	if format != Turtle && format != NTriples {
		return nil, fmt.Errorf("new rdf renderer: unknown format %d", format)
	}
	if props == nil {
		props = NewPropertyInfo(cfg)
	}
	voc := newVocabulary(cfg)
	r := &Renderer{
		cfg:      cfg,
		voc:      voc,
		format:   format,
		flags:    flags,
		props:    props,
		sites:    newSiteTable(cfg),
		rendered: make(map[string]struct{}),
		t:        newTerms(voc),
	}
	r.main = sink{turtle: format == Turtle, rdfNS: voc.rdf}
	r.sub = sink{turtle: format == Turtle, rdfNS: voc.rdf}
	return r, nil
}

// Flags returns the renderer's producer flags.
func (r *Renderer) Flags() Flags { return r.flags }

// Format returns the renderer's output format.
func (r *Renderer) Format() Format { return r.format }

// terms are the fixed terms of the ontology, built once.
type terms struct {
	a, label, prefLabel, name, description, altLabel                 Term
	dataset, about, license, softwareVersion, version, dateModified  Term
	statements, sitelinks, identifiers                               Term
	article, inLanguage, isPartOf, badge, wikiGroup                  Term
	statement, bestRank, rank                                        Term
	rankPreferred, rankNormal, rankDeprecated                        Term
	wasDerivedFrom, reference                                        Term
	timeValueClass, timeValue, timePrecision, timeTimezone, calendar Term
	quantityValueClass, amount, upper, lower, unit, normalized       Term
	globeValueClass, lat, lon, precision, globe, autoPrecision       Term
	sameAs                                                           Term
	comment                                                          Term
}

func newTerms(v *vocabulary) terms {
	ont := func(s string) Term { return iri(v.wikibase, s) }
	return terms{
		a:           iri(v.rdf, "type"),
		label:       iri(v.rdfs, "label"),
		prefLabel:   iri(v.skos, "prefLabel"),
		name:        iri(v.schema, "name"),
		description: iri(v.schema, "description"),
		altLabel:    iri(v.skos, "altLabel"),

		dataset:         iri(v.schema, "Dataset"),
		about:           iri(v.schema, "about"),
		license:         iri(v.cc, "license"),
		softwareVersion: iri(v.schema, "softwareVersion"),
		version:         iri(v.schema, "version"),
		dateModified:    iri(v.schema, "dateModified"),
		statements:      ont("statements"),
		sitelinks:       ont("sitelinks"),
		identifiers:     ont("identifiers"),

		article:    iri(v.schema, "Article"),
		inLanguage: iri(v.schema, "inLanguage"),
		isPartOf:   iri(v.schema, "isPartOf"),
		badge:      ont("badge"),
		wikiGroup:  ont("wikiGroup"),

		statement:      ont("Statement"),
		bestRank:       ont("BestRank"),
		rank:           ont("rank"),
		rankPreferred:  ont("PreferredRank"),
		rankNormal:     ont("NormalRank"),
		rankDeprecated: ont("DeprecatedRank"),
		wasDerivedFrom: iri(v.prov, "wasDerivedFrom"),
		reference:      ont("Reference"),

		timeValueClass:     ont("TimeValue"),
		timeValue:          ont("timeValue"),
		timePrecision:      ont("timePrecision"),
		timeTimezone:       ont("timeTimezone"),
		calendar:           ont("timeCalendarModel"),
		quantityValueClass: ont("QuantityValue"),
		amount:             ont("quantityAmount"),
		upper:              ont("quantityUpperBound"),
		lower:              ont("quantityLowerBound"),
		unit:               ont("quantityUnit"),
		normalized:         ont("quantityNormalized"),
		globeValueClass:    ont("GlobecoordinateValue"),
		lat:                ont("geoLatitude"),
		lon:                ont("geoLongitude"),
		precision:          ont("geoPrecision"),
		globe:              ont("geoGlobe"),
		autoPrecision:      ont("GeoAutoPrecision"),
		sameAs:             iri(v.owl, "sameAs"),
		comment:            iri(v.rdfs, "comment"),
	}
}

func (r *Renderer) integer(n int64) Term {
	return typed(strconv.FormatInt(n, 10), r.voc.xsd, "integer")
}

func (r *Renderer) dateTime(s string) Term { return typed(s, r.voc.xsd, "dateTime") }

// entityTerm is the IRI of an entity (or form or sense) id.
func (r *Renderer) entityTerm(id string) Term { return iri(r.voc.entityNamespace(id), id) }

// begin starts rendering into c.
func (r *Renderer) begin(c *Chunk) {
	c.reset()
	r.chunk = c
	r.main.buf, r.main.open, r.main.triples = c.main, false, 0
	r.sub.buf, r.sub.open, r.sub.triples = c.sub, false, 0
	clear(r.rendered)
	r.pending = r.pending[:0]
}

// finish closes open statements and hands the buffers back to the chunk.
func (r *Renderer) finish() {
	r.main.close()
	r.sub.close()
	r.chunk.main = r.main.buf
	r.chunk.mainTriples = r.main.triples
	r.chunk.sub = r.sub.buf
	r.chunk = nil
}

// startBlock begins a deduplicable node; it reports false when the entity
// already rendered it.
func (r *Renderer) startBlock(namespace, hash string) bool {
	key := namespace + "\x00" + hash
	if _, ok := r.rendered[key]; ok {
		return false
	}
	r.rendered[key] = struct{}{}
	r.sub.close()
	r.chunk.blocks = append(r.chunk.blocks, block{namespace: namespace, hash: hash, start: len(r.sub.buf), triples: r.sub.triples})
	return true
}

func (r *Renderer) endBlock() {
	r.sub.close()
	b := &r.chunk.blocks[len(r.chunk.blocks)-1]
	b.end = len(r.sub.buf)
	b.triples = r.sub.triples - b.triples
}

// Render writes the RDF of e into c (which it resets first).
func (r *Renderer) Render(e *wikibase.Entity, c *Chunk) error {
	if e == nil {
		return errors.New("render rdf: nil entity")
	}
	if e.ID == "" {
		return errors.New("render rdf: entity has no id")
	}
	r.begin(c)
	err := r.renderEntity(e)
	r.finish()
	if err != nil {
		return fmt.Errorf("render rdf of %s: %w", e.ID, err)
	}
	return nil
}

// renderEntity composes the builders as RdfBuilder::addEntity does,
// after the data node (revision info and page props).
func (r *Renderer) renderEntity(e *wikibase.Entity) error {
	subject := r.entityTerm(e.ID)
	if e.Page != nil {
		r.addRevisionInfo(e.ID, e.Page.LastRevID, e.Page.Modified)
	}
	if r.flags&PageProps != 0 {
		r.addPageProps(e)
	}
	r.main.triple(subject, r.t.a, iri(r.voc.wikibase, entityTypeName(e.Type)))
	switch e.Type {
	case wikibase.TypeItem:
		if r.flags&Sitelinks != 0 {
			r.addSitelinks(subject, e)
		}
		if err := r.addStatements(subject, e.ID, e.Claims); err != nil {
			return err
		}
		r.addTerms(subject, e)
	case wikibase.TypeProperty:
		if err := r.addStatements(subject, e.ID, e.Claims); err != nil {
			return err
		}
		r.addTerms(subject, e)
		r.addPropertyDeclarations(e.ID, e.Datatype)
	case wikibase.TypeLexeme:
		if err := r.addLexeme(subject, e); err != nil {
			return err
		}
	default:
		if err := r.addStatements(subject, e.ID, e.Claims); err != nil {
			return err
		}
		r.addTerms(subject, e)
	}
	if r.flags&PropertyStubs != 0 {
		r.addPropertyStubs(e)
	}
	return nil
}

// entityTypeName is RdfVocabulary::getEntityTypeName: ucfirst(type).
func entityTypeName(typ string) string {
	if typ == "" {
		return "Entity"
	}
	return strings.ToUpper(typ[:1]) + typ[1:]
}

// addRevisionInfo writes the data node (RdfBuilder::addEntityRevisionInfo).
func (r *Renderer) addRevisionInfo(id string, revision int64, modified string) {
	data := iri(r.voc.dataNamespaceFor(id), id)
	r.main.triple(data, r.t.a, r.t.dataset)
	r.main.triple(data, r.t.about, r.entityTerm(id))
	if r.flags&VersionInfo != 0 {
		r.main.triple(data, r.t.license, fullIRI(r.cfg.LicenseURI))
		r.main.triple(data, r.t.softwareVersion, plain(formatVersion))
	}
	if revision > 0 {
		r.main.triple(data, r.t.version, r.integer(revision))
	}
	if modified != "" {
		r.main.triple(data, r.t.dateModified, r.dateTime(modified))
	}
}

// addPageProps writes the page properties Wikidata keeps on the data node
// (RdfBuilder::addEntityPageProps): the wb-claims statement count of every
// entity, and the wb-sitelinks and wb-identifiers counts of items, each as
// the configuration's PageProperties name it.
func (r *Renderer) addPageProps(e *wikibase.Entity) {
	defs := r.cfg.pagePropertiesInUse()
	if len(defs) == 0 {
		return
	}
	data := iri(r.voc.dataNamespaceFor(e.ID), e.ID)
	write := func(prop string, n int) {
		if def, ok := defs[prop]; ok {
			r.main.triple(data, iri(r.voc.wikibase, def.Name), r.pagePropertyValue(def.Type, n))
		}
	}
	statements := 0
	identifiers := 0
	for _, g := range e.Claims {
		statements += len(g.Statements)
		if dt, ok := r.props.Datatype(g.Property); ok && dt == wikibase.DatatypeExternalID {
			identifiers += len(g.Statements)
		}
	}
	if e.Type == wikibase.TypeLexeme {
		// A lexeme's wb-claims counts the statements of its forms and
		// senses too.
		for i := range e.Forms {
			for _, g := range e.Forms[i].Claims {
				statements += len(g.Statements)
			}
		}
		for i := range e.Senses {
			for _, g := range e.Senses[i].Claims {
				statements += len(g.Statements)
			}
		}
	}
	write(PagePropStatements, statements)
	if e.Type == wikibase.TypeItem {
		write(PagePropSitelinks, len(e.Sitelinks))
		write(PagePropIdentifiers, identifiers)
	}
}

// pagePropertyValue is a count as PHP's settype(typ) and Purtle's value() write it.
func (r *Renderer) pagePropertyValue(typ string, n int) Term {
	s := strconv.Itoa(n)
	switch typ {
	case "float", "double":
		return typed(s, r.voc.xsd, "double")
	case "boolean", "bool":
		return typed(strconv.FormatBool(n != 0), r.voc.xsd, "boolean")
	case "string":
		return plain(s)
	}
	return r.integer(int64(n))
}

func (v *vocabulary) dataNamespaceFor(id string) *namespace {
	if v.entityNamespace(id) == v.properties.entity {
		return v.properties.data
	}
	return v.items.data
}
