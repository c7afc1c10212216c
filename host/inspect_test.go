package host

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestInspect(t *testing.T) {
	fixture := func(name string) string { return filepath.Join("testdata", "fixtures", name+".wasm") }
	t.Run("loads", func(t *testing.T) {
		in := Inspect(context.Background(), testConfig(), fixture("log"))
		require.True(t, in.Loads, in.Error)
		require.Equal(t, "v1", in.ABI)
		require.Contains(t, in.Exports, "verdict_evaluate (i32, i32) -> (i64)")
		require.Contains(t, in.Exports, "memory (memory)")
		require.Equal(t, []Import{{Module: "verdict:host/v1", Name: "log", Signature: "(i32, i32, i32) -> ()", Allowed: true}}, in.Imports)
		require.Equal(t, "log", in.Description.Name)
		require.Equal(t, []string{"*"}, in.Description.Claims)
		require.False(t, in.Sealed)
		require.Len(t, in.SHA256, 64)
	})
	t.Run("refused import", func(t *testing.T) {
		in := Inspect(context.Background(), testConfig(), fixture("bad-import"))
		require.False(t, in.Loads)
		require.Contains(t, in.Error, `import "env"."abort" is not allowed`)
		require.Equal(t, []Import{{Module: "env", Name: "abort", Signature: "(i32, i32, i32, i32) -> ()", Allowed: false}}, in.Imports)
	})
	t.Run("not wasm", func(t *testing.T) {
		in := Inspect(context.Background(), testConfig(), fixture("not-wasm"))
		require.False(t, in.Loads)
		require.Contains(t, in.Error, "not a valid WebAssembly module")
	})
	t.Run("unsealed with requireSeal", func(t *testing.T) {
		cfg := testConfig()
		cfg.RequireSeal = true
		in := Inspect(context.Background(), cfg, fixture("allow-one"))
		require.False(t, in.Loads)
		require.Contains(t, in.Error, "not sealed")
	})
}
