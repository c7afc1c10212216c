package module

import (
	"context"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host/internal/meter"
)

// TestStackBudget: a module recursing without end (small or large frames)
// loads, its items DENY with a reason naming the call stack budget, the
// trap counts toward quarantine, and each call makes the host allocate a
// bounded amount of memory (about 160 MB per call before the budget, when
// wazero's stack overflowed at its 400 MB ceiling). Legitimate recursion
// 10,000 calls deep still answers, call after call (the host resets the
// budget before each call).
func TestStackBudget(t *testing.T) {
	// Generous: the budget's estimated bytes overestimate wazero's
	// frames, the stack doubles as it grows and old copies stay until the
	// next collection; the rest is the call's own work.
	const allocBound = 8 * meter.StackBudget
	tests := []struct {
		fixture string
		want    abi.Result
	}{
		{"recurse", abi.Deny},
		{"recurse-frame", abi.Deny},
		{"recurse-deep", abi.Allow},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			opts := testOptions(t)
			opts.QuarantineFailures = 2
			m := loadFixture(t, tt.fixture, opts)
			for call := range 2 {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				answers := m.Evaluate(context.Background(), onePrincipal, guestItems(1, basicPerm))
				runtime.ReadMemStats(&after)
				alloc := after.TotalAlloc - before.TotalAlloc
				t.Logf("call %d: host allocated %d bytes", call, alloc)
				require.Less(t, alloc, uint64(allocBound))
				require.Equal(t, tt.want, answers[0].Result, answers[0].Reason)
				if tt.want == abi.Deny && call == 0 {
					require.Contains(t, answers[0].Reason, ErrStackExhausted.Error())
				}
			}
			c := m.Counters()
			q, _ := m.Quarantined()
			if tt.want == abi.Allow {
				require.Zero(t, c.Traps+c.Timeouts)
				require.False(t, q)
				return
			}
			require.Equal(t, uint64(2), c.Traps)
			require.True(t, q, "two stack budget traps quarantine the module")
		})
	}
}
