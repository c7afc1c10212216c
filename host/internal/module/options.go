package module

import (
	"log/slog"
	"time"

	"github.com/tetratelabs/wazero"
)

// Options are the limits and shared resources for loading modules. All
// fields are required; the host fills them from its validated Config
// (host/config.go, moduleOptions), which documents each limit's default.
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
