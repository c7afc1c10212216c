package main

// Parsing a key whose value is a list of objects: objectList walks the
// list and checks each entry's keys; the key's setter (configlists.go)
// reads one entry.

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// objectList describes a key whose value is a list of objects, and how its
// errors read.
type objectList struct {
	// prefix starts every entry's errors: "externalAccess" gives
	// "externalAccess[0]: ...", "" gives "[0]: ...".
	prefix string
	// listOf completes "... is not a list" (e.g. " of {module, claims}").
	listOf string
	// objectOf completes "[0]: not an object" (e.g. " with module and
	// claims").
	objectOf string
	// keys are the keys an entry may have; any other is an error.
	keys []string
}

// each calls read with every entry of v, a list of objects (nil is an empty
// list), and reports an error as its entry's: "[1]: plugins must be ...".
// It stops at the first error.
func (l objectList) each(v any, read func(entry map[string]any) error) error {
	if v == nil {
		return nil
	}
	entries, ok := v.([]any)
	if !ok {
		return fmt.Errorf("%s is not a list%s", quote(v), l.listOf)
	}
	for i, e := range entries {
		m, err := l.object(e)
		if err == nil {
			err = read(m)
		}
		if err != nil {
			return l.at(i, err)
		}
	}
	return nil
}

// object checks that e is an object whose keys are all in l.keys.
func (l objectList) object(e any) (map[string]any, error) {
	m, ok := e.(map[string]any)
	if !ok {
		return nil, errors.New("not an object" + l.objectOf)
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(l.keys, k) {
			return nil, fmt.Errorf("unknown key %q", k)
		}
	}
	return m, nil
}

// at places err at entry i: "[i]: err", or "[i].claims[2]: ..." for a
// nestedError.
func (l objectList) at(i int, err error) error {
	var ne *nestedError
	if errors.As(err, &ne) {
		return fmt.Errorf("%s[%d]%s: %w", l.prefix, i, ne.path, ne.err)
	}
	return fmt.Errorf("%s[%d]: %w", l.prefix, i, err)
}

// nestedError is a problem deeper inside an entry: path continues the
// entry's position, as ".claims[2]" in "[0].claims[2]: ...".
type nestedError struct {
	path string
	err  error
}

// Error returns the path and the problem, as "path: problem".
func (e *nestedError) Error() string { return e.path + ": " + e.err.Error() }

// Unwrap returns the problem.
func (e *nestedError) Unwrap() error { return e.err }

// readStrings reads the string values of m into strs and its
// string-or-list values into lists; prefix starts their names in errors
// ("options."). Any other key is an unknown option.
func readStrings(m map[string]any, prefix string, strs map[string]*string, lists map[string]*[]string) error {
	for k, v := range m {
		if dst, ok := strs[k]; ok {
			sv, ok := v.(string)
			if !ok {
				return fmt.Errorf("%s%s must be a string", prefix, k)
			}
			*dst = sv
			continue
		}
		if dst, ok := lists[k]; ok {
			if !appendStrings(v, dst) {
				return fmt.Errorf("%s%s must be a string or a list of strings", prefix, k)
			}
			continue
		}
		return fmt.Errorf("unknown option %q", k)
	}
	return nil
}

// appendStrings appends v, a string or a list of strings, to dst; false
// means v is neither.
func appendStrings(v any, dst *[]string) bool {
	switch x := v.(type) {
	case string:
		*dst = []string{x}
		return true
	case []any:
		for _, e := range x {
			sv, ok := e.(string)
			if !ok {
				return false
			}
			*dst = append(*dst, sv)
		}
		return true
	}
	return false
}
