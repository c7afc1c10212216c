package host

import "errors"

// Sentinel errors returned by the host. Module-level failures never surface
// as errors from Decide: they become DENY answers with a reason.
var (
	// ErrNoSnapshot: no policy snapshot has been loaded yet.
	ErrNoSnapshot = errors.New("no policy snapshot loaded yet")
	// ErrClosed: the host has been closed.
	ErrClosed = errors.New("host closed")
	// ErrLoad: a module could not be loaded; the wrapped error names the file
	// and the problem.
	ErrLoad = errors.New("load failed")
)
