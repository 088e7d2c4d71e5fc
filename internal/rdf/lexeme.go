package rdf

import "github.com/entitybase/entitybase-workers/internal/wikibase"

// addLexeme is WikibaseLexeme's LexemeRdfBuilder: statements of the lexeme,
// then the lexical entry (lemmas, language, lexical category, forms and
// senses), then each form and sense as a sub-entity with its own
// statements.
func (r *Renderer) addLexeme(subject Term, e *wikibase.Entity) error {
	if err := r.addStatements(subject, e.ID, e.Claims); err != nil {
		return err
	}
	r.main.triple(subject, r.t.a, iri(r.voc.ontolex, "LexicalEntry"))
	for _, l := range e.Lemmas {
		lit := langLiteral(l.Value, l.Language)
		r.main.triple(subject, r.t.label, lit)
		r.main.triple(subject, iri(r.voc.wikibase, "lemma"), lit)
	}
	if e.Language != "" {
		r.main.triple(subject, iri(r.voc.dct, "language"), r.entityTerm(e.Language))
	}
	if e.LexicalCategory != "" {
		r.main.triple(subject, iri(r.voc.wikibase, "lexicalCategory"), r.entityTerm(e.LexicalCategory))
	}
	for i := range e.Forms {
		r.main.triple(subject, iri(r.voc.ontolex, "lexicalForm"), r.entityTerm(e.Forms[i].ID))
	}
	for i := range e.Senses {
		r.main.triple(subject, iri(r.voc.ontolex, "sense"), r.entityTerm(e.Senses[i].ID))
	}
	for i := range e.Forms {
		f := &e.Forms[i]
		form := r.entityTerm(f.ID)
		r.main.triple(form, r.t.a, iri(r.voc.wikibase, "Form"))
		if err := r.addStatements(form, f.ID, f.Claims); err != nil {
			return err
		}
		r.main.triple(form, r.t.a, iri(r.voc.ontolex, "Form"))
		for _, rep := range f.Representations {
			lit := langLiteral(rep.Value, rep.Language)
			r.main.triple(form, r.t.label, lit)
			r.main.triple(form, iri(r.voc.ontolex, "representation"), lit)
		}
		for _, g := range f.GrammaticalFeatures {
			r.main.triple(form, iri(r.voc.wikibase, "grammaticalFeature"), r.entityTerm(g))
		}
	}
	for i := range e.Senses {
		s := &e.Senses[i]
		sense := r.entityTerm(s.ID)
		r.main.triple(sense, r.t.a, iri(r.voc.wikibase, "Sense"))
		if err := r.addStatements(sense, s.ID, s.Claims); err != nil {
			return err
		}
		r.main.triple(sense, r.t.a, iri(r.voc.ontolex, "LexicalSense"))
		for _, g := range s.Glosses {
			lit := langLiteral(g.Value, g.Language)
			r.main.triple(sense, r.t.label, lit)
			r.main.triple(sense, iri(r.voc.skos, "definition"), lit)
		}
	}
	return nil
}
