package meter

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/verdictpdp/verdict/internal/wasmbin"
)

// Defined functions of testdata/prepaid.wat, by index.
const (
	fnLeaf         = 0
	fnViaTable     = 2
	fnExportedLeaf = 5
	fnD0           = 7 // $d0; $dK is fnD0+K
	fnPing         = 49
	fnPong         = 50
)

// TestPrepaidCharges checks what calls cost: a prepaid callee is paid for at
// its call site at its worst-case cost, whatever path it takes; a function
// reachable through a table or exported pays for itself wherever it is
// called from.
func TestPrepaidCharges(t *testing.T) {
	g := instantiateBare(t, newRuntime(t, false), instrument(t, read(t, filepath.Join("testdata", "prepaid.wasm"))))
	ctx := context.Background()
	used := func(fn string, arg uint64) int64 {
		g.setFuel(1e9)
		_, err := g.mod.ExportedFunction(fn).Call(ctx, arg)
		require.NoError(t, err)
		return 1e9 - g.remaining()
	}
	tests := []struct {
		name     string
		fn       string
		min, max int64 // fuel used with either argument is within [min, max]
	}{
		// 2 units of its own, 9 for $leaf's longest path even on the
		// shortest (3).
		{"prepaid callee, charged at the call site", "calls_leaf", 11, 11},
		// The caller's 3 units, and $via_table's own charge (at least its
		// shortest path): the caller cannot pay for what the table holds.
		{"callee reachable through a table pays for itself", "calls_indirect", 3 + 3, 3 + 9},
		// The same function called directly still pays for itself: it is
		// not prepaid anywhere.
		{"table function called directly", "calls_via_table", 2 + 3, 2 + 9},
		{"exported function called by the host", "exported_leaf", 3, 9},
		{"exported function called directly", "calls_exported", 2 + 3, 2 + 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, arg := range []uint64{0, 5} {
				u := used(tt.fn, arg)
				require.GreaterOrEqual(t, u, tt.min, "argument %d", arg)
				require.LessOrEqual(t, u, tt.max, "argument %d", arg)
			}
		})
	}
}

// TestPrepaidBodies checks which bodies the rewrite leaves alone: prepaid
// functions (their callers pay) are copied byte for byte; functions in a
// table, exported, above the cost bound or on a call-graph cycle are
// rewritten to pay for themselves.
func TestPrepaidBodies(t *testing.T) {
	wasm := read(t, filepath.Join("testdata", "prepaid.wasm"))
	before, after := codeBodies(t, wasm), codeBodies(t, instrument(t, wasm))
	require.Len(t, after, len(before))
	tests := []struct {
		name    string
		fn      int
		prepaid bool
	}{
		{"leaf called directly", fnLeaf, true},
		{"in a table", fnViaTable, false},
		{"exported", fnExportedLeaf, false},
		{"call DAG, cost 3", fnD0, true},
		{"call DAG, cost 59", fnD0 + 3, true},
		{"call DAG, cost 123 > prepaidLimit", fnD0 + 4, false},
		{"call DAG, above a function that pays for itself", fnD0 + 5, false},
		{"cycle", fnPing, false},
		{"cycle, not exported", fnPong, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.prepaid {
				require.Equal(t, before[tt.fn], after[tt.fn])
			} else {
				require.NotEqual(t, before[tt.fn], after[tt.fn])
			}
		})
	}
}

// TestLoopFreeRunawaysStopByFuel: an exponential call graph without loops
// or cycles (2^40 calls, the lower levels prepaid) and a loop-free mutual
// recursion stop by fuel (ping's budget runs out before its stack budget).
// The deadline is only a backstop (see TestRunawaysStopByFuel).
func TestLoopFreeRunawaysStopByFuel(t *testing.T) {
	for _, tt := range []struct {
		fn   string
		fuel int64
	}{{"dag", 1e5}, {"ping", 2e4}} {
		fn := tt.fn
		t.Run(fn, func(t *testing.T) {
			g := instantiateBare(t, newRuntime(t, false), instrument(t, read(t, filepath.Join("testdata", "prepaid.wasm"))))
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			g.setFuel(tt.fuel)
			_, err := g.mod.ExportedFunction(fn).Call(ctx, 1)
			require.ErrorContains(t, err, "unreachable")
			require.True(t, Exhausted(g.remaining()), "fuel left: %d (%v)", g.remaining(), err)
			// A trap test runs at least once per prepaidLimit units and
			// entry charge (a $d4 call and the two $d3 it pays for).
			require.Greater(t, g.remaining(), int64(-2*prepaidLimit-10))
			require.NoError(t, ctx.Err(), "stopped by the backstop, not by fuel")
		})
	}
}

// codeBodies returns the function bodies of a module's code section.
func codeBodies(t *testing.T, wasm []byte) [][]byte {
	t.Helper()
	r := wasmbin.NewReader(wasm, len(wasmbin.Header))
	for !r.Done() {
		s, err := r.Section()
		require.NoError(t, err)
		if s.ID != secCode {
			continue
		}
		c := s.Contents
		n, err := c.U32()
		require.NoError(t, err)
		bodies := make([][]byte, n)
		for i := range bodies {
			size, err := c.U32()
			require.NoError(t, err)
			b, err := c.Sub(size)
			require.NoError(t, err)
			bodies[i] = b.Rest()
		}
		return bodies
	}
	t.Fatal("no code section")
	return nil
}
