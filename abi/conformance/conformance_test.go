package conformance_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/abi/conformance"
)

const corpusDir = "../testdata/conformance"

func loadCorpus(t *testing.T) []conformance.Case {
	t.Helper()
	cases, err := conformance.Load(corpusDir)
	require.NoError(t, err)
	return cases
}

// TestCorpusAgainstReference checks every corpus case against the Go
// reference policy: this is what proves the wants are right.
func TestCorpusAgainstReference(t *testing.T) {
	for _, c := range loadCorpus(t) {
		t.Run(c.Name, func(t *testing.T) {
			require.NoError(t, conformance.Check(context.Background(), conformance.Reference, c))
		})
	}
}

// TestCorpusShape checks properties of the corpus itself: enough cases, a
// description on each, inputs that decode as requests, wants that answer
// every item exactly once, and the cases the spec promises.
func TestCorpusShape(t *testing.T) {
	cases := loadCorpus(t)
	require.GreaterOrEqual(t, len(cases), 30)
	names := map[string]bool{}
	for _, c := range cases {
		names[c.Name] = true
		t.Run(c.Name, func(t *testing.T) {
			require.NotEmpty(t, c.Description)
			var req abi.Request
			require.NoError(t, json.Unmarshal(c.Bytes(), &req))
			require.Equal(t, abi.Version, req.ABI)
			require.NotEmpty(t, req.Principal.Type)
			ids := map[string]bool{}
			for _, it := range req.Items {
				require.False(t, ids[it.ID], "input id %q repeated", it.ID)
				ids[it.ID] = true
			}
			require.Len(t, c.Want, len(req.Items))
			for _, w := range c.Want {
				require.True(t, ids[w.ID], "want id %q is not in the input", w.ID)
				delete(ids, w.ID)
			}
		})
	}
	for _, want := range []string{"empty-batch", "batch-1000", "unknown-fields", "key-order", "escapes-strings", "unicode"} {
		require.True(t, names[want], "corpus lacks %s", want)
	}
}

// TestCorpusCoversEveryResult makes sure the corpus exercises every result
// and every name of the conformance policy.
func TestCorpusCoversEveryResult(t *testing.T) {
	results := map[abi.Result]int{}
	perms := map[string]int{}
	for _, c := range loadCorpus(t) {
		var req abi.Request
		require.NoError(t, json.Unmarshal(c.Bytes(), &req))
		for _, it := range req.Items {
			perms[it.Permission.Name]++
		}
		for _, w := range c.Want {
			results[w.Result]++
		}
	}
	for _, r := range []abi.Result{abi.Allow, abi.Deny, abi.Conditional, abi.Abstain} {
		require.Positive(t, results[r], "no case wants %s", r)
	}
	for _, n := range []string{"conf.allow", "conf.deny", "conf.abstain", "conf.allow.reason", "conf.deny.reason",
		"conf.reason", "conf.cond.owner", "conf.cond.noparams", "conf.cond.params", "conf.cond.not",
		"conf.cond.allof", "conf.cond.anyof", "conf.cond.nested"} {
		require.Positive(t, perms[n], "no case asks %s", n)
	}
}

// TestBatch1000 pins the size of the big batch.
func TestBatch1000(t *testing.T) {
	for _, c := range loadCorpus(t) {
		if c.Name == "batch-1000" {
			require.Len(t, c.Want, 1000)
			return
		}
	}
	t.Fatal("batch-1000 not found")
}

// fixed returns an Evaluator that always answers out.
func fixed(out string) conformance.Evaluator {
	return func(context.Context, []byte) ([]byte, error) { return []byte(out), nil }
}

// mutate returns an Evaluator that runs the reference and then lets f
// change its answers.
func mutate(f func([]abi.Answer) []abi.Answer) conformance.Evaluator {
	return func(ctx context.Context, in []byte) ([]byte, error) {
		out, err := conformance.Reference(ctx, in)
		if err != nil {
			return nil, err
		}
		var resp abi.Response
		if err := json.Unmarshal(out, &resp); err != nil {
			return nil, err
		}
		resp.Items = f(resp.Items)
		return json.Marshal(resp)
	}
}

func TestCheckFails(t *testing.T) {
	input := `{"abi":1,"principal":{"type":"user","userEntityRef":"user:default/a","ownershipEntityRefs":["group:default/g"]},"items":[` +
		`{"id":"0","permission":{"type":"basic","name":"conf.allow","attributes":{}}},` +
		`{"id":"1","permission":{"type":"basic","name":"conf.deny.reason","attributes":{}}},` +
		`{"id":"2","permission":{"type":"resource","name":"conf.cond.owner","attributes":{},"resourceType":"catalog-entity"}}]}`
	c := conformance.Case{Name: "check", InputText: input}
	var err error
	c.Want, err = wantOf(input)
	require.NoError(t, err)
	require.NoError(t, conformance.Check(context.Background(), conformance.Reference, c), "the baseline must pass")

	tests := []struct {
		name    string
		eval    conformance.Evaluator
		wantErr string
	}{
		{"missing id", mutate(func(a []abi.Answer) []abi.Answer { return a[1:] }), `id "0": missing from output`},
		{"extra id", mutate(func(a []abi.Answer) []abi.Answer {
			return append(a, abi.Answer{ID: "7", Result: abi.Allow})
		}), `unknown id "7" in output`},
		{"duplicated id", mutate(func(a []abi.Answer) []abi.Answer { return append(a, a[0]) }), `id "0" answered twice`},
		{"wrong result", mutate(func(a []abi.Answer) []abi.Answer { a[0].Result = abi.Deny; return a }), "result DENY, want ALLOW"},
		{"invalid result", mutate(func(a []abi.Answer) []abi.Answer { a[0].Result = "MAYBE"; return a }), `result "MAYBE"`},
		{"wrong reason", mutate(func(a []abi.Answer) []abi.Answer { a[1].Reason = "nope"; return a }), `reason "nope"`},
		{"missing reason", mutate(func(a []abi.Answer) []abi.Answer { a[1].Reason = ""; return a }), `reason ""`},
		{"extra reason", mutate(func(a []abi.Answer) []abi.Answer { a[0].Reason = "why not"; return a }), `reason "why not", want ""`},
		{"wrong conditions", mutate(func(a []abi.Answer) []abi.Answer {
			a[2].Conditions = &abi.Criteria{Rule: "IS_PUBLIC", ResourceType: "catalog-entity"}
			return a
		}), "conditions"},
		{"wrong claims", mutate(func(a []abi.Answer) []abi.Answer {
			a[2].Conditions.Params["claims"] = json.RawMessage(`["group:default/other"]`)
			return a
		}), "conditions"},
		{"wrong pluginId", mutate(func(a []abi.Answer) []abi.Answer { a[2].PluginID = "catalog"; return a }), `pluginId "catalog"`},
		{"mismatched resourceType", mutate(func(a []abi.Answer) []abi.Answer {
			a[2].ResourceType = "other"
			return a
		}), "does not match"},
		{"conditional fields on ALLOW", mutate(func(a []abi.Answer) []abi.Answer { a[0].PluginID = "conf"; return a }), "with conditional fields"},
		{"error envelope", fixed(`{"error":{"code":"boom","message":"policy exploded"}}`), "module returned error boom: policy exploded"},
		{"not json", fixed(`not json at all`), "output"},
		{"empty items", fixed(`{"items":[]}`), "got 0 answers, want 3"},
		{"too deep", fixed(`{"items":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`), "nested too deeply"},
		{"evaluator error", func(context.Context, []byte) ([]byte, error) { return nil, errors.New("trap") }, "evaluate: trap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := conformance.Check(context.Background(), tt.eval, c)
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestCheckOrderFree(t *testing.T) {
	c := loadCorpus(t)[0]
	reversed := mutate(func(a []abi.Answer) []abi.Answer {
		for i, j := 0, len(a)-1; i < j; i, j = i+1, j-1 {
			a[i], a[j] = a[j], a[i]
		}
		return a
	})
	require.NoError(t, conformance.Check(context.Background(), reversed, c))
}

func TestLoadRefusesBadCases(t *testing.T) {
	tests := []struct {
		name, file, body, wantErr string
	}{
		{"name mismatch", "a.json", `{"name":"b","description":"d","input":{"abi":1},"want":[]}`, "does not match the file name"},
		{"both inputs", "a.json", `{"name":"a","description":"d","input":{"abi":1},"inputText":"{}","want":[]}`, "exactly one of input and inputText"},
		{"no input", "a.json", `{"name":"a","description":"d","want":[]}`, "exactly one of input and inputText"},
		{"unknown field", "a.json", `{"name":"a","principal":{},"input":{"abi":1},"want":[]}`, "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, writeFile(dir, tt.file, tt.body))
			_, err := conformance.Load(dir)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
	t.Run("empty dir", func(t *testing.T) {
		_, err := conformance.Load(t.TempDir())
		require.ErrorContains(t, err, "no cases")
	})
}

func wantOf(input string) ([]abi.Answer, error) {
	var req abi.Request
	if err := json.Unmarshal([]byte(input), &req); err != nil {
		return nil, err
	}
	var out []abi.Answer
	for _, it := range req.Items {
		out = append(out, conformance.Decide(req.Principal, it))
	}
	return out, nil
}
