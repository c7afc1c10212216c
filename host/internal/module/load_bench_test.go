package module

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkLoadRBAC loads the RBAC guest (build/policies/rbac.wasm, 2.6 MB,
// built by make guests) with one instance, the compilation cache warm after
// the first run: what a reload of an unchanged module costs, validation
// (see prepare) included. Run: go test -run '^$' -bench BenchmarkLoadRBAC -benchtime 5x ./host/internal/module/
func BenchmarkLoadRBAC(b *testing.B) {
	wasm, err := os.ReadFile(filepath.Join("..", "..", "..", "build", "policies", "rbac.wasm"))
	if err != nil {
		b.Skip("build/policies/rbac.wasm is not built (make guests)")
	}
	opts := testOptions(b)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		m, err := Load(ctx, Source{Name: "rbac", File: "rbac.wasm", Wasm: wasm, Configure: []byte(`{"settings":{"roles":[]}}`)}, opts)
		if err != nil {
			b.Fatal(err)
		}
		_ = m.Close(ctx)
	}
}
