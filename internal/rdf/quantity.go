package rdf

import (
	"fmt"
	"math/big"
	"strings"

	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// decimal is an exact decimal number: digits × 10^-scale.
type decimal struct {
	digits *big.Int
	scale  int
}

// parseDecimal reads a DataValues decimal ("+12.50", "-3", "7").
func parseDecimal(s string) (decimal, error) {
	body := strings.TrimPrefix(strings.TrimPrefix(s, "+"), "-")
	intPart, frac, _ := strings.Cut(body, ".")
	if intPart == "" || !isDigits(intPart) || (frac != "" && !isDigits(frac)) {
		return decimal{}, fmt.Errorf("%q is not a decimal number", s)
	}
	n, ok := new(big.Int).SetString(intPart+frac, 10)
	if !ok {
		return decimal{}, fmt.Errorf("%q is not a decimal number", s)
	}
	if strings.HasPrefix(s, "-") {
		n.Neg(n)
	}
	return decimal{digits: n, scale: len(frac)}, nil
}

func (d decimal) mul(o decimal) decimal {
	return decimal{digits: new(big.Int).Mul(d.digits, o.digits), scale: d.scale + o.scale}
}

func (d decimal) isOne() bool {
	return d.digits != nil && d.digits.Cmp(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.scale)), nil)) == 0
}

// String writes the number with a sign, as DataValues decimals are, and
// without trailing fraction zeros.
func (d decimal) String() string {
	neg := d.digits.Sign() < 0
	s := new(big.Int).Abs(d.digits).String()
	if d.scale > 0 {
		for len(s) <= d.scale {
			s = "0" + s
		}
		s = s[:len(s)-d.scale] + "." + s[len(s)-d.scale:]
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if neg && s != "0" {
		return "-" + s
	}
	return "+" + s
}

// normalizeQuantity converts a quantity to standard units (Wikibase's
// UnitConverter::toStandardUnits). same reports that the quantity already is
// in standard units; ok is false when its unit has no conversion.
func (r *Renderer) normalizeQuantity(v *wikibase.QuantityValue) (norm *wikibase.QuantityValue, same, ok bool) {
	base := r.cfg.Source.ConceptBaseURI
	unitID, found := strings.CutPrefix(v.Unit, base)
	if !found || v.Unit == "1" {
		return nil, false, false
	}
	conv, found := r.props.UnitConversion(unitID)
	if !found {
		return nil, false, false
	}
	// A unit that converts to itself is a standard unit, whatever the factor says.
	if conv.Unit == unitID {
		return v, true, true
	}
	factor, err := parseDecimal(conv.Factor)
	if err != nil || factor.digits.Sign() <= 0 {
		return nil, false, false
	}
	scale := func(s string) (string, bool) {
		d, err := parseDecimal(s)
		if err != nil {
			return "", false
		}
		return d.mul(factor).String(), true
	}
	out := &wikibase.QuantityValue{Unit: base + conv.Unit}
	if out.Amount, ok = scale(v.Amount); !ok {
		return nil, false, false
	}
	if v.Bounded() {
		if out.UpperBound, ok = scale(v.UpperBound); !ok {
			return nil, false, false
		}
		if out.LowerBound, ok = scale(v.LowerBound); !ok {
			return nil, false, false
		}
	}
	return out, false, true
}
