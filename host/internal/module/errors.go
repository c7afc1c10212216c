package module

import (
	"context"
	"errors"
	"fmt"

	"github.com/tetratelabs/wazero/sys"
)

// ErrFuelExhausted: the call used up its fuel budget (a runaway guest).
var ErrFuelExhausted = errors.New("fuel exhausted")

// ErrStackExhausted: the call used up its call stack budget (unbounded or
// too deep recursion; see abi/SPEC.md §12.1). It fails as a trap.
var ErrStackExhausted = errors.New("call stack budget exhausted")

// ErrHostBudget: a host function call went over one of the call's budgets
// (log messages or bytes, random bytes): the call fails, as a trap.
var ErrHostBudget = errors.New("over a host function budget")

// ErrAbandoned: a host function was called on behalf of a call the host had
// already abandoned at its deadline; it did nothing and failed the call.
var ErrAbandoned = errors.New("host call after the call was abandoned")

// ErrOutputOverCap: the guest's output was larger than its cap. A failure
// the caller's input can cause in a module that echoes it (names quoted in
// reasons), so it is not held against the module (see Module.failSized).
var ErrOutputOverCap = errors.New("output over the cap")

// errCompilerPanic: wazero panicked compiling a module (see compile).
var errCompilerPanic = errors.New("the WebAssembly compiler failed on this module")

// Kind classifies why a call failed.
type Kind int

// Kinds of call failure.
const (
	// KindTrap: the guest trapped or exited.
	KindTrap Kind = iota + 1
	// KindTimeout: the call ran past its deadline.
	KindTimeout
	// KindBadOutput: zero return, output out of range, over the cap, or not
	// valid JSON of the right shape.
	KindBadOutput
	// KindGuestError: the guest returned an error envelope.
	KindGuestError
	// KindBusy: no instance could be had before the deadline.
	KindBusy
)

// String names the kind as metrics and logs show it: "trap", "timeout",
// "bad output", "guest error", "busy", or "unknown".
func (k Kind) String() string {
	switch k {
	case KindTrap:
		return "trap"
	case KindTimeout:
		return "timeout"
	case KindBadOutput:
		return "bad output"
	case KindGuestError:
		return "guest error"
	case KindBusy:
		return "busy"
	}
	return "unknown"
}

// CallError is a failed guest call.
type CallError struct {
	// Kind says why the call failed.
	Kind Kind
	// Err is the cause.
	Err error
}

// Error is the kind, a colon and the cause: "trap: ...".
func (e *CallError) Error() string { return e.Kind.String() + ": " + e.Err.Error() }

// Unwrap returns the cause, so that errors.Is finds ErrFuelExhausted and
// the other sentinels through a CallError.
func (e *CallError) Unwrap() error { return e.Err }

// LoadError is a failure in the load lifecycle of an instance.
type LoadError struct {
	// Stage is the export that failed: "verdict_configure" or
	// "verdict_describe".
	Stage string
	// Err is the cause, usually a *CallError.
	Err error
}

// Error is the stage, a colon and the cause: "verdict_configure: ...".
func (e *LoadError) Error() string { return e.Stage + ": " + e.Err.Error() }

// Unwrap returns the cause, so that errors.As finds the CallError under a
// LoadError.
func (e *LoadError) Unwrap() error { return e.Err }

// wrapLoad is a LoadError of stage.
func wrapLoad(stage string, err error) error { return &LoadError{Stage: stage, Err: err} }

// callErr is a CallError of kind k whose cause is fmt.Errorf(format, args...).
func callErr(k Kind, format string, args ...any) *CallError {
	return &CallError{Kind: k, Err: fmt.Errorf(format, args...)}
}

// classify turns an error from a wazero call into a CallError.
func classify(ctx context.Context, err error) *CallError {
	var exit *sys.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeDeadlineExceeded ||
		errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		return &CallError{Kind: KindTimeout, Err: err}
	}
	return &CallError{Kind: KindTrap, Err: err}
}
