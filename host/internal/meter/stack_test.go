package meter

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi/conformance"
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

// TestStackBudgetGuests: every shipped conformance guest passes the
// conformance corpus with an eighth of StackBudget, so the budget leaves
// them a wide margin. It logs the smallest power-of-two budget each needs.
func TestStackBudgetGuests(t *testing.T) {
	cases, err := conformance.Load(conformDir)
	require.NoError(t, err)
	ctx := context.Background()
	for _, rel := range append([]string{"sdk/conformance.wasm"}, otherConformanceGuests...) {
		t.Run(rel, func(t *testing.T) {
			g := instantiate(t, newRuntime(t, false), instrument(t, read(t, guest(t, rel))))
			passes := func(budget int64) bool {
				for _, c := range cases {
					err := conformance.Check(ctx, func(ctx context.Context, input []byte) ([]byte, error) {
						g.setFuel(1 << 40)
						g.sg.Set(uint64(budget))
						return g.call(ctx, "verdict_evaluate", input)
					}, c)
					if err != nil {
						return false
					}
				}
				return true
			}
			require.True(t, passes(StackBudget/8))
			least := StackBudget / 8
			for least > 1024 && passes(least/2) {
				// A trap discards nothing here: instantiate again.
				least /= 2
			}
			t.Logf("passes with a stack budget of %d bytes (StackBudget is %d)", least, StackBudget)
		})
	}
}
