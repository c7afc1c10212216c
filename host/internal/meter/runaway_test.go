package meter

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRunawaysStopByFuel runs each hostile fixture instrumented, without
// close-on-done, and asserts that fuel stopped it: the call fails and the
// fuel global is negative. The context's deadline is only a backstop: with
// close-on-done off wazero does not look at it, so a test that relied on it
// would hang, not pass.
func TestRunawaysStopByFuel(t *testing.T) {
	tests := []struct {
		fixture string
		budget  int64
	}{
		{"loop", 1e8},
		{"fib", 1e8},
		// recurse: each call costs 4 units and 208 bytes of the stack
		// budget, which runs out after 20,000 frames, so a budget of
		// 5e4 (12,500 calls) runs out first.
		{"recurse", 5e4},
		// grow-bomb: each page costs 1024 units plus the loop's own; the
		// 32 MiB limit is 508 pages away, about 525,000 units.
		{"grow-bomb", 1e5},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			rt := newRuntime(t, false)
			g := instantiate(t, rt, instrument(t, read(t, filepath.Join(fixtureDir, tt.fixture+".wasm"))))
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			g.setFuel(tt.budget)
			_, err := g.call(ctx, "verdict_evaluate", []byte(`{}`))
			require.Error(t, err)
			require.ErrorContains(t, err, "unreachable")
			require.True(t, Exhausted(g.remaining()), "fuel left: %d (%v)", g.remaining(), err)
			require.NoError(t, ctx.Err(), "stopped by the backstop, not by fuel")
		})
	}
}

// TestRunawayBudgetOrder shows which limit stops recurse and grow-bomb when
// the fuel is large: the stack budget (recurse) or the memory limit
// (grow-bomb) traps first, with fuel left, and Exhausted and
// StackExhausted tell them apart.
func TestRunawayBudgetOrder(t *testing.T) {
	for _, tt := range []struct {
		fixture string
		stack   bool // stopped by the stack budget
	}{{"recurse", true}, {"grow-bomb", false}} {
		t.Run(tt.fixture, func(t *testing.T) {
			rt := newRuntime(t, false)
			g := instantiate(t, rt, instrument(t, read(t, filepath.Join(fixtureDir, tt.fixture+".wasm"))))
			g.setFuel(1e12)
			_, err := g.call(context.Background(), "verdict_evaluate", []byte(`{}`))
			require.Error(t, err)
			require.False(t, Exhausted(g.remaining()), "fuel left: %d (%v)", g.remaining(), err)
			require.Equal(t, tt.stack, StackExhausted(g.stackLeft()), "stack budget left: %d (%v)", g.stackLeft(), err)
			t.Logf("stopped by %v with %d fuel and %d stack budget left", err, g.remaining(), g.stackLeft())
		})
	}
}

// TestAnswersUnchanged calls fixed-answer fixtures with and without the
// rewrite and compares the outputs byte for byte.
func TestAnswersUnchanged(t *testing.T) {
	input := []byte(`{"abi":1,"principal":{"type":"none"},"items":[{"id":"0","permission":{"type":"basic","name":"x","attributes":{}}}]}`)
	for _, fixture := range []string{"allow-one", "deny-one", "abstain-one", "echo", "configure-ok", "log", "stdout-spam", "cond-everything"} {
		t.Run(fixture, func(t *testing.T) {
			wasm := read(t, filepath.Join(fixtureDir, fixture+".wasm"))
			want, err := instantiate(t, newRuntime(t, false), wasm).call(context.Background(), "verdict_evaluate", input)
			require.NoError(t, err)
			g := instantiate(t, newRuntime(t, false), instrument(t, wasm))
			g.setFuel(1e9)
			got, err := g.call(context.Background(), "verdict_evaluate", input)
			require.NoError(t, err)
			require.Equal(t, string(want), string(got))
			require.Less(t, g.remaining(), int64(1e9), "no fuel was used")
			require.Positive(t, g.remaining())
		})
	}
}
