package main

import (
	"encoding/json"
	"strings"
	"testing"

	verdict "github.com/verdictpdp/verdict/sdk/go"
)

func configured(t *testing.T, settings string) *verdict.Runner {
	t.Helper()
	r, err := verdict.NewRunner(policy())
	if err != nil {
		t.Fatal(err)
	}
	if got := string(r.Configure([]byte(`{"settings":` + settings + `,"files":{}}`))); got != `{"ok":true}` {
		t.Fatalf("configure: %s", got)
	}
	return r
}

func TestConfigureRefusesBadSettings(t *testing.T) {
	cases := []struct{ name, settings, want string }{
		{"no settings file", `null`, "needs a settings file"},
		{"not an object", `["a"]`, `settings must look like`},
		{"no allow", `{}`, `"allow" must be a list`},
		{"allow not a list", `{"allow":"catalog.entity.read"}`, `"allow" must be a list`},
		{"empty allow", `{"allow":[]}`, `"allow" is empty`},
		{"non-string entry", `{"allow":["a",3]}`, "allow[1] is not a string"},
		{"empty entry", `{"allow":[""]}`, "allow[0] is empty"},
		{"inner star", `{"allow":["a.*.b"]}`, "only a single trailing *"},
		{"typo", `{"alow":["a"]}`, `unknown setting "alow"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := verdict.NewRunner(policy())
			if err != nil {
				t.Fatal(err)
			}
			got := r.Configure([]byte(`{"settings":` + tc.settings + `,"files":{}}`))
			var env struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal(got, &env); err != nil || env.Error.Code != "invalid_settings" ||
				!strings.Contains(env.Error.Message, tc.want) {
				t.Errorf("got %s, want an invalid_settings error containing %q", got, tc.want)
			}
		})
	}
}

func TestClaimsFollowSettings(t *testing.T) {
	r := configured(t, `{"allow":["catalog.entity.create","scaffolder.*"]}`)
	want := `{"abi":"1.0","name":"allow-list","version":"1.0.0","sdk":"go/` + verdict.SDKVersion +
		`","claims":["catalog.entity.create","scaffolder.*"]}`
	if got := string(r.Describe()); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestDecide(t *testing.T) {
	r := configured(t, `{"allow":["catalog.entity.create","scaffolder.*"]}`)
	item := func(id, name string) string {
		return `{"id":"` + id + `","permission":{"type":"basic","name":"` + name + `","attributes":{}}}`
	}
	in := `{"abi":1,"principal":{"type":"none"},"items":[` +
		item("0", "catalog.entity.create") + "," + item("1", "catalog.entity.created") + "," +
		item("2", "scaffolder.task.read") + "," + item("3", "scaffolder") + "]}"
	want := `{"items":[{"id":"0","result":"ALLOW","reason":"listed in allow-list settings"},` +
		`{"id":"1","result":"ABSTAIN"},` +
		`{"id":"2","result":"ALLOW","reason":"listed in allow-list settings"},` +
		`{"id":"3","result":"ABSTAIN"}]}`
	if got := string(r.Evaluate([]byte(in))); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
