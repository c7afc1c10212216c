package main

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestObjectList(t *testing.T) {
	l := objectList{prefix: "things", listOf: " of {a, b}", objectOf: " with a and b", keys: []string{"a", "b"}}
	errBad := errors.New("a is bad")
	read := func(m map[string]any) error {
		switch m["a"] {
		case "bad":
			return errBad
		case "deep":
			return &nestedError{path: ".b[3]", err: errBad}
		}
		return nil
	}
	tests := []struct {
		name  string
		value any
		err   string
		wraps bool // the error wraps read's
	}{
		{name: "null is an empty list", value: nil},
		{name: "entries read", value: []any{map[string]any{"a": "ok"}, map[string]any{"b": 1}}},
		{name: "not a list", value: "x", err: `"x" is not a list of {a, b}`},
		{name: "entry not an object", value: []any{map[string]any{}, 3}, err: "things[1]: not an object with a and b"},
		{name: "unknown keys named in order", value: []any{map[string]any{"z": 1, "c": 2, "a": "ok"}}, err: `things[0]: unknown key "c"`},
		{name: "entry's error placed at it", value: []any{map[string]any{}, map[string]any{"a": "bad"}}, err: "things[1]: a is bad", wraps: true},
		{name: "nested error placed inside the entry", value: []any{map[string]any{"a": "deep"}}, err: "things[0].b[3]: a is bad", wraps: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := l.each(tc.value, read)
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tc.err)
			if tc.wraps {
				require.ErrorIs(t, err, errBad)
			}
		})
	}
}

func TestRenamedErrorUnwraps(t *testing.T) {
	lib := errors.New("fuel: must be positive, got 0")
	err := renameKeys(lib, hostKey)
	require.EqualError(t, err, "policies.limits.fuel: must be positive, got 0")
	require.ErrorIs(t, err, lib)
}
