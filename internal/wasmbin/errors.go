package wasmbin

import (
	"errors"
	"fmt"
)

// Sentinel errors of this package, each wrapped in an *Error that says where.
var (
	// ErrTruncated: the input ends inside a byte, number or name being read.
	ErrTruncated = errors.New("unexpected end")
	// ErrPastEnd: a length (of a section, a body or a name) runs past the end
	// of what holds it.
	ErrPastEnd = errors.New("length past the end")
	// ErrLEB128: an LEB128 number is longer than its type allows, or its last
	// byte has bits set beyond the type's width.
	ErrLEB128 = errors.New("bad LEB128 number")
)

// Error is a failure to read the binary format at Offset, a position in the
// whole input (not in the section or body being read).
type Error struct {
	// Offset is where the item that could not be read starts, or where the
	// input ended.
	Offset int
	// Err is one of ErrTruncated, ErrPastEnd and ErrLEB128.
	Err error
	// Detail describes the failure in a few words, e.g. "unexpected end: 4
	// bytes needed, 2 left".
	Detail string
}

// Error returns the offset and the detail.
func (e *Error) Error() string { return fmt.Sprintf("offset %#x: %s", e.Offset, e.Detail) }

// Unwrap returns the sentinel, for errors.Is.
func (e *Error) Unwrap() error { return e.Err }

func errAt(sentinel error, off int, format string, args ...any) error {
	return &Error{Offset: off, Err: sentinel, Detail: fmt.Sprintf(format, args...)}
}
