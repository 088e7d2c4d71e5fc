package wikibase

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSummarize(t *testing.T) {
	stmt := func(id, pid, rank string, v Value, quals, refs int) Statement {
		st := Statement{ID: id, Rank: rank, MainSnak: Snak{Type: SnakValue, Property: pid, Value: v}}
		if v == nil {
			st.MainSnak.Type = SnakSomeValue
		}
		for range quals {
			st.Qualifiers = append(st.Qualifiers, Snak{Type: SnakNoValue, Property: "P580"})
		}
		for range refs {
			st.References = append(st.References, Reference{Snaks: []Snak{{Type: SnakNoValue, Property: "P248"}}})
		}
		return st
	}
	e := &Entity{
		Type: TypeItem, ID: "Q1",
		Labels:       []Term{{Language: "en", Value: "a"}, {Language: "de", Value: "b"}},
		Descriptions: []Term{{Language: "en", Value: "c"}},
		Aliases:      []AliasGroup{{Language: "en", Aliases: []Term{{Language: "en", Value: "x"}, {Language: "en", Value: "y"}}}, {Language: "fr"}},
		Sitelinks:    []Sitelink{{Site: "enwiki", Title: "A"}},
		Claims: []StatementGroup{
			{Property: "P31", Statements: []Statement{
				stmt("Q1$a", "P31", RankNormal, &EntityIDValue{EntityType: TypeItem, ID: "Q5"}, 2, 1),
				stmt("Q1$b", "P31", RankDeprecated, nil, 0, 0),
			}},
			{Property: "P214", Statements: []Statement{stmt("Q1$c", "P214", RankNormal, &StringValue{Value: "123"}, 0, 3)}},
			{Property: "P1", Statements: []Statement{stmt("Q1$d", "P1", RankPreferred, &EntityIDValue{EntityType: "sense", ID: "L1-S1"}, 1, 0)}},
		},
	}
	got := Summarize(e, DatatypeMap{"P214": DatatypeExternalID, "P31": DatatypeWikibaseItem})
	assert.Equal(t, Summary{
		Statements: 4, Qualifiers: 3, References: 4, Sitelinks: 1,
		Labels: 2, Descriptions: 1, Aliases: 2,
		Terms: []LanguageTerms{
			{Language: "de", Labels: 1},
			{Language: "en", Labels: 1, Descriptions: 1, Aliases: 2},
		},
		Identifiers: 1,
		Properties:  []string{"P1", "P214", "P31"},
		Links: []EntityLink{
			{StatementID: "Q1$a", Property: "P31", Rank: RankNormal, Target: "Q5"},
			{StatementID: "Q1$d", Property: "P1", Rank: RankPreferred, Target: "L1-S1"},
		},
	}, got)
}

func TestSummarizeRealEntities(t *testing.T) {
	lookup := wikidataDatatypes(t)
	// Expected counts were taken with jq from the fixture files.
	cases := []struct {
		file                               string
		statements, qualifiers, references int
		sitelinks, labels, aliases         int
		identifiers, links                 int
	}{
		{"L42353.json", 14, 0, 0, 0, 0, 0, 5, 5},
		{"P3111.json", 23, 24, 2, 0, 23, 19, 0, 15},
		{"Q1.json", 178, 158, 36, 232, 239, 276, 90, 66},
		{"Q53713.json", 209, 183, 123, 89, 123, 36, 126, 66},
		{"Q8413.json", 305, 72, 96, 153, 143, 80, 213, 75},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			e := parseOne(t, readFixture(t, "wikidata/entities/"+c.file))
			s := Summarize(e, lookup)
			got := []int{s.Statements, s.Qualifiers, s.References, s.Sitelinks, s.Labels, s.Aliases, s.Identifiers, len(s.Links)}
			want := []int{c.statements, c.qualifiers, c.references, c.sitelinks, c.labels, c.aliases, c.identifiers, c.links}
			assert.Equal(t, want, got, "statements, qualifiers, references, sitelinks, labels, aliases, identifiers, links")
			assert.True(t, slices.IsSorted(s.Properties))
			assert.Equal(t, len(e.Forms), s.Forms)
		})
	}
}
