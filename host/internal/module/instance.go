package module

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/tetratelabs/wazero/api"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host/internal/meter"
)

// instance is one instantiated module. It is used by one goroutine at a time
// and closed after any error.
type instance struct {
	mod                         api.Module
	mem                         api.Memory
	alloc, free, evaluate, desc api.Function
	stdio                       *capWriter
	fuel                        api.MutableGlobal // the metering budget left
	stackBudget                 api.MutableGlobal // the call stack budget left
	// host is the state of the host functions for the current call; states
	// maps mod to it while the instance lives (Module.states).
	host   hostState
	states *sync.Map
	// inPtr and inCap describe the cached input buffer, allocated by the
	// guest and reused while it is large enough.
	inPtr, inCap uint32
	stack        [2]uint64
}

func (in *instance) close(ctx context.Context) {
	in.states.Delete(in.mod)
	_ = in.mod.Close(context.WithoutCancel(ctx))
}

// start prepares a call: fuel is its budget of metered work, and the call
// stack and host functions' budgets are whole again.
func (in *instance) start(fuel int64) {
	in.fuel.Set(uint64(fuel))
	in.stackBudget.Set(uint64(meter.StackBudget))
	in.host.reset()
}

// abandon makes every later host call of the current call fail at once
// (ErrAbandoned): the host gave up on it. The instance is never used again.
func (in *instance) abandon() { in.host.abandoned.Store(true) }

// classify turns an error from a call into a CallError; a trap that left
// the fuel below zero is a timeout: the guest ran out of its work budget.
func (in *instance) classify(ctx context.Context, err error) *CallError {
	switch {
	case errors.Is(err, ErrAbandoned):
		// Not the module's doing: the host gave up on the call first.
		return &CallError{Kind: KindTimeout, Err: err}
	case meter.Exhausted(int64(in.fuel.Get())):
		if errors.Is(err, ErrFuelExhausted) {
			return &CallError{Kind: KindTimeout, Err: err}
		}
		return &CallError{Kind: KindTimeout, Err: fmt.Errorf("%w: %w", ErrFuelExhausted, err)}
	case meter.StackExhausted(int64(in.stackBudget.Get())):
		return &CallError{Kind: KindTrap, Err: fmt.Errorf("%w: %w", ErrStackExhausted, err)}
	case errors.Is(err, ErrHostBudget):
		return &CallError{Kind: KindTrap, Err: err}
	}
	return classify(ctx, err)
}

// write copies input into a guest buffer obtained from verdict_alloc.
func (in *instance) write(ctx context.Context, input []byte) (uint32, error) {
	n := uint32(len(input))
	if n > in.inCap {
		if in.inCap > 0 {
			in.stack[0], in.stack[1] = uint64(in.inPtr), uint64(in.inCap)
			if err := in.free.CallWithStack(ctx, in.stack[:]); err != nil {
				return 0, in.classify(ctx, err)
			}
			in.inPtr, in.inCap = 0, 0
		}
		size := n
		if size < 4096 {
			size = 4096
		}
		in.stack[0] = uint64(size)
		if err := in.alloc.CallWithStack(ctx, in.stack[:]); err != nil {
			return 0, in.classify(ctx, err)
		}
		ptr := uint32(in.stack[0])
		if ptr == 0 {
			return 0, callErr(KindBadOutput, "verdict_alloc(%d) returned 0", size)
		}
		in.inPtr, in.inCap = ptr, size
	}
	if !in.mem.Write(in.inPtr, input) {
		return 0, callErr(KindBadOutput, "verdict_alloc returned %d, out of range for %d bytes", in.inPtr, n)
	}
	return n, nil
}

// call gives input to fn (an i32, i32 -> i64 export) and copies out at most
// limit bytes of output.
func (in *instance) call(ctx context.Context, fn api.Function, input []byte, limit int) ([]byte, error) {
	n, err := in.write(ctx, input)
	if err != nil {
		return nil, err
	}
	in.stack[0], in.stack[1] = uint64(in.inPtr), uint64(n)
	if err := fn.CallWithStack(ctx, in.stack[:]); err != nil {
		return nil, in.classify(ctx, err)
	}
	return in.output(in.stack[0], limit)
}

// output bounds-checks a packed pointer and length and copies the bytes.
func (in *instance) output(packed uint64, limit int) ([]byte, error) {
	if packed == 0 {
		return nil, callErr(KindBadOutput, "the guest returned 0 (failure)")
	}
	ptr, n := abi.Unpack(packed)
	if int64(n) > int64(limit) {
		return nil, &CallError{Kind: KindBadOutput, Err: fmt.Errorf("%w: output of %d bytes is over the cap of %d", ErrOutputOverCap, n, limit)}
	}
	view, ok := in.mem.Read(ptr, n)
	if !ok {
		return nil, callErr(KindBadOutput, "output [%d, %d+%d) is outside the guest's %d bytes of memory",
			ptr, ptr, n, in.mem.Size())
	}
	return bytes.Clone(view), nil
}
