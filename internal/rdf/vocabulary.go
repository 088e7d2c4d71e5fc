package rdf

import "strings"

// Fixed namespaces (RdfVocabulary's NS_* constants).
const (
	nsRDF      = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
	nsXSD      = "http://www.w3.org/2001/XMLSchema#"
	nsRDFS     = "http://www.w3.org/2000/01/rdf-schema#"
	nsOWL      = "http://www.w3.org/2002/07/owl#"
	nsOntology = "http://wikiba.se/ontology#"
	nsSKOS     = "http://www.w3.org/2004/02/skos/core#"
	nsSchema   = "http://schema.org/"
	nsCC       = "http://creativecommons.org/ns#"
	nsGeo      = "http://www.opengis.net/ont/geosparql#"
	nsProv     = "http://www.w3.org/ns/prov#"
	nsOntolex  = "http://www.w3.org/ns/lemon/ontolex#"
	nsDCT      = "http://purl.org/dc/terms/"

	ontologyOWL   = "http://wikiba.se/ontology-1.0.owl"
	formatVersion = "1.0.0"
	mathMLType    = "http://www.w3.org/1998/Math/MathML"
)

// namespace is an IRI prefix with its Turtle prefix name.
type namespace struct {
	prefix string
	iri    string
	// turtle reports whether prefix is a valid Turtle PN_PREFIX; other
	// namespaces are written as full IRIs in Turtle.
	turtle bool
}

// sourceNamespaces are the namespaces Wikibase derives from one entity
// source (RdfVocabulary::getConceptNamespaces).
type sourceNamespaces struct {
	name                          string
	entity, data, statement       *namespace
	reference, value              *namespace
	direct, directNormalized      *namespace
	claim                         *namespace
	statementProp, statementValue *namespace
	statementValueNorm            *namespace
	qualifier, qualifierValue     *namespace
	qualifierValueNorm            *namespace
	referenceProp, referenceValue *namespace
	referenceValueNorm            *namespace
	novalue                       *namespace
}

// vocabulary holds every namespace of one configuration, in prefix-block
// order.
type vocabulary struct {
	rdf, xsd, rdfs, owl, wikibase, skos, schema, cc, geo, prov, ontolex, dct *namespace

	items      *sourceNamespaces
	properties *sourceNamespaces
	all        []*namespace
}

func newVocabulary(cfg *Config) *vocabulary {
	v := &vocabulary{}
	add := func(prefix, iri string) *namespace {
		for _, ns := range v.all {
			if ns.iri == iri {
				return ns
			}
		}
		// Keep Turtle prefix names unique when two sources would share one.
		name := prefix
		for i := 2; v.prefixTaken(name); i++ {
			name = prefix + string(rune('0'+i%10))
		}
		ns := &namespace{prefix: name, iri: iri, turtle: validPrefixName(name)}
		v.all = append(v.all, ns)
		return ns
	}
	v.rdf = add("rdf", nsRDF)
	v.xsd = add("xsd", nsXSD)
	v.ontolex = add("ontolex", nsOntolex)
	v.dct = add("dct", nsDCT)
	v.rdfs = add("rdfs", nsRDFS)
	v.owl = add("owl", nsOWL)
	v.wikibase = add("wikibase", nsOntology)
	v.skos = add("skos", nsSKOS)
	v.schema = add("schema", nsSchema)
	v.cc = add("cc", nsCC)
	v.geo = add("geo", nsGeo)
	v.prov = add("prov", nsProv)
	source := func(s *Source) *sourceNamespaces {
		base := s.ConceptBaseURI
		top := strings.TrimSuffix(base, "entity/")
		node, pred := s.NodePrefix, s.PredicatePrefix
		dataPrefix := "data"
		if node != "wd" && node != "" {
			dataPrefix = node + "data"
		}
		return &sourceNamespaces{
			name:               s.Name,
			entity:             add(node, base),
			data:               add(dataPrefix, s.DataURI),
			statement:          add(node+"s", base+"statement/"),
			reference:          add(node+"ref", top+"reference/"),
			value:              add(node+"v", top+"value/"),
			direct:             add(node+"t", top+"prop/direct/"),
			directNormalized:   add(node+"tn", top+"prop/direct-normalized/"),
			claim:              add(pred+"p", top+"prop/"),
			statementProp:      add(pred+"ps", top+"prop/statement/"),
			statementValue:     add(pred+"psv", top+"prop/statement/value/"),
			statementValueNorm: add(pred+"psn", top+"prop/statement/value-normalized/"),
			qualifier:          add(pred+"pq", top+"prop/qualifier/"),
			qualifierValue:     add(pred+"pqv", top+"prop/qualifier/value/"),
			qualifierValueNorm: add(pred+"pqn", top+"prop/qualifier/value-normalized/"),
			referenceProp:      add(pred+"pr", top+"prop/reference/"),
			referenceValue:     add(pred+"prv", top+"prop/reference/value/"),
			referenceValueNorm: add(pred+"prn", top+"prop/reference/value-normalized/"),
			novalue:            add(node+"no", top+"prop/novalue/"),
		}
	}
	v.items = source(&cfg.Source)
	v.properties = v.items
	if cfg.PropertySource != nil {
		v.properties = source(cfg.PropertySource)
	}
	return v
}

func (v *vocabulary) prefixTaken(name string) bool {
	for _, ns := range v.all {
		if ns.prefix == name {
			return true
		}
	}
	return false
}

// entityNamespace is the namespace an entity id belongs to: properties to
// the property source, everything else to the item source.
func (v *vocabulary) entityNamespace(id string) *namespace {
	if len(id) > 1 && id[0] == 'P' && isDigits(id[1:]) {
		return v.properties.entity
	}
	return v.items.entity
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Term kinds.
type termKind uint8

const (
	kindIRI termKind = iota + 1
	kindBlank
	kindLiteral
)

// Term is one RDF term. IRIs are a namespace plus a local name (ns nil: the
// local name is the whole IRI); literals carry a language or a datatype.
type Term struct {
	kind  termKind
	ns    *namespace
	value string
	lang  string
	dtNS  *namespace
	dt    string
}

func iri(ns *namespace, local string) Term { return Term{kind: kindIRI, ns: ns, value: local} }
func fullIRI(s string) Term                { return Term{kind: kindIRI, value: s} }
func blank(label string) Term              { return Term{kind: kindBlank, value: label} }
func plain(s string) Term                  { return Term{kind: kindLiteral, value: s} }
func langLiteral(s, lang string) Term      { return Term{kind: kindLiteral, value: s, lang: lang} }
func typed(s string, dtNS *namespace, dt string) Term {
	return Term{kind: kindLiteral, value: s, dtNS: dtNS, dt: dt}
}

// absoluteIRI returns s as an IRI when it has a scheme, and otherwise as a
// plain literal: Wikibase validates URLs, units, globes and calendars on
// input, but a relative IRI would make the whole dump unparsable.
func absoluteIRI(s string) Term {
	if hasScheme(s) {
		return fullIRI(s)
	}
	return plain(s)
}

func hasScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isAlpha(c):
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '.' || c == '-'):
		case i > 0 && c == ':':
			return true
		default:
			return false
		}
	}
	return false
}

// String returns the term in N-Triples syntax.
func (t Term) String() string {
	return string(appendNTTerm(nil, t))
}
