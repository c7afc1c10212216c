package module

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host/internal/claims"
)

// Module is a loaded, checked module and its instance pool. It is safe for
// concurrent use.
type Module struct {
	name, file, sum string
	desc            abi.Description
	claims          claims.Set
	opts            Options
	configure       []byte
	hasInit         bool
	hasConfigure    bool
	rt              wazero.Runtime
	compiled        wazero.CompiledModule
	idle            chan *instance
	slots           chan struct{}
	loadedAt        time.Time
	closed          atomic.Bool
	count           counters
	quarantine      quarantine
	buffers         sync.Pool // *[]byte for encoded requests
	// states maps each live instance's api.Module to its host state, for
	// the host functions, which are given the calling module.
	states sync.Map
}

// LoadFuelFactor is how many calls' worth of fuel each load stage gets: a
// Go guest's runtime initialisation does more work than a typical call.
const LoadFuelFactor = 10

// Load compiles src, checks its exports and imports, instantiates one
// instance through the load lifecycle, reads its description and fills the
// pool. Errors name the file and the problem and wrap the cause: the
// meter's sentinels (meter.ErrMalformed, ...) for a binary it refuses, a
// *LoadError for a failed stage of the load lifecycle, a *CallError for a
// failed guest call.
func Load(ctx context.Context, src Source, opts Options) (_ *Module, err error) {
	m := newModule(src, opts)
	defer func() {
		if err != nil {
			m.closeRuntime(ctx)
			err = fmt.Errorf("%s: %w", src.File, err)
		}
	}()
	if err := m.compile(ctx, src.Wasm); err != nil {
		return nil, err
	}
	if err := m.link(ctx); err != nil {
		return nil, err
	}
	if err := m.describeFirst(ctx, src.Claims); err != nil {
		return nil, err
	}
	if err := m.fillPool(ctx); err != nil {
		return nil, err
	}
	m.loadedAt = time.Now()
	return m, nil
}

// newModule returns the module of src, before anything is compiled.
func newModule(src Source, opts Options) *Module {
	sum := sha256.Sum256(src.Wasm)
	m := &Module{
		name: src.Name, file: src.File, sum: hex.EncodeToString(sum[:]),
		opts: opts, configure: src.Configure,
		idle:  make(chan *instance, opts.Instances),
		slots: make(chan struct{}, opts.Instances),
	}
	m.buffers.New = func() any { b := make([]byte, 0, 4096); return &b }
	return m
}

// newRuntime returns a runtime with the limits of opts and its compilation
// cache: the one every module runs in, and the one Inspect compiles in.
func newRuntime(ctx context.Context, opts Options) wazero.Runtime {
	return wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().
		WithCompilationCache(opts.Cache).
		WithMemoryLimitPages(opts.MemoryPages).
		WithCloseOnContextDone(false).
		WithCoreFeatures(api.CoreFeaturesV2))
}

// compile meters wasm and compiles the result in the module's own runtime.
//
// Metering bounds the guest's work: the rewrite charges fuel at every
// function entry and loop header and traps when it runs out. It runs before
// compiling, on a module validated as found (see prepare), and also refuses
// binaries that would make the compiler allocate or work wildly.
// WithCloseOnContextDone stays off: its check at every loop iteration costs
// 8-60x and misses loop-free runaways; the call deadline remains as a
// backstop that abandons a call.
func (m *Module) compile(ctx context.Context, wasm []byte) error {
	metered, err := prepare(ctx, wasm, m.opts.MemoryPages)
	if err != nil {
		return err
	}
	m.rt = newRuntime(ctx, m.opts)
	if m.compiled, err = compile(ctx, m.rt, metered); err != nil {
		return fmt.Errorf("not a valid WebAssembly module: %w", err)
	}
	return nil
}

// link checks the compiled module's imports and exports and instantiates
// what it may import: WASI and the host module.
func (m *Module) link(ctx context.Context) error {
	if err := m.checkImports(); err != nil {
		return err
	}
	if err := m.checkExports(); err != nil {
		return err
	}
	if err := m.instantiateWASI(ctx); err != nil {
		return fmt.Errorf("WASI: %w", err)
	}
	if err := m.instantiateHostModule(ctx); err != nil {
		return fmt.Errorf("host module: %w", err)
	}
	return nil
}

// describeFirst instantiates the first instance through the load lifecycle,
// reads its description and compiles its claims (override, when not nil,
// replaces the claims it describes), and puts the instance in the pool.
func (m *Module) describeFirst(ctx context.Context, override []string) error {
	inst, err := m.newInstance(ctx)
	if err != nil {
		return err
	}
	inst.start(m.opts.Fuel * LoadFuelFactor)
	desc, err := inst.describe(ctx, m.opts.LoadTimeout)
	if err != nil {
		inst.close(ctx)
		return err
	}
	if override != nil {
		desc.Claims = override
	}
	if m.claims, err = claims.Compile(desc.Claims); err != nil {
		inst.close(ctx)
		return fmt.Errorf("verdict_describe: %w", err)
	}
	m.desc = desc
	m.idle <- inst
	return nil
}

// fillPool instantiates the rest of the pool now, so that the first
// requests do not pay for instantiation (milliseconds for a Go guest)
// inside their deadline, and so that a module that cannot instantiate
// reliably fails here.
func (m *Module) fillPool(ctx context.Context) error {
	for i := 1; i < m.opts.Instances; i++ {
		more, err := m.newInstance(ctx)
		if err != nil {
			return fmt.Errorf("instance %d: %w", i+1, err)
		}
		m.idle <- more
	}
	return nil
}

// closeRuntime closes the runtime of a module that failed to load, if it
// got one, and with it every instance.
func (m *Module) closeRuntime(ctx context.Context) {
	if m.rt != nil {
		_ = m.rt.Close(context.WithoutCancel(ctx))
	}
}

// Name is the module's name (its file name without ".wasm").
func (m *Module) Name() string { return m.name }

// File is the module's path.
func (m *Module) File() string { return m.file }

// SHA256 is the hex SHA-256 of the module's bytes.
func (m *Module) SHA256() string { return m.sum }

// Description is what verdict_describe returned.
func (m *Module) Description() abi.Description { return m.desc }

// Claims are the module's compiled claims.
func (m *Module) Claims() claims.Set { return m.claims }

// LoadedAt is when the module finished loading.
func (m *Module) LoadedAt() time.Time { return m.loadedAt }

// Close closes the module's runtime and every instance. Calls still running
// end with an error.
func (m *Module) Close(ctx context.Context) error {
	if m.closed.Swap(true) {
		return nil
	}
	return m.rt.Close(ctx)
}
