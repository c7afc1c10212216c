package module

import (
	"context"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/verdictpdp/verdict/host/internal/meter"
)

// prepare returns wasm, a module's bytes as found, metered (see package
// meter), after checking that wasm itself is a valid module: the rewrite
// must never turn an invalid module into a valid one (abi/SPEC.md, "What
// the meter guarantees").
//
// The meter reads wasm first: it refuses what is malformed, beyond core 2.0
// or over its limits (counts that would make wazero allocate gigabytes,
// functions that would take it minutes to compile) before wazero decodes
// anything. Then wazero validates the original: its interpreter compiles it
// (decoding, validating, and translating it to the interpreter's code; about
// 0.5 s and 64 MB for the 2.6 MB RBAC guest, beside some 4 s for the
// compiler's compilation of the metered module). memoryPages is the memory
// limit, as in the runtime that compiles the metered module.
func prepare(ctx context.Context, wasm []byte, memoryPages uint32) ([]byte, error) {
	metered, err := meter.Instrument(wasm)
	if err != nil {
		return nil, fmt.Errorf("not a valid WebAssembly module for this host: %w", err)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().
		WithCoreFeatures(api.CoreFeaturesV2).
		WithMemoryLimitPages(memoryPages))
	defer func() { _ = rt.Close(context.WithoutCancel(ctx)) }()
	compiled, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		return nil, fmt.Errorf("not a valid WebAssembly module: %w", err)
	}
	_ = compiled.Close(context.WithoutCancel(ctx))
	return metered, nil
}
