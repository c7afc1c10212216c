package module

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"

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
//
// A module found valid is remembered by its SHA-256 and memory limit, so
// reloading an unchanged module (a SIGHUP, a change to another file)
// validates it once: with the compilation cache warm, validation would
// otherwise make each reload of the RBAC guest 3 times slower.
func prepare(ctx context.Context, wasm []byte, memoryPages uint32) ([]byte, error) {
	metered, err := meter.Instrument(wasm)
	if err != nil {
		return nil, fmt.Errorf("not a valid WebAssembly module for this host: %w", err)
	}
	key := validKey{sha256.Sum256(wasm), memoryPages}
	if validated.has(key) {
		return metered, nil
	}
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().
		WithCoreFeatures(api.CoreFeaturesV2).
		WithMemoryLimitPages(memoryPages))
	defer func() { _ = rt.Close(context.WithoutCancel(ctx)) }()
	compiled, err := compile(ctx, rt, wasm)
	if err != nil {
		return nil, fmt.Errorf("not a valid WebAssembly module: %w", err)
	}
	_ = compiled.Close(context.WithoutCancel(ctx))
	validated.add(key)
	return metered, nil
}

// validKey identifies a validation: the module's SHA-256 and the memory
// limit it was checked against.
type validKey struct {
	sum   [sha256.Size]byte
	pages uint32
}

// validSet is the set of modules found valid, forgotten all at once when it
// reaches maxValidated entries (a directory rarely holds that many modules).
type validSet struct {
	mu  sync.Mutex
	set map[validKey]struct{}
}

// maxValidated bounds validSet: 1,024 entries of 36 bytes.
const maxValidated = 1024

var validated validSet

func (v *validSet) has(k validKey) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	_, ok := v.set[k]
	return ok
}

func (v *validSet) add(k validKey) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.set == nil || len(v.set) >= maxValidated {
		v.set = make(map[validKey]struct{})
	}
	v.set[k] = struct{}{}
}

// compile is rt.CompileModule, with a panic in wazero's decoder or validator
// (a bug there, reached by hostile bytes) turned into an error: a module
// must never take the process down at load.
func compile(ctx context.Context, rt wazero.Runtime, wasm []byte) (_ wazero.CompiledModule, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errCompilerPanic, r)
		}
	}()
	return rt.CompileModule(ctx, wasm)
}
