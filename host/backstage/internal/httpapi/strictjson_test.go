package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/internal/wire"
)

func TestCheckUnambiguous(t *testing.T) {
	manyKeys := func(n int, repeat string) string {
		var b strings.Builder
		b.WriteString("{")
		for i := 0; i < n; i++ {
			b.WriteString(`"k` + strings.Repeat("x", i) + `":0,`)
		}
		b.WriteString(`"` + repeat + `":1}`)
		return b.String()
	}
	tests := []struct {
		name, body, err string
	}{
		{"plain", `{"items":[{"id":"a"}]}`, ""},
		{"same key in sibling objects", `[{"a":1},{"a":2},{"b":{"a":3}}]`, ""},
		{"same key at two levels", `{"a":{"a":{"a":1}}}`, ""},
		{"key-like strings in arrays and values", `{"a":["a","a"],"b":"a","c":{"d":"a"}}`, ""},
		{"escaped keys that differ", `{"\u0069d":1,"iD":2,"ID":3,"id\u0000":4}`, ""},
		{"surrogate pair", `{"a":"\ud83d\ude00","\ud83d\ude00":1}`, ""},
		{"many distinct keys", manyKeys(100, "y"), ""},
		{"many keys around a nested object with the same keys", `{"n":` + manyKeys(30, "y") + `,` + strings.TrimSuffix(manyKeys(30, "z")[1:], "}") + `,"m":` + manyKeys(30, "y") + `}`, ""},
		{"repeated key", `{"a":1,"a":2}`, `repeats the key "a"`},
		{"repeated after a big nested object closes", `{"a":` + manyKeys(30, "y") + `,"b":1,"a":2}`, `repeats the key "a"`},
		{"repeated in a big object after a nested one", `{"n":{"k":1},` + manyKeys(30, "n")[1:], `repeats the key "n"`},
		{"repeated after escaping", `{"id":1,"\u0069d":2}`, `repeats the key "id"`},
		{"repeated nested in an array", `[1,{"x":[{"k":1,"j":{},"k":2}]}]`, `repeats the key "k"`},
		{"repeated after a nested object closes", `{"a":{"b":1},"a":2}`, `repeats the key "a"`},
		{"repeated among many keys", manyKeys(100, "kxxxxx"), `repeats the key "kxxxxx"`},
		{"repeated empty key", `{"":1,"":2}`, `repeats the key ""`},
		{"long repeated key is cut", `{"` + strings.Repeat("k", 100) + `":1,"` + strings.Repeat("k", 100) + `":1}`, strings.Repeat("k", 64) + `"...`},
		{"invalid UTF-8", "{\"a\":\"\xff\"}", "not valid UTF-8"},
		{"overlong encoding", "{\"a\":\"\xc0\xae\"}", "not valid UTF-8"},
		{"encoded surrogate", "{\"a\":\"\xed\xa0\x80\"}", "not valid UTF-8"},
		{"lone high surrogate", `{"a":"\ud800"}`, "unpaired UTF-16 surrogate"},
		{"lone high surrogate at the end", `["\udbff"]`, "unpaired UTF-16 surrogate"},
		{"lone low surrogate", `{"a":"\udc00"}`, "unpaired UTF-16 surrogate"},
		{"high then not low", `{"a":"\ud800\u0041"}`, "unpaired UTF-16 surrogate"},
		{"high then high", `{"a":"\ud800\ud800"}`, "unpaired UTF-16 surrogate"},
		{"lone surrogate in a key", `{"\udfff":1}`, "unpaired UTF-16 surrogate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseBody([]byte(tt.body), 32)
			if tt.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.err)
			require.Equal(t, nameInput, err.(*apiError).name)
		})
	}
}

// TestRepeatedKeyIsRefused is the regression test for the FuzzAuthorize seed
// duplicate-permission-key-refused: a repeated key used to be read last-wins,
// like JSON.parse; it is now 400, whatever the key (README, "Reliability",
// row 2).
func TestRepeatedKeyIsRefused(t *testing.T) {
	h, f := newTestServer(t, testConfig(true))
	body := `{"items":[{"id":"","permission":"","permission":{"type":"basic","name":"","attributes":{}}}]}`
	r := do(t, h, req{path: authorizePath, body: body, contentType: "application/json"})
	require.Equal(t, http.StatusBadRequest, r.status, r.body)
	require.Contains(t, r.body, `"name":"InputError"`)
	require.Contains(t, r.body, `repeats the key \"permission\"`)
	require.Zero(t, f.numCalls(), "the policy is never asked")
}

// surrogateEscape matches what may be a \u escape of a surrogate.
var surrogateEscape = regexp.MustCompile(`\\u[dD][89abcdefABCDEF]`)

// FuzzCheckUnambiguous compares the repeated-key check with a reference
// that walks encoding/json's tokens with a map per object, on every valid
// JSON text that is UTF-8 and has no surrogate escape (those the reference
// would read as U+FFFD).
func FuzzCheckUnambiguous(f *testing.F) {
	for _, s := range []string{
		`{"a":1,"a":2}`, `{"a":{"a":1},"b":[{"a":1},{"a":2,"b":3}]}`, `{"\u0061":1,"a":2}`,
		`{"a":{"b":1},"a":2}`, `[{"x":1,"y":2,"z":3,"w":4,"v":5,"u":6,"t":7,"s":8,"r":9,"q":10,"p":11,"o":12,"n":13,"m":14,"l":15,"k":16,"j":17,"x":18}]`,
		`{"k":"\"}","k\"":1,"k\\":2}`, `{"":[],"":{}}`, `{"a":"\ud83d\ude00"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) || !utf8.Valid(data) || surrogateEscape.Match(data) {
			return
		}
		err := checkUnambiguous(data)
		want := repeatsKey(data)
		if (err != nil) != want {
			t.Fatalf("checkUnambiguous %v, the reference finds a repeated key: %v, in %q", err, want, data)
		}
	})
}

// repeatsKey is the reference: any object of data repeats a key.
func repeatsKey(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	// Numbers as text: a number past float64's range is valid JSON, and
	// Token would stop at it and miss a repeated key after it.
	dec.UseNumber()
	var stack []map[string]bool // nil for an array
	expectKey := func() bool { return len(stack) > 0 && stack[len(stack)-1] != nil }
	key := true
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, map[string]bool{})
				key = true
				continue
			case '[':
				stack = append(stack, nil)
			default:
				stack = stack[:len(stack)-1]
			}
		case string:
			if expectKey() && key {
				if stack[len(stack)-1][v] {
					return true
				}
				stack[len(stack)-1][v] = true
				key = false
				continue
			}
		}
		// A value was read: in an object, a key comes next.
		key = true
	}
}

// FuzzParseBodyFastPath checks that parseBody's one-pass decoder
// (wire.DecodeValue) accepts exactly the bodies the reference path
// (encoding/json, the depth check, checkUnambiguous) accepts, with deeply
// equal values: a body it accepted that the reference refuses would skip a
// check, and a value that differed would mean one thing to the host and
// another to every other reader. Seeded with decodeSeeds (among them the
// parser-differential corpus) and edge cases of each check.
func FuzzParseBodyFastPath(f *testing.F) {
	for _, b := range decodeSeeds(f) {
		f.Add(b)
	}
	for _, s := range []string{
		`{"items":[{"id":"a","permission":{"type":"resource","name":"n","attributes":{"action":"read"},"resourceType":"t"},"resourceRef":["x","y"]}]}`,
		`{"a":1e400}`, `{"a":-0}`, `{"a":1.5e-320}`, `{"a":[[],{},"",0,true,false,null]}`, `{"\u0069d":"\u00e9\ud83d\ude00"}`,
		`{"a":"\ud800"}`, `{"\ud800":1}`, `{"a":1,"\u0061":2}`, "{\"a\":\"\xff\"}", `[1,2,]`, `{"a":01}`, ` {"a":1} `,
		`{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
	} {
		f.Add([]byte(s))
	}
	const depth = 32
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, fastErr := wire.DecodeValue(data, depth)
		data = bytes.TrimLeft(data, " \t\r\n")
		if len(data) == 0 || data[0] != '{' && data[0] != '[' {
			return // parseBody refuses these before either decoder
		}
		ref, refErr := parseBodyReference(data, depth)
		if fastErr != nil && refErr == nil && beyondFloat64(data) {
			// The fast path refuses numbers past float64's range; the
			// reference reads them as JSON.parse does (±Inf).
			return
		}
		if (fastErr == nil) != (refErr == nil) {
			t.Fatalf("fast path: %v; reference: %v; for %q", fastErr, refErr, data)
		}
		if fastErr == nil && !reflect.DeepEqual(fast, ref) {
			t.Fatalf("fast path reads %#v, the reference %#v, for %q", fast, ref, data)
		}
	})
}

// beyondFloat64 reports whether data holds a number past float64's range.
func beyondFloat64(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if n, ok := tok.(json.Number); ok {
			if _, err := strconv.ParseFloat(string(n), 64); err != nil {
				return true
			}
		}
	}
}
