package wire_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/internal/wire"
)

func TestAppendStringModes(t *testing.T) {
	in := "a<b>&\"\\\n\x01\u2028é\xff"
	require.Equal(t, `"a\u003cb\u003e\u0026\"\\\n\u0001\u2028é\ufffd"`, string(wire.AppendString(nil, in)))
	require.Equal(t, "\"a<b>&\\\"\\\\\\n\\u0001\u2028é\ufffd\"", string(wire.AppendJSString(nil, in)))
}

// TestAppendJSString pins JavaScript's JSON.stringify quoting, which the
// Backstage API's responses and a limited user token's signature depend on.
func TestAppendJSString(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "user:default/alice", `"user:default/alice"`},
		{"html characters are not escaped", "<a&b>", `"<a&b>"`},
		{"line separators are not escaped", "a\u2028b\u2029", "\"a\u2028b\u2029\""},
		{"quote and backslash", `a"b\c`, `"a\"b\\c"`},
		{"short escapes", "\b\f\n\r\t", `"\b\f\n\r\t"`},
		{"other controls", "\x00\x1f", `"\u0000\u001f"`},
		{"non-ASCII", "é😀", `"é😀"`},
		{"invalid UTF-8 becomes U+FFFD", "a\xffb\xed\xa0\x80", "\"a\ufffdb\ufffd\ufffd\ufffd\""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, string(wire.AppendJSString(nil, tc.in)))
		})
	}
}
