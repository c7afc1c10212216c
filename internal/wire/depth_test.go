package wire_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/internal/wire"
)

func TestCheckDepth(t *testing.T) {
	nest := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	tests := []struct {
		name string
		in   string
		max  int
		ok   bool
	}{
		{"empty", ``, 1, true},
		{"scalar", `42`, 0, true},
		{"object at the limit", `{"a":{"b":1}}`, 2, true},
		{"object over the limit", `{"a":{"b":{}}}`, 2, false},
		{"arrays at the limit", nest(32), 32, true},
		{"arrays over the limit", nest(33), 32, false},
		{"mixed", `{"a":[{"b":[1]}]}`, 4, true},
		{"mixed over", `{"a":[{"b":[[1]]}]}`, 4, false},
		{"siblings do not add up", `[[1],[2],[3],{"a":1}]`, 2, true},
		{"brackets in strings ignored", `{"a":"[[[[{{{{"}`, 1, true},
		{"escaped quote keeps the string open", `{"a":"\"[[[[","b":1}`, 1, true},
		{"escaped backslash closes the string", `["\\",[[1]]]`, 2, false},
		{"escaped backslash then quote", `{"a":"x\\\"[[["}`, 1, true},
		{"closing brackets in strings ignored", `[["]]]]"],[[1]]]`, 2, false},
		{"unicode escape", `{"a":"\u005b\u005b"}`, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := wire.CheckDepth([]byte(tt.in), tt.max)
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, wire.ErrTooDeep)
		})
	}
}
