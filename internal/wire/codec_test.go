package wire_test

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/internal/wire"
)

func TestAppendRequest(t *testing.T) {
	ref := "component:default/web"
	empty := ""
	hostile := "<a href=\"x\">&amp;</a>\\ \x00\x01\x1f\x7f\b\f\n\r\t \u2028\u2029 é😀 \xff\xed\xa0\x80 /"
	item := func(id, typ, name, action, rt string, r *string) abi.Item {
		return abi.Item{ID: id, Permission: abi.Permission{Type: typ, Name: name,
			Attributes: abi.Attributes{Action: action}, ResourceType: rt}, ResourceRef: r}
	}
	tests := []struct {
		name string
		req  abi.Request
	}{
		{"spec example", abi.Request{ABI: 1,
			Principal: abi.Principal{Type: "user", UserEntityRef: "user:default/alice",
				OwnershipEntityRefs: []string{"user:default/alice", "group:default/team-a"},
				Actor:               &abi.Actor{Type: "service", Subject: "plugin:catalog"}},
			Items: []abi.Item{
				item("0", "basic", "catalog.entity.create", "create", "", nil),
				item("1", "resource", "catalog.entity.read", "read", "catalog-entity", &ref),
			}}},
		{"user without refs gets []", abi.Request{ABI: 1, Principal: abi.Principal{Type: "user", Subject: "dropped"}, Items: []abi.Item{}}},
		{"user with empty refs", abi.Request{Principal: abi.Principal{Type: "user", OwnershipEntityRefs: []string{}}}},
		{"service drops user fields", abi.Request{ABI: 1, Principal: abi.Principal{Type: "service", Subject: "plugin:x",
			UserEntityRef: "u", OwnershipEntityRefs: []string{"a"}, Actor: &abi.Actor{}}}},
		{"none", abi.Request{ABI: 1, Principal: abi.Principal{Type: "none", Subject: "dropped"}}},
		{"unknown and empty principal types", abi.Request{ABI: -7, Principal: abi.Principal{Type: hostile, Subject: "s"}}},
		{"nil items is null", abi.Request{ABI: 1, Principal: abi.Principal{Type: "none"}}},
		{"empty resourceRef is present", abi.Request{ABI: 1, Principal: abi.Principal{Type: "none"},
			Items: []abi.Item{item("0", "resource", "n", "", "t", &empty)}}},
		{"escapes everywhere", abi.Request{ABI: 1,
			Principal: abi.Principal{Type: "user", UserEntityRef: hostile, OwnershipEntityRefs: []string{hostile, ""},
				Actor: &abi.Actor{Type: hostile, Subject: hostile}},
			Items: []abi.Item{item(hostile, hostile, hostile, hostile, hostile, &hostile)}}},
		{"thousand items", abi.Request{ABI: 1, Principal: abi.Principal{Type: "service", Subject: "plugin:catalog"},
			Items: manyItems(1000)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := json.Marshal(&tt.req)
			require.NoError(t, err)
			require.Equal(t, string(want), string(wire.AppendRequest(nil, &tt.req)))
		})
	}
	t.Run("nil request", func(t *testing.T) {
		require.Equal(t, "xnull", string(wire.AppendRequest([]byte("x"), nil)))
	})
}

func manyItems(n int) []abi.Item {
	items := make([]abi.Item, n)
	ref := "component:default/web"
	for i := range items {
		items[i] = abi.Item{ID: strconv.Itoa(i), Permission: abi.Permission{Type: "resource",
			Name: "catalog.entity.read", Attributes: abi.Attributes{Action: "read"}, ResourceType: "catalog-entity"}}
		if i%2 == 0 {
			items[i].ResourceRef = &ref
		}
	}
	return items
}

func leaf(rule string, params map[string]json.RawMessage) abi.Criteria {
	return abi.Criteria{Rule: rule, ResourceType: "t", Params: params}
}

func TestDecodeAnswerValid(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want abi.Answer
	}{
		{"allow", `{"id":"0","result":"ALLOW"}`, abi.Answer{ID: "0", Result: abi.Allow}},
		{"null is a zero answer", ` null `, abi.Answer{}},
		{"empty object", `{}`, abi.Answer{}},
		{"nulls leave fields empty", `{"id":null,"result":null,"pluginId":null,"resourceType":null,"conditions":null,"reason":null}`, abi.Answer{}},
		{"unknown keys ignored whatever their value", `{"x":{"a":[1,{"b":null}]},"id":"1","y":-1.5e-3,"z":[],"x":"dup unknown","result":"DENY"}`,
			abi.Answer{ID: "1", Result: abi.Deny}},
		{"whitespace", " \t\r\n{ \"id\" :\n\"2\" ,\t\"result\":\"ABSTAIN\" , \"reason\" : \"r\" }\n", abi.Answer{ID: "2", Result: abi.Abstain, Reason: "r"}},
		{"escaped keys match", `{"\u0069d":"3","res\u0075lt":"ALLOW"}`, abi.Answer{ID: "3", Result: abi.Allow}},
		{"leaf", `{"id":"4","result":"CONDITIONAL","pluginId":"catalog","resourceType":"t","conditions":{"resourceType":"t","rule":"IS_PUBLIC"}}`,
			abi.Answer{ID: "4", Result: abi.Conditional, PluginID: "catalog", ResourceType: "t", Conditions: &abi.Criteria{Rule: "IS_PUBLIC", ResourceType: "t"}}},
		{"params kept verbatim", `{"conditions":{"rule":"R","resourceType":"t","params":{"a": [1, 2] ,"b":{ "c" : "\u00e9" },"n":-0.5E+2,"z":null}}}`,
			abi.Answer{Conditions: &abi.Criteria{Rule: "R", ResourceType: "t", Params: map[string]json.RawMessage{
				"a": json.RawMessage(`[1, 2]`), "b": json.RawMessage(`{ "c" : "\u00e9" }`), "n": json.RawMessage(`-0.5E+2`), "z": json.RawMessage(`null`)}}}},
		{"empty params is an empty map", `{"conditions":{"rule":"R","resourceType":"t","params":{}}}`,
			abi.Answer{Conditions: &abi.Criteria{Rule: "R", ResourceType: "t", Params: map[string]json.RawMessage{}}}},
		{"two levels", `{"conditions":{"anyOf":[{"allOf":[{"rule":"A","resourceType":"t"},{"not":{"rule":"B","resourceType":"t"}}]},{"rule":"C","resourceType":"t"}]}}`,
			abi.Answer{Conditions: &abi.Criteria{AnyOf: []abi.Criteria{
				{AllOf: []abi.Criteria{leaf("A", nil), {Not: &abi.Criteria{Rule: "B", ResourceType: "t"}}}},
				leaf("C", nil)}}}},
		{"result kept as given", `{"result":"allow"}`, abi.Answer{Result: "allow"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := wire.DecodeAnswer([]byte(tt.in), 0)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			var want abi.Answer
			require.NoError(t, json.Unmarshal([]byte(tt.in), &want), "encoding/json agrees")
			require.Equal(t, want, got)
		})
	}
}

func TestDecodeAnswerStrings(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"simple escapes", `"\"\\\/\b\f\n\r\t"`, "\"\\/\b\f\n\r\t"},
		{"unicode escapes", `"\u0000\u00e9\u20AC\uFFFF"`, "\x00é€\uffff"},
		{"surrogate pair", `"\ud83d\ude00"`, "😀"},
		{"lone high surrogate", `"a\ud800b"`, "a\ufffdb"},
		{"lone low surrogate", `"\udc00"`, "\ufffd"},
		{"high then non-surrogate escape", `"\ud800\u0041"`, "\ufffdA"},
		{"high then high", `"\ud800\ud800\udc00"`, "\ufffd\U00010000"},
		{"invalid UTF-8 byte by byte", "\"\xff\xfe\"", "\ufffd\ufffd"},
		{"encoded surrogate", "\"\xed\xa0\x80\"", "\ufffd\ufffd\ufffd"},
		{"truncated rune", "\"\xe2\x82\"", "\ufffd\ufffd"},
		{"line separators kept", "\"\u2028\u2029\"", "\u2028\u2029"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := `{"reason":` + tt.in + `}`
			got, err := wire.DecodeAnswer([]byte(in), 0)
			require.NoError(t, err)
			require.Equal(t, tt.want, got.Reason)
			var want abi.Answer
			require.NoError(t, json.Unmarshal([]byte(in), &want))
			require.Equal(t, want.Reason, got.Reason, "encoding/json agrees")
		})
	}
}

func TestDecodeAnswerInvalid(t *testing.T) {
	tests := []struct {
		name, in string
		// wantErr is a substring of the error.
		wantErr string
		// wantID is the id recovered despite the error.
		wantID string
	}{
		{"empty", ``, "end of input", ""},
		{"array", `[]`, "want an object", ""},
		{"string", `"x"`, "want an object", ""},
		{"data after", `{"id":"0"} {}`, "data after the value", ""},
		{"trailing comma", `{"id":"0",}`, "want a key", ""},
		{"unterminated", `{"id":"0"`, "want ',' or '}'", ""},
		{"missing colon", `{"id" "0"}`, "want ':'", ""},
		{"leading zero", `{"id":"0","n":01}`, "want ',' or '}'", ""},
		{"bare minus", `{"n":-}`, "invalid number", ""},
		{"no fraction digits", `{"n":1.}`, "invalid number", ""},
		{"no exponent digits", `{"n":1e+}`, "invalid number", ""},
		{"plus sign", `{"n":+1}`, "want a value", ""},
		{"bad literal", `{"n":nul}`, "invalid literal", ""},
		{"bad escape", `{"s":"\x"}`, "invalid escape", ""},
		{"short unicode escape", `{"s":"\u12g4"}`, `invalid \u escape`, ""},
		{"control character", "{\"s\":\"a\nb\"}", "control character", ""},
		{"too deep", `{"x":[[[[1]]]]}`, "nested too deeply", ""},
		{"id not a string", `{"id":0,"result":"ALLOW"}`, "want a string or null", ""},
		{"result not a string", `{"result":true,"id":"7"}`, "want a string or null", "7"},
		{"reason an object", `{"id":"7","reason":{}}`, "want a string or null", "7"},
		{"duplicate id", `{"id":"7","id":"8"}`, `duplicate key "id"`, ""},
		{"duplicate escaped id", `{"id":"7","\u0069d":"8"}`, `duplicate key "id"`, ""},
		{"duplicate id after a bad one", `{"id":7,"result":"ALLOW","id":"8"}`, "want a string or null", ""},
		{"duplicate result", `{"id":"7","result":"ALLOW","result":"DENY"}`, `duplicate key "result"`, "7"},
		{"duplicate conditions", `{"id":"7","conditions":null,"conditions":null}`, `duplicate key "conditions"`, "7"},
		{"conditions a string", `{"id":"7","conditions":"x"}`, "a criteria node must be an object", "7"},
		{"conditions an array", `{"id":"7","conditions":[]}`, "a criteria node must be an object", "7"},
		{"empty node", `{"id":"7","conditions":{}}`, `a leaf condition needs "rule"`, "7"},
		{"allOf empty", `{"id":"7","conditions":{"allOf":[]}}`, "allOf must be a non-empty array", "7"},
		{"anyOf null", `{"id":"7","conditions":{"anyOf":null}}`, "anyOf must be a non-empty array", "7"},
		{"allOf an object", `{"id":"7","conditions":{"allOf":{"rule":"R","resourceType":"t"}}}`, "allOf must be an array", "7"},
		{"allOf with null", `{"id":"7","conditions":{"allOf":[null]}}`, "a criteria node must be an object", "7"},
		{"not an array", `{"id":"7","conditions":{"not":[{"rule":"R","resourceType":"t"}]}}`, "not must be a single criteria object", "7"},
		{"not null", `{"id":"7","conditions":{"not":null}}`, "not must be a single criteria object", "7"},
		{"allOf with rule", `{"id":"7","conditions":{"allOf":[{"rule":"R","resourceType":"t"}],"rule":"R"}}`, "exactly one of", "7"},
		{"rule with anyOf", `{"id":"7","conditions":{"rule":"R","anyOf":[{"rule":"R","resourceType":"t"}]}}`, "exactly one of", "7"},
		{"anyOf with not", `{"id":"7","conditions":{"anyOf":[{"rule":"R","resourceType":"t"}],"not":{"rule":"R","resourceType":"t"}}}`, "exactly one of", "7"},
		{"case variant key", `{"id":"7","conditions":{"AllOf":[{"rule":"R","resourceType":"t"}]}}`, `unexpected key "AllOf"`, "7"},
		{"unknown leaf key", `{"id":"7","conditions":{"rule":"R","resourceType":"t","extra":1}}`, `unexpected key "extra"`, "7"},
		{"leaf without resourceType", `{"id":"7","conditions":{"rule":"R"}}`, `needs "resourceType"`, "7"},
		{"empty rule", `{"id":"7","conditions":{"rule":"","resourceType":"t"}}`, "rule must not be empty", "7"},
		{"null resourceType", `{"id":"7","conditions":{"rule":"R","resourceType":null}}`, "resourceType must not be empty", "7"},
		{"numeric rule", `{"id":"7","conditions":{"rule":1,"resourceType":"t"}}`, "rule must be a string", "7"},
		{"params null", `{"id":"7","conditions":{"rule":"R","resourceType":"t","params":null}}`, "params must be an object", "7"},
		{"params an array", `{"id":"7","conditions":{"rule":"R","resourceType":"t","params":[]}}`, "params must be an object", "7"},
		{"duplicate leaf key", `{"id":"7","conditions":{"rule":"R","rule":"S","resourceType":"t"}}`, `duplicate key "rule"`, "7"},
		{"duplicate allOf", `{"id":"7","conditions":{"allOf":[{"rule":"R","resourceType":"t"}],"allOf":[{"rule":"R","resourceType":"t"}]}}`, `duplicate key "allOf"`, "7"},
		{"duplicate param", `{"id":"7","conditions":{"rule":"R","resourceType":"t","params":{"k":1,"\u006b":2}}}`, `params: duplicate key "k"`, "7"},
		{"deep criteria", `{"id":"7","conditions":{"not":{"not":{"not":{"rule":"R","resourceType":"t"}}}}}`, "nested too deeply", "7"},
		{"syntax error after a bad field", `{"id":"7","result":1,"x":tru}`, "want a string or null", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := wire.DecodeAnswer([]byte(tt.in), 4)
			require.ErrorContains(t, err, tt.wantErr)
			require.Equal(t, abi.Answer{ID: tt.wantID}, got)
			if strings.Contains(tt.wantErr, "exactly one of") || strings.Contains(tt.name, "allOf") {
				require.ErrorIs(t, err, abi.ErrInvalidCriteria)
			}
			if tt.wantErr == "nested too deeply" {
				require.ErrorIs(t, err, wire.ErrTooDeep)
			}
			require.Equal(t, strings.HasPrefix(tt.name, "duplicate id") || tt.name == "duplicate escaped id",
				errors.Is(err, wire.ErrRepeatedID), "the error wraps ErrRepeatedID exactly when id is repeated")
		})
	}
}

// TestDecodeAnswerDeliberateDifferences shows each documented way
// DecodeAnswer is stricter than encoding/json.
func TestDecodeAnswerDeliberateDifferences(t *testing.T) {
	tests := []struct {
		name, in string
		// jsonWant is what encoding/json decodes; mineErr is DecodeAnswer's
		// error, or "" when it decodes mineWant.
		jsonWant abi.Answer
		mineErr  string
		mineWant abi.Answer
	}{
		{"case-variant answer keys are unknown", `{"ID":"1","Result":"ALLOW","reaſon":"x"}`,
			abi.Answer{ID: "1", Result: abi.Allow, Reason: "x"}, "", abi.Answer{}},
		{"case-variant conditions are unknown", `{"id":"1","result":"ALLOW","Conditions":{"rule":"R","resourceType":"t"}}`,
			abi.Answer{ID: "1", Result: abi.Allow, Conditions: &abi.Criteria{Rule: "R", ResourceType: "t"}}, "", abi.Answer{ID: "1", Result: abi.Allow}},
		{"duplicate answer field", `{"id":"1","result":"DENY","result":"ALLOW"}`,
			abi.Answer{ID: "1", Result: abi.Allow}, `duplicate key "result"`, abi.Answer{ID: "1"}},
		{"duplicate criteria key", `{"conditions":{"rule":"A","resourceType":"t","rule":"B"}}`,
			abi.Answer{Conditions: &abi.Criteria{Rule: "B", ResourceType: "t"}}, `duplicate key "rule"`, abi.Answer{}},
		{"duplicate param", `{"conditions":{"rule":"A","resourceType":"t","params":{"k":1,"k":2}}}`,
			abi.Answer{Conditions: &abi.Criteria{Rule: "A", ResourceType: "t", Params: map[string]json.RawMessage{"k": json.RawMessage("2")}}},
			`duplicate key "k"`, abi.Answer{}},
		{"deeper than maxDepth", `{"id":"1","x":` + strings.Repeat("[", 80) + strings.Repeat("]", 80) + `}`,
			abi.Answer{ID: "1"}, "nested too deeply", abi.Answer{ID: "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fromJSON abi.Answer
			require.NoError(t, json.Unmarshal([]byte(tt.in), &fromJSON))
			require.Equal(t, tt.jsonWant, fromJSON)
			got, err := wire.DecodeAnswer([]byte(tt.in), 0)
			if tt.mineErr == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tt.mineErr)
			}
			require.Equal(t, tt.mineWant, got)
			require.True(t, deliberateDifference([]byte(tt.in), wire.DefaultJSONDepth), "the fuzz predicate recognizes it")
		})
	}
}

func TestDecodeAnswerDoesNotAliasInput(t *testing.T) {
	raw := []byte(`{"id":"12","result":"CONDITIONAL","pluginId":"p","resourceType":"t","conditions":{"rule":"R","resourceType":"t","params":{"k":[1,2]}}}`)
	a, err := wire.DecodeAnswer(raw, 0)
	require.NoError(t, err)
	for i := range raw {
		raw[i] = 'x'
	}
	require.Equal(t, "12", a.ID)
	require.Equal(t, "p", a.PluginID)
	require.Equal(t, "R", a.Conditions.Rule)
	require.Equal(t, `[1,2]`, string(a.Conditions.Params["k"]))
}

func TestParseResponse(t *testing.T) {
	tests := []struct {
		name, in string
		items    []string // nil: Items nil
		err      *abi.GuestError
		wantErr  string
	}{
		{"answers", ` {"items":[ {"id":"0","result":"ALLOW"} , null, 5, {"id":"1"} ]} `,
			[]string{`{"id":"0","result":"ALLOW"}`, `null`, `5`, `{"id":"1"}`}, nil, ""},
		{"empty items", `{"items":[]}`, []string{}, nil, ""},
		{"null items", `{"items":null}`, nil, nil, ""},
		{"null output", `null`, nil, nil, ""},
		{"neither", `{"other":[1]}`, nil, nil, ""},
		{"case-variant keys are unknown", `{"Items":[1],"ERROR":{}}`, nil, nil, ""},
		{"error envelope", `{"error":{"code":"bad-input","message":"m","x":1}}`, nil, &abi.GuestError{Code: "bad-input", Message: "m"}, ""},
		{"error and items", `{"items":[{}],"error":{"code":"c"}}`, []string{`{}`}, &abi.GuestError{Code: "c"}, ""},
		{"empty error", `{"error":{}}`, nil, &abi.GuestError{}, ""},
		{"null error", `{"error":null,"items":[]}`, []string{}, nil, ""},
		{"invalid JSON in an answer", `{"items":[{"id":"0","result":ALLOW}]}`, nil, nil, "want a value"},
		{"invalid JSON in an unknown key", `{"items":[],"x":[1,]}`, nil, nil, "want a value"},
		{"items not an array", `{"items":{}}`, nil, nil, "want an array"},
		{"error not an object", `{"error":"boom"}`, nil, nil, "want an object"},
		{"error code not a string", `{"error":{"code":1}}`, nil, nil, "want a string or null"},
		{"duplicate items", `{"items":[],"items":[]}`, nil, nil, `duplicate key "items"`},
		{"duplicate code", `{"error":{"code":"a","code":"b"}}`, nil, nil, `duplicate key "code"`},
		{"not an object", `[]`, nil, nil, "want an object"},
		{"too deep", `{"items":[{"x":[[1]]}]}`, nil, nil, "nested too deeply"},
		{"data after", `{"items":[]}]`, nil, nil, "data after the value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := wire.ParseResponse([]byte(tt.in), 4)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.Equal(t, wire.ResponseView{}, v)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.err, v.Error)
			if tt.items == nil {
				require.Nil(t, v.Items)
				return
			}
			require.NotNil(t, v.Items)
			got := make([]string, len(v.Items))
			for i, raw := range v.Items {
				got[i] = string(raw)
			}
			require.Equal(t, tt.items, got)
		})
	}
}

// conditionalAnswer is a CONDITIONAL answer with a two-level criteria tree.
const conditionalAnswer = `{"id":"417","result":"CONDITIONAL","pluginId":"catalog","resourceType":"catalog-entity",` +
	`"conditions":{"anyOf":[{"rule":"IS_ENTITY_OWNER","resourceType":"catalog-entity","params":{"claims":["user:default/alice","group:default/team-a"]}},` +
	`{"rule":"IS_ENTITY_KIND","resourceType":"catalog-entity","params":{"kinds":["Template"]}}]},"reason":"owners or templates"}`

const allowAnswer = `{"id":"417","result":"ALLOW"}`

func BenchmarkDecodeAnswer(b *testing.B) {
	for _, bc := range []struct{ name, in string }{
		{"conditional", conditionalAnswer},
		{"allow", allowAnswer},
	} {
		raw := []byte(bc.in)
		b.Run(bc.name+"/DecodeAnswer", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := wire.DecodeAnswer(raw, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/json.Unmarshal", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var a abi.Answer
				if err := json.Unmarshal(raw, &a); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseResponse(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"items":[`)
	for i := range 1000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(strings.Replace(conditionalAnswer, `"417"`, strconv.Quote(strconv.Itoa(i)), 1))
	}
	sb.WriteString(`]}`)
	out := []byte(sb.String())
	b.Run("ParseResponse+DecodeAnswer", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			v, err := wire.ParseResponse(out, 0)
			if err != nil {
				b.Fatal(err)
			}
			for _, raw := range v.Items {
				if _, err := wire.DecodeAnswer(raw, 0); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) { // as host/internal/module decode does today
		b.ReportAllocs()
		for b.Loop() {
			if err := wire.CheckDepth(out, wire.DefaultJSONDepth); err != nil {
				b.Fatal(err)
			}
			var resp struct {
				Items []json.RawMessage `json:"items"`
				Error *abi.GuestError   `json:"error"`
			}
			if err := json.Unmarshal(out, &resp); err != nil {
				b.Fatal(err)
			}
			for _, raw := range resp.Items {
				var a abi.Answer
				if err := json.Unmarshal(raw, &a); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

func BenchmarkAppendRequest(b *testing.B) {
	req := &abi.Request{ABI: 1, Principal: abi.Principal{Type: "user", UserEntityRef: "user:default/alice",
		OwnershipEntityRefs: []string{"user:default/alice", "group:default/team-a"}}, Items: manyItems(1000)}
	b.Run("AppendRequest", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = wire.AppendRequest(buf[:0], req)
		}
		b.SetBytes(int64(len(buf)))
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		var n int
		for b.Loop() {
			out, err := json.Marshal(req)
			if err != nil {
				b.Fatal(err)
			}
			n = len(out)
		}
		b.SetBytes(int64(n))
	})
}
