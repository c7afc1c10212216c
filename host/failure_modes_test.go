package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/internal/testing/reliability"
	"github.com/verdictpdp/verdict/internal/testing/stall"
)

// Tests for rows 9, 10, 14 and 15 of the reliability table (README.md,
// "Reliability"): each asserts the row's behaviour and records
// the figures the report quotes. Sizes grow with VERDICT_RELIABILITY=full.

// heapInuse is HeapInuse after a GC.
func heapInuse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// mib formats a byte count (which may be negative) in MiB.
func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// Row 9: a loop-free exponential recursion is stopped by fuel (wazero's
// context check alone would not stop it), and the wall-clock backstop
// abandons what fuel does not stop: the stuck call counts toward the stuck
// budget, and readiness turns red only when stuck calls fill the slots.
func TestLoopFreeRunaway(t *testing.T) {
	cfg := testConfig()
	cfg.CallTimeout = 30 * time.Second // fuel, not the backstop, must stop it
	cfg.QuarantineFailures = 1 << 30
	h := newHost(t, cfg, "fib")
	n := reliability.Scale(3, 20)
	var lat []time.Duration
	for i := 0; i < n; i++ {
		start := time.Now()
		d := decideOne(t, h, basic("x"))
		lat = append(lat, time.Since(start))
		require.Equal(t, abi.Deny, d.Result)
		require.Contains(t, d.Reason, "timeout: fuel exhausted", "stopped by fuel, not by the backstop")
	}
	c := status(t, h, "fib").Counters
	require.Equal(t, uint64(n), c.Timeouts)
	require.Zero(t, c.Stuck, "a call stopped by fuel is never stuck")
	reliability.Record(t, 9, fmt.Sprintf("fib(45) stopped by fuel (%d calls): time to DENY p50 / p99", n),
		"%.0f ms / %.0f ms", reliability.QuantileMS(lat, 0.5), reliability.QuantileMS(lat, 0.99))

	// The backstop: no fuel limit, a 100 ms deadline, a call that needs
	// about 1.7 s. Two instances: one stuck call is below the budget.
	stall.WithoutGC(t)
	cfg = testConfig()
	cfg.Fuel = 1 << 62
	cfg.CallTimeout = 100 * time.Millisecond
	cfg.Instances = 2
	h = newHost(t, cfg, "slow-recursion")
	start := time.Now()
	d := decideOne(t, h, basic("x"))
	abandon := time.Since(start)
	require.Equal(t, abi.Deny, d.Result)
	require.Contains(t, d.Reason, "no answer within 100ms")
	require.Equal(t, int64(1), status(t, h, "slow-recursion").Counters.Stuck)
	require.NoError(t, h.Ready(), "one stuck call of two slots: still ready")
	start = time.Now()
	require.Eventually(t, func() bool { return status(t, h, "slow-recursion").Counters.Stuck == 0 }, 60*time.Second, time.Millisecond)
	reliability.Record(t, 9, "wall-clock backstop (deadline 100 ms, fuel unlimited): time to DENY", "%.0f ms", float64(abandon)/float64(time.Millisecond))
	reliability.Record(t, 9, "stuck_evaluations with 1 of 2 slots stuck; /readyz", "1; green")
	reliability.Record(t, 9, "the abandoned fib(41) call returned after", "%.2f s more", time.Since(start).Seconds())
}

// Row 9, the stuck budget: one instance, one stuck call: readiness is red,
// the module's items fail at once (its slot is held), and the batch's other
// modules still answer (a regression: the module used to wait out the
// request deadline for its slot, and the modules after it then failed as
// "busy" too).
func TestStuckBudgetKeepsNeighbours(t *testing.T) {
	stall.WithoutGC(t)
	cfg := testConfig()
	cfg.Fuel = 1 << 62
	cfg.CallTimeout = 100 * time.Millisecond
	cfg.Instances = 1
	cfg.Claims = map[string][]string{"a-stuck": {"stuck.*"}, "b-ok": {"ok.*"}}
	h := newHost(t, cfg, "a-stuck=slow-recursion", "b-ok=allow-one")
	qs := []Query{basic("stuck.x"), basic("ok.x")}
	d, err := h.Decide(context.Background(), user, qs)
	require.NoError(t, err)
	require.Equal(t, abi.Deny, d.Items[0].Result)
	require.Contains(t, d.Items[0].Reason, "timeout")
	require.Equal(t, abi.Allow, d.Items[1].Result)
	require.Equal(t, int64(1), status(t, h, "a-stuck").Counters.Stuck)
	require.ErrorContains(t, h.Ready(), "stuck call", "stuck calls fill the budget: not ready")

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	d, err = h.Decide(ctx, user, qs)
	took := time.Since(start)
	require.NoError(t, err)
	require.Equal(t, abi.Deny, d.Items[0].Result)
	require.Contains(t, d.Items[0].Reason, "every instance is held by a stuck call")
	require.Equal(t, abi.Allow, d.Items[1].Result, "the neighbour module keeps its answer")
	require.NoError(t, ctx.Err(), "the request deadline was not spent waiting")
	reliability.Record(t, 9, "stuck_evaluations with 1 of 1 slot stuck; /readyz", "1; red")
	reliability.Record(t, 9, "a batch while the module's slots are all stuck: latency (neighbour ALLOW)", "%.2f ms", float64(took)/float64(time.Millisecond))

	require.Eventually(t, func() bool { return h.Ready() == nil }, 60*time.Second, 10*time.Millisecond)
	require.Zero(t, status(t, h, "a-stuck").Counters.Stuck)
}

// Row 10: a grow-bomb is DENY; the host's heap stays within the budget
// while bombs run, and does not keep their memory afterwards; a module whose
// minimum memory is over the limit is refused at load.
func TestMemoryBombs(t *testing.T) {
	// Peak: concurrent bombs at the default 32 MiB limit (8 MiB in make
	// test: growing is slow under -race).
	cfg := testConfig()
	cfg.MemoryMiB = reliability.Scale(8, DefaultConfig().MemoryMiB)
	cfg.CallTimeout = 30 * time.Second
	cfg.QuarantineFailures = 1 << 30
	h := newHost(t, cfg, "grow-bomb")
	base := heapInuse()
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < cfg.Instances; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := h.Decide(context.Background(), user, []Query{basic("x")})
			if err != nil || d.Items[0].Result != abi.Deny || !strings.Contains(d.Items[0].Reason, "trap") {
				t.Errorf("grow-bomb: %v %+v", err, d)
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	close(stop)
	<-sampled
	limit := int64(cfg.MemoryMiB) << 20
	budget := int64(cfg.Instances)*3*limit + 64<<20
	growth := int64(peak.Load()) - int64(base)
	require.Less(t, growth, budget, "peak heap over baseline + instances × 3 × limit + 64 MiB")
	reliability.Record(t, 10, fmt.Sprintf("%d concurrent grow-bombs at the %d MiB limit: DENY (trap) after", cfg.Instances, cfg.MemoryMiB),
		"%.2f s", took.Seconds())
	reliability.Record(t, 10, fmt.Sprintf("%d concurrent grow-bombs at the %d MiB limit: peak HeapInuse over baseline (budget)", cfg.Instances, cfg.MemoryMiB),
		"%s (%s)", mib(growth), mib(budget))

	// Churn: many bombs, then a GC: the heap is back near its baseline.
	cfg.MemoryMiB = 4
	h = newHost(t, cfg, "grow-bomb")
	decideOne(t, h, basic("x"))
	base = heapInuse()
	n := reliability.Scale(6, 1000)
	start = time.Now()
	for i := 0; i < n; i++ {
		require.Equal(t, abi.Deny, decideOne(t, h, basic("x")).Result)
	}
	took = time.Since(start)
	after := heapInuse()
	growth = int64(after) - int64(base)
	require.Equal(t, uint64(n+1), status(t, h, "grow-bomb").Counters.Discarded, "every instance thrown away")
	// Keeping every bomb's memory would be n × 4 MiB ≥ 24 MiB.
	require.Less(t, growth, int64(12<<20), "heap after %d grow-bombs and a GC", n)
	reliability.Record(t, 10, fmt.Sprintf("%d grow-bombs at 4 MiB, then a GC: heap vs baseline", n),
		"%s (%+.1f%% of %s)", mib(growth), 100*float64(growth)/float64(base), mib(int64(base)))
	reliability.Record(t, 10, fmt.Sprintf("%d grow-bombs at 4 MiB: time per DENY", n), "%.1f ms", float64(took)/float64(n)/float64(time.Millisecond))

	// Minimum memory over the limit: refused at load, never routed.
	h = newHost(t, testConfig(), "bigmin", "zz-deny=deny-one")
	st := status(t, h, "bigmin")
	require.Equal(t, StatusError, st.Status)
	require.Contains(t, st.Message, "over limit")
	d := decideOne(t, h, basic("x"))
	require.Len(t, d.Answers, 1, "the refused module is never routed to")
	require.Equal(t, "zz-deny", d.Answers[0].Module)
	_, why, _ := strings.Cut(st.Message, ".wasm: ") // without the temporary directory
	reliability.Record(t, 10, "min memory 64 MiB over a 32 MiB limit", "refused at load, never routed: %s", why)
}

// wasmSections returns the offset of every section boundary of a module:
// after the header, and after each section.
func wasmSections(t testing.TB, b []byte) []int {
	t.Helper()
	require.Greater(t, len(b), 8)
	cuts := []int{8}
	for off := 8; off < len(b); {
		off++ // section id
		var size, shift int
		for {
			c := b[off]
			off++
			size |= int(c&0x7f) << shift
			shift += 7
			if c&0x80 == 0 {
				break
			}
		}
		off += size
		require.LessOrEqual(t, off, len(b))
		cuts = append(cuts, off)
	}
	return cuts
}

// Row 14: with requireSeal, a sealed module cut at any section boundary
// (where the cut still validates as WebAssembly) is never activated, for
// every fixture and every built example or policy; the complete module keeps
// serving. TestWatchSlowWriter times the slow writer.
func TestTruncatedCopiesNeverActivate(t *testing.T) {
	modules := map[string]string{}
	for _, glob := range []string{"testdata/fixtures/*.wasm", buildDir + "/policies/*.wasm", buildDir + "/examples/*.wasm",
		buildDir + "/examples/*/*.wasm"} {
		files, err := filepath.Glob(glob)
		require.NoError(t, err)
		for _, f := range files {
			modules[f] = f
		}
	}
	cfg := testConfig()
	cfg.RequireSeal = true
	h, err := New(context.Background(), cfg, nil)
	require.NoError(t, err)
	defer h.Close(context.Background())
	serving := fixtureDir(t, "m=allow-one")
	sealedOK, err := abi.Seal(mustRead(t, filepath.Join(serving, "m.wasm")))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(serving, "m.wasm"), sealedOK, 0o644))
	require.NoError(t, h.LoadDir(context.Background(), serving))
	require.Equal(t, StatusOK, status(t, h, "m").Status)

	cuts, files := 0, 0
	for _, f := range slices.Sorted(func(yield func(string) bool) {
		for k := range modules {
			if !yield(k) {
				return
			}
		}
	}) {
		plain := mustRead(t, f)
		if len(plain) < 8 || string(plain[:4]) != "\x00asm" {
			continue // not-wasm
		}
		sealed, err := abi.Seal(plain)
		require.NoError(t, err)
		files++
		for _, cut := range wasmSections(t, sealed) {
			if cut == len(sealed) {
				continue
			}
			require.NoError(t, os.WriteFile(filepath.Join(serving, "m.wasm"), sealed[:cut], 0o644))
			require.NoError(t, h.LoadDir(context.Background(), serving))
			st := status(t, h, "m")
			require.Equal(t, StatusError, st.Status, "%s cut at %d of %d activated", f, cut, len(sealed))
			require.Equal(t, abi.Allow, decideOne(t, h, basic("x")).Result, "the complete module keeps serving")
			cuts++
		}
	}
	require.Greater(t, files, 20)
	reliability.Record(t, 14, "sealed modules cut at every section boundary, requireSeal: activated",
		"0 of %d cuts (%d modules); the complete module served throughout", cuts, files)
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

// Row 15: P goroutines × at least N forced reloads while a writer storms the
// directory with changes the watcher sees. Every goroutine sees the
// generation strictly increase, no reload fails, the final snapshot is the
// directory's contents, and no goroutine outlives Watch and Close.
func TestConcurrentReloads(t *testing.T) {
	p, n := reliability.Scale(4, 32), reliability.Scale(25, 100)
	baseline := runtime.NumGoroutine()
	var final Status
	var reloads int
	t.Run("hammer", func(t *testing.T) {
		dir := fixtureDir(t, "a=allow-one", "b=deny-one")
		h := watchingWith(t, dir, 5*time.Millisecond)
		start := time.Now()
		stopStorm := make(chan struct{})
		stormDone := make(chan struct{})
		var storms atomic.Int64
		var stormErr error
		versions := [][]byte{mustRead(t, "testdata/fixtures/allow-one.wasm"), mustRead(t, "testdata/fixtures/deny-one.wasm"),
			mustRead(t, "testdata/fixtures/abstain-one.wasm")}
		go func() {
			defer close(stormDone)
			for i := 0; ; i++ {
				select {
				case <-stopStorm:
					return
				default:
				}
				if stormErr = os.WriteFile(filepath.Join(dir, "c.wasm"), versions[i%len(versions)], 0o644); stormErr != nil {
					return
				}
				storms.Add(1)
				// Pacing, not synchronisation: quiet spells longer than the
				// debounce's two looks let the watcher reload mid-hammer.
				time.Sleep(15 * time.Millisecond)
			}
		}()
		var wg sync.WaitGroup
		var done atomic.Int64
		errs := make(chan error, p)
		minStorms := int64(reliability.Scale(10, 100))
		for g := 0; g < p; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				last := uint64(0)
				// At least n reloads each, and on until the writer has
				// stormed enough.
				for i := 0; i < n || storms.Load() < minStorms; i++ {
					done.Add(1)
					if err := h.Reload(context.Background()); err != nil {
						errs <- err
						return
					}
					gen := h.Status().Generation
					if gen <= last {
						errs <- fmt.Errorf("generation %d after %d", gen, last)
						return
					}
					last = gen
				}
			}()
		}
		wg.Wait()
		close(stopStorm)
		<-stormDone
		require.NoError(t, stormErr)
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		took := time.Since(start)
		// The directory is quiet now: one more reload, and the snapshot is
		// exactly the directory.
		require.NoError(t, h.Reload(context.Background()))
		final = h.Status()
		reloads = int(done.Load())
		require.GreaterOrEqual(t, final.Generation, uint64(reloads+1))
		want := map[string]string{}
		for _, name := range []string{"a", "b", "c"} {
			sum := sha256.Sum256(mustRead(t, filepath.Join(dir, name+".wasm")))
			want[name] = hex.EncodeToString(sum[:])
		}
		got := map[string]string{}
		for _, ps := range final.Policies {
			require.Equal(t, StatusOK, ps.Status, ps.Message)
			got[ps.Name] = ps.SHA256
		}
		require.Equal(t, want, got, "final snapshot = directory contents")
		reliability.Record(t, 15, fmt.Sprintf("%d goroutines × ≥%d Reload() (%d in all) + %d file rewrites under the watcher: generations",
			p, n, reloads, storms.Load()),
			"strictly increasing in every goroutine; final %d (%d by the watcher); 0 failed reloads; %.1f s",
			final.Generation, final.Generation-uint64(reloads)-2, took.Seconds())
	})
	// Watch and the host are closed by the subtest's cleanup.
	got := runtime.NumGoroutine()
	for deadline := time.Now().Add(10 * time.Second); got > baseline+2 && time.Now().Before(deadline); got = runtime.NumGoroutine() {
		time.Sleep(10 * time.Millisecond)
	}
	require.LessOrEqual(t, got, baseline+2, "goroutines after %d reloads, Watch and Close", reloads)
	reliability.Record(t, 15, "goroutines after Watch and Close vs baseline", "%d vs %d", got, baseline)
}

// Row 9: a call abandoned at the wall-clock backstop that then runs out of
// fuel (or traps) failed by the module's own doing, and counts toward
// quarantine. A regression: late failures were not counted, so a module
// whose failures outlast the backstop (a stack overflow takes seconds with
// wazero's compiler) was never quarantined and cost seconds of CPU per
// request.
func TestLateFailuresCountTowardQuarantine(t *testing.T) {
	cfg := testConfig()
	cfg.CallTimeout = time.Millisecond // abandoned long before fuel stops fib(45) (about 30 ms)
	cfg.Instances = 1
	cfg.QuarantineFailures = 3
	h := newHost(t, cfg, "fib")
	for i := 0; i < 3; i++ {
		d := decideOne(t, h, basic("x"))
		require.Equal(t, abi.Deny, d.Result)
		require.Contains(t, d.Reason, "timeout")
		require.Eventually(t, func() bool { return status(t, h, "fib").Counters.Stuck == 0 }, 60*time.Second, time.Millisecond)
	}
	st := status(t, h, "fib")
	require.Equal(t, StatusQuarantined, st.Status, "three calls that ran out of fuel, late or not")
	d := decideOne(t, h, basic("x"))
	require.Contains(t, d.Reason, "quarantined since")
	reliability.Record(t, 9, "3 calls abandoned at a 1 ms backstop that then ran out of fuel", "quarantined (late failures count)")
}
