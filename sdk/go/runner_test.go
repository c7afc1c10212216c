package verdict

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func item(id, typ, name, rt string) string {
	s := `{"id":"` + id + `","permission":{"type":"` + typ + `","name":"` + name + `","attributes":{}`
	if rt != "" {
		s += `,"resourceType":"` + rt + `"`
	}
	return s + "}}"
}

func requestJSON(items ...string) []byte {
	return []byte(`{"abi":1,"principal":{"type":"user","userEntityRef":"user:default/j","ownershipEntityRefs":["user:default/j"]},"items":[` +
		strings.Join(items, ",") + "]}")
}

func mustRunner(t *testing.T, p Policy) *Runner {
	t.Helper()
	if p.Name == "" {
		p.Name = "test"
	}
	if p.Version == "" {
		p.Version = "1"
	}
	r, err := NewRunner(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type envelope struct {
	Items []struct {
		ID, Result, PluginID, ResourceType, Reason string
		Conditions                                 json.RawMessage
	}
	Error *struct{ Code, Message string }
}

func decodeOut(t *testing.T, out []byte) envelope {
	t.Helper()
	var e envelope
	if err := json.Unmarshal(out, &e); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	return e
}

func TestNewRunnerRefusesIncompletePolicies(t *testing.T) {
	decide := func(*Principal, *Item) Decision { return Abstained() }
	batch := func(*Principal, []Item, []Decision) {}
	cases := []struct {
		name string
		p    Policy
		want string
	}{
		{"no name", Policy{Version: "1", Decide: decide}, "Name is required"},
		{"no version", Policy{Name: "n", Decide: decide}, "Version is required"},
		{"no decide", Policy{Name: "n", Version: "1"}, "exactly one of Decide and DecideBatch"},
		{"both", Policy{Name: "n", Version: "1", Decide: decide, DecideBatch: batch}, "exactly one"},
		{"empty claim", Policy{Name: "n", Version: "1", Decide: decide, Claims: []string{""}}, "empty claim"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewRunner(tc.p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestPanicBecomesErrorEnvelope(t *testing.T) {
	cases := []struct {
		name   string
		decide func(*Principal, *Item) Decision
		want   string
	}{
		{"string", func(*Principal, *Item) Decision { panic("boom") }, "boom"},
		{"error", func(*Principal, *Item) Decision { panic(errors.New("bad")) }, "bad"},
		{"runtime", func(p *Principal, _ *Item) Decision { return Allowed(p.OwnershipEntityRefs[5]) }, "index out of range"},
		{"nil map", func(*Principal, *Item) Decision { var m map[string]int; m["x"] = 1; return Decision{} }, "nil map"},
		{"other", func(*Principal, *Item) Decision { panic(42) }, "non-error value"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRunner(t, Policy{Decide: tc.decide})
			e := decodeOut(t, r.Evaluate(requestJSON(item("0", "basic", "a", ""))))
			if e.Error == nil || e.Error.Code != CodePanic || !strings.Contains(e.Error.Message, tc.want) || e.Items != nil {
				t.Fatalf("got %+v, want a panic envelope mentioning %q", e, tc.want)
			}
			// The runner keeps working after a recovered panic.
			if e := decodeOut(t, r.Evaluate([]byte(`{"items":[]}`))); e.Error != nil {
				t.Fatalf("after panic: %+v", e.Error)
			}
		})
	}
}

func TestInvalidDecisionsBecomeDeny(t *testing.T) {
	leaf := Condition("R", "rt")
	cases := []struct {
		name string
		d    Decision
		item string
		want string // substring of the reason, "" for a valid answer
	}{
		{"zero", Decision{}, item("0", "basic", "a", ""), `result ""`},
		{"lowercase", Decision{Result: "allow"}, item("0", "basic", "a", ""), `result "allow"`},
		{"allow with conditions", Decision{Result: Allow, Conditions: leaf}, item("0", "resource", "a", "rt"), "ALLOW with pluginId"},
		{"conditional on basic", Conditionally("p", leaf), item("0", "basic", "a", ""), "CONDITIONAL for basic permission"},
		{"no plugin", Conditionally("", leaf), item("0", "resource", "a", "rt"), "without pluginId"},
		{"wrong resource type", Decision{Result: Conditional, PluginID: "p", ResourceType: "x", Conditions: leaf}, item("0", "resource", "a", "rt"), `resourceType "x"`},
		{"leaf resource type", Conditionally("p", Condition("R", "other")), item("0", "resource", "a", "rt"), `has resourceType "other"`},
		{"no conditions", Conditionally("p", Criteria{}), item("0", "resource", "a", "rt"), "missing criteria"},
		{"empty allOf", Conditionally("p", AllOf()), item("0", "resource", "a", "rt"), "at least one"},
		{"no rule", Conditionally("p", Condition("", "rt")), item("0", "resource", "a", "rt"), "needs a rule"},
		{"repeated param", Conditionally("p", Condition("R", "rt", Param("a", Null()), Param("a", Null()))), item("0", "resource", "a", "rt"), "repeats parameter"},
		{"valid", Conditionally("p", AnyOf(leaf, Not(leaf))), item("0", "resource", "a", "rt"), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRunner(t, Policy{Decide: func(*Principal, *Item) Decision { return tc.d }})
			e := decodeOut(t, r.Evaluate(requestJSON(tc.item)))
			if len(e.Items) != 1 {
				t.Fatalf("got %+v", e)
			}
			a := e.Items[0]
			if tc.want == "" {
				if a.Result != "CONDITIONAL" || a.ResourceType != "rt" || a.PluginID != "p" {
					t.Fatalf("got %+v, want a valid CONDITIONAL with the permission's resourceType", a)
				}
				return
			}
			if a.Result != "DENY" || !strings.Contains(a.Reason, tc.want) || a.Conditions != nil {
				t.Fatalf("got %+v, want DENY with a reason containing %q", a, tc.want)
			}
		})
	}
}

func TestCriteriaLimits(t *testing.T) {
	deep := Condition("R", "rt")
	for range MaxCriteriaDepth - 1 {
		deep = Not(deep)
	}
	if err := deep.Validate("rt"); err != nil {
		t.Fatalf("%d levels: %v", MaxCriteriaDepth, err)
	}
	if err := Not(deep).Validate("rt"); err == nil {
		t.Fatal("too deep: no error")
	}
	wide := make([]Criteria, MaxCriteriaNodes)
	for i := range wide {
		wide[i] = Condition("R", "rt")
	}
	if err := AnyOf(wide...).Validate(""); err == nil || !errors.Is(err, errCriteria) {
		t.Fatalf("too many nodes: %v", err)
	}
}

func TestDecideBatch(t *testing.T) {
	r := mustRunner(t, Policy{DecideBatch: func(p *Principal, items []Item, out []Decision) {
		for i := range items {
			if i%2 == 0 {
				out[i] = Allowed(items[i].Permission.Name)
			} // odd ones are left zero: DENY
		}
	}})
	e := decodeOut(t, r.Evaluate(requestJSON(item("a", "basic", "x", ""), item("b", "basic", "y", ""), item("c", "basic", "z", ""))))
	got := []string{}
	for _, a := range e.Items {
		got = append(got, a.ID+"="+a.Result)
	}
	if want := []string{"a=ALLOW", "b=DENY", "c=ALLOW"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestConfigure(t *testing.T) {
	var seen *Settings
	withConfigure := Policy{
		Decide: func(*Principal, *Item) Decision { return Abstained() },
		Configure: func(s *Settings) error {
			seen = s
			if v, _ := s.Value.Get("fail"); v.Kind() == KindBool {
				return errors.New("told to fail")
			}
			return nil
		},
	}
	cases := []struct {
		name, policy, input, want string
		check                     func(t *testing.T)
	}{
		{name: "null settings", policy: "configure", input: `{"settings":null,"files":{}}`, want: `{"ok":true}`,
			check: func(t *testing.T) {
				if seen.Raw != nil || !seen.Value.IsNull() || seen.Files == nil {
					t.Fatalf("got %+v", seen)
				}
			}},
		{name: "settings and files", policy: "configure",
			input: `{"files":{"a.csv":"x,y\n","b":null},"extra":[{}],"settings": {"k":[1,"\u00e9"],"n":1.50} }`, want: `{"ok":true}`,
			check: func(t *testing.T) {
				if string(seen.Raw) != `{"k":[1,"\u00e9"],"n":1.50}` {
					t.Fatalf("raw %q", seen.Raw)
				}
				k, _ := seen.Value.Get("k")
				s, _ := k.Elems()[1].AsString()
				n, _ := seen.Value.Get("n")
				lit, _ := n.Number()
				if s != "é" || lit != "1.50" || !reflect.DeepEqual(seen.Files, map[string]string{"a.csv": "x,y\n", "b": ""}) {
					t.Fatalf("got %q %q %v", s, lit, seen.Files)
				}
			}},
		{name: "refused", policy: "configure", input: `{"settings":{"fail":true}}`,
			want: `{"error":{"code":"invalid_settings","message":"told to fail"}}`},
		{name: "bad input", policy: "configure", input: `{"settings":}`,
			want: `{"error":{"code":"bad_input","message":"configure input: invalid JSON at offset 12: unexpected character '}'"}}`},
		{name: "no configure, no settings", policy: "plain", input: `{"settings":null,"files":{}}`, want: `{"ok":true}`},
		{name: "no configure, settings", policy: "plain", input: `{"settings":{},"files":{}}`,
			want: `{"error":{"code":"invalid_settings","message":"policy \"test\" takes no settings or files"}}`},
		{name: "no configure, files", policy: "plain", input: `{"settings":null,"files":{"a":""}}`,
			want: `{"error":{"code":"invalid_settings","message":"policy \"test\" takes no settings or files"}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := withConfigure
			if tc.policy == "plain" {
				p.Configure = nil
			}
			r := mustRunner(t, p)
			if got := string(r.Configure([]byte(tc.input))); got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
			if tc.check != nil {
				tc.check(t)
			}
		})
	}
}

func TestDescribeClaimsFunc(t *testing.T) {
	claims := []string{"a.*"}
	r := mustRunner(t, Policy{
		Decide:     func(*Principal, *Item) Decision { return Abstained() },
		ClaimsFunc: func() []string { return claims },
	})
	want := `{"abi":"1.0","name":"test","version":"1","sdk":"go/` + SDKVersion + `","claims":["a.*"]}`
	if got := string(r.Describe()); got != want {
		t.Fatalf("got %s", got)
	}
	claims = []string{""}
	if got := r.Describe(); got != nil {
		t.Fatalf("empty claim: got %s, want nil (failure)", got)
	}
	claims = nil
	if got := string(r.Describe()); !strings.HasSuffix(got, `"claims":[]}`) {
		t.Fatalf("no claims: got %s", got)
	}
}

func TestRegister(t *testing.T) {
	defer func() { registerCalls, registered, registerErr = 0, nil, nil }()
	if _, err := registeredRunner(); err == nil || !strings.Contains(err.Error(), "no policy registered") {
		t.Fatalf("before Register: %v", err)
	}
	p := Policy{Name: "n", Version: "1", Decide: func(*Principal, *Item) Decision { return Abstained() }}
	Register(p)
	if r, err := registeredRunner(); err != nil || r == nil {
		t.Fatalf("after Register: %v", err)
	}
	Register(p)
	if _, err := registeredRunner(); err == nil || !strings.Contains(err.Error(), "more than once") {
		t.Fatalf("after a second Register: %v", err)
	}
}
