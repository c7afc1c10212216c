package main

// The policy test file (*.test.yaml): its format, and running one case
// against a host.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host"
)

// testFile is one *.test.yaml file.
type testFile struct {
	Policies string     `yaml:"policies"`
	Tests    []testCase `yaml:"tests"`
}

// testCase is one case of a test file: who asks, and each item with the
// answer expected.
type testCase struct {
	Name      string     `yaml:"name"`
	Principal any        `yaml:"principal"`
	Items     []testItem `yaml:"items"`
}

// testItem is one item of a case: the request item and what to expect.
type testItem struct {
	ID          string         `yaml:"id"`
	Permission  map[string]any `yaml:"permission"`
	ResourceRef any            `yaml:"resourceRef"`
	Want        string         `yaml:"want"`
	Reason      *string        `yaml:"reason"`
	Conditions  any            `yaml:"conditions"`
}

// readTestFile reads a test file, refusing unknown keys and a file without
// tests.
func readTestFile(file string) (testFile, error) {
	var tf testFile
	raw, err := os.ReadFile(file)
	if err != nil {
		return tf, err
	}
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&tf); err != nil {
		return tf, err
	}
	if len(tf.Tests) == 0 {
		return tf, errors.New("no tests")
	}
	return tf, nil
}

// policyDir is the policy directory the tests of file run against: the
// file's own, or the one its "policies" key names (relative to the file).
func (tf *testFile) policyDir(file string) string {
	dir := filepath.Dir(file)
	switch {
	case filepath.IsAbs(tf.Policies):
		return tf.Policies
	case tf.Policies != "":
		return filepath.Join(dir, tf.Policies)
	}
	return dir
}

// runCase decides one case and lists what differs from its expectations.
func runCase(ctx context.Context, h *host.Host, tc testCase) ([]string, error) {
	p, err := casePrincipal(tc.Principal)
	if err != nil {
		return nil, err
	}
	if len(tc.Items) == 0 {
		return nil, errors.New("no items")
	}
	items, err := caseItems(tc.Items)
	if err != nil {
		return nil, err
	}
	results, _, err := decideItems(ctx, h, p, items)
	if err != nil {
		return nil, err
	}
	var problems []string
	k := 0
	for i, ti := range tc.Items {
		for range items[i].queries() {
			problems = append(problems, ti.problems(i, results[k])...)
			k++
		}
	}
	return problems, nil
}

// casePrincipal reads a case's principal: absent (none), the short form
// or an object.
func casePrincipal(v any) (abi.Principal, error) {
	switch v := v.(type) {
	case nil:
		return abi.Principal{Type: abi.PrincipalNone}, nil
	case string:
		return parsePrincipal(v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return abi.Principal{}, fmt.Errorf("principal: %w", err)
	}
	return parsePrincipal(string(b))
}

// caseItems turns a case's items into request items, checking each and
// its expected answer.
func caseItems(tis []testItem) ([]requestItem, error) {
	items := make([]requestItem, len(tis))
	for i, ti := range tis {
		perm, err := json.Marshal(ti.Permission)
		if err != nil {
			return nil, err
		}
		it := requestItem{ID: ti.ID}
		if err := json.Unmarshal(perm, &it.Permission); err != nil {
			return nil, fmt.Errorf("items[%d].permission: %w", i, err)
		}
		if ti.ResourceRef != nil {
			if it.ResourceRef, err = json.Marshal(ti.ResourceRef); err != nil {
				return nil, err
			}
		}
		if err := it.check(); err != nil {
			return nil, fmt.Errorf("items[%d]: %w", i, err)
		}
		if want := abi.Result(ti.Want); want != abi.Allow && want != abi.Deny && want != abi.Conditional {
			return nil, fmt.Errorf("items[%d]: want %q is not ALLOW, DENY or CONDITIONAL", i, ti.Want)
		}
		items[i] = it
	}
	return items, nil
}

// problems lists how r, one answer for items[i], differs from what ti
// expects: the result, then the reason and the conditions when given.
func (ti *testItem) problems(i int, r evalResult) []string {
	what := fmt.Sprintf("items[%d] %s", i, r.Permission)
	if r.ResourceRef != nil {
		what += " on " + *r.ResourceRef
	}
	if string(r.Result) != ti.Want {
		return []string{fmt.Sprintf("%s: got %s, want %s (reason: %s)", what, r.Result, ti.Want, r.Reason)}
	}
	var problems []string
	if ti.Reason != nil && r.Reason != *ti.Reason {
		problems = append(problems, fmt.Sprintf("%s: reason\n  got:  %q\n  want: %q", what, r.Reason, *ti.Reason))
	}
	if ti.Conditions != nil {
		got, _ := json.Marshal(r.Conditions)
		wantJSON, _ := json.Marshal(ti.Conditions)
		if !sameJSON(got, wantJSON) {
			problems = append(problems, fmt.Sprintf("%s: conditions\n  got:  %s\n  want: %s", what, got, wantJSON))
		}
	}
	return problems
}

// sameJSON compares two JSON texts by meaning.
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
