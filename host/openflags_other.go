//go:build !unix

package host

// openFlags: no extra open flags where O_NONBLOCK does not exist.
const openFlags = 0
