package wire_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/abi/conformance"
	"github.com/verdictpdp/verdict/internal/wire"
)

// fuzzDepth is the nesting limit FuzzDecodeAnswer gives DecodeAnswer. It is
// small so that the fuzzer reaches it.
const fuzzDepth = 12

// hostileAnswers are seeds (and table inputs) that probe one rule each.
var hostileAnswers = []string{
	`null`, `{}`, `[]`, `"x"`, `5`, `true`, ` {"id":"0","result":"ALLOW"} `,
	`{"id":"0","result":"ALLOW","reason":null,"pluginId":null,"conditions":null}`,
	`{"id":null,"result":null}`,
	`{"id":"\u0030","r\u0065sult":"\u0041LLOW","reason":"a\ud83d\ude00b\ud800c\udc00d\ud800\u0041"}`,
	"{\"id\":\"0\",\"result\":\"ALLOW\",\"reason\":\"\xff\xfe\xed\xa0\x80 ok \xe2\x80\xa8\"}",
	`{"id":"0","id":"1","result":"ALLOW"}`, `{"id":5,"result":"ALLOW","id":"1"}`, `{"x":{"id":1,"id":2},"id":"0"}`,
	`{"id":"0","\u0069d":"1","result":"ALLOW"}`,
	`{"ID":"0","Result":"ALLOW"}`,
	`{"id":"0","result":"ALLOW","ıd":"x","\u212a":1}`,
	`{"id":"0","result":"ALLOW","Conditions":{"bad":1}}`,
	`{"id":"0","result":"ALLOW","x":{"y":[1,-0.5e+10,1E3,true,false,null,"s",{}]},"x":2}`,
	`{"id":"0","result":"ALLOW","n":01}`, `{"id":"0","n":1.}`, `{"id":"0","n":-}`, `{"id":"0","n":.5}`,
	`{"id":"0","n":1e}`, `{"id":"0","n":+1}`, `{"id":"0","s":"\x"}`, `{"id":"0","s":"\u12"}`,
	"{\"id\":\"0\",\"s\":\"a\tb\"}", `{"id":"0",}`, `{"id":"0"`, `{"id":"0"}}`, `{"id" "0"}`, `{"id":"0"} x`,
	`{"id":"0","result":"CONDITIONAL","pluginId":"p","resourceType":"t","conditions":{"rule":"R","resourceType":"t"}}`,
	`{"id":"1","result":"CONDITIONAL","pluginId":"p","resourceType":"t","conditions":{"allOf":[{"rule":"A","resourceType":"t","params":{"k":[1, 2 ,{"a":null}],"e":{}}},{"not":{"anyOf":[{"rule":"B","resourceType":"t"}]}}]}}`,
	`{"id":"2","conditions":{"allOf":[]}}`, `{"id":"2","conditions":{"anyOf":null}}`,
	`{"id":"2","conditions":{"not":[{"rule":"R","resourceType":"t"}]}}`, `{"id":"2","conditions":{"not":null}}`,
	`{"id":"2","conditions":{"allOf":[{"rule":"R","resourceType":"t"}],"rule":"R"}}`,
	`{"id":"2","conditions":{"rule":"R","resourceType":"t","anyOf":[{"rule":"R","resourceType":"t"}]}}`,
	`{"id":"2","conditions":{"anyOf":[{"rule":"R","resourceType":"t"}],"not":{"rule":"R","resourceType":"t"}}}`,
	`{"id":"2","conditions":{"AllOf":[{"rule":"R","resourceType":"t"}]}}`,
	`{"id":"2","conditions":{"rule":"R","resourceType":"t","Params":{}}}`,
	`{"id":"2","conditions":{"rule":"","resourceType":"t"}}`, `{"id":"2","conditions":{"rule":null,"resourceType":"t"}}`,
	`{"id":"2","conditions":{"rule":1,"resourceType":"t"}}`, `{"id":"2","conditions":{"resourceType":"t"}}`,
	`{"id":"2","conditions":{"rule":"R"}}`, `{"id":"2","conditions":{}}`, `{"id":"2","conditions":5}`,
	`{"id":"2","conditions":{"rule":"R","resourceType":"t","params":null}}`,
	`{"id":"2","conditions":{"rule":"R","resourceType":"t","params":[]}}`,
	`{"id":"2","conditions":{"rule":"R","resourceType":"t","params":{"k":1,"k":2}}}`,
	`{"id":"2","conditions":{"rule":"R","rule":"S","resourceType":"t"}}`,
	`{"id":"2","conditions":{"allOf":[{"rule":"R","resourceType":"t"}],"allOf":[{"rule":"S","resourceType":"t"}]}}`,
	`{"id":"2","conditions":{"allOf":[null]}}`, `{"id":"2","conditions":{"allOf":[{"rule":"R","resourceType":"t"},5]}}`,
	`{"id":"2","conditions":{"r\u0075le":"R","resourceType":"t","params":{"\u006b":1,"k\u0000":2}}}`,
	`{"id":"2","conditions":{"not":{"not":{"not":{"not":{"not":{"not":{"rule":"R","resourceType":"t"}}}}}}}}`,
	`{"id":"2","x":[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]}`,
	`{"id":5,"result":"ALLOW"}`, `{"id":"3","result":5}`, `{"result":5,"id":"3"}`, `{"id":"3","reason":{}}`,
}

// FuzzDecodeAnswer checks DecodeAnswer against encoding/json decoding into
// abi.Answer: never a panic; equal answers when both succeed; when exactly
// one succeeds, the input must be one of the deliberate differences; when
// both fail, the same recovered id as the host's id-only decode.
func FuzzDecodeAnswer(f *testing.F) {
	for _, raw := range conformanceAnswers(f) {
		f.Add(raw)
	}
	for _, s := range hostileAnswers {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, gotErr := wire.DecodeAnswer(raw, fuzzDepth)
		var want abi.Answer
		wantErr := json.Unmarshal(raw, &want)
		switch {
		case gotErr == nil && wantErr == nil:
			normalize(t, &got)
			normalize(t, &want)
			if !reflect.DeepEqual(got, want) && !deliberateDifference(raw, fuzzDepth) {
				t.Fatalf("DecodeAnswer(%q)\n got %#v\nwant %#v", raw, got, want)
			}
		case (gotErr == nil) != (wantErr == nil):
			if !deliberateDifference(raw, fuzzDepth) {
				t.Fatalf("DecodeAnswer(%q): error %v, encoding/json error %v", raw, gotErr, wantErr)
			}
		default:
			var head struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(raw, &head) != nil {
				head.ID = ""
			}
			if got.ID != head.ID && !deliberateDifference(raw, fuzzDepth) {
				t.Fatalf("DecodeAnswer(%q) recovered id %q, the host's id-only decode %q", raw, got.ID, head.ID)
			}
		}
		if gotErr != nil && (got.Result != "" || got.Conditions != nil || got.Reason != "") {
			t.Fatalf("DecodeAnswer(%q) failed but returned more than an id: %#v", raw, got)
		}
		if json.Valid(raw) && errors.Is(gotErr, wire.ErrRepeatedID) != repeatsID(raw) {
			t.Fatalf("DecodeAnswer(%q): error %v, but encoding/json's tokens repeat id: %v", raw, gotErr, repeatsID(raw))
		}
	})
}

// repeatsID reports whether raw, valid JSON, is an object with more than
// one "id" key, by encoding/json's tokens: the reference for ErrRepeatedID.
func repeatsID(raw []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	ids := 0
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if tok == "id" {
			ids++
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return false
		}
	}
	return ids > 1
}

// FuzzAppendRequest checks that AppendRequest writes json.Marshal's bytes.
func FuzzAppendRequest(f *testing.F) {
	f.Add(1, "user", "user:default/a<b>", "group:x&y", "\u2028\xff", true, "service", "p\"\\\x01", "read", "catalog-entity", "component:\u2029", uint8(7))
	f.Add(0, "service", "", "", "", false, "", "", "", "", "", uint8(0))
	f.Add(-3, "none", "\x7f\t\b\f", "é😀", "\xed\xa0\x80", false, "resource", "x", "", "", "", uint8(255))
	f.Fuzz(func(t *testing.T, abiVersion int, ptype, user, ref, subject string, actor bool,
		permType, name, action, resourceType, resourceRef string, shape uint8) {
		r := &abi.Request{ABI: abiVersion, Principal: abi.Principal{
			Type: ptype, UserEntityRef: user, Subject: subject,
		}}
		if shape&1 != 0 {
			r.Principal.OwnershipEntityRefs = []string{ref, user}
		} else if shape&2 != 0 {
			r.Principal.OwnershipEntityRefs = []string{}
		}
		if actor {
			r.Principal.Actor = &abi.Actor{Type: subject, Subject: ref}
		}
		if shape&4 != 0 {
			r.Items = []abi.Item{}
		}
		for i := 0; i < int(shape>>3)%4; i++ {
			it := abi.Item{ID: name, Permission: abi.Permission{
				Type: permType, Name: name, Attributes: abi.Attributes{Action: action}, ResourceType: resourceType,
			}}
			if i%2 == 1 {
				it.ResourceRef = &resourceRef
			}
			r.Items = append(r.Items, it)
		}
		want, err := json.Marshal(r)
		require.NoError(t, err)
		got := wire.AppendRequest([]byte("prefix"), r)
		require.Equal(t, "prefix"+string(want), string(got))
	})
}

// conformanceAnswers returns json.Marshal of every wanted answer of the
// conformance corpus.
func conformanceAnswers(tb testing.TB) [][]byte {
	cases, err := conformance.Load(filepath.Join("..", "..", "abi", "testdata", "conformance"))
	require.NoError(tb, err)
	var out [][]byte
	for _, c := range cases {
		for _, a := range c.Want {
			raw, err := json.Marshal(a)
			require.NoError(tb, err)
			out = append(out, raw)
		}
	}
	return out
}

// normalize compacts every params value, so that answers compare by value.
func normalize(t *testing.T, a *abi.Answer) {
	var walk func(c *abi.Criteria)
	walk = func(c *abi.Criteria) {
		for k, v := range c.Params {
			var b bytes.Buffer
			require.NoError(t, json.Compact(&b, v))
			c.Params[k] = b.Bytes()
		}
		for i := range c.AllOf {
			walk(&c.AllOf[i])
		}
		for i := range c.AnyOf {
			walk(&c.AnyOf[i])
		}
		if c.Not != nil {
			walk(c.Not)
		}
	}
	if a.Conditions != nil {
		walk(a.Conditions)
	}
}

// deliberateDifference reports whether raw is valid JSON on which DecodeAnswer
// may deliberately disagree with encoding/json (see the package
// documentation): it nests deeper than maxDepth; the answer has a key that is
// not exactly a field name but matches one under encoding/json's case
// folding, or a field name twice; or a criteria node or a leaf's params has
// a key twice.
func deliberateDifference(raw []byte, maxDepth int) bool {
	n, err := parseTree(raw)
	if err != nil {
		return false
	}
	if n.depth() > maxDepth {
		return true
	}
	if n.kind != '{' {
		return false
	}
	fields := []string{"id", "result", "pluginId", "resourceType", "conditions", "reason"}
	count := map[string]int{}
	for i, k := range n.keys {
		exact := false
		for _, f := range fields {
			if k == f {
				exact = true
				count[k]++
			}
		}
		if !exact {
			for _, f := range fields {
				if bytes.Equal(foldName(k), foldName(f)) {
					return true
				}
			}
		}
		if k == "conditions" && criteriaDuplicates(n.vals[i]) {
			return true
		}
	}
	for _, c := range count {
		if c > 1 {
			return true
		}
	}
	return false
}

// criteriaDuplicates reports whether a criteria tree has a node or params
// object with a key twice.
func criteriaDuplicates(n *tree) bool {
	if n.kind != '{' {
		return false
	}
	if n.hasDuplicate() {
		return true
	}
	for i, k := range n.keys {
		v := n.vals[i]
		switch k {
		case "allOf", "anyOf":
			for _, e := range v.vals {
				if v.kind == '[' && criteriaDuplicates(e) {
					return true
				}
			}
		case "not":
			if criteriaDuplicates(v) {
				return true
			}
		case "params":
			if v.kind == '{' && v.hasDuplicate() {
				return true
			}
		}
	}
	return false
}

// tree is a JSON value read with encoding/json's tokenizer, keeping key order
// and duplicate keys.
type tree struct {
	kind byte // '{', '[' or 's' for any scalar
	keys []string
	vals []*tree
}

func (n *tree) depth() int {
	if n.kind == 's' {
		return 0
	}
	d := 0
	for _, v := range n.vals {
		d = max(d, v.depth())
	}
	return d + 1
}

func (n *tree) hasDuplicate() bool {
	seen := map[string]bool{}
	for _, k := range n.keys {
		if seen[k] {
			return true
		}
		seen[k] = true
	}
	return false
}

func parseTree(raw []byte) (*tree, error) {
	if !json.Valid(raw) {
		return nil, errors.New("invalid JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var read func() (*tree, error)
	read = func() (*tree, error) {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		d, ok := tok.(json.Delim)
		if !ok {
			return &tree{kind: 's'}, nil
		}
		n := &tree{kind: byte(d)}
		for dec.More() {
			if d == '{' {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, k.(string))
			}
			v, err := read()
			if err != nil {
				return nil, err
			}
			n.vals = append(n.vals, v)
		}
		_, err = dec.Token() // the closing delimiter
		return n, err
	}
	n, err := read()
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the value")
	}
	return n, nil
}

// foldName folds a key as encoding/json does to match struct fields
// case-insensitively (encoding/json/fold.go).
func foldName(s string) []byte {
	var out []byte
	for _, r := range s {
		if r < utf8.RuneSelf {
			if 'a' <= r && r <= 'z' {
				r -= 'a' - 'A'
			}
			out = append(out, byte(r))
			continue
		}
		for {
			r2 := unicode.SimpleFold(r)
			if r2 <= r {
				r = r2
				break
			}
			r = r2
		}
		out = utf8.AppendRune(out, r)
	}
	return out
}

// FuzzParseResponse checks ParseResponse against the host's encoding/json
// decode of a whole output, as FuzzDecodeAnswer does for answers.
func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{
		`{"items":[{"id":"0","result":"ALLOW"},null,5,[]]}`, `{"items":[]}`, `{"items":null}`, `null`, `{}`,
		`{"error":{"code":"c","message":"m","x":[1]}}`, `{"error":null}`, `{"error":{}}`, `{"error":{"code":1}}`,
		`{"Items":[1]}`, `{"items":[],"items":[1]}`, `{"ERROR":{"CODE":"x"}}`, `{"error":{"code":"a","code":"b"}}`,
		`{"items":{}}`, `{"error":[]}`, `[]`, `{"items":[1,]}`, `{"items":[[[[[[[[[[[[[[1]]]]]]]]]]]]]]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, out []byte) {
		got, gotErr := wire.ParseResponse(out, fuzzDepth)
		var want struct {
			Items []json.RawMessage `json:"items"`
			Error *abi.GuestError   `json:"error"`
		}
		wantErr := json.Unmarshal(out, &want)
		switch {
		case gotErr == nil && wantErr == nil:
			items := make([]json.RawMessage, len(got.Items))
			for i, raw := range got.Items {
				items[i] = raw
			}
			if got.Items == nil {
				items = nil
			}
			if (!reflect.DeepEqual(items, want.Items) || !reflect.DeepEqual(got.Error, want.Error)) &&
				!responseDifference(out, fuzzDepth) {
				t.Fatalf("ParseResponse(%q)\n got %q %#v\nwant %q %#v", out, got.Items, got.Error, want.Items, want.Error)
			}
		case (gotErr == nil) != (wantErr == nil):
			if !responseDifference(out, fuzzDepth) {
				t.Fatalf("ParseResponse(%q): error %v, encoding/json error %v", out, gotErr, wantErr)
			}
		}
	})
}

// responseDifference is deliberateDifference for a whole output: too deep,
// or a case variant or duplicate of "items" or "error" at the top or of
// "code" or "message" in the error envelope.
func responseDifference(out []byte, maxDepth int) bool {
	n, err := parseTree(out)
	if err != nil {
		return false
	}
	if n.depth() > maxDepth {
		return true
	}
	variant := func(n *tree, fields ...string) bool {
		if n.kind != '{' {
			return false
		}
		count := map[string]int{}
		for _, k := range n.keys {
			for _, f := range fields {
				if k == f {
					count[k]++
				} else if bytes.Equal(foldName(k), foldName(f)) {
					return true
				}
			}
		}
		for _, c := range count {
			if c > 1 {
				return true
			}
		}
		return false
	}
	if variant(n, "items", "error") {
		return true
	}
	for i, k := range n.keys {
		if k == "error" && variant(n.vals[i], "code", "message") {
			return true
		}
	}
	return false
}
