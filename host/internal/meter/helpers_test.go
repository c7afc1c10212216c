package meter

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Paths from this package to the repository's fixtures and built guests.
// The guests are built by `make guests`; a bare `go test` skips the tests
// that need them unless VERDICT_REQUIRE_GUESTS is set (as `make test` does).
const (
	fixtureDir = "../../testdata/fixtures"
	buildDir   = "../../../build"
	conformDir = "../../../abi/testdata/conformance"
)

// memoryPages is the memory limit of the test runtimes: 32 MiB, the host's
// default.
const memoryPages = 512

// fixtures returns the paths of the host's .wasm fixtures, except not-wasm
// and the invalid-* fixtures, which are not valid WebAssembly (Instrument
// refuses them: TestInvalidOnlyBeforeRewrite).
func fixtures(t testing.TB) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(fixtureDir, "*.wasm"))
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	return slices.DeleteFunc(paths, func(p string) bool {
		base := filepath.Base(p)
		return base == "not-wasm.wasm" || strings.HasPrefix(base, "invalid-")
	})
}

// guests returns the paths of every built guest under build/.
func guests(t testing.TB) []string {
	t.Helper()
	var paths []string
	_ = filepath.WalkDir(buildDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(p) == ".wasm" {
			paths = append(paths, p)
		}
		return nil
	})
	if len(paths) == 0 {
		skipGuests(t, buildDir)
	}
	return paths
}

// guest returns the path of one built guest, relative to build/.
func guest(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(buildDir, rel)
	if _, err := os.Stat(p); err != nil {
		skipGuests(t, p)
	}
	return p
}

func skipGuests(t testing.TB, what string) {
	t.Helper()
	if os.Getenv("VERDICT_REQUIRE_GUESTS") != "" {
		t.Fatalf("%s is missing: run `make guests` first", what)
	}
	t.Skipf("%s is not built (run `make guests`)", what)
}

func read(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

func instrument(t testing.TB, wasm []byte) []byte {
	t.Helper()
	out, err := Instrument(wasm)
	require.NoError(t, err)
	return out
}

// testCache returns a compilation cache shared by every test run, so that
// the 2 MB Go guests compile once per machine rather than once per test.
func testCache(t testing.TB) wazero.CompilationCache {
	t.Helper()
	c, err := wazero.NewCompilationCacheWithDir(filepath.Join(os.TempDir(), "verdict-meter-test-cache"))
	require.NoError(t, err)
	return c
}

// newRuntime returns a runtime like the host's, without close-on-done
// unless asked, with WASI and the verdict:host/v1 module instantiated.
func newRuntime(t testing.TB, closeOnDone bool) wazero.Runtime {
	t.Helper()
	ctx := context.Background()
	cfg := wazero.NewRuntimeConfig().
		WithCompilationCache(testCache(t)).
		WithMemoryLimitPages(memoryPages).
		WithCloseOnContextDone(closeOnDone).
		WithCoreFeatures(api.CoreFeaturesV2)
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	t.Cleanup(func() { _ = rt.Close(ctx) })
	_, err := wasi_snapshot_preview1.Instantiate(ctx, rt)
	require.NoError(t, err)
	_, err = rt.NewHostModuleBuilder("verdict:host/v1").NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(func(context.Context, api.Module, []uint64) {}),
			[]api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32}, nil).
		Export("log").Instantiate(ctx)
	require.NoError(t, err)
	return rt
}

// guestModule is an instantiated ABI v1 module.
type guestModule struct {
	mod   api.Module
	fuel  api.MutableGlobal // nil when not instrumented
	sg    api.MutableGlobal // the stack budget; nil when not instrumented
	stack []uint64
	fns   map[string]api.Function
}

// fn returns an exported function, looked up once: each ExportedFunction
// call allocates.
func (g *guestModule) fn(name string) api.Function {
	f, ok := g.fns[name]
	if !ok {
		f = g.mod.ExportedFunction(name)
		g.fns[name] = f
	}
	return f
}

// instantiateBare compiles and instantiates wasm in rt.
func instantiateBare(t testing.TB, rt wazero.Runtime, wasm []byte) *guestModule {
	t.Helper()
	ctx := context.Background()
	cm, err := rt.CompileModule(ctx, wasm)
	require.NoError(t, err)
	mod, err := rt.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithName(""))
	require.NoError(t, err)
	t.Cleanup(func() { _ = mod.Close(ctx) })
	g := &guestModule{mod: mod, stack: make([]uint64, 2), fns: map[string]api.Function{}}
	if glob := mod.ExportedGlobal(FuelGlobal); glob != nil {
		g.fuel = glob.(api.MutableGlobal)
	}
	if glob := mod.ExportedGlobal(StackGlobal); glob != nil {
		g.sg = glob.(api.MutableGlobal)
	}
	g.setFuel(1 << 40)
	return g
}

// instantiate is instantiateBare for an ABI v1 module: it also runs
// _initialize and verdict_configure if exported, each with a large budget.
func instantiate(t testing.TB, rt wazero.Runtime, wasm []byte) *guestModule {
	t.Helper()
	return instantiateConfigured(t, rt, wasm, []byte(`{"settings":null,"files":{}}`))
}

// instantiateConfigured is instantiate with configure as verdict_configure's
// input.
func instantiateConfigured(t testing.TB, rt wazero.Runtime, wasm, configure []byte) *guestModule {
	t.Helper()
	ctx := context.Background()
	g := instantiateBare(t, rt, wasm)
	mod := g.mod
	if f := mod.ExportedFunction("_initialize"); f != nil {
		require.NoError(t, f.CallWithStack(ctx, g.stack))
	}
	if mod.ExportedFunction("verdict_configure") != nil {
		out, err := g.call(ctx, "verdict_configure", configure)
		require.NoError(t, err)
		require.JSONEq(t, `{"ok":true}`, string(out))
	}
	return g
}

// setFuel sets the fuel and, as the host does before each call, resets the
// stack budget.
func (g *guestModule) setFuel(v int64) {
	if g.fuel != nil {
		g.fuel.Set(uint64(v))
	}
	if g.sg != nil {
		g.sg.Set(uint64(StackBudget))
	}
}

func (g *guestModule) remaining() int64 { return int64(g.fuel.Get()) }

// stackLeft is the stack budget left.
func (g *guestModule) stackLeft() int64 { return int64(g.sg.Get()) }

// call writes input into guest memory and calls fn (an (i32, i32) -> i64
// export returning ptr<<32|len), returning a copy of the output.
func (g *guestModule) call(ctx context.Context, fn string, input []byte) ([]byte, error) {
	g.stack[0] = uint64(len(input))
	if err := g.fn("verdict_alloc").CallWithStack(ctx, g.stack); err != nil {
		return nil, err
	}
	ptr := uint32(g.stack[0])
	if !g.mod.Memory().Write(ptr, input) {
		return nil, os.ErrInvalid
	}
	g.stack[0], g.stack[1] = uint64(ptr), uint64(len(input))
	if err := g.fn(fn).CallWithStack(ctx, g.stack); err != nil {
		return nil, err
	}
	out, ok := g.mod.Memory().Read(uint32(g.stack[0]>>32), uint32(g.stack[0]))
	if !ok {
		return nil, os.ErrInvalid
	}
	out = slices.Clone(out)
	// Free the input, or a guest's heap grows with every call.
	g.stack[0], g.stack[1] = uint64(ptr), uint64(len(input))
	if err := g.fn("verdict_free").CallWithStack(ctx, g.stack); err != nil {
		return nil, err
	}
	return out, nil
}

// exportNames returns a compiled module's export names, sorted.
func exportNames(cm wazero.CompiledModule) []string {
	var names []string
	for _, d := range cm.ExportedFunctions() {
		names = append(names, d.ExportNames()...)
	}
	for _, d := range cm.ExportedMemories() {
		names = append(names, d.ExportNames()...)
	}
	slices.Sort(names)
	return names
}
