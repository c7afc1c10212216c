package meter

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStructureUnchanged calls every function of testdata/structure.wat with
// the same arguments before and after the rewrite: nested loops, branches to
// outer labels, br_table, typed and multi-value loops, if/else in loops,
// many locals, bulk memory, tables and SIMD all give the same results.
func TestStructureUnchanged(t *testing.T) {
	wasm := read(t, filepath.Join("testdata", "structure.wasm"))
	tests := []struct {
		fn   string
		args []uint64
	}{
		{"three", nil},
		{"nested", []uint64{0}}, {"nested", []uint64{5}}, {"nested", []uint64{40}},
		{"table", []uint64{0}}, {"table", []uint64{1}}, {"table", []uint64{2}}, {"table", []uint64{3}},
		{"collatz", []uint64{1}}, {"collatz", []uint64{27}}, {"collatz", []uint64{97}},
		{"multi", []uint64{4}}, {"multi", []uint64{11}}, {"multi", []uint64{100}},
		{"locals", []uint64{0}}, {"locals", []uint64{77}}, {"locals", []uint64{65536}},
		{"misc", []uint64{0}}, {"misc", []uint64{1}}, {"misc", []uint64{16}},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.fn, func(t *testing.T) {
			// Fresh instances: misc changes memory, tables and globals.
			plain := instantiateBare(t, newRuntime(t, false), wasm)
			metered := instantiateBare(t, newRuntime(t, false), instrument(t, wasm))
			want, wantErr := plain.mod.ExportedFunction(tt.fn).Call(ctx, tt.args...)
			metered.setFuel(1e9)
			got, err := metered.mod.ExportedFunction(tt.fn).Call(ctx, tt.args...)
			if wantErr != nil {
				require.EqualError(t, err, wantErr.Error())
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, want, got)
			t.Logf("%s%v = %v, %v", tt.fn, tt.args, got, err)
			require.Less(t, metered.remaining(), int64(1e9))
		})
	}
}

// TestFuelCounts checks what a few functions are charged.
func TestFuelCounts(t *testing.T) {
	g := instantiateBare(t, newRuntime(t, false), instrument(t, read(t, filepath.Join("testdata", "structure.wasm"))))
	ctx := context.Background()
	tests := []struct {
		name string
		fn   string
		arg  []uint64
		min  int64 // fuel used is within [min, max]
		max  int64
	}{
		{"straight line: one unit per instruction, end free", "three", nil, 3, 3},
		// 64 KiB of memory.fill is 16,384 units, on top of the instructions:
		// one unit per 4 bytes, so that a loop of bulk operations runs out of
		// fuel no later than a loop of plain instructions (at one unit per 64
		// bytes, a memory.copy loop ran 5-11 times longer on the same fuel).
		{"memory.fill pays per 4 bytes", "locals", []uint64{65536}, 16384, 16384 + 40},
		{"a loop pays per iteration", "nested", []uint64{10}, 10 * 10 * 10, 10 * 10 * 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g.setFuel(1e9)
			_, err := g.mod.ExportedFunction(tt.fn).Call(ctx, tt.arg...)
			require.NoError(t, err)
			used := 1e9 - g.remaining()
			require.GreaterOrEqual(t, used, tt.min)
			require.LessOrEqual(t, used, tt.max)
		})
	}
}

// TestBudgetBoundary checks that a budget equal to the cost succeeds, that a
// leaf function (no loop, no call) is charged but not checked, and that the
// next checked entry traps once the fuel is below zero.
func TestBudgetBoundary(t *testing.T) {
	g := instantiateBare(t, newRuntime(t, false), instrument(t, read(t, filepath.Join("testdata", "structure.wasm"))))
	ctx := context.Background()
	g.setFuel(3)
	_, err := g.mod.ExportedFunction("three").Call(ctx)
	require.NoError(t, err)
	require.Zero(t, g.remaining())
	require.False(t, Exhausted(g.remaining()))
	// "three" is a leaf: its work is bounded by its size, so it pays without
	// a trap test and may leave the fuel slightly negative.
	g.setFuel(2)
	_, err = g.mod.ExportedFunction("three").Call(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(-1), g.remaining())
	require.True(t, Exhausted(g.remaining()))
	// A function with a loop checks at its entry and traps at once.
	_, err = g.mod.ExportedFunction("nested").Call(ctx, 10)
	require.ErrorContains(t, err, "unreachable")
	require.True(t, Exhausted(g.remaining()))
}
