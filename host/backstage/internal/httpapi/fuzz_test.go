package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// FuzzAuthorize throws arbitrary bodies at POST /api/permission/authorize
// (dev mode, the fake Decider) and checks the invariants a security boundary
// owes its callers (DESIGN.md, "Fuzzing invariants"):
//   - no panic and no 5xx;
//   - a non-200 answer is Backstage's error envelope and carries no items;
//   - a 200 answers a body that is a JSON object with an items array, with
//     exactly one item per request item, ids echoed in request order;
//   - no ALLOW for an item whose permission is not one the fake allows.
func FuzzAuthorize(f *testing.F) {
	for _, seed := range []string{
		`{"items":[]}`,
		`{"items":[{"id":"a","permission":{"type":"basic","name":"x.allow","attributes":{}}}]}`,
		`{"items":[{"id":"a","permission":{"type":"basic","name":"x.allow","attributes":{}}},{"id":"a","permission":{"type":"basic","name":"y","attributes":{}}}]}`,
		`{"items":[{"id":"fd91","permission":{"type":"basic","name":"catalog.entity.create","attributes":{"action":"create"}}},{"id":"69f5","permission":{"type":"resource","name":"catalog.entity.read","attributes":{"action":"read"},"resourceType":"catalog-entity"},"resourceRef":"component:default/owned"}]}`,
		`{"items":[{"id":"9bea","permission":{"type":"resource","name":"c.byref","attributes":{},"resourceType":"catalog-entity"},"resourceRef":["component:default/owned","user:default/bob"]}]}`,
		`{"items":[{"id":"q","permission":{"type":"resource","name":"c.cond","attributes":{},"resourceType":"catalog-entity"}}]}`,
		`{"items":[{"id":"a","permission":{"type":"basic","name":"x.allow","attributes":{"action":"use"}}}]}`,
		`{"items":[{"id":"a","permission":{"type":"basic","name":"x.allow","attributes":{}},"resourceRef":"r"}]}`,
		`{"items":[{"id":"a","permission":{"type":"resource","name":"x.allow","attributes":{}},"resourceRef":[]}]}`,
		`{"items":[{"id":"a","id":"b","permission":{"type":"basic","name":"x.allow","name":"y","attributes":{}}}]}`,
		`{"ITEMS":[{"ID":"a","permission":{"type":"basic","name":"x.allow","attributes":{}}}]}`,
		`{"items":[{"id":"\u0000\ud83d","permission":{"type":"basic","name":"x.allow","attributes":{}}}]}`,
		"\ufeff{\"items\":[]}",
		`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
		`{}`, `null`, `[]`, `"x"`, ``, `{"items":null}`,
	} {
		f.Add(seed)
	}
	h, _ := newTestServer(f, testConfig(true))
	f.Fuzz(func(t *testing.T, body string) {
		r := do(t, h, req{path: authorizePath, body: body, contentType: "application/json"})
		if r.status >= 500 {
			t.Fatalf("status %d for %q: %s", r.status, body, r.body)
		}
		if r.status != http.StatusOK {
			var env struct {
				Error    *struct{ Name, Message string } `json:"error"`
				Response *struct{ StatusCode int }       `json:"response"`
				Items    json.RawMessage                 `json:"items"`
			}
			if json.Unmarshal([]byte(r.body), &env) != nil || env.Error == nil || env.Response == nil ||
				env.Response.StatusCode != r.status || env.Items != nil {
				t.Fatalf("status %d without Backstage's envelope: %s", r.status, r.body)
			}
			return
		}
		// Read the request as generic values, as the server and JSON.parse
		// do (a body that repeats a key never gets here: it is 400).
		type inItem struct{ ID, Name string }
		var in struct{ Items []inItem }
		// body-parser drops a BOM; JSON.parse reads any number.
		dec := json.NewDecoder(strings.NewReader(strings.TrimPrefix(body, "\ufeff")))
		dec.UseNumber()
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			t.Fatalf("200 for a body that is not a JSON object (%v): %q", err, body)
		}
		items, _ := doc["items"].([]any)
		for _, raw := range items {
			it, _ := raw.(map[string]any)
			id, _ := it["id"].(string)
			perm, _ := it["permission"].(map[string]any)
			name, _ := perm["name"].(string)
			in.Items = append(in.Items, inItem{ID: id, Name: name})
		}
		var out struct {
			Items []struct {
				ID     string          `json:"id"`
				Result json.RawMessage `json:"result"`
			} `json:"items"`
		}
		if err := json.Unmarshal([]byte(r.body), &out); err != nil {
			t.Fatalf("200 with a body that is not JSON: %s", r.body)
		}
		if len(out.Items) != len(in.Items) {
			t.Fatalf("%d answers for %d items: %q -> %s", len(out.Items), len(in.Items), body, r.body)
		}
		for i := range in.Items {
			if out.Items[i].ID != in.Items[i].ID {
				t.Fatalf("answer %d has id %q, want %q", i, out.Items[i].ID, in.Items[i].ID)
			}
			if strings.Contains(string(out.Items[i].Result), "ALLOW") && !allowedByFake(in.Items[i].Name) {
				t.Fatalf("ALLOW for %q, which the fake never allows: %q -> %s", in.Items[i].Name, body, r.body)
			}
		}
	})
}

// allowedByFake reports whether the fake Decider can answer ALLOW for a
// permission name (see fakeDecider).
func allowedByFake(name string) bool {
	return strings.HasSuffix(name, ".allow") || strings.HasSuffix(name, ".byref")
}
