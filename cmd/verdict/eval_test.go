package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// fixtureDir copies host fixtures into a new policy directory as NAME.wasm
// ("NAME=FIXTURE" arguments).
func fixtureDir(t *testing.T, specs ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, s := range specs {
		name, fixture, _ := strings.Cut(s, "=")
		b, err := os.ReadFile(filepath.Join("..", "..", "host", "testdata", "fixtures", fixture+".wasm"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name+".wasm"), b, 0o644))
	}
	return dir
}

func runWithStdin(stdin string, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	env := []string{"VERDICT_POLICIES__CACHEDIR=" + filepath.Join(os.TempDir(), "verdict-test-cache")}
	code := evalCommand(context.Background(), args, strings.NewReader(stdin), &out, &errOut, env)
	return code, out.String(), errOut.String()
}

const evalRequest = `{"items":[{"id":"a","permission":{"type":"basic","name":"catalog.entity.create","attributes":{}}}]}`

func TestEval(t *testing.T) {
	dir := fixtureDir(t, "10-allow=allow-one", "20-deny=deny-one", "30-abstain=abstain-one")
	code, out, stderr := runWithStdin(evalRequest, "--explain", "--principal", "user:default/alice,group:default/team-a", dir)
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, out, "a  catalog.entity.create: DENY  (20-deny: wat says no)")
	require.Contains(t, out, "10-allow    ALLOW        wat says yes")
	require.Contains(t, out, "20-deny     DENY         wat says no")
	require.Contains(t, out, "30-abstain  ABSTAIN      wat abstains")

	code, out, _ = runWithStdin(evalRequest, "--output", "json", "--policies", "ignored", filepath.Join(dir, "10-allow.wasm"))
	require.Equal(t, exitOK, code)
	require.Contains(t, out, `"result": "ALLOW"`)
	require.Contains(t, out, `"module": "10-allow"`)

	request := filepath.Join(t.TempDir(), "req.json")
	require.NoError(t, os.WriteFile(request, []byte(`{"principal":{"type":"service","subject":"ci"},`+evalRequest[1:]), 0o644))
	code, out, _ = runWithStdin("", "--output", "json", dir, request)
	require.Equal(t, exitOK, code)
	require.Contains(t, out, `"subject": "ci"`, "the request's principal is used")
}

func TestEvalErrors(t *testing.T) {
	dir := fixtureDir(t, "m=allow-one")
	tests := []struct {
		name  string
		stdin string
		args  []string
		code  int
		msg   string
	}{
		{"not JSON", "nope", []string{dir}, exitUsage, "standard input: request:"},
		{"no items", `{}`, []string{dir}, exitUsage, `no "items"`},
		{"bad action", `{"items":[{"id":"a","permission":{"type":"basic","name":"x","attributes":{"action":"use"}}}]}`, []string{dir}, exitUsage, `action "use"`},
		{"empty resourceRef list", `{"items":[{"id":"a","permission":{"type":"resource","name":"x","attributes":{},"resourceType":"t"},"resourceRef":[]}]}`, []string{dir}, exitUsage, "non-empty list"},
		{"bad principal", evalRequest, []string{"--principal", "bob", dir}, exitUsage, `principal "bob"`},
		{"missing policies", evalRequest, []string{filepath.Join(dir, "nope")}, exitRuntime, "no such file"},
		{"module that does not load", evalRequest, []string{fixtureDir(t, "b=bad-import")}, exitRuntime, `module b:`},
		{"no arguments", evalRequest, nil, exitUsage, "Usage: verdict eval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runWithStdin(tt.stdin, tt.args...)
			require.Equal(t, tt.code, code)
			require.Contains(t, stderr, tt.msg)
		})
	}
}

func TestPolicyTests(t *testing.T) {
	dir := fixtureDir(t, "a=allow-one")
	write := func(body string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "a.test.yaml"), []byte(body), 0o644))
	}
	write(`tests:
  - name: allowed
    principal: user:default/alice
    items:
      - permission: {type: basic, name: catalog.entity.create}
        want: ALLOW
        reason: "a: wat says yes"
`)
	code, out, _ := runCmd("test", dir)
	require.Equal(t, exitOK, code, out)
	require.Contains(t, out, "1 passed, 0 failed")

	write(`tests:
  - name: passes
    items:
      - permission: {type: basic, name: x}
        want: ALLOW
  - name: wrong result
    items:
      - permission: {type: basic, name: x}
        want: DENY
  - name: wrong reason
    items:
      - permission: {type: basic, name: x}
        want: ALLOW
        reason: "something else"
`)
	code, out, _ = runCmd("test", dir)
	require.Equal(t, exitRuntime, code)
	require.Contains(t, out, "FAIL "+filepath.Join(dir, "a.test.yaml")+": wrong result\n    items[0] x: got ALLOW, want DENY")
	require.Contains(t, out, "FAIL "+filepath.Join(dir, "a.test.yaml")+": wrong reason\n    items[0] x: reason\n      got:  \"a: wat says yes\"\n      want: \"something else\"")
	require.Contains(t, out, "1 passed, 2 failed")

	write("tests:\n  - name: x\n    itemz: []\n")
	code, out, _ = runCmd("test", dir)
	require.Equal(t, exitRuntime, code)
	require.Contains(t, out, "field itemz not found")

	code, _, stderr := runCmd("test", t.TempDir())
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "no *.test.yaml files")
}

func TestCompletion(t *testing.T) {
	code, out, _ := runCmd("completion", "bash")
	require.Equal(t, exitOK, code)
	for _, want := range []string{"serve eval test inspect seal version help completion", "--explain", "--principal", "--policies", "--dev", "complete -o filenames -F _verdict verdict"} {
		require.Contains(t, out, want)
	}
	code, out, _ = runCmd("completion", "zsh")
	require.Equal(t, exitOK, code)
	require.Contains(t, out, "#compdef verdict")
	code, _, _ = runCmd("completion", "fish")
	require.Equal(t, exitUsage, code)
}
