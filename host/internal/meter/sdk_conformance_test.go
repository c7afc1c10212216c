package meter

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi/conformance"
)

// otherConformanceGuests are the conformance modules of the languages other
// than Go (whose module TestConformanceUnchanged covers), the hand-written
// WAT one of abi/SPEC.md §18 included.
var otherConformanceGuests = []string{
	"sdk/c/conformance.wasm",
	"sdk/c/conformance-freestanding.wasm",
	"sdk/assemblyscript/conformance.wasm",
	"sdk/rust/conformance.wasm",
	"abi/byol/conformance.wasm",
}

// TestSDKConformanceUnchanged is TestConformanceUnchanged for the other
// languages' conformance modules, the hand-written WAT one of abi/SPEC.md
// §18 included: on every corpus case the rewritten module's output is
// byte-identical to the original's, and it conforms.
func TestSDKConformanceUnchanged(t *testing.T) {
	cases, err := conformance.Load(conformDir)
	require.NoError(t, err)
	ctx := context.Background()
	for _, rel := range otherConformanceGuests {
		t.Run(rel, func(t *testing.T) {
			wasm := read(t, guest(t, rel))
			plain := instantiate(t, newRuntime(t, false), wasm)
			metered := instantiate(t, newRuntime(t, false), instrument(t, wasm))
			eval := func(ctx context.Context, input []byte) ([]byte, error) {
				metered.setFuel(1 << 40)
				return metered.call(ctx, "verdict_evaluate", input)
			}
			for _, c := range cases {
				want, err := plain.call(ctx, "verdict_evaluate", c.Bytes())
				require.NoError(t, err, c.Name)
				got, err := eval(ctx, c.Bytes())
				require.NoError(t, err, c.Name)
				require.Equal(t, string(want), string(got), c.Name)
				t.Logf("%s: fuel used: %d", c.Name, 1<<40-metered.remaining())
				require.NoError(t, conformance.Check(ctx, eval, c))
			}
		})
	}
}
