package meter

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

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
