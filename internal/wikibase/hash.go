package wikibase

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// Wikibase hashes snaks, references and values over PHP's legacy
// serialize() text of the data model objects ("C:<len>:"<class>":<len>:{...}").
// The helpers below build exactly those strings; see dumps-rdf.md §2.10.

// PHP class names that appear in the hash input.
const (
	classValueSnak     = `Wikibase\DataModel\Snak\PropertyValueSnak`
	classSomeValueSnak = `Wikibase\DataModel\Snak\PropertySomeValueSnak`
	classNoValueSnak   = `Wikibase\DataModel\Snak\PropertyNoValueSnak`
	classString        = `DataValues\StringValue`
	classMonolingual   = `DataValues\MonolingualTextValue`
	classTime          = `DataValues\TimeValue`
	classQuantity      = `DataValues\QuantityValue`
	classUnbounded     = `DataValues\UnboundedQuantityValue`
	classDecimal       = `DataValues\DecimalValue`
	classGlobe         = `DataValues\Geo\Values\GlobeCoordinateValue`
	classEntityIDValue = `Wikibase\DataModel\Entity\EntityIdValue`
)

// entityIDClasses are the PHP classes of entity ids by entity type. The
// lexeme ones come from WikibaseLexeme.
var entityIDClasses = map[string]string{
	TypeItem:     `Wikibase\DataModel\Entity\ItemId`,
	TypeProperty: `Wikibase\DataModel\Entity\NumericPropertyId`,
	TypeLexeme:   `Wikibase\Lexeme\Domain\Model\LexemeId`,
	"form":       `Wikibase\Lexeme\Domain\Model\FormId`,
	"sense":      `Wikibase\Lexeme\Domain\Model\SenseId`,
}

// phpObject appends C:<len>:"<class>":<len>:{<data>} where data is written
// by fn; lengths are in bytes.
func phpObject(dst []byte, class string, fn func([]byte) ([]byte, error)) ([]byte, error) {
	dst = append(dst, "C:"...)
	dst = strconv.AppendInt(dst, int64(len(class)), 10)
	dst = append(dst, `:"`...)
	dst = append(dst, class...)
	dst = append(dst, `":`...)
	// The data length comes before the data: write the data at the end,
	// then move it behind its length.
	mark := len(dst)
	dst, err := fn(dst)
	if err != nil {
		return dst, err
	}
	data := len(dst) - mark
	var lenBuf [24]byte
	prefix := strconv.AppendInt(lenBuf[:0], int64(data), 10)
	prefix = append(prefix, ':', '{')
	dst = append(dst, prefix...) // grow by len(prefix)
	copy(dst[mark+len(prefix):], dst[mark:mark+data])
	copy(dst[mark:], prefix)
	return append(dst, '}'), nil
}

// phpString appends s:<len>:"<s>";
func phpString(dst []byte, s string) []byte {
	dst = append(dst, "s:"...)
	dst = strconv.AppendInt(dst, int64(len(s)), 10)
	dst = append(dst, ':', '"')
	dst = append(dst, s...)
	return append(dst, '"', ';')
}

func phpDecimal(dst []byte, v string) ([]byte, error) {
	return phpObject(dst, classDecimal, func(b []byte) ([]byte, error) {
		return phpString(b, v), nil
	})
}

// ErrUnhashable is returned for values whose hash the model cannot compute
// (value types it does not know).
var ErrUnhashable = errors.New("value cannot be hashed")

// appendValueSerialization appends PHP's serialize() of a data value.
func appendValueSerialization(dst []byte, v Value) ([]byte, error) {
	switch v := v.(type) {
	case *StringValue:
		return phpObject(dst, classString, func(b []byte) ([]byte, error) {
			return append(b, v.Value...), nil
		})
	case *MonolingualTextValue:
		return phpObject(dst, classMonolingual, func(b []byte) ([]byte, error) {
			b = append(b, "a:2:{i:0;"...)
			b = phpString(b, v.Language)
			b = append(b, "i:1;"...)
			b = phpString(b, v.Text)
			return append(b, '}'), nil
		})
	case *TimeValue:
		return phpObject(dst, classTime, func(b []byte) ([]byte, error) {
			b = append(b, '[')
			b = appendJSONString(b, v.Time, true)
			for _, n := range [...]int64{v.Timezone, v.Before, v.After, v.Precision} {
				b = append(b, ',')
				b = appendInt(b, n)
			}
			b = append(b, ',')
			b = appendJSONString(b, v.CalendarModel, true)
			return append(b, ']'), nil
		})
	case *QuantityValue:
		if !v.Bounded() {
			return phpObject(dst, classUnbounded, func(b []byte) ([]byte, error) {
				b = append(b, "a:2:{i:0;"...)
				b, err := phpDecimal(b, v.Amount)
				if err != nil {
					return b, err
				}
				b = append(b, "i:1;"...)
				b = phpString(b, v.Unit)
				return append(b, '}'), nil
			})
		}
		return phpObject(dst, classQuantity, func(b []byte) ([]byte, error) {
			b = append(b, "a:4:{i:0;"...)
			b, _ = phpDecimal(b, v.Amount)
			b = append(b, "i:1;"...)
			b = phpString(b, v.Unit)
			b = append(b, "i:2;"...)
			b, _ = phpDecimal(b, v.UpperBound)
			b = append(b, "i:3;"...)
			b, _ = phpDecimal(b, v.LowerBound)
			return append(b, '}'), nil
		})
	case *GlobeCoordinateValue:
		return phpObject(dst, classGlobe, func(b []byte) ([]byte, error) {
			b = append(b, '[')
			var err error
			if b, err = appendJSONFloat(b, v.Latitude); err != nil {
				return b, err
			}
			b = append(b, ',')
			if b, err = appendJSONFloat(b, v.Longitude); err != nil {
				return b, err
			}
			b = append(b, ',')
			if b, err = appendOptionalJSONFloat(b, v.Altitude); err != nil {
				return b, err
			}
			b = append(b, ',')
			if b, err = appendOptionalJSONFloat(b, v.Precision); err != nil {
				return b, err
			}
			b = append(b, ',')
			b = appendJSONString(b, v.Globe, true)
			return append(b, ']'), nil
		})
	case *EntityIDValue:
		class, ok := entityIDClasses[v.EntityType]
		if !ok {
			return dst, fmt.Errorf("%w: entity type %q", ErrUnhashable, v.EntityType)
		}
		return phpObject(dst, classEntityIDValue, func(b []byte) ([]byte, error) {
			return phpObject(b, class, func(b []byte) ([]byte, error) {
				return append(b, v.ID...), nil
			})
		})
	case *UnknownValue:
		return dst, fmt.Errorf("%w: unknown value type %q", ErrUnhashable, v.Type)
	case nil:
		return dst, fmt.Errorf("%w: no value", ErrUnhashable)
	}
	return dst, fmt.Errorf("%w: value type %T", ErrUnhashable, v)
}

func appendJSONFloat(dst []byte, f float64) ([]byte, error) {
	s, ok := FormatPHPJSONFloat(f)
	if !ok {
		return dst, fmt.Errorf("number %v cannot be written as JSON", f)
	}
	return append(dst, s...), nil
}

func appendOptionalJSONFloat(dst []byte, f *float64) ([]byte, error) {
	if f == nil {
		return append(dst, "null"...), nil
	}
	return appendJSONFloat(dst, *f)
}

// appendSnakSerialization appends PHP's serialize() of a snak.
func appendSnakSerialization(dst []byte, s *Snak) ([]byte, error) {
	switch s.Type {
	case SnakValue:
		return phpObject(dst, classValueSnak, func(b []byte) ([]byte, error) {
			b = append(b, "a:2:{i:0;"...)
			b = phpString(b, s.Property)
			b = append(b, "i:1;"...)
			b, err := appendValueSerialization(b, s.Value)
			if err != nil {
				return b, err
			}
			return append(b, '}'), nil
		})
	case SnakSomeValue, SnakNoValue:
		class := classNoValueSnak
		if s.Type == SnakSomeValue {
			class = classSomeValueSnak
		}
		return phpObject(dst, class, func(b []byte) ([]byte, error) {
			return append(b, s.Property...), nil
		})
	}
	return dst, fmt.Errorf("snak of %s has invalid type %d", s.Property, s.Type)
}

// Hasher computes Wikibase hashes, reusing its buffers between calls. The
// zero value is ready to use; a Hasher is not safe for concurrent use.
type Hasher struct {
	buf  []byte
	sums [][sha1.Size]byte
}

// SnakHash returns the snak's hash as Wikibase computes it (the "hash" member
// of qualifier and reference snaks): sha1 of the snak's PHP serialization.
func (h *Hasher) SnakHash(s *Snak) (string, error) {
	sum, err := h.snakSum(s)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(sum[:]), nil
}

func (h *Hasher) snakSum(s *Snak) ([sha1.Size]byte, error) {
	var err error
	h.buf, err = appendSnakSerialization(h.buf[:0], s)
	if err != nil {
		return [sha1.Size]byte{}, fmt.Errorf("hash snak of %s: %w", s.Property, err)
	}
	return sha1.Sum(h.buf), nil
}

// ReferenceHash returns the reference's hash: sha1 of its snak hashes,
// sorted and joined with "|". It is also the local name of the reference's
// wdref: node in RDF.
func (h *Hasher) ReferenceHash(r *Reference) (string, error) {
	h.sums = h.sums[:0]
	for i := range r.Snaks {
		sum, err := h.snakSum(&r.Snaks[i])
		if err != nil {
			return "", fmt.Errorf("hash reference: %w", err)
		}
		h.sums = append(h.sums, sum)
	}
	// Sorting the digests sorts their hex forms: hex keeps the byte order.
	slices.SortFunc(h.sums, func(a, b [sha1.Size]byte) int { return bytes.Compare(a[:], b[:]) })
	h.buf = h.buf[:0]
	for i := range h.sums {
		if i > 0 {
			h.buf = append(h.buf, '|')
		}
		h.buf = hex.AppendEncode(h.buf, h.sums[i][:])
	}
	sum := sha1.Sum(h.buf)
	return hex.EncodeToString(sum[:]), nil
}

// ValueHash returns the value's DataValue hash, the local name of its wdv:
// value node in RDF. For time and quantity values (bounded and unbounded) it
// is md5 of the PHP serialization; for globe coordinates it is md5 of
// "lat|lon|precision|globe" with PHP string casts of the numbers. Other value
// types hash as md5 of their serialization too, like Wikibase's
// DataValueObject, but have no value nodes in RDF.
func (h *Hasher) ValueHash(v Value) (string, error) {
	if g, ok := v.(*GlobeCoordinateValue); ok {
		return GlobeCoordinateValueHash(g), nil
	}
	var err error
	h.buf, err = appendValueSerialization(h.buf[:0], v)
	if err != nil {
		return "", err
	}
	sum := md5.Sum(h.buf)
	return hex.EncodeToString(sum[:]), nil
}

// SnakHash returns a snak's hash; see Hasher.SnakHash.
func SnakHash(s *Snak) (string, error) {
	var h Hasher
	return h.SnakHash(s)
}

// ReferenceHash returns a reference's hash; see Hasher.ReferenceHash.
func ReferenceHash(r *Reference) (string, error) {
	var h Hasher
	return h.ReferenceHash(r)
}

// ValueHash returns a value's hash; see Hasher.ValueHash.
func ValueHash(v Value) (string, error) {
	var h Hasher
	return h.ValueHash(v)
}

// TimeValueHash returns the wdv: hash of a time value.
func TimeValueHash(v *TimeValue) string {
	s, _ := ValueHash(v) // time values always serialize
	return s
}

// QuantityValueHash returns the wdv: hash of a quantity, bounded or not.
func QuantityValueHash(v *QuantityValue) string {
	s, _ := ValueHash(v) // quantities always serialize
	return s
}

// GlobeCoordinateValueHash returns the wdv: hash of a globe coordinate:
// md5(lat|lon|precision|globe) with PHP string casts, a null precision
// giving an empty field.
func GlobeCoordinateValueHash(v *GlobeCoordinateValue) string {
	b := make([]byte, 0, 96)
	b = append(b, FormatPHPFloat(v.Latitude)...)
	b = append(b, '|')
	b = append(b, FormatPHPFloat(v.Longitude)...)
	b = append(b, '|')
	if v.Precision != nil {
		b = append(b, FormatPHPFloat(*v.Precision)...)
	}
	b = append(b, '|')
	b = append(b, v.Globe...)
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}
