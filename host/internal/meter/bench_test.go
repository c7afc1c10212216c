package meter

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi/conformance"
)

// The three ways of running a guest that the benchmarks compare.
var modes = []struct {
	name        string
	closeOnDone bool // runtime WithCloseOnContextDone, per-call deadline
	metered     bool // instrumented, fuel set before each call
}{
	{"plain", false, false},
	{"close-on-done", true, false},
	{"fuel", false, true},
}

// benchCall calls fn in the given mode, b.N times.
func benchCall(b *testing.B, wasm []byte, closeOnDone, metered bool, call func(ctx context.Context, g *guestModule) error) {
	if metered {
		wasm = instrument(b, wasm)
	}
	g := instantiate(b, newRuntime(b, closeOnDone), wasm)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx := context.Background()
		var cancel context.CancelFunc
		if closeOnDone {
			ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		}
		g.setFuel(1 << 40)
		err := call(ctx, g)
		if cancel != nil {
			cancel()
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWorkloads compares plain, close-on-done and fuel on a loop-heavy
// function (sum of 1..10000), a call-heavy one (fib(25)) and the Go
// conformance guest (one item, and the 1,000-item batch).
func BenchmarkWorkloads(b *testing.B) {
	bench := read(b, filepath.Join("testdata", "bench.wasm"))
	fn := func(name string, args ...uint64) func(context.Context, *guestModule) error {
		return func(ctx context.Context, g *guestModule) error {
			copy(g.stack, args)
			return g.fn(name).CallWithStack(ctx, g.stack)
		}
	}
	workloads := []struct {
		name string
		wasm func(b *testing.B) []byte
		call func(context.Context, *guestModule) error
	}{
		{"sum-10000", func(*testing.B) []byte { return bench }, fn("sum", 10000)},
		{"fib-25", func(*testing.B) []byte { return bench }, fn("fib", 25)},
	}
	cases, err := conformance.Load(conformDir)
	require.NoError(b, err)
	for _, c := range cases {
		if c.Name != "single-allow" && c.Name != "batch-1000" {
			continue
		}
		input := c.Bytes()
		// The conformance module of every SDK, on the same input.
		for _, sdk := range []struct{ name, path string }{
			{"go", "sdk/conformance.wasm"},
			{"c", "sdk/c/conformance.wasm"},
			{"rust", "sdk/rust/conformance.wasm"},
			{"assemblyscript", "sdk/assemblyscript/conformance.wasm"},
		} {
			workloads = append(workloads, struct {
				name string
				wasm func(b *testing.B) []byte
				call func(context.Context, *guestModule) error
			}{sdk.name + "-conformance-" + c.Name, func(b *testing.B) []byte { return read(b, guest(b, sdk.path)) },
				func(ctx context.Context, g *guestModule) error {
					_, err := g.call(ctx, "verdict_evaluate", input)
					return err
				}})
		}
	}
	for _, w := range workloads {
		for _, m := range modes {
			b.Run(w.name+"/"+m.name, func(b *testing.B) {
				benchCall(b, w.wasm(b), m.closeOnDone, m.metered, w.call)
			})
		}
	}
}

// BenchmarkCalibrate measures fuel: how much one Go conformance batch of
// 1,000 items uses (fuel/op), and how much the cheapest runaway (loop br 0)
// and the sum loop burn in 100 ms (fuel/100ms).
func BenchmarkCalibrate(b *testing.B) {
	b.Run("go-batch-1000", func(b *testing.B) {
		cases, err := conformance.Load(conformDir)
		require.NoError(b, err)
		var input []byte
		for _, c := range cases {
			if c.Name == "batch-1000" {
				input = c.Bytes()
			}
		}
		g := instantiate(b, newRuntime(b, false), instrument(b, read(b, guest(b, "sdk/conformance.wasm"))))
		var used int64
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			g.setFuel(1 << 40)
			_, err := g.call(context.Background(), "verdict_evaluate", input)
			require.NoError(b, err)
			used += 1<<40 - g.remaining()
		}
		b.ReportMetric(float64(used)/float64(b.N), "fuel/op")
	})
	bench := instrument(b, read(b, filepath.Join("testdata", "bench.wasm")))
	b.Run("spin", func(b *testing.B) {
		g := instantiateBare(b, newRuntime(b, false), bench)
		const budget = 1e9
		var elapsed time.Duration
		for i := 0; i < b.N; i++ {
			g.setFuel(budget)
			start := time.Now()
			err := g.mod.ExportedFunction("spin").CallWithStack(context.Background(), g.stack)
			elapsed += time.Since(start)
			require.Error(b, err)
			require.True(b, Exhausted(g.remaining()))
		}
		b.ReportMetric(budget*float64(b.N)/float64(elapsed)*float64(100*time.Millisecond), "fuel/100ms")
	})
	b.Run("sum", func(b *testing.B) {
		g := instantiateBare(b, newRuntime(b, false), bench)
		var used int64
		var elapsed time.Duration
		for i := 0; i < b.N; i++ {
			g.setFuel(1 << 40)
			g.stack[0] = 10_000_000
			start := time.Now()
			require.NoError(b, g.mod.ExportedFunction("sum").CallWithStack(context.Background(), g.stack))
			elapsed += time.Since(start)
			used += 1<<40 - g.remaining()
		}
		b.ReportMetric(float64(used)/float64(elapsed)*float64(100*time.Millisecond), "fuel/100ms")
	})
}

// BenchmarkInstrument measures the rewrite itself on the Go conformance
// guest (about 2 MB).
func BenchmarkInstrument(b *testing.B) {
	wasm := read(b, guest(b, "sdk/conformance.wasm"))
	b.SetBytes(int64(len(wasm)))
	for i := 0; i < b.N; i++ {
		if _, err := Instrument(wasm); err != nil {
			b.Fatal(err)
		}
	}
}
