package module

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/verdictpdp/verdict/abi"
)

// Fuel costs of host functions (abi/SPEC.md §12). A guest pays them from
// the same budget as its own code, before the host does the work, so that a
// loop of host calls runs out of fuel as a loop of guest code does. One unit
// of fuel is about one guest instruction: 0.38 ns in the cheapest runaway
// loop (Fuel's 150 million units in 58 ms). Each cost is the host work
// measured in those units on the same machine with the hostile fixtures
// (log-loop, log-flood, random-flood, iovec-flood, wasi-loop, poll-flood),
// rounded up.
const (
	// HostCallFuel is the base cost of every import: the transition into Go
	// and back and the function's fixed work (clock_time_get: 190 ns).
	HostCallFuel = 500
	// LogCallFuel is the cost of a log call on top of HostCallFuel: building
	// and handling a log record (1.4 µs with a handler that only counts;
	// more with a real one).
	LogCallFuel = 10_000
	// LogByteFuel is the cost per byte of a log message (3.6 ns: the copy
	// into a string and its garbage).
	LogByteFuel = 10
	// RandomByteFuel is the cost per byte of random_get (7.5 ns: the
	// operating system's random source).
	RandomByteFuel = 20
	// EntryFuel is the cost per iovec of fd_write, fd_pwrite, fd_read or
	// fd_pread (57 ns).
	EntryFuel = 200
	// PollFuel is the cost per subscription of poll_oneoff (56 ns, and an
	// allocation each).
	PollFuel = 300
	// IOByteFuel is the cost per byte an iovec names (a copy into the
	// captured stdio, or nothing once StdioBytes is reached).
	IOByteFuel = 1
)

// hostState is the per-call state of an instance's host functions: the fuel
// to charge and the budgets left. The call's goroutine owns it, except for
// abandoned, which run sets from another goroutine when it abandons the call.
type hostState struct {
	fuel                api.MutableGlobal
	logMessages         int
	logBytes, randBytes int64
	// abandoned: the host gave up on the call at its deadline; every host
	// function fails the call at once rather than work on its behalf.
	abandoned atomic.Bool
}

// reset starts a call: the budgets are whole again.
func (h *hostState) reset() {
	h.logMessages, h.logBytes, h.randBytes = 0, 0, 0
}

// hostFailure is how a host function fails the call: it panics with one,
// wazero turns the panic into the call's error (wrapping it), and
// instance.classify reads it back.
type hostFailure struct{ err error }

// Error is the cause's message.
func (f hostFailure) Error() string { return f.err.Error() }

// Unwrap returns the cause (ErrHostBudget, ErrAbandoned, ...).
func (f hostFailure) Unwrap() error { return f.err }

// failCall fails the guest call in progress with err (see hostFailure).
func failCall(err error) { panic(hostFailure{err}) }

// charge takes cost fuel from the call's budget and fails the call when it
// runs out, or when the call was abandoned.
func (h *hostState) charge(cost int64) {
	if h.abandoned.Load() {
		failCall(ErrAbandoned)
	}
	left := int64(h.fuel.Get()) - cost
	h.fuel.Set(uint64(left))
	if left < 0 {
		failCall(fmt.Errorf("%w in a host function", ErrFuelExhausted))
	}
}

// state returns the host state of the instance mod belongs to. A module
// this Module did not instantiate cannot call its host functions; the
// lookup fails the call rather than panic with a nil pointer, to be safe.
func (m *Module) state(mod api.Module) *hostState {
	if h, ok := m.states.Load(mod); ok {
		return h.(*hostState)
	}
	failCall(fmt.Errorf("%w: host call from an unknown instance", ErrHostBudget))
	return nil
}

// wasiFunc is one function of wazero's wasi_snapshot_preview1, as wazero
// implements it for the sandbox's module config (no preopens, no args or
// environment, stdout and stderr captured): the host wraps each to charge
// for it, and keeps its behaviour.
type wasiFunc struct {
	name            string
	fn              api.GoModuleFunction
	params, results []api.ValueType
	paramNames      []string
	resultNames     []string
}

var (
	wasiOnce  sync.Once
	wasiFuncs []wasiFunc
	wasiErr   error
)

// wasiFunctions returns every function of wazero's wasi_snapshot_preview1,
// by name. It compiles wazero's host module once, in a throwaway runtime,
// and keeps the Go functions, which hold no state of their own (they act on
// the calling module's memory and system context).
func wasiFunctions() ([]wasiFunc, error) {
	wasiOnce.Do(func() {
		ctx := context.Background()
		rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
		defer func() { _ = rt.Close(ctx) }()
		b := rt.NewHostModuleBuilder(wasi_snapshot_preview1.ModuleName)
		wasi_snapshot_preview1.NewFunctionExporter().ExportFunctions(b)
		compiled, err := b.Compile(ctx)
		if err != nil {
			wasiErr = fmt.Errorf("compile wazero's WASI module: %w", err)
			return
		}
		defs := compiled.ExportedFunctions()
		names := make([]string, 0, len(defs))
		for name := range defs {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			def := defs[name]
			fn, ok := def.GoFunction().(api.GoModuleFunction)
			if !ok {
				wasiErr = fmt.Errorf("wazero's WASI function %s is a %T, not an api.GoModuleFunction", name, def.GoFunction())
				return
			}
			wasiFuncs = append(wasiFuncs, wasiFunc{
				name: name, fn: fn,
				params: def.ParamTypes(), results: def.ResultTypes(),
				paramNames: def.ParamNames(), resultNames: def.ResultNames(),
			})
		}
	})
	return wasiFuncs, wasiErr
}

// wasiCost returns what a call of the WASI function name costs, beyond
// HostCallFuel, given its parameters; it reads the guest's memory only to
// sum iovec lengths, after charging for the iovecs. It also enforces the
// per-call budgets of the functions that have one.
type wasiCost func(m *Module, h *hostState, mod api.Module, stack []uint64)

// iovecs charges for the iovec list at stack[iovs], stack[iovs+1] (pointer
// and count): EntryFuel per iovec, then IOByteFuel per byte they name.
func iovecs(iovs int) wasiCost {
	return func(_ *Module, h *hostState, mod api.Module, stack []uint64) {
		ptr, n := uint32(stack[iovs]), uint32(stack[iovs+1])
		h.charge(int64(n) * EntryFuel)
		mem := mod.Memory()
		var bytes int64
		for i := uint32(0); i < n; i++ {
			l, ok := mem.ReadUint32Le(ptr + i*8 + 4)
			if !ok {
				break // wazero answers EFAULT
			}
			// Saturate: a sum this large is over any fuel budget anyway,
			// and must not wrap around into a refund.
			if bytes += int64(l); bytes >= 1<<62 {
				break
			}
		}
		h.charge(bytes * IOByteFuel)
	}
}

// wasiCosts are the costs beyond HostCallFuel, for the functions whose work
// grows with their arguments. Every other function costs HostCallFuel: with
// no preopens, the file, path and socket functions answer an errno at once,
// and args and environ are empty.
var wasiCosts = map[string]wasiCost{
	"fd_write":  iovecs(1),
	"fd_pwrite": iovecs(1),
	"fd_read":   iovecs(1),
	"fd_pread":  iovecs(1),
	"random_get": func(m *Module, h *hostState, _ api.Module, stack []uint64) {
		n := int64(uint32(stack[1]))
		h.charge(n * RandomByteFuel)
		h.randBytes += n
		if h.randBytes > int64(m.opts.RandomBytes) {
			failCall(fmt.Errorf("%w: random_get: %d bytes in this call, over the cap of %d",
				ErrHostBudget, h.randBytes, m.opts.RandomBytes))
		}
	},
	"poll_oneoff": func(_ *Module, h *hostState, _ api.Module, stack []uint64) {
		h.charge(int64(uint32(stack[2])) * PollFuel)
	},
}

// instantiateWASI instantiates wasi_snapshot_preview1 in the module's
// runtime: wazero's functions, each charged for and checked (hostState).
func (m *Module) instantiateWASI(ctx context.Context) error {
	funcs, err := wasiFunctions()
	if err != nil {
		return err
	}
	b := m.rt.NewHostModuleBuilder(abi.WASIModule)
	for _, f := range funcs {
		fn, cost := f.fn, wasiCosts[f.name]
		wrapped := api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
			h := m.state(mod)
			h.charge(HostCallFuel)
			if cost != nil {
				cost(m, h, mod, stack)
			}
			fn.Call(ctx, mod, stack)
		})
		b.NewFunctionBuilder().
			WithGoModuleFunction(wrapped, f.params, f.results).
			WithName(f.name).
			WithParameterNames(f.paramNames...).
			WithResultNames(f.resultNames...).
			Export(f.name)
	}
	_, err = b.Instantiate(ctx)
	return err
}

// instantiateHostModule instantiates verdict:host/v1.
func (m *Module) instantiateHostModule(ctx context.Context) error {
	logFn := api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
		h := m.state(mod)
		level, ptr, n := int32(stack[0]), uint32(stack[1]), uint32(stack[2])
		size := int64(n)
		if size > int64(m.opts.LogBytes) {
			size = int64(m.opts.LogBytes)
		}
		h.charge(HostCallFuel + LogCallFuel + size*LogByteFuel)
		h.logMessages++
		h.logBytes += size
		if h.logMessages > m.opts.LogMessages {
			failCall(fmt.Errorf("%w: log: more than %d messages in this call", ErrHostBudget, m.opts.LogMessages))
		}
		if h.logBytes > int64(m.opts.LogBytesPerCall) {
			failCall(fmt.Errorf("%w: log: %d bytes in this call, over the cap of %d",
				ErrHostBudget, h.logBytes, m.opts.LogBytesPerCall))
		}
		msg, ok := mod.Memory().Read(ptr, uint32(size))
		if !ok {
			m.opts.Log.Warn("guest log out of range", "module", m.name, "ptr", ptr, "len", n)
			return
		}
		if int64(n) > size {
			m.count.logDrops.Add(uint64(int64(n) - size))
		}
		lvl := slog.LevelInfo
		switch level {
		case abi.LogDebug:
			lvl = slog.LevelDebug
		case abi.LogWarn:
			lvl = slog.LevelWarn
		case abi.LogError:
			lvl = slog.LevelError
		}
		m.opts.Log.Log(ctx, lvl, string(msg), "module", m.name, "source", "guest")
	})
	_, err := m.rt.NewHostModuleBuilder(abi.HostModule).
		NewFunctionBuilder().
		WithGoModuleFunction(logFn, []api.ValueType{i32, i32, i32}, nil).
		WithParameterNames("level", "ptr", "len").
		Export(abi.LogImport).
		Instantiate(ctx)
	return err
}
