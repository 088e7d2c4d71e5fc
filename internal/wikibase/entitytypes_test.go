package wikibase

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseEntityID(t *testing.T) {
	for _, tc := range []struct {
		id     string
		letter string
		n      int64
	}{
		{"Q42", "Q", 42}, {"P31", "P", 31}, {"L7", "L", 7}, {"E1", "E", 1},
		{"Q9223372036854775807", "Q", 9223372036854775807},
		// Not the ID of an entity with a numbered ID.
		{"Q", "", 0}, {"Q0", "", 0}, {"Q01", "", 0}, {"Q+5", "", 0}, {"Q-5", "", 0}, {"q42", "", 0},
		{"X12", "", 0}, {"L7-F1", "", 0}, {"Q4 ", "", 0}, {"Q9223372036854775808", "", 0},
	} {
		typ, n, ok := ParseEntityID(tc.id)
		assert.Equal(t, tc.letter != "", ok, tc.id)
		assert.Equal(t, tc.letter, typ.Letter, tc.id)
		assert.Equal(t, tc.n, n, tc.id)
		assert.Equal(t, ok, IsEntityID(tc.id), tc.id)
	}
	assert.True(t, IsPropertyID("P31"))
	assert.False(t, IsPropertyID("Q31"))
}

func TestEntityTypesAreWikidatas(t *testing.T) {
	for _, tc := range []struct {
		in        string
		name      string
		namespace int64
		title     string
	}{
		{"q", "item", 0, "Q42"}, {"property", "property", 120, "Property:P42"},
		{"L", "lexeme", 146, "Lexeme:L42"}, {"EntitySchema", "entityschema", 640, "EntitySchema:E42"},
	} {
		typ, err := ParseEntityType(tc.in)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.name, typ.Name)
		assert.Equal(t, tc.namespace, typ.Namespace)
		assert.Equal(t, tc.title, typ.Title(typ.ID(42)))
		byLetter, ok := EntityTypeOfLetter(typ.Letter)
		assert.True(t, ok)
		assert.Equal(t, typ, byLetter)
	}
	_, err := ParseEntityType("form")
	assert.EqualError(t, err, `unknown entity type "form": want item, property, lexeme or entityschema (or Q, P, L, E)`)
}
