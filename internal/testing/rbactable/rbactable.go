// Package rbactable reads the RBAC decision table,
// policies/rbac/testdata/cases.json, for the tests that run it through the
// host (host/rbac_test.go) and over HTTP
// (host/backstage/internal/httpapi/rbac_test.go). The table's rules are
// policies/rbac/SEMANTICS.md's; policies/rbac runs the same table against
// the guest alone with its own copy of these types, since it is a separate
// Go module that cannot import this one.
package rbactable

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Table is cases.json: the setups (settings and sidecar files of rbac.wasm)
// the cases run against, the cases, and the setups the module must refuse.
type Table struct {
	Setups   map[string]Setup `json:"setups"`
	Cases    []Case           `json:"cases"`
	Refusals []Refusal        `json:"refusals"`
}

// Setup is a policy directory for rbac.wasm: its settings (rbac.json; null
// for none) and the files of its sidecar directory rbac.d/, by name, each
// either "=TEXT" (the text itself) or a path under the testdata directory.
type Setup struct {
	Settings json.RawMessage   `json:"settings"`
	Files    map[string]string `json:"files"`
}

// Case is one decision: who asks (User with Refs, or a whole Principal),
// for which permission (Perm, RT for a resource permission, Action), in
// which setup, and what the module answers: Result, a Reason it contains,
// and for a CONDITIONAL the PluginID and Conditions.
type Case struct {
	Name string `json:"name"`
	// Rules are the numbers of the SEMANTICS.md rules the case checks.
	Rules []int  `json:"rules"`
	Setup string `json:"setup"`
	// User is the user entity ref; Refs, when not nil, its ownership refs
	// (else the user alone). Principal is used when User is empty.
	User      string          `json:"user"`
	Refs      *[]string       `json:"refs"`
	Principal json.RawMessage `json:"principal"`
	Perm      string          `json:"perm"`
	RT        string          `json:"rt"`
	Action    string          `json:"action"`
	// Result is the module's answer: ALLOW, DENY, CONDITIONAL or ABSTAIN.
	Result     string          `json:"result"`
	Reason     string          `json:"reason"`
	PluginID   string          `json:"pluginId"`
	Conditions json.RawMessage `json:"conditions"`
}

// Refusal is a setup the module refuses at load, and what the error says.
type Refusal struct {
	Name     string            `json:"name"`
	Rules    []int             `json:"rules"`
	Settings json.RawMessage   `json:"settings"`
	Files    map[string]string `json:"files"`
	Error    string            `json:"error"`
}

// Load reads testdata/cases.json, testdata being policies/rbac/testdata
// relative to the calling test.
func Load(tb testing.TB, testdata string) Table {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, "cases.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var t Table
	if err := json.Unmarshal(b, &t); err != nil {
		tb.Fatalf("%s: %v", filepath.Join(testdata, "cases.json"), err)
	}
	return t
}

// Owners are the case's ownership entity refs: Refs, or else the user
// alone.
func (c *Case) Owners() []string {
	if c.Refs != nil {
		return *c.Refs
	}
	return []string{c.User}
}

// HostResult is the result the host answers for the case: the module's,
// with ABSTAIN turned into the host's default, DENY.
func (c *Case) HostResult() string {
	if c.Result == "ABSTAIN" {
		return "DENY"
	}
	return c.Result
}

// WriteDir writes a policy directory for rbac.wasm into dir: wasm as
// rbac.wasm, settings as rbac.json (none when null or empty) and files
// (see Setup) into rbac.d/, read from testdata unless literal.
func WriteDir(tb testing.TB, dir string, wasm []byte, testdata string, settings json.RawMessage, files map[string]string) {
	tb.Helper()
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	write("rbac.wasm", wasm)
	if len(settings) > 0 && string(settings) != "null" {
		write("rbac.json", settings)
	}
	if len(files) == 0 {
		return
	}
	if err := os.Mkdir(filepath.Join(dir, "rbac.d"), 0o755); err != nil {
		tb.Fatal(err)
	}
	for name, src := range files {
		text, literal := strings.CutPrefix(src, "=")
		if !literal {
			b, err := os.ReadFile(filepath.Join(testdata, src))
			if err != nil {
				tb.Fatal(err)
			}
			text = string(b)
		}
		write(filepath.Join("rbac.d", name), []byte(text))
	}
}
