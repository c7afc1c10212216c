package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/verdictpdp/verdict/host"
)

// testUsage is `verdict test --help`, before the flags.
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

// testCommand is `verdict test`.
func testCommand(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) int {
	fs := newFlagSet("test")
	verbose := addTestFlags(fs)
	if code, done := parseFlags(fs, args, testUsage, stdout, stderr); done {
		return code
	}
	st, err := loadSettings(fs, environ)
	if err != nil {
		return configError(stderr, err)
	}
	files, err := findAllTests(fs.Args())
	if err != nil {
		fmt.Fprintf(stderr, "verdict test: %v\n", err)
		return exitUsage
	}
	r := &testRunner{cfg: st.Host, out: stdout, verbose: *verbose, hosts: map[string]*host.Host{}}
	defer r.close(ctx)
	for _, file := range files {
		if err := r.runFile(ctx, file); err != nil {
			fmt.Fprintf(stdout, "FAIL %s: %v\n", file, err)
			r.failed++
		}
	}
	fmt.Fprintf(stdout, "%d passed, %d failed\n", r.passed, r.failed)
	if r.failed > 0 {
		return exitRuntime
	}
	return exitOK
}

// addTestFlags declares test's own flag, --verbose.
func addTestFlags(fs *pflag.FlagSet) *bool {
	return fs.BoolP("verbose", "v", false, "print passing cases too")
}

// findAllTests lists the test files under each of dirs (default "."); none
// at all is an error.
func findAllTests(dirs []string) ([]string, error) {
	if len(dirs) == 0 {
		dirs = []string{"."}
	}
	var files []string
	for _, d := range dirs {
		found, err := findTests(d)
		if err != nil {
			return nil, err
		}
		files = append(files, found...)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no *.test.yaml files in %s", strings.Join(dirs, ", "))
	}
	return files, nil
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

// testRunner runs test files, printing each failing case (and with
// verbose each passing one) to out and counting them. Each policy
// directory is loaded once, into a host of its own.
type testRunner struct {
	cfg            host.Config
	out            io.Writer
	verbose        bool
	hosts          map[string]*host.Host // by policy directory
	passed, failed int
}

// close closes the hosts r opened.
func (r *testRunner) close(ctx context.Context) {
	for _, h := range r.hosts {
		_ = h.Close(ctx)
	}
}

// runFile runs one file's cases. An error means the file could not be run
// at all.
func (r *testRunner) runFile(ctx context.Context, file string) error {
	tf, err := readTestFile(file)
	if err != nil {
		return err
	}
	h, err := r.host(ctx, tf.policyDir(file))
	if err != nil {
		return err
	}
	for i, tc := range tf.Tests {
		name := tc.Name
		if name == "" {
			name = fmt.Sprintf("tests[%d]", i)
		}
		problems, err := runCase(ctx, h, tc)
		if err != nil {
			problems = []string{err.Error()}
		}
		r.report(file, name, problems)
	}
	return nil
}

// host returns the host of policy directory dir, loading it the first
// time.
func (r *testRunner) host(ctx context.Context, dir string) (*host.Host, error) {
	if h := r.hosts[dir]; h != nil {
		return h, nil
	}
	h, err := openPolicies(ctx, r.cfg, dir)
	if err != nil {
		return nil, fmt.Errorf("policies %s: %w", dir, err)
	}
	r.hosts[dir] = h
	return h, nil
}

// report counts one case and prints it: FAIL with its problems, or ok when
// verbose.
func (r *testRunner) report(file, name string, problems []string) {
	if len(problems) > 0 {
		r.failed++
		fmt.Fprintf(r.out, "FAIL %s: %s\n", file, name)
		for _, p := range problems {
			fmt.Fprintf(r.out, "    %s\n", strings.ReplaceAll(p, "\n", "\n    "))
		}
		return
	}
	r.passed++
	if r.verbose {
		fmt.Fprintf(r.out, "ok   %s: %s\n", file, name)
	}
}
