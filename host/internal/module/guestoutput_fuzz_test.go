package module

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
)

// FuzzGuestOutput makes the echo fixture return the fuzzer's bytes as its
// output, through the real call path (verdict_alloc, the input written into
// guest memory, verdict_evaluate, the packed pointer and length checked
// against memory and the cap, the bytes copied out and decoded), for a batch
// of 1 to 8 items whose permissions shape picks. Invariants (README.md,
// "Reliability", row 11; DESIGN.md, "Fuzzing invariants"):
//   - no panic; one answer per item, with the item's id, and a valid result;
//   - ALLOW only when an independent reading of the bytes (encoding/json,
//     every repeated key seen) finds exactly one answer for that id, whose
//     only result is "ALLOW" and which carries no condition fields (null
//     and "" count as absent);
//   - CONDITIONAL only for a resource permission of the same resourceType;
//   - the instance is thrown away exactly when the output as a whole was
//     refused (every item DENY with "module echo failed").
func FuzzGuestOutput(f *testing.F) {
	for _, s := range guestOutputSeeds(f) {
		f.Add(s, uint8(0))
		f.Add(s, uint8(0xff))
	}
	for _, s := range []string{
		`{"items":[{"id":"0","result":"ALLOW"}]}`,
		`{"items":[{"id":"0","result":"ALLOW"},{"id":"1","result":"DENY"},{"id":"2","result":"ABSTAIN"}]}`,
		`{"items":[{"id":"0","result":"ALLOW"},{"id":"0","result":"ALLOW"}]}`,
		`{"items":[{"id":"0","result":"ALLOW"},{"id":"5","id":"0","result":"DENY"}]}`,
		`{"items":[{"id":"0","result":"DENY","result":"ALLOW"}]}`,
		`{"items":[{"id":"0","result":"ALLOW","pluginId":null}]}`,
		`{"error":null,"items":[{"id":"0","result":"ALLOW"}]}`,
		`{"error":{"code":"x","message":"y"},"items":[{"id":"0","result":"ALLOW"}]}`,
		`{"items":[{"id":"0","result":"CONDITIONAL","pluginId":"catalog","resourceType":"catalog-entity","conditions":{"rule":"IS_ENTITY_OWNER","resourceType":"catalog-entity","params":{"claims":[]}}}]}`,
		"{\"items\":[{\"id\":\"0\",\"result\":\"ALLOW\",\"reason\":\"\xff\"}]}",
		`{"items":[{"id":"\u0030","result":"\u0041LLOW"}]}`,
		`{"items":[{"id":"0","result":"ALLOW"}]} `, `null`, `{}`, `[]`, ``, `{"items":null}`,
	} {
		f.Add([]byte(s), uint8(1))
	}
	opts := testOptions(f)
	opts.OutputBytes, opts.OutputBytesPerItem = 2048, 512
	m := loadFixture(f, "echo", opts)
	f.Fuzz(func(t *testing.T, out []byte, shape uint8) {
		items := fuzzItems(shape)
		before := m.Counters().Discarded
		answers := answerWith(m, out, items)
		discarded := m.Counters().Discarded - before
		if len(answers) != len(items) {
			t.Fatalf("%d answers for %d items", len(answers), len(items))
		}
		whole := strings.HasPrefix(answers[0].Reason, "module echo failed: ")
		for i, a := range answers {
			if a.ID != strconv.Itoa(i) {
				t.Fatalf("answer %d has id %q", i, a.ID)
			}
			if !a.Result.Valid() {
				t.Fatalf("answer %d has result %q", i, a.Result)
			}
			if whole && (a.Result != abi.Deny || !strings.HasPrefix(a.Reason, "module echo failed: ")) {
				t.Fatalf("answer %d of a refused output: %+v", i, a)
			}
			perm := items[i].Permission
			switch a.Result {
			case abi.Allow:
				if why := notAnAllow(out, i); why != "" {
					t.Fatalf("ALLOW for item %d, but %s: %q", i, why, out)
				}
			case abi.Conditional:
				if !perm.IsResource() || a.ResourceType != perm.ResourceType || a.Conditions == nil || a.PluginID == "" {
					t.Fatalf("CONDITIONAL %+v for %+v: %q", a, perm, out)
				}
			}
		}
		if whole != (discarded == 1) || discarded > 1 {
			t.Fatalf("refused output %v, instances thrown away %d: %q", whole, discarded, out)
		}
	})
}

// fuzzItems is a batch of shape%8+1 items; bit i of shape makes item i a
// resource permission.
func fuzzItems(shape uint8) []abi.Item {
	items := make([]abi.Item, int(shape%8)+1)
	for i := range items {
		p := basicPerm
		if shape&(1<<i) != 0 {
			p = resourcePerm
		}
		items[i] = abi.Item{ID: strconv.Itoa(i), Permission: p}
	}
	return items
}

// notAnAllow is the oracle: it reads out with encoding/json, independently
// of the host's decoder (internal/wire), keeping every repeated key, and returns why out is not
// a valid ALLOW for item i ("" when it is).
func notAnAllow(out []byte, i int) string {
	if !utf8.Valid(out) || !json.Valid(out) {
		return "the output is not UTF-8 JSON"
	}
	top, ok := members(out)
	if !ok {
		return "the output is not an object"
	}
	if len(top["error"]) > 1 || len(top["error"]) == 1 && string(top["error"][0]) != "null" {
		return "the output has an error"
	}
	if len(top["items"]) != 1 {
		return `the output has no single "items"`
	}
	var list []json.RawMessage
	if json.Unmarshal(top["items"][0], &list) != nil {
		return `"items" is not an array`
	}
	id := strconv.Itoa(i)
	var mine []map[string][]json.RawMessage
	for _, raw := range list {
		obj, ok := members(raw)
		if !ok {
			continue
		}
		for _, v := range obj["id"] {
			var s string
			if json.Unmarshal(v, &s) == nil && s == id {
				mine = append(mine, obj)
				break
			}
		}
	}
	if len(mine) != 1 {
		return strconv.Itoa(len(mine)) + " answers may be for this id"
	}
	a := mine[0]
	if len(a["id"]) != 1 || len(a["result"]) != 1 {
		return "its answer repeats id or result"
	}
	var res string
	if json.Unmarshal(a["result"][0], &res) != nil || res != "ALLOW" {
		return "its result is not ALLOW"
	}
	for _, k := range []string{"pluginId", "resourceType", "conditions"} {
		for _, v := range a[k] {
			if string(v) != "null" && string(v) != `""` {
				return "its ALLOW carries " + k
			}
		}
	}
	return ""
}

// members reads a JSON object into every value of each key, in order; ok is
// false when raw is not an object.
func members(raw []byte) (map[string][]json.RawMessage, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	out := map[string][]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		out[key] = append(out[key], v)
	}
	return out, true
}

// guestOutputSeeds are the wanted outputs of the conformance corpus
// (abi/testdata/conformance), as a guest writes them.
func guestOutputSeeds(tb testing.TB) [][]byte {
	paths, err := filepath.Glob(filepath.Join("..", "..", "..", "abi", "testdata", "conformance", "*.json"))
	require.NoError(tb, err)
	require.NotEmpty(tb, paths)
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		require.NoError(tb, err)
		var c struct {
			Want json.RawMessage `json:"want"`
		}
		require.NoError(tb, json.Unmarshal(b, &c), p)
		var compact bytes.Buffer
		require.NoError(tb, json.Compact(&compact, c.Want))
		if compact.Len() > 4096 {
			continue // batch-1000: too big to mutate usefully
		}
		out = append(out, append(append([]byte(`{"items":`), compact.Bytes()...), '}'))
	}
	return out
}
