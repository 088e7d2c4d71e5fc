package rdf

import (
	"strconv"
	"strings"

	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// Time precisions (TimeValue::PRECISION_*).
const (
	precisionYear  = 9
	precisionMonth = 10
	precisionDay   = 11
)

// cleanTime turns a Wikibase time into an xsd:dateTime (XSD 1.1, where
// 1 BCE is year 0000) as JulianDateTimeValueCleaner does: Gregorian dates
// are tidied (no "+", month/day 0 → 1, month > 12 → 12, day clamped to the
// month, coarse precisions reset to January 1st, negative years shifted by
// one); Julian dates with day precision are converted to Gregorian. It
// reports false when there is no such literal (year 0, unparsable, other
// calendars at day precision), and Wikibase then writes the raw string.
func cleanTime(v *wikibase.TimeValue) (string, bool) {
	cal := strings.TrimSpace(v.CalendarModel)
	if cal == calendarJulian && v.Precision >= precisionDay {
		p, ok := parseTime(v.Time)
		if !ok {
			return "", false
		}
		if s, ok := julianToGregorian(p); ok {
			return s, true
		}
		return cleanGregorian(p, v.Precision), true
	}
	if cal != calendarGregorian && v.Precision >= precisionDay {
		return "", false
	}
	p, ok := parseTime(v.Time)
	if !ok {
		return "", false
	}
	return cleanGregorian(p, v.Precision), true
}

// parsedTime is DateTimeValueCleaner::parseDateValue's result: year
// without sign or leading zeros, month and day already forced into 1..12
// and ≥ 1.
type parsedTime struct {
	minus bool
	year  string
	month int
	day   int
	clock string
}

func parseTime(s string) (parsedTime, bool) {
	date, clock, ok := strings.Cut(s, "T")
	if !ok || len(date) < 2 {
		return parsedTime{}, false
	}
	var p parsedTime
	p.minus = date[0] == '-'
	parts := strings.SplitN(date[1:], "-", 3)
	if len(parts) != 3 {
		return parsedTime{}, false
	}
	p.year = strings.TrimLeft(parts[0], "0")
	if p.year == "" || !isDigits(p.year) {
		// Year 0 has no xsd:dateTime (T94064).
		return parsedTime{}, false
	}
	p.month = phpInt(parts[1])
	p.day = phpInt(parts[2])
	if p.month <= 0 {
		p.month = 1
	}
	if p.month >= 12 {
		p.month = 12
	}
	if p.day <= 0 {
		p.day = 1
	}
	p.clock = clock
	if !validClock(clock) {
		return parsedTime{}, false
	}
	return p, true
}

// validClock accepts the hh:mm:ssZ part Wikibase writes; anything else
// would make an invalid literal.
func validClock(c string) bool {
	if len(c) != 9 || c[2] != ':' || c[5] != ':' || c[8] != 'Z' {
		return false
	}
	return isDigits(c[0:2]) && isDigits(c[3:5]) && isDigits(c[6:8])
}

// phpInt is PHP's (int) cast of a numeric prefix.
func phpInt(s string) int {
	n := 0
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if n > 1<<40 {
			break
		}
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func cleanGregorian(p parsedTime, precision int64) string {
	m, d := p.month, p.day
	if precision <= precisionYear {
		m, d = 1, 1
	} else if precision == precisionMonth {
		d = 1
	}
	if !(d <= 28 || (m != 2 && d <= 30)) {
		// cal_days_in_month with PHP's year numbering (no year 0; years
		// before 4714 BCE are taken as 4713 BCE).
		var year int64
		if p.minus && (len(p.year) > 4 || phpInt(p.year) >= 4714) {
			year = -4713
		} else {
			y, err := strconv.ParseInt(p.year, 10, 64)
			if err != nil {
				y = 1 << 62
			}
			if p.minus {
				y = -y
			}
			year = y
		}
		if max := daysInMonth(m, year); d > max {
			d = max
		}
	}
	year, minus := p.year, p.minus
	if precision >= precisionYear && minus {
		year = decimalDecrement(year)
		if year == "0" {
			minus = false
		}
	}
	var b strings.Builder
	if minus {
		b.WriteByte('-')
	}
	for i := len(year); i < 4; i++ {
		b.WriteByte('0')
	}
	b.WriteString(year)
	b.WriteByte('-')
	writeTwo(&b, m)
	b.WriteByte('-')
	writeTwo(&b, d)
	b.WriteByte('T')
	b.WriteString(p.clock)
	return b.String()
}

func writeTwo(b *strings.Builder, n int) {
	b.WriteByte(byte('0' + n/10%10))
	b.WriteByte(byte('0' + n%10))
}

// decimalDecrement subtracts one from a positive decimal string of any
// length.
func decimalDecrement(s string) string {
	b := []byte(s)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] > '0' {
			b[i]--
			break
		}
		b[i] = '9'
	}
	out := strings.TrimLeft(string(b), "0")
	if out == "" {
		return "0"
	}
	return out
}

// daysInMonth is cal_days_in_month(CAL_GREGORIAN, m, y) for PHP's year
// numbering, where -1 is 1 BCE (a leap year in the proleptic calendar).
func daysInMonth(m int, year int64) int {
	switch m {
	case 4, 6, 9, 11:
		return 30
	case 2:
		y := year
		if y < 0 {
			y++
		}
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	}
	return 31
}

// julianToGregorian converts a Julian calendar date as PHP's juliantojd and
// jdtogregorian do; it reports false outside the years PHP converts.
func julianToGregorian(p parsedTime) (string, bool) {
	if len(p.year) > 7 {
		return "", false
	}
	y := int64(phpInt(p.year))
	if p.minus {
		y = -y
	}
	if y < -4713 || y > 1465072 {
		return "", false
	}
	jd := julianToJD(y, int64(p.month), int64(p.day))
	if jd <= 0 {
		return "", false
	}
	gy, gm, gd := jdToGregorian(jd)
	if gy < 0 {
		gy++
	}
	var b strings.Builder
	ay := gy
	if gy < 0 {
		b.WriteByte('-')
		ay = -gy
	}
	ys := strconv.FormatInt(ay, 10)
	for i := len(ys); i < 4; i++ {
		b.WriteByte('0')
	}
	b.WriteString(ys)
	b.WriteByte('-')
	writeTwo(&b, int(gm))
	b.WriteByte('-')
	writeTwo(&b, int(gd))
	b.WriteByte('T')
	b.WriteString(p.clock)
	return b.String(), true
}

// julianToJD is PHP's JulianToSdn.
func julianToJD(year, month, day int64) int64 {
	if year == 0 || year < -4713 || month <= 0 || month > 12 || day <= 0 || day > 31 {
		return 0
	}
	if year == -4713 && month == 1 && day == 1 {
		return 0
	}
	if year < 0 {
		year += 4801
	} else {
		year += 4800
	}
	if month > 2 {
		month -= 3
	} else {
		month += 9
		year--
	}
	return (year*1461)/4 + (month*153+2)/5 + day - 32083
}

// jdToGregorian is PHP's SdnToGregorian (years without 0: -1 is 1 BCE).
func jdToGregorian(sdn int64) (year, month, day int64) {
	temp := (sdn+32045)*4 - 1
	century := temp / 146097
	temp = ((temp % 146097) / 4 * 4) + 3
	year = century*100 + temp/1461
	dayOfYear := (temp%1461)/4 + 1
	temp = dayOfYear*5 - 3
	month = temp / 153
	day = (temp%153)/5 + 1
	if month < 10 {
		month += 3
	} else {
		year++
		month -= 9
	}
	year -= 4800
	if year <= 0 {
		year--
	}
	return year, month, day
}
