package module

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host/internal/claims"
	"github.com/verdictpdp/verdict/host/internal/meter"
)

// Options are the limits and shared resources for loading modules. All
// fields are required; the host fills them from its validated Config.
type Options struct {
	// Cache is the compilation cache shared by every module's runtime.
	Cache wazero.CompilationCache
	// MemoryPages caps each instance's memory, in 64 KiB pages.
	MemoryPages uint32
	// CallTimeout bounds one call; LoadTimeout bounds the load lifecycle of
	// one instance.
	CallTimeout, LoadTimeout time.Duration
	// OutputBytes + n*OutputBytesPerItem caps the output for n items.
	OutputBytes, OutputBytesPerItem int
	// Instances is the most calls that run at once, and the pool size.
	Instances int
	// StdioBytes caps stdout+stderr per call; LogBytes caps one log message.
	StdioBytes, LogBytes int
	// LogMessages, LogBytesPerCall and RandomBytes are per-call budgets of
	// the host functions: log messages, log bytes (after truncation to
	// LogBytes) and random_get bytes. A call over one fails as a trap
	// (ErrHostBudget).
	LogMessages, LogBytesPerCall, RandomBytes int
	// QuarantineFailures traps or timeouts within QuarantineWindow put the
	// module in quarantine: its items are DENY without running it.
	QuarantineFailures int
	QuarantineWindow   time.Duration
	// Fuel is the budget of metered work for one call (see package meter);
	// load stages (_initialize, verdict_configure, verdict_describe) get
	// LoadFuelFactor times as much.
	Fuel int64
	// Observe, when not nil, is told the duration and outcome ("ok",
	// "trap", "timeout", "bad output", "guest error", "busy") of every
	// call, for metrics. It must not block.
	Observe func(module string, d time.Duration, outcome string)
	// Budget, when not nil, gives an evaluate call of items items and
	// inputBytes bytes of input its budget; nil gives every call Fuel and
	// CallTimeout, and counts every trap and fuel exhaustion toward
	// quarantine.
	Budget func(items, inputBytes int) Budget
	// Calls, when not nil, is shared by every module of a host: a guest
	// call runs only while it holds one of its slots (a host-wide cap on
	// concurrent guest calls). Waiting for one is bounded by the request's
	// deadline.
	Calls chan struct{}
	// Log receives guest logs and output, and call failures.
	Log *slog.Logger
}

// Budget is what one evaluate call may spend.
type Budget struct {
	// Fuel is the call's fuel; Timeout its wall-clock backstop.
	Fuel    int64
	Timeout time.Duration
	// Sized: the call's size, not the module, explains a trap or running
	// out of fuel (the call got more than twice the base fuel for its
	// size), so such a failure is DENY for the call but does not count
	// toward quarantine (README "Reliability", row 19).
	Sized bool
}

// Source is a module to load.
type Source struct {
	// Name is the module's name: the file name without ".wasm".
	Name string
	// File is the path shown in messages.
	File string
	// Wasm is the module's bytes.
	Wasm []byte
	// Configure is the verdict_configure input (the settings envelope).
	Configure []byte
	// Claims, when not nil, replace the claims the module describes.
	Claims []string
}

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

// required exports and their signatures.
var (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
	sig = map[string][2][]api.ValueType{
		abi.MarkerExport:     {nil, nil},
		abi.AllocExport:      {{i32}, {i32}},
		abi.FreeExport:       {{i32, i32}, nil},
		abi.EvaluateExport:   {{i32, i32}, {i64}},
		abi.DescribeExport:   {nil, {i64}},
		abi.ConfigureExport:  {{i32, i32}, {i64}},
		abi.InitializeExport: {nil, nil},
	}
	optional = map[string]bool{abi.ConfigureExport: true, abi.InitializeExport: true}
)

// Load compiles src, checks its exports and imports, instantiates one
// instance through the load lifecycle and reads its description. Errors name
// the file and the problem.
func Load(ctx context.Context, src Source, opts Options) (_ *Module, err error) {
	sum := sha256.Sum256(src.Wasm)
	m := &Module{
		name: src.Name, file: src.File, sum: hex.EncodeToString(sum[:]),
		opts: opts, configure: src.Configure,
		idle:  make(chan *instance, opts.Instances),
		slots: make(chan struct{}, opts.Instances),
	}
	m.buffers.New = func() any { b := make([]byte, 0, 4096); return &b }
	// fail names the file: "FILE: " + format, its cause wrapped (%w).
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s: "+format, append([]any{src.File}, args...)...)
	}
	// Metering bounds the guest's work: the rewrite charges fuel at every
	// function entry and loop header and traps when it runs out. It runs
	// before compiling, on a module validated as found (see prepare), and
	// also refuses binaries that would make the compiler allocate or work
	// wildly. WithCloseOnContextDone stays off: its check at every loop
	// iteration costs 8-60x and misses loop-free runaways; the call deadline
	// remains as a backstop that abandons a call.
	metered, err := prepare(ctx, src.Wasm, opts.MemoryPages)
	if err != nil {
		return nil, fail("%w", err)
	}
	cfg := wazero.NewRuntimeConfig().
		WithCompilationCache(opts.Cache).
		WithMemoryLimitPages(opts.MemoryPages).
		WithCloseOnContextDone(false).
		WithCoreFeatures(api.CoreFeaturesV2)
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	m.rt = rt
	defer func() {
		if err != nil {
			_ = rt.Close(context.WithoutCancel(ctx))
		}
	}()
	m.compiled, err = compile(ctx, m.rt, metered)
	if err != nil {
		return nil, fail("not a valid WebAssembly module: %w", err)
	}
	if err := m.checkImports(); err != nil {
		return nil, fail("%w", err)
	}
	if err := m.checkExports(); err != nil {
		return nil, fail("%w", err)
	}
	if err := m.instantiateWASI(ctx); err != nil {
		return nil, fail("WASI: %w", err)
	}
	if err := m.instantiateHostModule(ctx); err != nil {
		return nil, fail("host module: %w", err)
	}
	inst, err := m.newInstance(ctx)
	if err != nil {
		return nil, fail("%w", err)
	}
	inst.start(m.opts.Fuel * LoadFuelFactor)
	desc, err := inst.describe(ctx, m.opts.LoadTimeout)
	if err != nil {
		inst.close(ctx)
		return nil, fail("%w", err)
	}
	if src.Claims != nil {
		desc.Claims = src.Claims
	}
	if m.claims, err = claims.Compile(desc.Claims); err != nil {
		inst.close(ctx)
		return nil, fail("verdict_describe: %w", err)
	}
	m.desc = desc
	m.idle <- inst
	// Fill the pool now, so that the first requests do not pay for
	// instantiation (milliseconds for a Go guest) inside their deadline, and
	// so that a module that cannot instantiate reliably fails here.
	for i := 1; i < opts.Instances; i++ {
		more, err := m.newInstance(ctx)
		if err != nil {
			return nil, fail("instance %d: %w", i+1, err)
		}
		m.idle <- more
	}
	m.loadedAt = time.Now()
	return m, nil
}

func (m *Module) checkImports() error {
	for _, f := range m.compiled.ImportedFunctions() {
		mod, name, _ := f.Import()
		switch mod {
		case abi.WASIModule:
			continue
		case abi.HostModule:
			if name == abi.LogImport {
				want := []api.ValueType{i32, i32, i32}
				if !sameTypes(f.ParamTypes(), want) || len(f.ResultTypes()) != 0 {
					return fmt.Errorf("import %s.%s has the wrong signature %s, want (i32, i32, i32) -> ()",
						mod, name, signature(f))
				}
				continue
			}
		}
		return fmt.Errorf("import %q.%q is not allowed (only %s and %s.%s)",
			mod, name, abi.WASIModule, abi.HostModule, abi.LogImport)
	}
	for _, mem := range m.compiled.ImportedMemories() {
		mod, name, _ := mem.Import()
		return fmt.Errorf("memory import %q.%q is not allowed: a module exports its own memory", mod, name)
	}
	return nil
}

func (m *Module) checkExports() error {
	if _, ok := m.compiled.ExportedMemories()[abi.MemoryExport]; !ok {
		return fmt.Errorf("missing export %q (a memory)", abi.MemoryExport)
	}
	exports := m.compiled.ExportedFunctions()
	if _, ok := exports[abi.MarkerExport]; !ok {
		return fmt.Errorf("missing export %q: not an ABI v1 module", abi.MarkerExport)
	}
	var missing []string
	for name, types := range sig {
		f, ok := exports[name]
		if !ok {
			if !optional[name] {
				missing = append(missing, name)
			}
			continue
		}
		if !sameTypes(f.ParamTypes(), types[0]) || !sameTypes(f.ResultTypes(), types[1]) {
			return fmt.Errorf("export %q has signature %s, want %s",
				name, signature(f), fmtSig(types[0], types[1]))
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("missing exports %s", strings.Join(missing, ", "))
	}
	_, m.hasInit = exports[abi.InitializeExport]
	_, m.hasConfigure = exports[abi.ConfigureExport]
	return nil
}

// newInstance instantiates the compiled module and runs _initialize and
// verdict_configure, bounded by LoadTimeout.
func (m *Module) newInstance(ctx context.Context) (*instance, error) {
	if m.closed.Load() {
		return nil, errors.New("module closed")
	}
	stdio := &capWriter{limit: m.opts.StdioBytes}
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions().
		WithStdout(stdio).
		WithStderr(stdio).
		WithSysWalltime().
		WithSysNanotime().
		WithRandSource(rand.Reader)
	ctx, cancel := context.WithTimeout(ctx, m.opts.LoadTimeout)
	defer cancel()
	mod, err := m.rt.InstantiateModule(ctx, m.compiled, cfg)
	if err != nil {
		return nil, fmt.Errorf("instantiate: %w", err)
	}
	fuel, ok := mod.ExportedGlobal(meter.FuelGlobal).(api.MutableGlobal)
	if !ok {
		_ = mod.Close(ctx)
		return nil, errors.New("instantiate: the fuel global is missing")
	}
	stackBudget, ok := mod.ExportedGlobal(meter.StackGlobal).(api.MutableGlobal)
	if !ok {
		_ = mod.Close(ctx)
		return nil, errors.New("instantiate: the stack budget global is missing")
	}
	inst := &instance{
		mod: mod, mem: mod.Memory(), stdio: stdio, fuel: fuel, stackBudget: stackBudget, states: &m.states,
		alloc:    mod.ExportedFunction(abi.AllocExport),
		free:     mod.ExportedFunction(abi.FreeExport),
		evaluate: mod.ExportedFunction(abi.EvaluateExport),
		desc:     mod.ExportedFunction(abi.DescribeExport),
	}
	inst.host.fuel = fuel
	m.states.Store(mod, &inst.host)
	loadFuel := m.opts.Fuel * LoadFuelFactor
	if m.hasInit {
		inst.start(loadFuel)
		if err := mod.ExportedFunction(abi.InitializeExport).CallWithStack(ctx, inst.stack[:]); err != nil {
			inst.close(ctx)
			return nil, fmt.Errorf("_initialize: %w", inst.classify(ctx, err))
		}
	}
	if m.hasConfigure {
		inst.start(loadFuel)
		if err := inst.configure(ctx, mod.ExportedFunction(abi.ConfigureExport), m.configure); err != nil {
			inst.close(ctx)
			return nil, err
		}
	}
	m.flushStdio(inst)
	return inst, nil
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

func sameTypes(a, b []api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func fmtSig(params, results []api.ValueType) string {
	names := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return "(" + strings.Join(s, ", ") + ")"
	}
	return names(params) + " -> " + names(results)
}

func signature(f api.FunctionDefinition) string { return fmtSig(f.ParamTypes(), f.ResultTypes()) }

// parseDescription checks verdict_describe's output.
func parseDescription(out []byte) (abi.Description, error) {
	var d abi.Description
	if err := json.Unmarshal(out, &d); err != nil {
		return d, fmt.Errorf("verdict_describe: output is not a description: %w", err)
	}
	major, _, _ := strings.Cut(d.ABI, ".")
	if major != "1" {
		return d, fmt.Errorf("verdict_describe: abi %q is not supported (this host speaks 1.x)", d.ABI)
	}
	return d, nil
}
