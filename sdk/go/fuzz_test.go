package verdict

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// The oracle: the request model as encoding/json sees it, the same shape as
// the host's abi.Request (which the reference conformance policy decodes).
type jActor struct {
	Type    string `json:"type"`
	Subject string `json:"subject"`
}

type jPrincipal struct {
	Type                string   `json:"type"`
	UserEntityRef       string   `json:"userEntityRef"`
	OwnershipEntityRefs []string `json:"ownershipEntityRefs"`
	Actor               *jActor  `json:"actor"`
	Subject             string   `json:"subject"`
}

type jPermission struct {
	Type       string `json:"type"`
	Name       string `json:"name"`
	Attributes struct {
		Action string `json:"action"`
	} `json:"attributes"`
	ResourceType string `json:"resourceType"`
}

type jItem struct {
	ID          string      `json:"id"`
	Permission  jPermission `json:"permission"`
	ResourceRef *string     `json:"resourceRef"`
}

type jRequest struct {
	ABI       int64      `json:"abi"`
	Principal jPrincipal `json:"principal"`
	Items     []jItem    `json:"items"`
}

// knownKeys are the member names the request decoder looks at.
var knownKeys = []string{"abi", "principal", "items", "type", "userEntityRef",
	"ownershipEntityRefs", "actor", "subject", "id", "permission", "resourceRef",
	"name", "attributes", "action", "resourceType"}

// comparable reports whether data is an input on which the SDK promises to
// agree with encoding/json: no key repeated in an object, no key that
// matches a known member only case-insensitively (encoding/json folds case,
// the SDK does not), and nesting within the SDK's depth limit.
func comparable(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		object bool
		keys   map[string]bool
		isKey  bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return true
		}
		if err != nil {
			return true // invalid: both must refuse, nothing to exempt
		}
		if len(stack) > 0 {
			top := stack[len(stack)-1]
			if top.object && top.isKey {
				if k, ok := tok.(string); ok {
					if top.keys[k] {
						return false
					}
					top.keys[k] = true
					for _, known := range knownKeys {
						if k != known && strings.EqualFold(k, known) {
							return false
						}
					}
					top.isKey = false
					continue
				}
			}
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if len(stack) >= maxDepth {
				return false
			}
			if len(stack) > 0 {
				stack[len(stack)-1].isKey = true
			}
			stack = append(stack, &frame{object: tok == json.Delim('{'), keys: map[string]bool{}, isKey: true})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 {
			stack[len(stack)-1].isKey = true
		}
	}
}

// fromSDK converts the SDK's decoded request to the oracle's model.
func fromSDK(r *request) jRequest {
	j := jRequest{ABI: r.abi}
	p := r.principal
	j.Principal = jPrincipal{Type: p.Type, UserEntityRef: p.UserEntityRef,
		OwnershipEntityRefs: p.OwnershipEntityRefs, Subject: p.Subject}
	if p.Actor != nil {
		j.Principal.Actor = &jActor{Type: p.Actor.Type, Subject: p.Actor.Subject}
	}
	for _, it := range r.items {
		ji := jItem{ID: it.ID}
		ji.Permission.Type = it.Permission.Type
		ji.Permission.Name = it.Permission.Name
		ji.Permission.Attributes.Action = it.Permission.Attributes.Action
		ji.Permission.ResourceType = it.Permission.ResourceType
		if it.HasResourceRef {
			ref := it.ResourceRef
			ji.ResourceRef = &ref
		}
		j.Items = append(j.Items, ji)
	}
	return j
}

// normalize makes empty and nil slices equal.
func normalize(j jRequest) jRequest {
	if len(j.Items) == 0 {
		j.Items = nil
	}
	if len(j.Principal.OwnershipEntityRefs) == 0 && j.Principal.OwnershipEntityRefs != nil {
		j.Principal.OwnershipEntityRefs = []string{}
	}
	return j
}

// dirty is decoded before each fuzz input so that state kept between calls
// (the Runner reuses its slices) cannot leak into the next answer.
const dirty = `{"abi":1,"principal":{"type":"user","userEntityRef":"u","ownershipEntityRefs":["x","y","z"],"actor":{"type":"service","subject":"s"},"subject":"q"},"items":[{"id":"9","permission":{"type":"resource","name":"n","attributes":{"action":"read"},"resourceType":"rt"},"resourceRef":"ref"},{"id":"8"}]}`

func addSeeds(f *testing.F) {
	for _, s := range []string{
		dirty,
		`{"abi":1,"principal":{"type":"none"},"items":[]}`,
		`null`, `{}`, `[]`, `""`, `{"items":null,"principal":null}`,
		`{"items":[null,{"id":null,"resourceRef":null,"permission":null}]}`,
		`{"principal":{"ownershipEntityRefs":[null,"a"],"actor":null}}`,
		` { "abi" : 1 ,"items":[ {"id":"0" , "permission":{"name":"a\u00e9\ud83d\ude00\n\t\"\\\/","type":"basic","attributes":{}}} ] } `,
		"{\r\n\t\"items\":[{\"id\":\"\\ud800\\u0041 \\udc00\\ud800\",\"permission\":{}}]\r\n}",
		`{"x":{"deep":[[[{"y":[1,2.5e-3,-0,true,false,null,"s"]}]]]},"items":[{"z":{"a":[]},"id":"1"}]}`,
		`{"abi":1.0}`, `{"abi":"1"}`, `{"abi":99999999999999999999}`, `{"abi":-0}`,
		`{"items":{}}`, `{"items":[1]}`, `{"principal":"x"}`, `{"principal":{"ownershipEntityRefs":"x"}}`,
		"{\"items\":[{\"id\":\"\xff\xfe\xed\xa0\x80\"}]}",
		`{"ID":"x","Items":[]}`, `{"items":[{"id":"a"}],"items":[{"id":"b"}]}`,
		`{"abi":1}x`, `{"abi":01}`, `{"abi":1,}`, `{"a":"\u12"}`, "{\"a\":\"\x01\"}",
	} {
		f.Add([]byte(s))
	}
	paths, _ := filepath.Glob(filepath.Join("..", "..", "abi", "testdata", "conformance", "*.json"))
	for _, p := range paths {
		var c struct {
			Input     json.RawMessage `json:"input"`
			InputText string          `json:"inputText"`
		}
		if b, err := os.ReadFile(p); err == nil && json.Unmarshal(b, &c) == nil {
			if c.InputText != "" {
				f.Add([]byte(c.InputText))
			} else if len(c.Input) < 20000 {
				f.Add([]byte(c.Input))
			}
		}
	}
}

// FuzzDecodeRequest checks that the SDK's request decoder accepts exactly
// the inputs encoding/json accepts into the same model, and decodes them to
// the same values.
func FuzzDecodeRequest(f *testing.F) {
	addSeeds(f)
	var d decoder
	var req request
	f.Fuzz(func(t *testing.T, data []byte) {
		if !comparable(data) {
			return
		}
		if err := decodeRequest(&d, []byte(dirty), &req); err != nil {
			t.Fatal(err)
		}
		var want jRequest
		wantErr := json.Unmarshal(data, &want)
		gotErr := decodeRequest(&d, data, &req)
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("input %q: encoding/json error %v, SDK error %v", data, wantErr, gotErr)
		}
		if wantErr != nil {
			return
		}
		if got := fromSDK(&req); !reflect.DeepEqual(normalize(got), normalize(want)) {
			t.Fatalf("input %q:\nSDK           %+v\nencoding/json %+v", data, got, want)
		}
	})
}

// FuzzParseValue checks ParseValue against encoding/json's generic
// decoding, and that re-encoding a Value gives the same JSON meaning.
func FuzzParseValue(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if !comparable(data) {
			return
		}
		want, wantErr := decodeAny(data)
		v, gotErr := ParseValue(data)
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("input %q: encoding/json error %v, SDK error %v", data, wantErr, gotErr)
		}
		if wantErr != nil {
			return
		}
		out := appendValue(nil, &v)
		got, err := decodeAny(out)
		if err != nil {
			t.Fatalf("input %q: SDK wrote invalid JSON %q: %v", data, out, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("input %q: SDK re-encoded %q", data, out)
		}
	})
}

func decodeAny(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the value")
	}
	return v, nil
}

// FuzzEncodeString checks that every string, valid UTF-8 or not, is
// encoded as valid JSON that encoding/json and the SDK's decoder both read
// back as encoding/json's own encoding would be read.
func FuzzEncodeString(f *testing.F) {
	for _, s := range []string{"", "plain", "q\"b\\s/", "\x00\x01\x1f\x7f", "\n\r\t\b\f",
		"ünïcødé ✓ 🙂", "\xff", "a\xed\xa0\x80b", "\u2028\u2029", "<&>", "\xf4\x90\x80\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := appendString(nil, s)
		if !json.Valid(out) {
			t.Fatalf("%q: invalid JSON %q", s, out)
		}
		ref, _ := json.Marshal(s)
		var want, got string
		if err := json.Unmarshal(ref, &want); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("%q: encoding/json reads %q, want %q", s, got, want)
		}
		if utf8.ValidString(s) && got != s {
			t.Fatalf("valid UTF-8 %q changed to %q", s, got)
		}
		var d decoder
		d.reset(out)
		back, err := d.str()
		if err != nil || back != want {
			t.Fatalf("%q: SDK decoder reads %q (%v), want %q", s, back, err, want)
		}
	})
}

// genCriteria builds a criteria tree from fuzz bytes, together with the
// JSON value it must encode to.
func genCriteria(b *[]byte, s string, depth int) (Criteria, any) {
	next := func() byte {
		if len(*b) == 0 {
			return 0
		}
		c := (*b)[0]
		*b = (*b)[1:]
		return c
	}
	op := next() % 5
	if depth > 6 {
		op = 0
	}
	switch op {
	case 1, 2:
		n := int(next()%3) + 1
		cs := make([]Criteria, n)
		ws := make([]any, n)
		for i := range cs {
			cs[i], ws[i] = genCriteria(b, s, depth+1)
		}
		if op == 1 {
			return AllOf(cs...), map[string]any{"allOf": ws}
		}
		return AnyOf(cs...), map[string]any{"anyOf": ws}
	case 3:
		c, w := genCriteria(b, s, depth+1)
		return Not(c), map[string]any{"not": w}
	}
	leaf := map[string]any{"rule": "R" + s, "resourceType": "t"}
	var params []Field
	want := map[string]any{}
	for i := range int(next() % 4) {
		key := string(rune('a'+i)) + s
		var v Value
		var w any
		switch next() % 6 {
		case 0:
			v, w = String(s), s
		case 1:
			v = Int(int64(next()) - 128)
			w = json.Number(v.s)
		case 2:
			v = Float(float64(next()) / 8)
			w = json.Number(v.s)
		case 3:
			v = Bool(next()%2 == 0)
			w, _ = v.AsBool()
		case 4:
			v, w = Null(), nil
		default:
			v, w = Strings(s, s+s), []any{s, s + s}
		}
		params = append(params, Param(key, v))
		want[key] = w
	}
	if len(params) > 0 {
		leaf["params"] = want
	}
	return Condition("R"+s, "t", params...), leaf
}

// countNodes counts a criteria tree's nodes, every leaf and combination.
func countNodes(c *Criteria) int {
	n := 1
	for i := range c.children {
		n += countNodes(&c.children[i])
	}
	return n
}

// fullTree appends the generator bytes for a full ternary tree of allOf
// nodes down to depth 7, whose leaves have no parameters.
func fullTree(b []byte, depth int) []byte {
	if depth > 6 {
		return append(b, 0, 0)
	}
	b = append(b, 1, 2)
	for range 3 {
		b = fullTree(b, depth+1)
	}
	return b
}

// FuzzEncodeCriteria checks that criteria encode to Backstage's JSON shape
// as encoding/json reads it, whatever the strings inside.
func FuzzEncodeCriteria(f *testing.F) {
	f.Add([]byte{1, 2, 0, 3, 0, 1, 2, 3, 4, 5}, "x")
	f.Add([]byte{3, 2, 1, 0, 2, 0, 1, 4, 0, 0}, "\"\\\x00ü")
	// A full ternary tree seven levels deep: 1,093 nodes, over the limit
	// (CI's fuzz pass found such a tree once the generator allowed it).
	f.Add(fullTree(nil, 1), "x")
	f.Fuzz(func(t *testing.T, b []byte, s string) {
		if !utf8.ValidString(s) {
			s = strings.ToValidUTF8(s, "\uFFFD")
		}
		c, want := genCriteria(&b, s, 1)
		out := appendCriteria(nil, &c)
		got, err := decodeAny(out)
		if err != nil {
			t.Fatalf("invalid JSON %q: %v", out, err)
		}
		wb, _ := json.Marshal(want)
		w, _ := decodeAny(wb)
		if !reflect.DeepEqual(got, w) {
			t.Fatalf("got %s, want %s", out, wb)
		}
		// The generator never repeats a parameter name and stays within
		// the depth limit, but a tree may grow past the node limit (up to
		// 3^7 leaves): Validate must refuse exactly those.
		err = c.Validate("t")
		if n := countNodes(&c); n > MaxCriteriaNodes {
			if err == nil || !strings.Contains(err.Error(), "nodes") {
				t.Fatalf("Validate accepted %d nodes (limit %d): %v", n, MaxCriteriaNodes, err)
			}
		} else if err != nil {
			t.Fatalf("Validate (%d nodes): %v", n, err)
		}
	})
}
