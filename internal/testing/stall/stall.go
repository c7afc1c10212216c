// Package stall keeps a garbage collection from hiding a call's deadline in
// tests of stuck-call accounting.
//
// A guest call cannot be preempted, so a collection that starts while a guest
// runs waits until the guest returns, and every other goroutine waits with
// it (README, "Reliability", row 9; TestGCPausesAreBoundedByFuel measures
// that pause). A test whose guest runs with unlimited fuel for seconds, to
// check what happens when its call is abandoned at the wall-clock backstop,
// then sometimes sees the deadline only after the guest has returned: the
// call was never stuck, and the test fails on a timing it does not test.
package stall

import (
	"runtime/debug"
	"testing"
)

// WithoutGC turns the garbage collector off until t ends. Use it only in
// tests that do not run in parallel with others, for the seconds a runaway
// guest runs.
func WithoutGC(t testing.TB) {
	t.Helper()
	old := debug.SetGCPercent(-1)
	t.Cleanup(func() { debug.SetGCPercent(old) })
}
