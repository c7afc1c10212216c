package meter

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/abi/conformance"
)

// TestConformanceUnchanged runs every conformance case through the Go
// conformance guest with and without the rewrite: the outputs are
// byte-identical, and the rewritten guest conforms.
func TestConformanceUnchanged(t *testing.T) {
	wasm := read(t, guest(t, "sdk/conformance.wasm"))
	cases, err := conformance.Load(conformDir)
	require.NoError(t, err)
	ctx := context.Background()
	plain := instantiate(t, newRuntime(t, false), wasm)
	metered := instantiate(t, newRuntime(t, false), instrument(t, wasm))
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			want, err := plain.call(ctx, "verdict_evaluate", c.Bytes())
			require.NoError(t, err)
			metered.setFuel(1 << 40)
			got, err := metered.call(ctx, "verdict_evaluate", c.Bytes())
			require.NoError(t, err)
			require.Equal(t, string(want), string(got))
			t.Logf("fuel used: %d", 1<<40-metered.remaining())
			require.NoError(t, conformance.Check(ctx, func(ctx context.Context, input []byte) ([]byte, error) {
				metered.setFuel(1 << 40)
				return metered.call(ctx, "verdict_evaluate", input)
			}, c))
		})
	}
}

// TestRBACUnchanged runs the RBAC module with the benchmark's 50 roles on
// its 50-item batch with and without the rewrite: the answers are
// byte-identical, and the batch gets real decisions, not an error.
func TestRBACUnchanged(t *testing.T) {
	wasm := read(t, guest(t, "policies/rbac.wasm"))
	ctx := context.Background()
	configure := rbacConfigure(t)
	input := rbacRequest(50)
	want, err := instantiateConfigured(t, newRuntime(t, false), wasm, configure).call(ctx, "verdict_evaluate", input)
	require.NoError(t, err)
	metered := instantiateConfigured(t, newRuntime(t, false), instrument(t, wasm), configure)
	metered.setFuel(1 << 40)
	got, err := metered.call(ctx, "verdict_evaluate", input)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
	var res abi.Response
	require.NoError(t, json.Unmarshal(got, &res))
	require.Nil(t, res.Error)
	require.Len(t, res.Items, 50)
	results := map[abi.Result]int{}
	for _, a := range res.Items {
		results[a.Result]++
	}
	require.Positive(t, results[abi.Allow], "answers: %v", results)
	require.Positive(t, results[abi.Deny], "answers: %v", results)
	t.Logf("answers %v, fuel used: %d", results, 1<<40-metered.remaining())
}
