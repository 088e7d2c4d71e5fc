package rdf

import "github.com/entitybase/entitybase-workers/internal/wikibase"

// addTerms is TermsRdfBuilder: every label under rdfs:label, skos:prefLabel
// and schema:name, descriptions under schema:description, aliases under
// skos:altLabel.
func (r *Renderer) addTerms(subject Term, e *wikibase.Entity) {
	for _, l := range e.Labels {
		lit := langLiteral(l.Value, l.Language)
		r.main.triple(subject, r.t.label, lit)
		r.main.triple(subject, r.t.prefLabel, lit)
		r.main.triple(subject, r.t.name, lit)
	}
	for _, d := range e.Descriptions {
		r.main.triple(subject, r.t.description, langLiteral(d.Value, d.Language))
	}
	for _, g := range e.Aliases {
		for _, a := range g.Aliases {
			lang := a.Language
			if lang == "" {
				lang = g.Language
			}
			r.main.triple(subject, r.t.altLabel, langLiteral(a.Value, lang))
		}
	}
}
