package httpapi

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestJSSyntaxMessage: malformed bodies are refused with the message
// Backstage's body-parser gives, JSON.parse's in Node 20 (V8 11), each
// expectation captured from node (v20.20) by running JSON.parse, and for
// strict: true body-parser 1.20's createStrictSyntaxError, on the body.
func TestJSSyntaxMessage(t *testing.T) {
	tests := []struct {
		strict bool
		body   string
		want   string
	}{
		{body: "{\"a\":}", want: "Unexpected token '}', \"{\"a\":}\" is not valid JSON"},
		{body: "{", want: "Expected property name or '}' in JSON at position 1"},
		{body: "{\"a\" 1}", want: "Expected ':' after property name in JSON at position 5"},
		{body: "{\"a\":1,}", want: "Expected double-quoted property name in JSON at position 7"},
		{body: "[1,]", want: "Unexpected token ']', \"[1,]\" is not valid JSON"},
		{body: "{\"a\":1}x", want: "Unexpected non-whitespace character after JSON at position 7"},
		{body: "{\"a\":\"\u0001\"}", want: "Bad control character in string literal in JSON at position 6"},
		{body: "{\"a\":-}", want: "No number after minus sign in JSON at position 6"},
		{body: "{\"a\":tru}", want: "Unexpected token '}', \"{\"a\":tru}\" is not valid JSON"},
		{body: "{\"a\":1.}", want: "Unterminated fractional number in JSON at position 7"},
		{body: "{\"a\":\"\\q\"}", want: "Bad escaped character in JSON at position 7"},
		{body: "{\"a\":t1}", want: "Unexpected number in JSON at position 6"},
		{body: "{\"a\":t\"}", want: "Unexpected string in JSON at position 6"},
		{body: "{\"a\":01}", want: "Unexpected number in JSON at position 6"},
		{body: "{\"a\":-01}", want: "Unexpected number in JSON at position 7"},
		{body: "{\"a\":00}", want: "Unexpected number in JSON at position 6"},
		{body: "{\"a\":1e}", want: "Exponent part is missing a number in JSON at position 7"},
		{body: "{\"a\":1e+}", want: "Exponent part is missing a number in JSON at position 8"},
		{body: "{\"a\":1E-x}", want: "Exponent part is missing a number in JSON at position 8"},
		{body: "{\"a\":\"\\u12x4\"}", want: "Bad Unicode escape in JSON at position 10"},
		{body: "{\"a\":\"\\u12", want: "Bad Unicode escape in JSON at position 10"},
		{body: "{\"a\":\"abc", want: "Unterminated string in JSON at position 9"},
		{body: "{\"a\":\"\\", want: "Unexpected end of JSON input"},
		{body: "{\"a\":", want: "Unexpected end of JSON input"},
		{body: "[", want: "Unexpected end of JSON input"},
		{body: "{\"a\"", want: "Expected ':' after property name in JSON at position 4"},
		{body: "{\"a\":1", want: "Expected ',' or '}' after property value in JSON at position 6"},
		{body: "[1", want: "Expected ',' or ']' after array element in JSON at position 2"},
		{body: "[1 2]", want: "Expected ',' or ']' after array element in JSON at position 3"},
		{body: "{\"a\":1 \"b\":2}", want: "Expected ',' or '}' after property value in JSON at position 7"},
		{body: "{1:2}", want: "Expected property name or '}' in JSON at position 1"},
		{body: "{\"a\":1,\"b\"}", want: "Unexpected token '}', \"{\"a\":1,\"b\"}\" is not valid JSON"},
		{body: "{\"a\":1,,}", want: "Expected double-quoted property name in JSON at position 7"},
		{body: "[,1]", want: "Unexpected token ',', \"[,1]\" is not valid JSON"},
		{body: "{\"items\":[{\"id\":\"abcdef\"},]}", want: "Unexpected token ']', ...\"\"abcdef\"},]}\" is not valid JSON"},
		{body: "{\"items\":[{\"id\":\"abcdefghijklmnopqrstuvwxyz\"}}", want: "Expected ',' or ']' after array element in JSON at position 45"},
		{body: "{\"a\":x}", want: "Unexpected token 'x', \"{\"a\":x}\" is not valid JSON"},
		{body: "{\"a\": €}", want: "Unexpected token '€', \"{\"a\": €}\" is not valid JSON"},
		{body: "[object Object]", want: "\"[object Object]\" is not valid JSON"},
		{body: "{\"aaaaaaaaaaaaaaaaa\":}", want: "Unexpected token '}', ...\"aaaaaaaa\":}\" is not valid JSON"},
		{body: "{\"aaaaaaaaaaaaaaaaaa\":}", want: "Unexpected token '}', ...\"aaaaaaaa\":}\" is not valid JSON"},
		{body: "{\"aaaaaaaaaaaaaaaaaaa\":}", want: "Unexpected token '}', ...\"aaaaaaaa\":}\" is not valid JSON"},
		{body: "{\"a\":1}   x", want: "Unexpected non-whitespace character after JSON at position 10"},
		{body: "{\"a\":nul", want: "Unexpected end of JSON input"},
		{body: "{\"a\":nulx}", want: "Unexpected token 'x', \"{\"a\":nulx}\" is not valid JSON"},
		{body: "{\"a\":-", want: "No number after minus sign in JSON at position 6"},
		{body: "{\"a\":1.", want: "Unterminated fractional number in JSON at position 7"},
		{body: "{\"a\":1e", want: "Exponent part is missing a number in JSON at position 7"},
		{body: "  {\"a\":}", want: "Unexpected token '}', \"  {\"a\":}\" is not valid JSON"},
		{body: "{\"a\":\t}", want: "Unexpected token '}', \"{\"a\":\t}\" is not valid JSON"},
		{body: "{\"a\":\"x\"\n,}", want: "Expected double-quoted property name in JSON at position 10"},
		{body: "[1]]", want: "Unexpected non-whitespace character after JSON at position 3"},
		{body: "{\"a\":[1,2}", want: "Expected ',' or ']' after array element in JSON at position 9"},
		{body: "{\"a\":{\"b\":1]}", want: "Expected ',' or '}' after property value in JSON at position 11"},
		{strict: true, body: "\"items\"", want: "Unexpected token '\"', \"\"items\"\" is not valid JSON"},
		{strict: true, body: "  true", want: "Unexpected token 't', \"  true\" is not valid JSON"},
		{strict: true, body: "123", want: "Unexpected token '1', \"123\" is not valid JSON"},
		{strict: true, body: "null", want: "Unexpected token 'n', \"null\" is not valid JSON"},
		{strict: true, body: "\"a long string that goes past twenty\"", want: "Unexpected token '\"', \"\"a long st\"... is not valid JSON"},
		{strict: true, body: "   ", want: "Unexpected end of JSON input"},
		{strict: true, body: "x", want: "Unexpected token 'x', \"x\" is not valid JSON"},
		{strict: true, body: "  \t\"abcdefghijklmnopqrstuvwxyz0123456789\"", want: "Unexpected token '\"', \"  \t\"abcdefghi\"... is not valid JSON"},
		{body: "[,                ]", want: "Unexpected token ',', \"[,                ]\" is not valid JSON"},
		{body: "[,                  ]", want: "Unexpected token ',', \"[,         \"... is not valid JSON"},
		{body: "[1,2,3,4,5,6,7,8,9,10,11,]", want: "Unexpected token ']', ...\"8,9,10,11,]\" is not valid JSON"},
		{body: "[1,2,3,4,5,6,7,8,9,,11,12,13,14,15,16]", want: "Unexpected token ',', ...\"5,6,7,8,9,,11,12,13,\"... is not valid JSON"},
		{body: "{\"a\":1,\"b\" 1}", want: "Unexpected number in JSON at position 11"},
		{body: "{\"a\":1,\"b\"\"x\"}", want: "Unexpected string in JSON at position 10"},
		{body: "{\"a\":1,\"b\"", want: "Unexpected end of JSON input"},
		{body: "{\"a\":[\"x\"1]}", want: "Expected ',' or ']' after array element in JSON at position 9"},
		{body: "{\"a\":\"\xff\"}", want: ""},
		{body: "{\"items\":[]}", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.body, func(t *testing.T) {
			if tc.strict {
				require.Equal(t, tc.want, jsStrictMessage([]byte(tc.body)))
				return
			}
			require.Equal(t, tc.want, jsSyntaxMessage([]byte(tc.body)))
		})
	}
}
