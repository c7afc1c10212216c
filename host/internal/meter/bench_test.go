package meter

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/abi/conformance"
	"github.com/verdictpdp/verdict/internal/wire"
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
func benchCall(b *testing.B, wasm, configure []byte, closeOnDone, metered bool, call func(ctx context.Context, g *guestModule) error) {
	if metered {
		wasm = instrument(b, wasm)
	}
	g := instantiateConfigured(b, newRuntime(b, closeOnDone), wasm, configure)
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

// workload is one guest function to benchmark: the module, what
// verdict_configure gets (nil: no settings, no files) and the call.
type workload struct {
	name      string
	wasm      func(b *testing.B) []byte
	configure func(b testing.TB) []byte
	call      func(context.Context, *guestModule) error
}

// BenchmarkWorkloads compares plain, close-on-done and fuel on each of
// benchWorkloads, one mode after the other (see BenchmarkOverhead for the
// three interleaved).
func BenchmarkWorkloads(b *testing.B) {
	for _, w := range benchWorkloads(b) {
		for _, m := range modes {
			b.Run(w.name+"/"+m.name, func(b *testing.B) {
				benchCall(b, w.wasm(b), w.configureInput(b), m.closeOnDone, m.metered, w.call)
			})
		}
	}
}

// configureInput returns verdict_configure's input for w.
func (w workload) configureInput(b testing.TB) []byte {
	if w.configure == nil {
		return []byte(`{"settings":null,"files":{}}`)
	}
	return w.configure(b)
}

// benchWorkloads returns the benchmarks' workloads: a loop-heavy function
// (sum of 1..10000), a call-heavy one (fib(25)), every SDK's conformance
// guest and catalog-owner example (one item, and the 1,000-item batch), and
// the RBAC module with 50 roles (a 50-item batch, and one item).
func benchWorkloads(b *testing.B) []workload {
	bench := read(b, filepath.Join("testdata", "bench.wasm"))
	fn := func(name string, args ...uint64) func(context.Context, *guestModule) error {
		return func(ctx context.Context, g *guestModule) error {
			copy(g.stack, args)
			return g.fn(name).CallWithStack(ctx, g.stack)
		}
	}
	evaluate := func(input []byte) func(context.Context, *guestModule) error {
		return func(ctx context.Context, g *guestModule) error {
			_, err := g.call(ctx, "verdict_evaluate", input)
			return err
		}
	}
	workloads := []workload{
		{name: "sum-10000", wasm: func(*testing.B) []byte { return bench }, call: fn("sum", 10000)},
		{name: "fib-25", wasm: func(*testing.B) []byte { return bench }, call: fn("fib", 25)},
	}
	cases, err := conformance.Load(conformDir)
	require.NoError(b, err)
	for _, c := range cases {
		if c.Name != "single-allow" && c.Name != "batch-1000" {
			continue
		}
		input := c.Bytes()
		// The conformance module and the catalog-owner example of every
		// SDK, on the same input.
		for _, sdk := range []struct{ name, conformance, example string }{
			{"go", "sdk/conformance.wasm", "examples/catalog-owner.wasm"},
			{"c", "sdk/c/conformance.wasm", "examples/c/catalog-owner.wasm"},
			{"rust", "sdk/rust/conformance.wasm", "examples/rust/catalog-owner.wasm"},
			{"assemblyscript", "sdk/assemblyscript/conformance.wasm", "examples/assemblyscript/catalog-owner.wasm"},
		} {
			for _, m := range []struct{ kind, path string }{{"conformance", sdk.conformance}, {"example", sdk.example}} {
				workloads = append(workloads, workload{name: sdk.name + "-" + m.kind + "-" + c.Name,
					wasm: func(b *testing.B) []byte { return read(b, guest(b, m.path)) }, call: evaluate(input)})
			}
		}
	}
	rbac := func(b *testing.B) []byte { return read(b, guest(b, "policies/rbac.wasm")) }
	workloads = append(workloads,
		workload{name: "rbac-50roles-batch-50", wasm: rbac, configure: rbacConfigure, call: evaluate(rbacRequest(50))},
		workload{name: "rbac-50roles-single", wasm: rbac, configure: rbacConfigure, call: evaluate(rbacRequest(1))})
	return workloads
}

// rbacBench is policies/rbac's benchmark policy, which the host's
// BenchmarkRBAC reads too: 50 roles of up to 20 lines each, 100 groups bound
// to 2 roles each, every tenth of 1,000 users bound to a role directly, and
// conditional policies for 10 roles.
const rbacBench = "../../../policies/rbac/testdata/bench"

// rbacConfigure returns verdict_configure's input for the RBAC module with
// the benchmark policy, as the host builds it from rbac.json and rbac.d/.
func rbacConfigure(b testing.TB) []byte {
	in, err := json.Marshal(abi.ConfigureInput{
		Settings: json.RawMessage(`{"policies-csv-file":"bench.csv","conditionalPoliciesFile":"bench-conditions.yaml"}`),
		Files: map[string]string{
			"bench.csv":             string(read(b, filepath.Join(rbacBench, "bench.csv"))),
			"bench-conditions.yaml": string(read(b, filepath.Join(rbacBench, "bench-conditions.yaml"))),
		}})
	require.NoError(b, err)
	return in
}

// rbacRequest returns the first n items of the RBAC benchmark's batch (as in
// policies/rbac and the host's BenchmarkRBAC: resource permissions over 10
// plugins and 10 resource types, basic ones over 25 names, five actions) for
// user u3, in groups g3 and g21.
func rbacRequest(n int) []byte {
	acts := []string{"read", "update", "delete", "create", ""}
	req := abi.Request{ABI: 1, Principal: abi.Principal{Type: abi.PrincipalUser, UserEntityRef: "user:default/u3",
		OwnershipEntityRefs: []string{"user:default/u3", "group:default/g3", "group:default/g21"}}}
	for i := 0; i < n; i++ {
		p := abi.Permission{Type: abi.PermissionBasic, Name: "perm." + strconv.Itoa(i%25),
			Attributes: abi.Attributes{Action: acts[i%len(acts)]}}
		if i%2 == 0 {
			p = abi.Permission{Type: abi.PermissionResource, Name: "plugin" + strconv.Itoa(i%10) + ".entity." + strconv.Itoa(i),
				ResourceType: "type-" + strconv.Itoa((i/2)%10), Attributes: abi.Attributes{Action: acts[i%len(acts)]}}
		}
		req.Items = append(req.Items, abi.Item{ID: strconv.Itoa(i), Permission: p})
	}
	return wire.AppendRequest(nil, &req)
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
