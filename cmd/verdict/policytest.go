package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host"
)

const testUsage = `Usage: verdict test [flags] [DIR...]

Runs the policy tests in DIR (default .): every *.test.yaml file, found
recursively, against the policy directory it sits in (or the one its
"policies" key names, relative to the file). Prints each failing case with
what differs, then "N passed, M failed"; exits 1 when a case fails.

  # catalog.test.yaml
  policies: .                      # optional
  tests:
    - name: alice may create entities
      principal: user:default/alice,group:default/team-a   # or none, service:NAME, or an object
      items:
        - permission: {type: basic, name: catalog.entity.create}
          want: ALLOW
          reason: "allow-list: listed in allow-list settings"   # optional, exact
        - permission: {type: resource, name: catalog.entity.read, resourceType: catalog-entity}
          resourceRef: component:default/service-a
          want: CONDITIONAL
          conditions: {rule: IS_ENTITY_OWNER, resourceType: catalog-entity,
                       params: {claims: [user:default/alice, group:default/team-a]}}  # optional

Flags:
`

// testFile is one *.test.yaml file.
type testFile struct {
	Policies string     `yaml:"policies"`
	Tests    []testCase `yaml:"tests"`
}

type testCase struct {
	Name      string     `yaml:"name"`
	Principal any        `yaml:"principal"`
	Items     []testItem `yaml:"items"`
}

type testItem struct {
	ID          string         `yaml:"id"`
	Permission  map[string]any `yaml:"permission"`
	ResourceRef any            `yaml:"resourceRef"`
	Want        string         `yaml:"want"`
	Reason      *string        `yaml:"reason"`
	Conditions  any            `yaml:"conditions"`
}

// testCommand is `verdict test`.
func testCommand(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) int {
	flags := pflag.NewFlagSet("test", pflag.ContinueOnError)
	flags.SetOutput(io.Discard)
	addConfigFlags(flags)
	verbose := flags.BoolP("verbose", "v", false, "print passing cases too")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(stdout, testUsage)
			flags.SetOutput(stdout)
			flags.PrintDefaults()
			return exitOK
		}
		fmt.Fprintf(stderr, "verdict test: %v\n", err)
		return exitUsage
	}
	st, err := loadSettings(flags, environ)
	if err != nil {
		fmt.Fprintf(stderr, "verdict: config: %v\n", err)
		return exitUsage
	}
	dirs := flags.Args()
	if len(dirs) == 0 {
		dirs = []string{"."}
	}
	var files []string
	for _, d := range dirs {
		found, err := findTests(d)
		if err != nil {
			fmt.Fprintf(stderr, "verdict test: %v\n", err)
			return exitUsage
		}
		files = append(files, found...)
	}
	if len(files) == 0 {
		fmt.Fprintf(stderr, "verdict test: no *.test.yaml files in %s\n", strings.Join(dirs, ", "))
		return exitUsage
	}
	hosts := map[string]*host.Host{}
	defer func() {
		for _, h := range hosts {
			_ = h.Close(ctx)
		}
	}()
	passed, failed := 0, 0
	for _, file := range files {
		p, f, err := runTestFile(ctx, st.Host, hosts, file, stdout, *verbose)
		passed += p
		failed += f
		if err != nil {
			fmt.Fprintf(stdout, "FAIL %s: %v\n", file, err)
			failed++
		}
	}
	fmt.Fprintf(stdout, "%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return exitRuntime
	}
	return exitOK
}

// findTests lists the *.test.yaml and *.test.yml files under dir, skipping
// hidden and sidecar (NAME.d) directories.
func findTests(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != dir && (strings.HasPrefix(d.Name(), ".") || strings.HasSuffix(d.Name(), ".d")) {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".test.yaml") || strings.HasSuffix(p, ".test.yml")) {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// runTestFile runs one file's cases and returns how many passed and failed.
// An error means the file could not be run at all.
func runTestFile(ctx context.Context, cfg host.Config, hosts map[string]*host.Host, file string, w io.Writer, verbose bool) (int, int, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return 0, 0, err
	}
	var tf testFile
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&tf); err != nil {
		return 0, 0, err
	}
	if len(tf.Tests) == 0 {
		return 0, 0, errors.New("no tests")
	}
	dir := filepath.Dir(file)
	switch {
	case filepath.IsAbs(tf.Policies):
		dir = tf.Policies
	case tf.Policies != "":
		dir = filepath.Join(dir, tf.Policies)
	}
	h := hosts[dir]
	if h == nil {
		if h, err = openPolicies(ctx, cfg, dir); err != nil {
			return 0, 0, fmt.Errorf("policies %s: %w", dir, err)
		}
		hosts[dir] = h
	}
	passed, failed := 0, 0
	for i, tc := range tf.Tests {
		name := tc.Name
		if name == "" {
			name = fmt.Sprintf("tests[%d]", i)
		}
		problems, err := runCase(ctx, h, tc)
		if err != nil {
			problems = []string{err.Error()}
		}
		if len(problems) > 0 {
			failed++
			fmt.Fprintf(w, "FAIL %s: %s\n", file, name)
			for _, p := range problems {
				fmt.Fprintf(w, "    %s\n", strings.ReplaceAll(p, "\n", "\n    "))
			}
			continue
		}
		passed++
		if verbose {
			fmt.Fprintf(w, "ok   %s: %s\n", file, name)
		}
	}
	return passed, failed, nil
}

// runCase decides one case and lists what differs from its expectations.
func runCase(ctx context.Context, h *host.Host, tc testCase) ([]string, error) {
	p := abi.Principal{Type: abi.PrincipalNone}
	switch v := tc.Principal.(type) {
	case nil:
	case string:
		var err error
		if p, err = parsePrincipal(v); err != nil {
			return nil, err
		}
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("principal: %w", err)
		}
		if p, err = parsePrincipal(string(b)); err != nil {
			return nil, err
		}
	}
	if len(tc.Items) == 0 {
		return nil, errors.New("no items")
	}
	items := make([]requestItem, len(tc.Items))
	for i, ti := range tc.Items {
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
		want := abi.Result(ti.Want)
		if want != abi.Allow && want != abi.Deny && want != abi.Conditional {
			return nil, fmt.Errorf("items[%d]: want %q is not ALLOW, DENY or CONDITIONAL", i, ti.Want)
		}
		items[i] = it
	}
	results, _, err := decideItems(ctx, h, p, items)
	if err != nil {
		return nil, err
	}
	var problems []string
	k := 0
	for i, ti := range tc.Items {
		for range items[i].queries() {
			r := results[k]
			k++
			what := fmt.Sprintf("items[%d] %s", i, r.Permission)
			if r.ResourceRef != nil {
				what += " on " + *r.ResourceRef
			}
			if string(r.Result) != ti.Want {
				problems = append(problems, fmt.Sprintf("%s: got %s, want %s (reason: %s)", what, r.Result, ti.Want, r.Reason))
				continue
			}
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
		}
	}
	return problems, nil
}

// sameJSON compares two JSON texts by meaning.
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
