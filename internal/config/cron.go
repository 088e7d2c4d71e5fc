package config

import (
	"fmt"
	"strconv"
	"strings"
)

// cronFields are the five fields of a cron string, with their bounds and names.
var cronFields = []struct {
	name   string
	lo, hi int
	names  []string // names[i] stands for lo+i
}{
	{"minute", 0, 59, nil},
	{"hour", 0, 23, nil},
	{"day-of-month", 1, 31, nil},
	{"month", 1, 12, []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
	{"day-of-week", 0, 7, []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun"}},
}

// ValidateCron checks a five-field cron string (minute hour day-of-month month day-of-week,
// each `*`, `N`, `N-M`, with `/step` and comma lists; month and weekday names allowed) or one
// of @hourly, @daily, @weekly, @monthly, @yearly. Every field is honoured by Temporal's
// scheduler; the error names the field that is wrong.
func ValidateCron(s string) error {
	s = strings.TrimSpace(s)
	switch s {
	case "@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually":
		return nil
	}
	fields := strings.Fields(s)
	if len(fields) != 5 {
		return fmt.Errorf("cron %q has %d fields, want 5 (minute hour day-of-month month day-of-week)", s, len(fields))
	}
	for i, f := range fields {
		spec := cronFields[i]
		for _, part := range strings.Split(f, ",") {
			if err := validateCronPart(part, spec.lo, spec.hi, spec.names); err != nil {
				return fmt.Errorf("cron %q: %s field %q: %w", s, spec.name, f, err)
			}
		}
	}
	return nil
}

func validateCronPart(part string, lo, hi int, names []string) error {
	rng, step, hasStep := strings.Cut(part, "/")
	if hasStep {
		n, err := strconv.Atoi(step)
		if err != nil || n < 1 || n > hi-lo+1 {
			return fmt.Errorf("step %q must be a number from 1 to %d", step, hi-lo+1)
		}
	}
	if rng == "*" {
		return nil
	}
	from, to, isRange := strings.Cut(rng, "-")
	a, err := cronValue(from, lo, hi, names)
	if err != nil {
		return err
	}
	if !isRange {
		return nil
	}
	b, err := cronValue(to, lo, hi, names)
	if err != nil {
		return err
	}
	if b < a {
		return fmt.Errorf("range %q runs backwards", rng)
	}
	return nil
}

func cronValue(v string, lo, hi int, names []string) (int, error) {
	for i, n := range names {
		if strings.EqualFold(v, n) {
			return lo + i, nil
		}
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		if names != nil {
			return 0, fmt.Errorf("%q is not a number from %d to %d or a name such as %s", v, lo, hi, names[0])
		}
		return 0, fmt.Errorf("%q is not a number from %d to %d", v, lo, hi)
	}
	return n, nil
}
