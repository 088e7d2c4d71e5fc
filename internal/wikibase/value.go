package wikibase

import (
	"fmt"
	"strconv"
	"strings"
)

// Value types as they appear in datavalue.type.
const (
	ValueTypeString          = "string"
	ValueTypeEntityID        = "wikibase-entityid"
	ValueTypeMonolingualText = "monolingualtext"
	ValueTypeTime            = "time"
	ValueTypeQuantity        = "quantity"
	ValueTypeGlobeCoordinate = "globecoordinate"
)

// Value is the datavalue of a value snak. The concrete types are
// *StringValue, *EntityIDValue, *MonolingualTextValue, *TimeValue,
// *QuantityValue, *GlobeCoordinateValue and *UnknownValue.
type Value interface {
	// ValueType is the JSON datavalue type, e.g. "time".
	ValueType() string
}

// StringValue is a plain string (string, external-id, url, commonsMedia, ...).
type StringValue struct {
	Value string
}

// EntityIDValue points at another entity (item, property, lexeme, form, sense).
type EntityIDValue struct {
	// EntityType is "item", "property", "lexeme", "form", "sense" or another
	// type named by the input.
	EntityType string
	ID         string
}

// MonolingualTextValue is a text in one language.
type MonolingualTextValue struct {
	Text     string
	Language string
}

// TimeValue is a point in time with precision and calendar model.
type TimeValue struct {
	Time          string
	Timezone      int64
	Before        int64
	After         int64
	Precision     int64
	CalendarModel string
}

// QuantityValue is a decimal amount with a unit. The numbers are kept as the
// strings Wikibase stores ("+19.768"); empty bounds mean an unbounded quantity.
type QuantityValue struct {
	Amount     string
	Unit       string
	UpperBound string
	LowerBound string
}

// Bounded reports whether the quantity has an upper and lower bound.
func (q *QuantityValue) Bounded() bool { return q.UpperBound != "" || q.LowerBound != "" }

// GlobeCoordinateValue is a point on a globe. Altitude and Precision are nil
// when the JSON has null (Wikidata never sets an altitude).
type GlobeCoordinateValue struct {
	Latitude  float64
	Longitude float64
	Altitude  *float64
	Precision *float64
	Globe     string
}

// UnknownValue is a datavalue of a type the model does not know, or of a
// known type with members it does not know; it is kept verbatim.
type UnknownValue struct {
	Type string
	// Raw is the exact JSON text of datavalue.value.
	Raw []byte
}

// ValueType implements Value.
func (*StringValue) ValueType() string { return ValueTypeString }

// ValueType implements Value.
func (*EntityIDValue) ValueType() string { return ValueTypeEntityID }

// ValueType implements Value.
func (*MonolingualTextValue) ValueType() string { return ValueTypeMonolingualText }

// ValueType implements Value.
func (*TimeValue) ValueType() string { return ValueTypeTime }

// ValueType implements Value.
func (*QuantityValue) ValueType() string { return ValueTypeQuantity }

// ValueType implements Value.
func (*GlobeCoordinateValue) ValueType() string { return ValueTypeGlobeCoordinate }

// ValueType implements Value.
func (v *UnknownValue) ValueType() string { return v.Type }

// NumericID returns the number of an item, property or lexeme id (42 for
// Q42) and false for ids without one (forms, senses, other types).
func (v *EntityIDValue) NumericID() (int64, bool) {
	return numericID(v.ID)
}

// jsonEntityType returns the numbered entity type named name in Wikibase JSON (an entity's
// "type", a value's "entity-type"): items, properties and lexemes. Entity schemas are not
// Wikibase JSON entities; their values keep their id (see entityIDValue).
func jsonEntityType(name string) (EntityType, bool) {
	for _, t := range []EntityType{ItemType, PropertyType, LexemeType} {
		if t.Name == name {
			return t, true
		}
	}
	return EntityType{}, false
}

// EntityTypeOfID returns the entity type an id belongs to: Q42 → item,
// P31 → property, L7 → lexeme, L7-F1 → form, L7-S1 → sense. It returns false
// for ids of other shapes.
func EntityTypeOfID(id string) (string, bool) {
	if len(id) < 2 {
		return "", false
	}
	switch id[0] {
	case 'Q':
		if digitsOnly(id[1:]) {
			return TypeItem, true
		}
	case 'P':
		if digitsOnly(id[1:]) {
			return TypeProperty, true
		}
	case 'L':
		lexeme, sub, found := strings.Cut(id[1:], "-")
		if !digitsOnly(lexeme) {
			return "", false
		}
		if !found {
			return TypeLexeme, true
		}
		if len(sub) >= 2 && digitsOnly(sub[1:]) {
			switch sub[0] {
			case 'F':
				return "form", true
			case 'S':
				return "sense", true
			}
		}
	}
	return "", false
}

// digitsOnly reports whether s is a positive decimal number without a
// leading zero, the shape of the numeric part of entity ids.
func digitsOnly(s string) bool {
	if s == "" || s[0] == '0' || len(s) > 18 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func numericID(id string) (int64, bool) {
	typ, ok := EntityTypeOfID(id)
	if _, numbered := jsonEntityType(typ); !ok || !numbered {
		return 0, false
	}
	n, err := strconv.ParseInt(id[1:], 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

// entityIDFromParts builds the id of a legacy {"entity-type","numeric-id"}
// value.
func entityIDFromParts(entityType string, n int64) (string, error) {
	t, ok := jsonEntityType(entityType)
	if !ok {
		return "", fmt.Errorf("entity-type %q has no numeric ids", entityType)
	}
	if n <= 0 {
		return "", fmt.Errorf("numeric-id %d is not positive", n)
	}
	return t.ID(n), nil
}
