package main

// The typed setters of the key table: each returns a setter that checks the
// raw value's type (as YAML, JSON or an environment string gives it) and
// reports a one-line error naming the value.

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// setter checks a raw value and applies it to settings.
type setter func(s *settings, v any) error

// str sets a string; null sets "".
func str(apply func(*settings, string)) setter {
	return func(s *settings, v any) error {
		switch x := v.(type) {
		case string:
			apply(s, x)
		case nil:
			apply(s, "")
		default:
			return fmt.Errorf("%v is not a string", v)
		}
		return nil
	}
}

// enum sets a string that must be one of values.
func enum(values []string, apply func(*settings, string)) setter {
	return func(s *settings, v any) error {
		x, ok := v.(string)
		if !ok || !slices.Contains(values, x) {
			return fmt.Errorf("%s is not one of %s", quote(v), strings.Join(values, ", "))
		}
		apply(s, x)
		return nil
	}
}

// duration sets a duration written with a unit ("500ms"); a bare number
// is refused rather than guessed at.
func duration(apply func(*settings, time.Duration)) setter {
	return func(s *settings, v any) error {
		x, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s is not a duration (write it with a unit, e.g. 500ms or 2s)", quote(v))
		}
		d, err := time.ParseDuration(x)
		if err != nil {
			return fmt.Errorf("%s is not a duration (write it with a unit, e.g. 500ms or 2s)", quote(v))
		}
		apply(s, d)
		return nil
	}
}

// integer sets an int.
func integer(apply func(*settings, int)) setter {
	return func(s *settings, v any) error {
		n, err := toInt(v)
		if err != nil {
			return err
		}
		apply(s, n)
		return nil
	}
}

// toInt reads an integer as YAML (int, uint64 past MaxInt64), JSON
// (float64) or the environment (a string) gives it.
func toInt(v any) (int, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case int64:
		return int(x), nil
	case uint64:
		if x > math.MaxInt {
			return 0, fmt.Errorf("%v is too large", x)
		}
		return int(x), nil
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
			return 0, fmt.Errorf("%v is not an integer", x)
		}
		return int(x), nil
	case string:
		i, err := strconv.Atoi(strings.TrimSpace(x))
		if err != nil {
			return 0, fmt.Errorf("%q is not an integer", x)
		}
		return i, nil
	}
	return 0, fmt.Errorf("%s is not an integer", quote(v))
}

// boolean sets a bool, or a string that strconv.ParseBool reads.
func boolean(apply func(*settings, bool)) setter {
	return func(s *settings, v any) error {
		switch x := v.(type) {
		case bool:
			apply(s, x)
		case string:
			b, err := strconv.ParseBool(strings.TrimSpace(x))
			if err != nil {
				return fmt.Errorf("%q is not true or false", x)
			}
			apply(s, b)
		default:
			return fmt.Errorf("%s is not true or false", quote(v))
		}
		return nil
	}
}

// strs sets a list of strings; null sets nil.
func strs(apply func(*settings, []string)) setter {
	return func(s *settings, v any) error {
		if v == nil {
			apply(s, nil)
			return nil
		}
		list, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s is not a list of strings", quote(v))
		}
		var out []string
		for i, e := range list {
			x, ok := e.(string)
			if !ok {
				return fmt.Errorf("[%d]: %s is not a string", i, quote(e))
			}
			out = append(out, x)
		}
		apply(s, out)
		return nil
	}
}

// quote writes v for an error: strings quoted, anything else as %v.
func quote(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%v", v)
}
