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
	// ErrRefusedFile: a file of the policy directory is not read because it
	// is not a regular file (a FIFO, device, socket or directory), is a
	// symlink that is absolute or leads outside the directory, or is over
	// its size limit. The wrapping error names the file.
	ErrRefusedFile = errors.New("refused")
	// ErrLoadTimeout: a load of the policy directory did not finish within
	// Config.LoadDirTimeout. The load is abandoned: its result, if it ever
	// comes, is discarded, and the next load does not wait for it.
	ErrLoadTimeout = errors.New("policy directory load timed out")
	// ErrLoadStuck: a new load was refused because earlier loads that timed
	// out are still stuck (in a read the kernel does not interrupt, say on
	// a network file system) and Verdict will not start more of them.
	ErrLoadStuck = errors.New("earlier policy directory loads are still stuck")
)
