package host

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/internal/testing/reliability"
)

// TestGCPausesAreBoundedByFuel: a guest call cannot be preempted, and a
// garbage collection's stop-the-world waits for the calls running, so a
// runaway guest delays every goroutine of the process until it stops. Fuel
// is what bounds that: the runaways here stop by fuel, and the longest
// runtime.GC() measured while they run is recorded against the idle one:
// on small inputs (the base fuel), and at the most fuel any call gets with
// the default limits (Config.MaxCallFuel), the documented bound.
func TestGCPausesAreBoundedByFuel(t *testing.T) {
	for _, c := range []struct {
		fixture string
		fuel    int64
		what    string
	}{
		{"loop", DefaultConfig().Fuel, "default fuel"},
		{"fib", DefaultConfig().Fuel, "default fuel"},
		{"loop", DefaultConfig().MaxCallFuel(), "the largest default call budget"},
	} {
		fixture := c.fixture
		t.Run(fixture+" "+c.what, func(t *testing.T) {
			cfg := testConfig()
			cfg.Fuel = c.fuel
			cfg.CallTimeout = time.Minute // fuel, not the backstop, stops them
			cfg.QuarantineFailures = 1 << 30
			h := newHost(t, cfg, fixture)
			idle := maxGC(5)

			n := reliability.Scale(3, 20)
			reasons := make(chan string, n)
			go func() {
				defer close(reasons)
				for i := 0; i < n; i++ {
					d, err := h.Decide(context.Background(), user, []Query{basic("x")})
					if err != nil {
						reasons <- err.Error()
						continue
					}
					reasons <- string(d.Items[0].Result) + " " + d.Items[0].Reason
				}
			}()
			var gcs []time.Duration
			got := 0
			for got < n {
				select {
				case r, ok := <-reasons:
					if !ok {
						got = n
						break
					}
					got++
					require.Contains(t, r, string(abi.Deny)+" ")
					require.Contains(t, r, "timeout: fuel exhausted")
				default:
					start := time.Now()
					runtime.GC()
					gcs = append(gcs, time.Since(start))
				}
			}
			reliability.Record(t, 9, fmt.Sprintf("runtime.GC() while %s runaways run (%s, %d calls, %d GCs): max; idle max", fixture, c.what, n, len(gcs)),
				"%.1f ms; %.1f ms", reliability.QuantileMS(gcs, 1), float64(idle)/float64(time.Millisecond))
		})
	}
}

// maxGC returns the longest of n runtime.GC() calls.
func maxGC(n int) time.Duration {
	var longest time.Duration
	for i := 0; i < n; i++ {
		start := time.Now()
		runtime.GC()
		longest = max(longest, time.Since(start))
	}
	return longest
}
