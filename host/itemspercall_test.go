package host

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
)

// TestLargeBatchesAreSplitIntoCalls: a module's share of a batch larger than
// ItemsPerCall goes to the guest in several calls, each with its own fuel, so
// the largest batch the HTTP layer accepts (10,000 resourceRefs) is decided
// rather than denied for running out of one call's budget.
func TestLargeBatchesAreSplitIntoCalls(t *testing.T) {
	wasm, err := os.ReadFile(guest(t, "policies/allow-all.wasm"))
	require.NoError(t, err)
	const n = 10000
	qs := make([]Query, n)
	for i := range qs {
		ref := "component:default/c" + string(rune('a'+i%26))
		qs[i] = Query{Permission: abi.Permission{Type: abi.PermissionResource, Name: "catalog.entity.read",
			ResourceType: "catalog-entity"}, ResourceRef: &ref}
	}
	tests := []struct {
		name         string
		itemsPerCall int
		wantCalls    uint64
		want         abi.Result
	}{
		{"split into calls of 1,000", 1000, 10, abi.Allow},
		{"split unevenly", 700, 15, abi.Allow},
		// One call of 10,000 items gets fuel for its size too (README
		// "Design": budgets that scale with the input); the host splits to
		// bound how long one call runs.
		{"one call", n, 1, abi.Allow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "allow-all.wasm"), wasm, 0o644))
			cfg := testConfig()
			cfg.ItemsPerCall = tt.itemsPerCall
			cfg.InputBytesPerCall = 1 << 30 // items, not bytes, are under test
			cfg.CallTimeout = time.Minute   // fuel, not the wall clock, is under test
			h, err := New(context.Background(), cfg, nil)
			require.NoError(t, err)
			t.Cleanup(func() { _ = h.Close(context.Background()) })
			require.NoError(t, h.LoadDir(context.Background(), dir))

			ds, err := h.Decide(context.Background(), abi.Principal{Type: abi.PrincipalNone}, qs)
			require.NoError(t, err)
			require.Len(t, ds.Items, n)
			for i, d := range ds.Items {
				require.Equal(t, tt.want, d.Result, "item %d: %s", i, d.Reason)
			}
			c := status(t, h, "allow-all").Counters
			require.Equal(t, tt.wantCalls, c.Calls)
			require.Equal(t, uint64(n), c.Items)
			if tt.want == abi.Deny {
				require.Contains(t, ds.Items[0].Reason, "fuel")
			}
		})
	}
}

func TestItemsPerCallMustBePositive(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ItemsPerCall = 0
	require.ErrorContains(t, cfg.Validate(), "itemsPerCall: must be positive, got 0")
}
