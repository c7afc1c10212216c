package meter

import (
	"errors"
	"fmt"
)

// Errors returned by Instrument, wrapped with the byte offset and details.
var (
	// ErrMalformed: the bytes are not a well-formed WebAssembly binary
	// (bad header, truncated section or body, bad LEB128 number, sections
	// out of order).
	ErrMalformed = errors.New("malformed module")
	// ErrUnsupported: the module uses an instruction or construct beyond
	// WebAssembly core 2.0, or an opcode that does not exist.
	ErrUnsupported = errors.New("unsupported feature")
	// ErrInvalid: the module is well formed but not valid, in a way the
	// rewrite would hide: its code or exports name a global or local index
	// that does not exist in the module but would once the rewrite adds its
	// own (the fuel global, the fuel and scratch locals).
	ErrInvalid = errors.New("invalid module")
	// ErrLimit: the module declares more than a limit of this package allows
	// (see limits.go): more would let a small file make the rewrite or
	// wazero's compiler spend unbounded memory or time, or an instance
	// allocate past its budget.
	ErrLimit = errors.New("over a limit")
	// ErrFuelExported: the module already exports a name equal to FuelGlobal
	// or StackGlobal.
	ErrFuelExported = errors.New("module already exports " + FuelGlobal + " or " + StackGlobal)
)

// errAt wraps sentinel with the offset and a description.
func errAt(sentinel error, off int, format string, args ...any) error {
	return fmt.Errorf("meter: offset %#x: %s: %w", off, fmt.Sprintf(format, args...), sentinel)
}
