package wikibase

import (
	"math"
	"strconv"
)

// Wikibase's output depends on how PHP turns doubles into text, in two ways:
// json_encode (serialize_precision = -1: shortest round-trip digits) for JSON
// and the snak hash input, and the string cast (precision = 14: 14 significant
// digits) for the globe-coordinate value hash and RDF literals. Both go
// through php_gcvt, whose layout rules are reproduced here.

// FormatPHPJSONFloat formats f as PHP's json_encode does by default: the
// shortest digits that round-trip, exponent form with a lower-case "e" below
// 1e-4 or from 1e17 up ("1.0e-5", "2.7777777777778e-5"), and no ".0" on
// whole numbers ("12"). It reports false for NaN and infinities, which
// json_encode refuses.
func FormatPHPJSONFloat(f float64) (string, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", false
	}
	return string(appendPHPFloat(nil, f, -1, 'e')), true
}

// FormatPHPFloat formats f as PHP's (string) cast does with precision 14:
// "51.566527777778", "2.7777777777778E-5", "12", "1.0E-5".
func FormatPHPFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NAN"
	case math.IsInf(f, 1):
		return "INF"
	case math.IsInf(f, -1):
		return "-INF"
	}
	return string(appendPHPFloat(nil, f, 14, 'E'))
}

// appendPHPFloat is php_gcvt: precision < 0 means shortest round-trip digits
// with the exponent threshold of precision 17 (mode 0); otherwise that many
// significant digits (mode 2).
func appendPHPFloat(dst []byte, f float64, precision int, expChar byte) []byte {
	if f == 0 {
		if math.Signbit(f) {
			return append(dst, "-0"...)
		}
		return append(dst, '0')
	}
	ndigit := precision
	var buf [40]byte
	var e []byte
	if precision < 0 {
		ndigit = 17
		e = strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	} else {
		e = strconv.AppendFloat(buf[:0], f, 'e', precision-1, 64)
	}
	if e[0] == '-' {
		dst = append(dst, '-')
		e = e[1:]
	}
	// e is "d.ddde±XX" or "de±XX": collect the digits and the exponent.
	var digits [32]byte
	nd := 0
	i := 0
	for ; i < len(e) && e[i] != 'e'; i++ {
		if e[i] != '.' {
			digits[nd] = e[i]
			nd++
		}
	}
	exp, _ := strconv.Atoi(string(e[i+1:]))
	for nd > 1 && digits[nd-1] == '0' {
		nd--
	}
	d := digits[:nd]
	decpt := exp + 1 // value = 0.d1d2... × 10^decpt

	if (decpt < 0 && decpt < -3) || (decpt >= 0 && decpt > ndigit) {
		dst = append(dst, d[0], '.')
		if len(d) == 1 {
			dst = append(dst, '0')
		} else {
			dst = append(dst, d[1:]...)
		}
		dst = append(dst, expChar)
		x := decpt - 1
		if x < 0 {
			dst = append(dst, '-')
			x = -x
		} else {
			dst = append(dst, '+')
		}
		return strconv.AppendInt(dst, int64(x), 10)
	}
	if decpt <= 0 {
		dst = append(dst, '0', '.')
		for ; decpt < 0; decpt++ {
			dst = append(dst, '0')
		}
		return append(dst, d...)
	}
	for j := 0; j < decpt; j++ {
		if j < len(d) {
			dst = append(dst, d[j])
		} else {
			dst = append(dst, '0')
		}
	}
	if len(d) > decpt {
		dst = append(dst, '.')
		dst = append(dst, d[decpt:]...)
	}
	return dst
}
