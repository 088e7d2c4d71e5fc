// Package sample is a small set of entities written by the project for `make dev`: a property
// of every Wikidata datatype, a few items whose statements use all of them (with qualifiers and
// references), a lexeme with a form and a sense, and a redirect. It gives a fresh dev stack
// something real to dump, diff, watch and count.
package sample

import (
	"context"
	"errors"
	"fmt"

	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// The redirect of the set: Q4 ("Terra") was merged into Q2 ("Earth").
const (
	RedirectFrom = "Q4"
	RedirectTo   = "Q2"
)

// property ids by datatype, in the order they are numbered (P1, P2, ...).
var datatypes = []struct{ datatype, label string }{
	{wikibase.DatatypeWikibaseItem, "instance of"},
	{wikibase.DatatypeWikibaseProperty, "related property"},
	{wikibase.DatatypeWikibaseLexeme, "name lexeme"},
	{wikibase.DatatypeWikibaseForm, "plural form"},
	{wikibase.DatatypeWikibaseSense, "word sense"},
	{wikibase.DatatypeString, "motto text"},
	{wikibase.DatatypeExternalID, "catalogue id"},
	{wikibase.DatatypeURL, "official website"},
	{wikibase.DatatypeCommonsMedia, "image"},
	{wikibase.DatatypeGeoShape, "geographic shape"},
	{wikibase.DatatypeTabularData, "population data"},
	{wikibase.DatatypeMonolingualText, "official name"},
	{wikibase.DatatypeTime, "inception"},
	{wikibase.DatatypeQuantity, "mass"},
	{wikibase.DatatypeGlobeCoordinate, "coordinate location"},
	{wikibase.DatatypeMath, "defining formula"},
	{wikibase.DatatypeMusicalNotation, "anthem notation"},
	{wikibase.DatatypeEntitySchema, "shape expression"},
}

// pid returns the property id of a datatype.
func pid(datatype string) string {
	for i, d := range datatypes {
		if d.datatype == datatype {
			return fmt.Sprintf("P%d", i+1)
		}
	}
	panic("sample: no property for datatype " + datatype)
}

func terms(pairs ...string) []wikibase.Term {
	var out []wikibase.Term
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, wikibase.Term{Language: pairs[i], Value: pairs[i+1]})
	}
	return out
}

func snak(datatype string, v wikibase.Value) wikibase.Snak {
	return wikibase.Snak{Type: wikibase.SnakValue, Property: pid(datatype), Datatype: datatype, Value: v}
}

func entityID(typ, id string) *wikibase.EntityIDValue {
	return &wikibase.EntityIDValue{EntityType: typ, ID: id}
}

// statements builds statement groups with deterministic GUIDs.
func statements(subject string, snaks ...wikibase.Snak) []wikibase.StatementGroup {
	var groups []wikibase.StatementGroup
	for i, s := range snaks {
		st := wikibase.Statement{
			ID:       fmt.Sprintf("%s$5a3b%04d-0000-4000-8000-%012d", subject, i+1, i+1),
			MainSnak: s,
			Rank:     wikibase.RankNormal,
		}
		if n := len(groups); n > 0 && groups[n-1].Property == s.Property {
			groups[n-1].Statements = append(groups[n-1].Statements, st)
			continue
		}
		groups = append(groups, wikibase.StatementGroup{Property: s.Property, Statements: []wikibase.Statement{st}})
	}
	return groups
}

func ptr(f float64) *float64 { return &f }

// Entities returns the set in the order it should be stored: properties first.
func Entities() []*wikibase.Entity {
	var out []*wikibase.Entity
	for i, d := range datatypes {
		id := fmt.Sprintf("P%d", i+1)
		out = append(out, &wikibase.Entity{Type: wikibase.TypeProperty, ID: id, Datatype: d.datatype,
			Labels: terms("en", d.label), Descriptions: terms("en", "sample property of datatype "+d.datatype)})
	}
	item := func(id, en, de, desc string, claims []wikibase.StatementGroup) *wikibase.Entity {
		return &wikibase.Entity{Type: wikibase.TypeItem, ID: id, Labels: terms("en", en, "de", de),
			Descriptions: terms("en", desc), Claims: claims}
	}
	out = append(out,
		item("Q1", "planet", "Planet", "celestial body orbiting a star", nil),
		item("Q3", "Moon", "Mond", "natural satellite of Earth",
			statements("Q3", snak(wikibase.DatatypeWikibaseItem, entityID("item", "Q5")))),
		item("Q4", "Terra", "Terra", "duplicate of Earth, merged", nil),
		item("Q5", "natural satellite", "natürlicher Satellit", "astronomical body orbiting a planet", nil),
		item("Q6", "English", "Englisch", "West Germanic language", nil),
		item("Q7", "noun", "Substantiv", "part of speech", nil),
		item("Q8", "plural", "Plural", "grammatical number", nil),
	)
	earth := item("Q2", "Earth", "Erde", "third planet from the Sun", statements("Q2",
		snak(wikibase.DatatypeWikibaseItem, entityID("item", "Q1")),
		snak(wikibase.DatatypeWikibaseProperty, entityID("property", pid(wikibase.DatatypeGlobeCoordinate))),
		snak(wikibase.DatatypeWikibaseLexeme, entityID("lexeme", "L1")),
		snak(wikibase.DatatypeWikibaseForm, entityID("form", "L1-F1")),
		snak(wikibase.DatatypeWikibaseSense, entityID("sense", "L1-S1")),
		snak(wikibase.DatatypeString, &wikibase.StringValue{Value: "Mostly harmless"}),
		snak(wikibase.DatatypeExternalID, &wikibase.StringValue{Value: "EB-0002"}),
		snak(wikibase.DatatypeURL, &wikibase.StringValue{Value: "https://example.org/earth"}),
		snak(wikibase.DatatypeCommonsMedia, &wikibase.StringValue{Value: "The Earth seen from Apollo 17.jpg"}),
		snak(wikibase.DatatypeGeoShape, &wikibase.StringValue{Value: "Data:World.map"}),
		snak(wikibase.DatatypeTabularData, &wikibase.StringValue{Value: "Data:World population.tab"}),
		snak(wikibase.DatatypeMonolingualText, &wikibase.MonolingualTextValue{Text: "Erde", Language: "de"}),
		snak(wikibase.DatatypeTime, &wikibase.TimeValue{Time: "-4540000000-00-00T00:00:00Z", Precision: 3,
			CalendarModel: "http://www.wikidata.org/entity/Q1985727"}),
		snak(wikibase.DatatypeQuantity, &wikibase.QuantityValue{Amount: "+5.972e24", Unit: "http://www.wikidata.org/entity/Q11570"}),
		snak(wikibase.DatatypeGlobeCoordinate, &wikibase.GlobeCoordinateValue{Latitude: 0, Longitude: 0, Precision: ptr(1),
			Globe: "http://www.wikidata.org/entity/Q2"}),
		snak(wikibase.DatatypeMath, &wikibase.StringValue{Value: `g = \frac{GM}{r^2}`}),
		snak(wikibase.DatatypeMusicalNotation, &wikibase.StringValue{Value: `\relative c' { c d e f g }`}),
		snak(wikibase.DatatypeEntitySchema, entityID("entity-schema", "E1")),
	))
	// A qualifier, a bounded quantity and a reference, so hashes and ordering have work to do.
	for g := range earth.Claims {
		st := &earth.Claims[g].Statements[0]
		switch st.MainSnak.Property {
		case pid(wikibase.DatatypeQuantity):
			st.MainSnak.Value = &wikibase.QuantityValue{Amount: "+5.9722", UpperBound: "+5.9728", LowerBound: "+5.9716",
				Unit: "http://www.wikidata.org/entity/Q11570"}
			st.Qualifiers = []wikibase.Snak{snak(wikibase.DatatypeTime, &wikibase.TimeValue{Time: "+2024-01-01T00:00:00Z",
				Precision: 9, CalendarModel: "http://www.wikidata.org/entity/Q1985727"})}
			st.Rank = wikibase.RankPreferred
		case pid(wikibase.DatatypeWikibaseItem):
			st.References = []wikibase.Reference{{Snaks: []wikibase.Snak{
				snak(wikibase.DatatypeURL, &wikibase.StringValue{Value: "https://example.org/planets"}),
			}}}
		case pid(wikibase.DatatypeString):
			st.MainSnak = wikibase.Snak{Type: wikibase.SnakSomeValue, Property: st.MainSnak.Property, Datatype: wikibase.DatatypeString}
		case pid(wikibase.DatatypeGeoShape):
			st.MainSnak = wikibase.Snak{Type: wikibase.SnakNoValue, Property: st.MainSnak.Property, Datatype: wikibase.DatatypeGeoShape}
			st.Rank = wikibase.RankDeprecated
		}
	}
	out = append(out, earth)
	out = append(out, &wikibase.Entity{
		Type: wikibase.TypeLexeme, ID: "L1", Lemmas: terms("en", "planet"), LexicalCategory: "Q7", Language: "Q6",
		Claims: statements("L1", snak(wikibase.DatatypeExternalID, &wikibase.StringValue{Value: "LEX-1"})),
		Forms: []wikibase.Form{{ID: "L1-F1", Representations: terms("en", "planets"), GrammaticalFeatures: []string{"Q8"},
			Claims: statements("L1-F1", snak(wikibase.DatatypeString, &wikibase.StringValue{Value: "plan-ets"}))}},
		Senses: []wikibase.Sense{{ID: "L1-S1", Glosses: terms("en", "large body orbiting a star", "de", "Himmelskörper"),
			Claims: statements("L1-S1", snak(wikibase.DatatypeWikibaseItem, entityID("item", "Q1")))}},
	})
	return out
}

// Result says what Load stored.
type Result struct {
	Created, Unchanged int
	Redirected         bool
}

// Load stores the set and then turns RedirectFrom into a redirect. Running it again changes
// nothing: unchanged content is a no-op, and the redirected entity is not saved over.
func Load(ctx context.Context, s *store.Entities) (Result, error) {
	var res Result
	var reqs []store.SaveRequest
	for _, e := range Entities() {
		if e.ID == RedirectFrom {
			head, err := s.Head(ctx, e.ID)
			if err == nil && head.IsRedirect {
				continue
			}
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return res, err
			}
		}
		reqs = append(reqs, store.SaveRequest{Entity: e, EditSummary: "sample data", EditType: "sample"})
	}
	saved, err := s.SaveBatch(ctx, reqs)
	if err != nil {
		return res, fmt.Errorf("store sample entities: %w", err)
	}
	for _, r := range saved {
		switch r.Status {
		case store.StatusUnchanged:
			res.Unchanged++
		case store.StatusRejected:
			return res, fmt.Errorf("store sample entity %s: %s", r.EntityID, r.Reason)
		default:
			res.Created++
		}
	}
	r, err := s.SaveRedirect(ctx, store.RedirectRequest{From: RedirectFrom, To: RedirectTo, EditSummary: "sample data: merged"})
	if err != nil {
		return res, fmt.Errorf("sample redirect: %w", err)
	}
	res.Redirected = r.Status != store.StatusUnchanged
	return res, nil
}
