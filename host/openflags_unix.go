//go:build unix

package host

import "syscall"

// openFlags are added to every open of a file in the policy directory:
// O_NONBLOCK so that opening a FIFO with no writer (or a device) returns at
// once instead of hanging the load, O_NOCTTY so that a terminal device can
// never become the process's controlling terminal.
const openFlags = syscall.O_NONBLOCK | syscall.O_NOCTTY
