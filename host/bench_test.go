package host

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
)

// BenchmarkDecide measures the host call path (route, encode, one guest call,
// copy out, decode, validate, combine) per batch, and reports ns per decision.
// Run with `make bench`.
func BenchmarkDecide(b *testing.B) {
	// perm is the permission every item asks for; catalog.entity.read when
	// empty. The conformance modules claim only conf.*.
	modules := []struct{ name, path, perm string }{
		{"wat-allow-one", "testdata/fixtures/allow-one.wasm", ""},
		{"allow-all", filepath.Join(buildDir, "policies/allow-all.wasm"), ""},
		{"catalog-owner", filepath.Join(buildDir, "examples/catalog-owner.wasm"), ""},
		{"c-catalog-owner", filepath.Join(buildDir, "examples/c/catalog-owner.wasm"), ""},
		{"as-catalog-owner", filepath.Join(buildDir, "examples/assemblyscript/catalog-owner.wasm"), ""},
		{"rust-catalog-owner", filepath.Join(buildDir, "examples/rust/catalog-owner.wasm"), ""},
		{"c-conformance-owner", filepath.Join(buildDir, "sdk/c/conformance.wasm"), "conf.cond.owner"},
		{"wat-conformance-owner", filepath.Join(buildDir, "abi/byol/conformance.wasm"), "conf.cond.owner"},
	}
	ref := "component:default/service-a"
	for _, mod := range modules {
		if _, err := os.Stat(mod.path); err != nil {
			b.Logf("skipping %s: %v (run make guests)", mod.name, err)
			continue
		}
		dir := b.TempDir()
		wasm, err := os.ReadFile(mod.path)
		require.NoError(b, err)
		require.NoError(b, os.WriteFile(filepath.Join(dir, mod.name+".wasm"), wasm, 0o644))
		cfg := testConfig()
		cfg.CallTimeout = 10 * time.Second // measure the cost, do not cut it short
		h, err := New(context.Background(), cfg, nil)
		require.NoError(b, err)
		require.NoError(b, h.LoadDir(context.Background(), dir))
		sizes := []int{1, 50, 1000}
		if mod.name == "wat-allow-one" {
			sizes = []int{1} // it answers one item only
		}
		perm := mod.perm
		if perm == "" {
			perm = "catalog.entity.read"
		}
		for _, n := range sizes {
			qs := make([]Query, n)
			for i := range qs {
				qs[i] = resource(perm, "catalog-entity", &ref)
			}
			b.Run(fmt.Sprintf("%s/batch=%d", mod.name, n), func(b *testing.B) {
				// Warm the instance: a cold Go guest grows its memory first.
				_, err := h.Decide(context.Background(), user, qs)
				require.NoError(b, err)
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					d, err := h.Decide(context.Background(), user, qs)
					if err != nil || d.Items[0].Result == abi.Deny && mod.name != "wat-allow-one" {
						b.Fatalf("unexpected answer: %v %+v", err, d.Items[0])
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/decision")
			})
		}
		_ = h.Close(context.Background())
	}
}
