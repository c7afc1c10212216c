package meter

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStackBudget: unbounded recursion, with small or large frames, traps
// when the call stack budget runs out, with fuel left, and makes the host
// allocate a bounded amount of memory (wazero's stack grows by doubling up
// to 400 MB otherwise: recurse allocated about 160 MB per call before the
// budget); legitimate recursion 10,000 calls deep still answers.
func TestStackBudget(t *testing.T) {
	// allocBound is generous: the budget is StackBudget estimated bytes,
	// which overestimate wazero's frames; the stack doubles as it grows
	// and the old copies stay allocated until the next collection.
	const allocBound = 8 * StackBudget
	tests := []struct {
		fixture string
		want    string // the answer; "" for a trap of the stack budget
	}{
		{"recurse", ""},
		{"recurse-frame", ""},
		{"recurse-deep", `{"items":[{"id":"0","result":"ALLOW","reason":"wat says yes"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			g := instantiate(t, newRuntime(t, false), instrument(t, read(t, filepath.Join(fixtureDir, tt.fixture+".wasm"))))
			g.setFuel(1e12)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			out, err := g.call(context.Background(), "verdict_evaluate", []byte(`{}`))
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("host allocated %d bytes during the call; stack budget left %d", alloc, g.stackLeft())
			require.Less(t, alloc, uint64(allocBound))
			require.False(t, Exhausted(g.remaining()), "fuel left: %d", g.remaining())
			if tt.want != "" {
				require.NoError(t, err)
				require.Equal(t, tt.want, string(out))
				require.False(t, StackExhausted(g.stackLeft()))
				return
			}
			require.ErrorContains(t, err, "unreachable")
			require.True(t, StackExhausted(g.stackLeft()), "stack budget left: %d (%v)", g.stackLeft(), err)
		})
	}
}
