package wikibase

import (
	"slices"
)

// Summary holds the per-revision counts the store keeps for statistics and
// the entity links it keeps for backlinks.
type Summary struct {
	// Statements, Qualifiers and References count those of the entity and,
	// for lexemes, of its forms and senses.
	Statements int `json:"statements"`
	Qualifiers int `json:"qualifiers"`
	References int `json:"references"`
	Sitelinks  int `json:"sitelinks"`
	// Labels and Descriptions count languages; Aliases counts aliases.
	Labels       int `json:"labels"`
	Descriptions int `json:"descriptions"`
	Aliases      int `json:"aliases"`
	// Terms gives the counts per language, sorted by language code.
	Terms []LanguageTerms `json:"terms,omitempty"`
	// Identifiers counts statements whose property has datatype external-id.
	Identifiers int `json:"identifiers"`
	// Lexeme counts.
	Lemmas int `json:"lemmas,omitempty"`
	Forms  int `json:"forms,omitempty"`
	Senses int `json:"senses,omitempty"`
	// Properties is the sorted set of properties of the statements.
	Properties []string `json:"properties,omitempty"`
	// Links are the statements whose main value is another entity, in
	// statement order.
	Links []EntityLink `json:"links,omitempty"`
}

// LanguageTerms counts an entity's terms in one language.
type LanguageTerms struct {
	Language     string `json:"language"`
	Labels       int    `json:"labels"`
	Descriptions int    `json:"descriptions"`
	Aliases      int    `json:"aliases"`
}

// EntityLink is a statement pointing at another entity.
type EntityLink struct {
	StatementID string `json:"statement_id"`
	Property    string `json:"property"`
	Rank        string `json:"rank"`
	Target      string `json:"target"`
}

// Summarize counts an entity's content. Datatypes decides which statements
// are identifiers; when it does not know a property the snak's own datatype
// (as read) is used. Datatypes may be nil.
func Summarize(e *Entity, datatypes DatatypeLookup) Summary {
	var s Summary
	s.Sitelinks = len(e.Sitelinks)
	s.Labels = len(e.Labels)
	s.Descriptions = len(e.Descriptions)
	s.Lemmas = len(e.Lemmas)
	s.Forms = len(e.Forms)
	s.Senses = len(e.Senses)

	byLang := map[string]*LanguageTerms{}
	lang := func(code string) *LanguageTerms {
		lt, ok := byLang[code]
		if !ok {
			lt = &LanguageTerms{Language: code}
			byLang[code] = lt
		}
		return lt
	}
	for _, t := range e.Labels {
		lang(t.Language).Labels++
	}
	for _, t := range e.Descriptions {
		lang(t.Language).Descriptions++
	}
	for _, g := range e.Aliases {
		if len(g.Aliases) == 0 {
			continue
		}
		s.Aliases += len(g.Aliases)
		lang(g.Language).Aliases += len(g.Aliases)
	}
	for _, lt := range byLang {
		s.Terms = append(s.Terms, *lt)
	}
	slices.SortFunc(s.Terms, func(a, b LanguageTerms) int {
		switch {
		case a.Language < b.Language:
			return -1
		case a.Language > b.Language:
			return 1
		}
		return 0
	})

	seen := map[string]bool{}
	_ = e.AllStatements(func(st *Statement) error {
		s.Statements++
		s.Qualifiers += len(st.Qualifiers)
		s.References += len(st.References)
		pid := st.MainSnak.Property
		if !seen[pid] {
			seen[pid] = true
			s.Properties = append(s.Properties, pid)
		}
		dt := st.MainSnak.Datatype
		if datatypes != nil {
			if known, ok := datatypes.Datatype(pid); ok {
				dt = known
			}
		}
		if dt == DatatypeExternalID {
			s.Identifiers++
		}
		if v, ok := st.MainSnak.Value.(*EntityIDValue); ok && st.MainSnak.Type == SnakValue {
			s.Links = append(s.Links, EntityLink{StatementID: st.ID, Property: pid, Rank: st.Rank, Target: v.ID})
		}
		return nil
	})
	slices.Sort(s.Properties)
	return s
}
