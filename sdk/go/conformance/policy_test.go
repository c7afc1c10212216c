package conformance_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	verdict "github.com/verdictpdp/verdict/sdk/go"
	"github.com/verdictpdp/verdict/sdk/go/conformance"
)

// canon decodes JSON text into generic values, so that key order and number
// spelling do not matter when comparing.
func canon(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("invalid JSON %q: %v", b, err)
	}
	return v
}

func runner(t *testing.T) *verdict.Runner {
	t.Helper()
	r, err := verdict.NewRunner(conformance.Policy())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestPolicyThroughWireFormat(t *testing.T) {
	const user = `{"type":"user","userEntityRef":"user:default/jane","ownershipEntityRefs":["user:default/jane","group:default/a"]}`
	cases := []struct {
		name, input, want string
	}{
		{
			name:  "results",
			input: `{"abi":1,"principal":` + user + `,"items":[{"id":"0","permission":{"type":"basic","name":"conf.allow","attributes":{}}},{"id":"1","permission":{"type":"basic","name":"conf.deny","attributes":{}}},{"id":"2","permission":{"type":"basic","name":"conf.abstain","attributes":{}}},{"id":"3","permission":{"type":"basic","name":"other","attributes":{}}}]}`,
			want:  `{"items":[{"id":"0","result":"ALLOW"},{"id":"1","result":"DENY"},{"id":"2","result":"ABSTAIN"},{"id":"3","result":"ABSTAIN"}]}`,
		},
		{
			name:  "fixed reasons",
			input: `{"abi":1,"principal":{"type":"none"},"items":[{"id":"0","permission":{"type":"basic","name":"conf.allow.reason","attributes":{}}},{"id":"1","permission":{"type":"basic","name":"conf.deny.reason","attributes":{}}}]}`,
			want:  `{"items":[{"id":"0","result":"ALLOW","reason":"allowed by conformance policy"},{"id":"1","result":"DENY","reason":"denied by conformance policy"}]}`,
		},
		{
			name:  "echo with escapes, actor and resourceRef",
			input: `{"items":[{"permission":{"attributes":{"action":"read","x":[1,{"y":null}]},"name":"conf.reason","type":"resource","resourceType":"catalog-entity"},"resourceRef":"component:default/\u00e9\"q\"","id":"7"}],"principal":{"actor":{"type":"service","subject":"plugin:catalog"},"ownershipEntityRefs":["a","b"],"userEntityRef":"user:default/j\u00f6","type":"user"},"abi":1}`,
			want:  `{"items":[{"id":"7","result":"ALLOW","reason":"name=conf.reason type=resource action=read resourceType=catalog-entity ref=component:default/é\"q\" principal=user user=user:default/jö subject=- actor=plugin:catalog owners=a,b"}]}`,
		},
		{
			name:  "conditional on basic",
			input: `{"abi":1,"principal":{"type":"service","subject":"s"},"items":[{"id":"0","permission":{"type":"basic","name":"conf.cond.owner","attributes":{}}}]}`,
			want:  `{"items":[{"id":"0","result":"DENY","reason":"conditional needs a resource permission"}]}`,
		},
		{
			name:  "unknown conditional",
			input: `{"abi":1,"principal":{"type":"none"},"items":[{"id":"0","permission":{"type":"resource","name":"conf.cond.nope","attributes":{},"resourceType":"r"}}]}`,
			want:  `{"items":[{"id":"0","result":"ABSTAIN"}]}`,
		},
		{
			name:  "owner",
			input: `{"abi":1,"principal":` + user + `,"items":[{"id":"0","permission":{"type":"resource","name":"conf.cond.owner","attributes":{},"resourceType":"catalog-entity"}}]}`,
			want:  `{"items":[{"id":"0","result":"CONDITIONAL","pluginId":"conf","resourceType":"catalog-entity","conditions":{"rule":"IS_OWNER","resourceType":"catalog-entity","params":{"claims":["user:default/jane","group:default/a"]}}}]}`,
		},
		{
			name:  "params",
			input: `{"abi":1,"principal":{"type":"none"},"items":[{"id":"0","permission":{"type":"resource","name":"conf.cond.params","attributes":{},"resourceType":"r"}}]}`,
			want:  `{"items":[{"id":"0","result":"CONDITIONAL","pluginId":"conf","resourceType":"r","conditions":{"rule":"HAS_VALUES","resourceType":"r","params":{"s":"text \"quoted\" \\ ünïcødé ✓","n":42,"f":-1.5,"t":true,"no":false,"z":null,"list":["a",1,true,null]}}}]}`,
		},
		{
			name:  "nested",
			input: `{"abi":1,"principal":{"type":"user","ownershipEntityRefs":[]},"items":[{"id":"0","permission":{"type":"resource","name":"conf.cond.nested","attributes":{},"resourceType":"r"}}]}`,
			want:  `{"items":[{"id":"0","result":"CONDITIONAL","pluginId":"conf","resourceType":"r","conditions":{"anyOf":[{"allOf":[{"rule":"IS_OWNER","resourceType":"r","params":{"claims":[]}},{"not":{"anyOf":[{"rule":"IS_KIND","resourceType":"r","params":{"kinds":["Group","User"]}},{"rule":"IS_PUBLIC","resourceType":"r"}]}}]},{"not":{"not":{"rule":"IS_PUBLIC","resourceType":"r"}}}]}}]}`,
		},
		{
			name:  "bad input",
			input: `{"abi":1,"items":[}`,
			want:  `{"error":{"code":"bad_input","message":"evaluate input: invalid JSON at offset 18: unexpected character '}'"}}`,
		},
	}
	r := runner(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := r.Evaluate([]byte(tc.input))
			if !reflect.DeepEqual(canon(t, got), canon(t, []byte(tc.want))) {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	r := runner(t)
	if got := string(r.Configure([]byte(`{"settings":null,"files":{}}`))); got != `{"ok":true}` {
		t.Fatalf("configure: %s", got)
	}
	want := `{"abi":"1.0","name":"conformance","version":"` + verdict.SDKVersion +
		`","sdk":"go/` + verdict.SDKVersion + `","claims":["conf.*"]}`
	if got := string(r.Describe()); got != want {
		t.Errorf("describe: got %s, want %s", got, want)
	}
}

// corpusCase is a case of the language-neutral conformance corpus
// (abi/testdata/conformance in the Verdict repository).
type corpusCase struct {
	Name      string            `json:"name"`
	Input     json.RawMessage   `json:"input"`
	InputText string            `json:"inputText"`
	Want      []json.RawMessage `json:"want"`
}

// TestCorpus runs the shared conformance corpus through the SDK's wire path
// when the SDK sits in the Verdict repository (it is skipped otherwise).
// Answers are compared by id and by JSON meaning, as abi/conformance does.
func TestCorpus(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "abi", "testdata", "conformance")
	paths, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(paths) == 0 {
		t.Skip("no conformance corpus at " + dir)
	}
	r := runner(t)
	for _, p := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(p), ".json"), func(t *testing.T) {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			var c corpusCase
			if err := json.Unmarshal(b, &c); err != nil {
				t.Fatal(err)
			}
			in := []byte(c.InputText)
			if c.InputText == "" {
				in = c.Input
			}
			var resp struct {
				Items []json.RawMessage `json:"items"`
				Error any               `json:"error"`
			}
			out := r.Evaluate(in)
			if err := json.Unmarshal(out, &resp); err != nil || resp.Error != nil {
				t.Fatalf("output %s: %v", out, err)
			}
			got := map[string]any{}
			for _, a := range resp.Items {
				var id struct{ ID string }
				_ = json.Unmarshal(a, &id)
				if _, dup := got[id.ID]; dup {
					t.Errorf("id %q answered twice", id.ID)
				}
				got[id.ID] = canon(t, a)
			}
			if len(resp.Items) != len(c.Want) {
				t.Errorf("got %d answers, want %d", len(resp.Items), len(c.Want))
			}
			for _, w := range c.Want {
				wv := canon(t, w).(map[string]any)
				id, _ := wv["id"].(string)
				if g := got[id]; !reflect.DeepEqual(g, wv) {
					gb, _ := json.Marshal(g)
					t.Errorf("id %q: got %s, want %s", id, gb, w)
				}
			}
		})
	}
}
