//go:build linux

package meter

import (
	"context"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// overheadRounds is how many rounds BenchmarkOverhead runs per workload.
const overheadRounds = 31

// BenchmarkOverhead measures the three modes of each of benchWorkloads
// interleaved, so that they share the machine's load (the benchmarks' 2-core
// machine is shared, and a mode measured a minute after another can see a
// different machine), in CPU time of the calling thread, so that time spent
// waiting for a core does not count. Each round runs a chunk of calls (about
// 5 ms of the plain mode) in every mode, in a rotating order. The reported
// ns/op of a mode is its fastest chunk's CPU time per call, and
// fuel-overhead-% compares the fuel and plain figures; median-fuel-overhead-%
// compares the medians instead. Run it once:
//
//	go test -run '^$' -bench BenchmarkOverhead -benchtime 1x ./host/internal/meter/
func BenchmarkOverhead(b *testing.B) {
	for _, w := range benchWorkloads(b) {
		b.Run(w.name, func(b *testing.B) {
			wasm, configure := w.wasm(b), w.configureInput(b)
			guests := make([]*guestModule, len(modes))
			for i, m := range modes {
				mw := wasm
				if m.metered {
					mw = instrument(b, wasm)
				}
				guests[i] = instantiateConfigured(b, newRuntime(b, m.closeOnDone), mw, configure)
			}
			run := func(i, n int) time.Duration {
				g := guests[i]
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				start := threadCPU(b)
				for j := 0; j < n; j++ {
					ctx := context.Background()
					var cancel context.CancelFunc
					if modes[i].closeOnDone {
						ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
					}
					g.setFuel(1 << 40)
					err := w.call(ctx, g)
					if cancel != nil {
						cancel()
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				return threadCPU(b) - start
			}
			// Warm every instance, then size the chunks on the plain mode.
			for i := range modes {
				run(i, 3)
			}
			n := 1
			for run(0, n) < 5*time.Millisecond && n < 1<<20 {
				n *= 2
			}
			perCall := make([][]float64, len(modes))
			b.ResetTimer()
			for k := 0; k < b.N*overheadRounds; k++ {
				for j := range modes {
					i := (j + k) % len(modes)
					perCall[i] = append(perCall[i], float64(run(i, n).Nanoseconds())/float64(n))
				}
			}
			b.StopTimer()
			low, med := make([]float64, len(modes)), make([]float64, len(modes))
			for i, m := range modes {
				slices.Sort(perCall[i])
				low[i], med[i] = perCall[i][0], perCall[i][len(perCall[i])/2]
				b.ReportMetric(low[i], m.name+"-ns/op")
			}
			b.ReportMetric((low[2]/low[0]-1)*100, "fuel-overhead-%")
			b.ReportMetric((med[2]/med[0]-1)*100, "median-fuel-overhead-%")
		})
	}
}

// threadCPU returns the CPU time the calling OS thread has used.
func threadCPU(b *testing.B) time.Duration {
	const clockThreadCPUTime = 3 // CLOCK_THREAD_CPUTIME_ID
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		b.Fatal(errno)
	}
	return time.Duration(ts.Nano())
}
