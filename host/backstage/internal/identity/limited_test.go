package identity

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAppendJSString pins the JSON.stringify quoting a limited token's
// signature depends on.
func TestAppendJSString(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "user:default/alice", `"user:default/alice"`},
		{"html characters are not escaped", "<a&b>", `"<a&b>"`},
		{"line separators are not escaped", "a\u2028b\u2029", "\"a\u2028b\u2029\""},
		{"quote and backslash", `a"b\c`, `"a\"b\\c"`},
		{"short escapes", "\b\f\n\r\t", `"\b\f\n\r\t"`},
		{"other controls", "\x00\x1f", `"\u0000\u001f"`},
		{"non-ASCII", "é😀", `"é😀"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, string(appendJSString(nil, tc.in)))
		})
	}
}

func TestAppendJSNumber(t *testing.T) {
	for in, want := range map[float64]string{1700000000: "1700000000", 1.5: "1.5", 0: "0", 1e21: "1e+21"} {
		require.Equal(t, want, string(appendJSNumber(nil, in)))
	}
}
