package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func runCmd(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	env := []string{"VERDICT_POLICIES__CACHEDIR=" + filepath.Join(os.TempDir(), "verdict-test-cache")}
	code := run(context.Background(), args, &out, &errOut, env)
	return code, out.String(), errOut.String()
}

func TestSealAndInspect(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "host", "testdata", "fixtures", "allow-one.wasm"))
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "m.wasm")
	require.NoError(t, os.WriteFile(file, src, 0o640))

	code, out, _ := runCmd("inspect", file)
	require.Equal(t, exitOK, code, out)
	require.Contains(t, out, "seal     not sealed")
	require.Contains(t, out, "loads    yes")

	code, out, stderr := runCmd("seal", file)
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, out, "sealed "+file)
	st, err := os.Stat(file)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o640), st.Mode().Perm(), "sealing keeps the file mode")

	code, out, _ = runCmd("inspect", "--output", "json", file)
	require.Equal(t, exitOK, code)
	require.Contains(t, out, `"sealed": true`)

	// Truncate the sealed file: it no longer verifies and would not load.
	sealed, err := os.ReadFile(file)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(file, sealed[:len(sealed)-1], 0o640))
	code, out, _ = runCmd("inspect", file)
	require.Equal(t, exitRuntime, code)
	require.Contains(t, out, "loads    no")

	code, _, stderr = runCmd("seal", filepath.Join(t.TempDir(), "missing.wasm"))
	require.Equal(t, exitRuntime, code)
	require.Contains(t, stderr, "missing.wasm")

	code, _, _ = runCmd("seal")
	require.Equal(t, exitUsage, code)
	code, out, _ = runCmd("inspect", "--help")
	require.Equal(t, exitOK, code)
	require.Contains(t, out, "Usage: verdict inspect")
}
