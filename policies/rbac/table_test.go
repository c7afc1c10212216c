package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	verdict "github.com/verdictpdp/verdict/sdk/go"
)

// table is testdata/cases.json: the decision table that this package, the
// host (host/rbac_test.go) and the HTTP API (host/backstage/internal/httpapi/rbac_test.go) run.
// Those two read it with internal/testing/rbactable; this module is a guest's
// and cannot import the host module's internal packages, so it keeps its own
// copy of the types.
type table struct {
	Setups   map[string]setup `json:"setups"`
	Cases    []tcase          `json:"cases"`
	Refusals []refusal        `json:"refusals"`
}

type setup struct {
	Settings json.RawMessage   `json:"settings"`
	Files    map[string]string `json:"files"`
}

type tcase struct {
	Name       string          `json:"name"`
	Rules      []int           `json:"rules"`
	Setup      string          `json:"setup"`
	User       string          `json:"user"`
	Refs       *[]string       `json:"refs"`
	Principal  json.RawMessage `json:"principal"`
	Perm       string          `json:"perm"`
	RT         string          `json:"rt"`
	Action     string          `json:"action"`
	Result     string          `json:"result"`
	Reason     string          `json:"reason"`
	PluginID   string          `json:"pluginId"`
	Conditions json.RawMessage `json:"conditions"`
}

type refusal struct {
	Name     string            `json:"name"`
	Rules    []int             `json:"rules"`
	Settings json.RawMessage   `json:"settings"`
	Files    map[string]string `json:"files"`
	Error    string            `json:"error"`
}

func loadTable(t *testing.T) table {
	t.Helper()
	b, err := os.ReadFile("testdata/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var tb table
	if err := json.Unmarshal(b, &tb); err != nil {
		t.Fatal(err)
	}
	return tb
}

// files resolves a setup's files: "=text" is literal, else a testdata file.
func files(t *testing.T, fs map[string]string) map[string]string {
	out := map[string]string{}
	for name, src := range fs {
		if text, ok := strings.CutPrefix(src, "="); ok {
			out[name] = text
			continue
		}
		b, err := os.ReadFile(filepath.Join("testdata", src))
		if err != nil {
			t.Fatal(err)
		}
		out[name] = string(b)
	}
	return out
}

func configureInput(t *testing.T, settings json.RawMessage, fs map[string]string) []byte {
	if len(settings) == 0 {
		settings = json.RawMessage("null")
	}
	b, err := json.Marshal(map[string]any{"settings": settings, "files": files(t, fs)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// request is the wire input for one case.
func (c *tcase) request(t *testing.T) []byte {
	principal := c.Principal
	if c.User != "" {
		refs := []string{c.User}
		if c.Refs != nil {
			refs = *c.Refs
		}
		principal, _ = json.Marshal(map[string]any{"type": "user", "userEntityRef": c.User, "ownershipEntityRefs": refs})
	}
	perm := map[string]any{"type": "basic", "name": c.Perm, "attributes": map[string]any{}}
	if c.Action != "" {
		perm["attributes"] = map[string]any{"action": c.Action}
	}
	if c.RT != "" {
		perm["type"], perm["resourceType"] = "resource", c.RT
	}
	b, err := json.Marshal(map[string]any{"abi": 1, "principal": principal,
		"items": []any{map[string]any{"id": "0", "permission": perm}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecisionTable(t *testing.T) {
	tb := loadTable(t)
	runners := map[string]*verdict.Runner{}
	for name, s := range tb.Setups {
		r, err := verdict.NewRunner(rbacPolicy())
		if err != nil {
			t.Fatal(err)
		}
		if out := string(r.Configure(configureInput(t, s.Settings, s.Files))); out != `{"ok":true}` {
			t.Fatalf("setup %s: %s", name, out)
		}
		runners[name] = r
	}
	covered := map[int]bool{}
	for _, c := range tb.Cases {
		t.Run(c.Name, func(t *testing.T) {
			r := runners[c.Setup]
			if r == nil {
				t.Fatalf("no setup %q", c.Setup)
			}
			out := r.Evaluate(c.request(t))
			var got struct {
				Items []struct {
					Result, Reason, PluginID, ResourceType string
					Conditions                             json.RawMessage
				}
			}
			if err := json.Unmarshal(out, &got); err != nil || len(got.Items) != 1 {
				t.Fatalf("bad answer %s", out)
			}
			a := got.Items[0]
			if a.Result != c.Result || !strings.Contains(a.Reason, c.Reason) || a.PluginID != c.PluginID {
				t.Fatalf("got %s\nwant result %s, pluginId %q, reason containing %q", out, c.Result, c.PluginID, c.Reason)
			}
			if c.Conditions != nil && !jsonEqual(t, a.Conditions, c.Conditions) {
				t.Fatalf("conditions\ngot  %s\nwant %s", a.Conditions, c.Conditions)
			}
			if a.Result == "CONDITIONAL" && a.ResourceType != c.RT {
				t.Fatalf("resourceType %q, want %q", a.ResourceType, c.RT)
			}
		})
		for _, n := range c.Rules {
			covered[n] = true
		}
	}
	for _, c := range tb.Refusals {
		t.Run("refuses/"+c.Name, func(t *testing.T) {
			r, _ := verdict.NewRunner(rbacPolicy())
			out := r.Configure(configureInput(t, c.Settings, c.Files))
			var env struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal(out, &env); err != nil || env.Error.Code != "invalid_settings" ||
				!strings.Contains(env.Error.Message, c.Error) {
				t.Fatalf("got %s\nwant an invalid_settings error containing %q", out, c.Error)
			}
		})
		for _, n := range c.Rules {
			covered[n] = true
		}
	}
	for n := 1; n <= 13; n++ { // rule 14 is TestFailureIsAnError
		if !covered[n] {
			t.Errorf("no case exercises rule %d", n)
		}
	}
	if len(tb.Cases) < 60 {
		t.Errorf("%d cases, want at least 60", len(tb.Cases))
	}
}

func jsonEqual(t *testing.T, a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

// Rule 14: a failure inside the policy is an error envelope, which the host
// turns into DENY for the whole batch. Evaluating before a successful
// configure is such a failure.
func TestFailureIsAnError(t *testing.T) {
	r, _ := verdict.NewRunner(rbacPolicy())
	out := string(r.Evaluate([]byte(`{"abi":1,"principal":{"type":"user","userEntityRef":"user:default/a","ownershipEntityRefs":[]},` +
		`"items":[{"id":"0","permission":{"type":"basic","name":"x","attributes":{}}}]}`)))
	if !strings.Contains(out, `"code":"panic"`) {
		t.Fatalf("got %s, want a panic envelope", out)
	}
}
