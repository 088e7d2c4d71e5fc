package wikibase

import (
	"fmt"
	"strconv"
	"strings"
)

// EntityType is a type of entity with numbered IDs (Q42): how its IDs, its name and its page
// on Wikidata look. EntityTypes is the one table of them; everything else reads it.
type EntityType struct {
	// Letter is the ID prefix: Q for Q42.
	Letter string
	// Name is the type's name: the "type" of an item's, property's or lexeme's JSON, and what
	// the CLI, the dumps' counts and the ID allocators' workflow IDs call it.
	Name string
	// Namespace and TitlePrefix are the MediaWiki namespace and title prefix of the entity's
	// page on Wikidata (a JSON dump line's ns and title).
	Namespace   int64
	TitlePrefix string
	// Noun and Nouns name the type in prose: "entity schema", "entity schemas".
	Noun, Nouns string
}

// TypeEntitySchema is the name of the entity schema type (E1), an extension's type that
// Wikidata's JSON dumps do not carry.
const TypeEntitySchema = "entityschema"

// The entity types with numbered IDs.
var (
	ItemType         = EntityType{Letter: "Q", Name: TypeItem, Namespace: 0, TitlePrefix: "", Noun: "item", Nouns: "items"}
	PropertyType     = EntityType{Letter: "P", Name: TypeProperty, Namespace: 120, TitlePrefix: "Property:", Noun: "property", Nouns: "properties"}
	LexemeType       = EntityType{Letter: "L", Name: TypeLexeme, Namespace: 146, TitlePrefix: "Lexeme:", Noun: "lexeme", Nouns: "lexemes"}
	EntitySchemaType = EntityType{Letter: "E", Name: TypeEntitySchema, Namespace: 640, TitlePrefix: "EntitySchema:", Noun: "entity schema", Nouns: "entity schemas"}
)

// EntityTypes are the entity types with numbered IDs, in the order lists show them.
var EntityTypes = []EntityType{ItemType, PropertyType, LexemeType, EntitySchemaType}

// ID is the entity ID of number n: "Q42".
func (t EntityType) ID(n int64) string { return t.Letter + strconv.FormatInt(n, 10) }

// Title is the title of the page of the entity id on Wikidata: "Property:P31".
func (t EntityType) Title(id string) string { return t.TitlePrefix + id }

// EntityTypeOfLetter returns the type whose IDs start with letter.
func EntityTypeOfLetter(letter string) (EntityType, bool) {
	for _, t := range EntityTypes {
		if t.Letter == letter {
			return t, true
		}
	}
	return EntityType{}, false
}

// ParseEntityType accepts a type's name or letter in any case ("item", "Q", "q").
func ParseEntityType(s string) (EntityType, error) {
	for _, t := range EntityTypes {
		if strings.EqualFold(s, t.Name) || strings.EqualFold(s, t.Letter) {
			return t, nil
		}
	}
	return EntityType{}, fmt.Errorf("unknown entity type %q: want %s", s, entityTypeChoices)
}

// entityTypeChoices lists the types for error messages: "item, property, lexeme or
// entityschema (or Q, P, L, E)".
var entityTypeChoices = func() string {
	var names, letters []string
	for _, t := range EntityTypes {
		names = append(names, t.Name)
		letters = append(letters, t.Letter)
	}
	last := len(names) - 1
	return strings.Join(names[:last], ", ") + " or " + names[last] + " (or " + strings.Join(letters, ", ") + ")"
}()

// ParseEntityID splits the ID of an entity with a numbered ID (Q42, P31, L7, E1; not forms or
// senses such as L7-F1): its type and its number, a decimal without a leading zero.
func ParseEntityID(id string) (EntityType, int64, bool) {
	if len(id) < 2 || id[1] < '1' || id[1] > '9' {
		return EntityType{}, 0, false
	}
	t, ok := EntityTypeOfLetter(id[:1])
	if !ok {
		return EntityType{}, 0, false
	}
	for i := 2; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return EntityType{}, 0, false
		}
	}
	n, err := strconv.ParseInt(id[1:], 10, 64)
	if err != nil {
		return EntityType{}, 0, false
	}
	return t, n, true
}

// IsEntityID reports whether id is the ID of an entity with a numbered ID (Q42, P31, L7, E1).
func IsEntityID(id string) bool {
	_, _, ok := ParseEntityID(id)
	return ok
}

// IsPropertyID reports whether id is a property's ID (P31).
func IsPropertyID(id string) bool {
	t, _, ok := ParseEntityID(id)
	return ok && t.Letter == PropertyType.Letter
}
