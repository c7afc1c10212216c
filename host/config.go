package host

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host/internal/module"
)

// Config configures a Host. Build it with DefaultConfig and change what you
// need; zero values are not defaults, and Validate refuses them.
type Config struct {
	// Combine is the combining algorithm. Default DenyOverrides.
	Combine Combine
	// Default is the answer when no module claims an item or all abstain:
	// abi.Allow or abi.Deny. Default abi.Deny (fail closed).
	Default abi.Result
	// CacheDir holds wazero's compilation cache so that modules compile once
	// across restarts. Default: the user cache directory + "/verdict". When it
	// cannot be created, modules compile in memory and New says so once.
	CacheDir string
	// CallTimeout bounds one guest call. Default 100 ms.
	CallTimeout time.Duration
	// LoadTimeout bounds loading one module (_initialize, verdict_configure,
	// verdict_describe). Default 10 s: Go guests take a second to compile.
	LoadTimeout time.Duration
	// Fuel is the base budget of metered work for one guest call: modules
	// are rewritten at load to pay fuel at every function entry and loop
	// header (about one unit per instruction) and trap when it runs out,
	// which the host reports as a timeout. A call gets Fuel + FuelPerItem
	// per item + FuelPerInputByte per byte of its input, so that work which
	// grows with the input never runs a valid request out of fuel, and at
	// most MaxCallFuel. Default 20 million: about 170 times what the Go
	// RBAC module needs for one item, and 7-13 ms of the cheapest runaway
	// loop on a 2-core machine (README "Reliability", rows 8 and 9).
	Fuel int64
	// FuelPerItem and FuelPerInputByte are the fuel a call gets per item and
	// per byte of its (canonical JSON) input, on top of Fuel. Defaults
	// 50,000 and 300: with Fuel, about twice what the Go RBAC module of
	// examples/rbac needs (about 40,000 per item and 80-105 per byte, the
	// Go SDK's JSON decoding).
	FuelPerItem      int64
	FuelPerInputByte int64
	// ItemsPerCall and InputBytesPerCall bound one guest call: a module's
	// share of a larger batch (a Backstage item whose resourceRef is an
	// array becomes one item per ref, up to the HTTP layer's resourceRefs
	// limit) is split into calls of at most ItemsPerCall items and about
	// InputBytesPerCall bytes of input (an item larger than that goes
	// alone), each with its own budget. Defaults 1,000 and 256 KiB. With the
	// fuel settings they bound the longest call, hence how long a garbage
	// collection can wait for a running guest (see MaxCallFuel).
	ItemsPerCall      int
	InputBytesPerCall int
	// ConcurrentCalls is the most guest calls that run at once across all
	// modules. A guest call holds its core until it returns (the Go runtime
	// cannot preempt it), so the host keeps the rest for itself: /healthz,
	// /metrics, the watcher. A call that finds no slot before its request's
	// deadline is DENY ("busy"), not counted toward quarantine. Default
	// GOMAXPROCS-1, at least 1.
	ConcurrentCalls int
	// MemoryMiB caps each instance's linear memory. Default 32 MiB. A growing
	// instance can briefly cost about 3× this in host memory. The rest of an
	// instance's budget is fixed (abi/SPEC.md §12.1): tables at most 8 MiB
	// (4 tables of 262,144 entries, see host/internal/meter/limits.go), the
	// call stack (a budget of 4 MiB of estimated frames per call, see
	// host/internal/meter/stack.go: a few MiB of host memory), and what is
	// proportional to the module's size.
	MemoryMiB int
	// OutputBytes and OutputBytesPerItem cap a guest's output for a batch of n
	// items at OutputBytes + n*OutputBytesPerItem. Defaults 64 KiB and 4 KiB.
	OutputBytes        int
	OutputBytesPerItem int
	// Instances is the most guest calls that run at once per module, and the
	// size of its instance pool. Default GOMAXPROCS.
	Instances int
	// StdioBytes caps what a guest may write to stdout and stderr per call;
	// the rest is dropped and counted. Default 64 KiB.
	StdioBytes int
	// LogBytes caps one verdict:host/v1 log message; the rest is dropped
	// and counted. Default 64 KiB.
	LogBytes int
	// LogMessages is the most verdict:host/v1 log messages one guest call
	// may write; one more fails the call as a trap (its items DENY, counted
	// toward quarantine). Default 1,000: one per item of a full call
	// (ItemsPerCall), far below a flood (abi/SPEC.md §12).
	LogMessages int
	// LogBytesPerCall caps the log bytes (each message after LogBytes) of
	// one guest call; going over fails the call as a trap. Default 256 KiB:
	// four full messages.
	LogBytesPerCall int
	// RandomBytes caps what one guest call may ask of random_get; going over
	// fails the call as a trap. Default 64 KiB: runtimes seed with 8-32
	// bytes, and a UUID per item of a full call takes 16 KB.
	RandomBytes int
	// QuarantineFailures traps, timeouts or unreadable outputs (not an
	// error envelope, nor output over its cap) within QuarantineWindow put a
	// module in quarantine (its items DENY without running it) until its
	// file changes or a forced reload. Defaults 3 and 60 s. Failures of
	// calls whose size explains them (their size earned more fuel than
	// Fuel itself) do not count: one caller's large requests must not
	// quarantine a module for everyone.
	QuarantineFailures int
	QuarantineWindow   time.Duration
	// RequireSeal refuses modules without a verdict.seal section. A seal
	// that does not verify is refused either way. Default false.
	RequireSeal bool
	// LoadDirTimeout bounds one load of the policy directory (reading every
	// file, compiling and initialising every changed module). A load that
	// takes longer (a hung network file system, a module slow to compile)
	// fails with ErrLoadTimeout, the previous snapshot keeps serving, and the
	// next load (Watch, SIGHUP, POST /v1/policies/reload) takes over instead
	// of waiting for it. Default 60 s: room for a few dozen Go modules
	// compiling on a cold cache on two cores.
	LoadDirTimeout time.Duration
	// Debounce is how long the policy directory must be quiet, and a changed
	// file unchanged (see Watch), before Watch reloads. Default 250 ms.
	Debounce time.Duration
	// DebounceMax bounds the wait Debounce adds: a directory that never goes
	// quiet (a file rewritten every 100 ms, even an ignored dotfile) is
	// still reloaded at most DebounceMax after the first change Watch saw.
	// Default 2 s. It must be at least Debounce.
	DebounceMax time.Duration
	// Claims replace the claims a module describes, by module name (the file
	// name without ".wasm"). Default none.
	Claims map[string][]string
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	cache := ""
	if dir, err := os.UserCacheDir(); err == nil {
		cache = filepath.Join(dir, "verdict")
	}
	return Config{
		Combine:            DenyOverrides,
		Default:            abi.Deny,
		CacheDir:           cache,
		CallTimeout:        100 * time.Millisecond,
		LoadTimeout:        10 * time.Second,
		Fuel:               20_000_000,
		FuelPerItem:        50_000,
		FuelPerInputByte:   300,
		ItemsPerCall:       1000,
		InputBytesPerCall:  256 << 10,
		ConcurrentCalls:    max(1, runtime.GOMAXPROCS(0)-1),
		MemoryMiB:          32,
		OutputBytes:        64 << 10,
		OutputBytesPerItem: 4 << 10,
		Instances:          runtime.GOMAXPROCS(0),
		StdioBytes:         64 << 10,
		LogBytes:           64 << 10,
		LogMessages:        1000,
		LogBytesPerCall:    256 << 10,
		RandomBytes:        64 << 10,
		QuarantineFailures: 3,
		QuarantineWindow:   60 * time.Second,
		LoadDirTimeout:     60 * time.Second,
		Debounce:           250 * time.Millisecond,
		DebounceMax:        2 * time.Second,
	}
}

// Validate reports every invalid field, each named.
func (c Config) Validate() error {
	var errs []error
	switch c.Combine {
	case DenyOverrides, PermitOverrides, FirstApplicable:
	default:
		errs = append(errs, fmt.Errorf("combine: %q is not one of deny-overrides, permit-overrides, first-applicable", c.Combine))
	}
	if c.Default != abi.Allow && c.Default != abi.Deny {
		errs = append(errs, fmt.Errorf("default: %q is not ALLOW or DENY", c.Default))
	}
	positive := func(name string, v int64) {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be positive, got %d", name, v))
		}
	}
	positive("callTimeout", int64(c.CallTimeout))
	positive("loadTimeout", int64(c.LoadTimeout))
	positive("fuel", c.Fuel)
	positive("fuelPerItem", c.FuelPerItem)
	positive("fuelPerInputByte", c.FuelPerInputByte)
	positive("itemsPerCall", int64(c.ItemsPerCall))
	positive("inputBytesPerCall", int64(c.InputBytesPerCall))
	positive("concurrentCalls", int64(c.ConcurrentCalls))
	positive("memoryMiB", int64(c.MemoryMiB))
	if c.MemoryMiB > 4096 {
		errs = append(errs, fmt.Errorf("memoryMiB: at most 4096 (the wasm32 address space), got %d", c.MemoryMiB))
	}
	positive("outputBytes", int64(c.OutputBytes))
	positive("outputBytesPerItem", int64(c.OutputBytesPerItem))
	positive("instances", int64(c.Instances))
	positive("stdioBytes", int64(c.StdioBytes))
	positive("logBytes", int64(c.LogBytes))
	positive("logMessages", int64(c.LogMessages))
	positive("logBytesPerCall", int64(c.LogBytesPerCall))
	positive("randomBytes", int64(c.RandomBytes))
	positive("quarantineFailures", int64(c.QuarantineFailures))
	positive("quarantineWindow", int64(c.QuarantineWindow))
	positive("loadDirTimeout", int64(c.LoadDirTimeout))
	positive("debounce", int64(c.Debounce))
	positive("debounceMax", int64(c.DebounceMax))
	if c.DebounceMax > 0 && c.DebounceMax < c.Debounce {
		errs = append(errs, fmt.Errorf("debounceMax: must be at least debounce (%s), got %s", c.Debounce, c.DebounceMax))
	}
	for name, cl := range c.Claims {
		if len(cl) == 0 {
			errs = append(errs, fmt.Errorf("claims.%s: an empty list would route nothing to the module; remove the entry instead", name))
		}
		for i, p := range cl {
			if p == "" {
				errs = append(errs, fmt.Errorf("claims.%s[%d]: empty claim", name, i))
			}
		}
	}
	return errors.Join(errs...)
}

// moduleOptions are the module loader's options for c, with the host's
// compilation cache, logger and call observer (nil for none). Most fields
// are c's as they are; the loader also gets what c implies: the memory limit
// in pages, MaxCallFuel as its flat budget, callBudget to size each call,
// and the host-wide slots of ConcurrentCalls.
func (c Config) moduleOptions(cache wazero.CompilationCache, log *slog.Logger, observer CallObserver) module.Options {
	opts := module.Options{
		Cache:              cache,
		MemoryPages:        uint32(c.MemoryMiB) * 16,
		CallTimeout:        c.CallTimeout,
		LoadTimeout:        c.LoadTimeout,
		Fuel:               c.MaxCallFuel(),
		Budget:             c.callBudget,
		Calls:              make(chan struct{}, c.ConcurrentCalls),
		OutputBytes:        c.OutputBytes,
		OutputBytesPerItem: c.OutputBytesPerItem,
		Instances:          c.Instances,
		StdioBytes:         c.StdioBytes,
		LogBytes:           c.LogBytes,
		LogMessages:        c.LogMessages,
		LogBytesPerCall:    c.LogBytesPerCall,
		RandomBytes:        c.RandomBytes,
		QuarantineFailures: c.QuarantineFailures,
		QuarantineWindow:   c.QuarantineWindow,
		Log:                log,
	}
	if observer != nil {
		opts.Observe = observer.ObserveCall
	}
	return opts
}
