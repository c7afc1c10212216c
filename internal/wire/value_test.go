package wire

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDecodeValue(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want any
		err  error // ErrTooDeep or ErrAmbiguous
		bad  bool  // another error
	}{
		{name: "object", in: ` {"items":[{"id":"a","n":1.5,"t":true,"f":false,"z":null}]} `,
			want: map[string]any{"items": []any{map[string]any{"id": "a", "n": 1.5, "t": true, "f": false, "z": nil}}}},
		{name: "empty array is not nil", in: `{"a":[]}`, want: map[string]any{"a": []any{}}},
		{name: "escapes", in: `{"\u0069d":"\u00e9\ud83d\ude00\n\/"}`, want: map[string]any{"id": "é😀\n/"}},
		{name: "at the depth limit", in: strings.Repeat("[", 4) + strings.Repeat("]", 4), want: []any{[]any{[]any{[]any{}}}}},
		{name: "too deep", in: strings.Repeat("[", 5) + strings.Repeat("]", 5), err: ErrTooDeep},
		{name: "repeated key", in: `{"a":1,"b":2,"a":3}`, err: ErrAmbiguous},
		{name: "repeated key after unescaping", in: `{"a":1,"\u0061":2}`, err: ErrAmbiguous},
		{name: "not UTF-8", in: "{\"a\":\"\xff\"}", err: ErrAmbiguous},
		{name: "lone surrogate in a value", in: `{"a":"\ud800"}`, err: ErrAmbiguous},
		{name: "lone surrogate in a key", in: `{"\udc00":1}`, err: ErrAmbiguous},
		{name: "number out of range", in: `{"a":1e400}`, bad: true},
		{name: "trailing comma", in: `[1,2,]`, bad: true},
		{name: "leading zero", in: `{"a":01}`, bad: true},
		{name: "data after the value", in: `{} {}`, bad: true},
		{name: "truncated", in: `{"a":`, bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeValue([]byte(tc.in), 4)
			switch {
			case tc.err != nil:
				require.ErrorIs(t, err, tc.err)
			case tc.bad:
				require.Error(t, err)
				require.False(t, errors.Is(err, ErrTooDeep) || errors.Is(err, ErrAmbiguous), "%v", err)
			default:
				require.NoError(t, err)
				require.Equal(t, tc.want, got)
			}
		})
	}
}

// FuzzDecodeValue: whatever DecodeValue accepts, encoding/json decodes to a
// deeply equal value and CheckDepth accepts. (host/backstage/internal/httpapi's
// FuzzParseBodyFastPath checks the converse against its reference path.)
func FuzzDecodeValue(f *testing.F) {
	for _, s := range []string{
		`{"items":[{"id":"a","permission":{"type":"basic","name":"n","attributes":{}}}]}`,
		`{"a":[1,-0,1.5e3,true,null,"\u00e9"]}`, `[]`, `"x"`, `1e400`, `{"a":1,"a":2}`, `{"\ud800":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeValue(data, 8)
		if err != nil {
			return
		}
		var want any
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatalf("DecodeValue accepted %q, encoding/json refuses it: %v", data, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("DecodeValue reads %#v, encoding/json %#v, in %q", got, want, data)
		}
		if err := CheckDepth(data, 8); err != nil {
			t.Fatalf("DecodeValue accepted %q past the depth: %v", data, err)
		}
	})
}
