package abi

import "errors"

// Sentinel errors of this package; wrapped errors carry the detail.
var (
	// ErrInvalidCriteria: a criteria tree breaks Backstage's rules or a limit.
	ErrInvalidCriteria = errors.New("invalid criteria")
	// ErrInvalidAnswer: a module's answer for an item is not acceptable.
	ErrInvalidAnswer = errors.New("invalid answer")
	// ErrBadSeal: a seal is present but does not verify, or is malformed.
	ErrBadSeal = errors.New("seal does not verify")
	// ErrNotWasm: the bytes are not a WebAssembly binary module.
	ErrNotWasm = errors.New("not a WebAssembly binary module")
)
