package meter

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLocalFuelStored: a function with a loop keeps the fuel in a local; the
// fuel it used must reach the global whichever way it leaves (final end,
// return, br_if or br_table to its own label), and what its callees spend
// must not be lost when it stores its local. Each case runs 10 iterations of
// at least 10 instructions (9 for br_table, which decrements first), plus 11
// units per call of "costly".
func TestLocalFuelStored(t *testing.T) {
	g := instantiateBare(t, newRuntime(t, false), instrument(t, read(t, filepath.Join("testdata", "local.wasm"))))
	ctx := context.Background()
	tests := []struct {
		fn   string
		want uint64 // the result
		min  int64  // fuel used, at least
	}{
		{"exit_br_if", 7, 10 * 10},
		{"exit_return", 7, 10 * 10},
		{"exit_br_table", 7, 9 * 10},
		{"exit_end", 7, 10 * 10},
		{"calls_in_loop", 10 * 15, 10 * (7 + 11)},
	}
	for _, tt := range tests {
		t.Run(tt.fn, func(t *testing.T) {
			g.setFuel(1e9)
			got, err := g.mod.ExportedFunction(tt.fn).Call(ctx, 10)
			require.NoError(t, err)
			require.Equal(t, []uint64{tt.want}, got)
			used := 1e9 - g.remaining()
			require.GreaterOrEqual(t, used, tt.min)
			require.Less(t, used, 2*tt.min+50)
		})
	}
}

// TestLocalFuelTraps: a function with a loop that runs out of fuel stores
// the negative count before it traps, so the host can tell.
func TestLocalFuelTraps(t *testing.T) {
	g := instantiateBare(t, newRuntime(t, false), instrument(t, read(t, filepath.Join("testdata", "local.wasm"))))
	g.setFuel(50)
	_, err := g.mod.ExportedFunction("calls_in_loop").Call(context.Background(), 1000)
	require.ErrorContains(t, err, "unreachable")
	require.True(t, Exhausted(g.remaining()), "fuel left: %d", g.remaining())
}
