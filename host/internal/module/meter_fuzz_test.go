package module

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/verdictpdp/verdict/host/internal/meter"
)

// FuzzMeterDifferential checks that metering never changes what a module
// means (abi/SPEC.md, "What the meter guarantees"). Its input is a module's
// bytes (first byte 0: the rest as is; seeded with every small fixture and
// the meter's test modules) or a recipe for a valid module (first byte 1:
// genModule turns the rest into functions of i32 arithmetic, locals,
// globals, memory and table instructions, blocks, loops, branches and
// calls, optionally with one invalid instruction). For each input:
//
//   - a module wazero finds invalid as found is refused by the loader
//     (prepare), whatever the rewrite would make of it;
//   - a valid module the loader accepts compiles after metering, and each
//     exported function of i32 and i64 params, called in turn on an
//     instance of each with the same arguments, gives the same results or
//     the same trap, and leaves the same memory and globals, unless the
//     metered call ran out of fuel (then the comparison stops: the original
//     may run forever). A generated valid module is never refused.
func FuzzMeterDifferential(f *testing.F) {
	for _, pattern := range []string{filepath.Join(fixturesDir, "*.wasm"), filepath.Join("..", "meter", "testdata", "*.wasm")} {
		paths, _ := filepath.Glob(pattern)
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil && len(b) <= 64<<10 {
				f.Add(append([]byte{0}, b...))
			}
		}
	}
	for _, seed := range []string{
		"\x01\x02\x00\x10\x01\x05\x00\x04\x21\x09\x01\x0c\x00\x13\x02\x0b\x0b",
		"\x01\x03\x01\x08\x09\x00\x03\x07\x01\x04\x02\x0e\x03\x0c\x10\x05\x0b\x11",
		"\x01\x01\x00\x10\x07\x10\x03\x12\x01\x00\x00\x04\x05\x0b\x0b\x02\x01",
		"\x01\x02\x80\x00\x01\x04\x01\x00\x05\x02\x04\x16\x0b\x0c\x13\x0b",
	} {
		f.Add([]byte(seed))
	}
	ctx := context.Background()
	rt := func() wazero.Runtime {
		return wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().
			WithCoreFeatures(api.CoreFeaturesV2).WithMemoryLimitPages(16).WithCloseOnContextDone(true))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		wasm, generated := data[1:], data[0] == 1
		var wantInvalid bool
		if generated {
			wasm, wantInvalid = genModule(data[1:])
		}
		rtOrig, rtMeter := rt(), rt()
		defer rtOrig.Close(ctx)
		defer rtMeter.Close(ctx)
		// The loader's own path first: the meter reads the bytes before
		// wazero decodes anything (wazero v1.12.0's validator can panic on
		// some malformed modules the meter refuses).
		metered, err := prepare(ctx, wasm, 16)
		if err != nil {
			if generated && !wantInvalid {
				t.Fatalf("a generated valid module was refused: %v", err)
			}
			return // invalid, over a limit or beyond core 2.0: refused
		}
		if wantInvalid {
			t.Fatalf("the generator's invalid module was accepted")
		}
		orig, origErr := rtOrig.CompileModule(ctx, wasm)
		if origErr != nil {
			t.Fatalf("an invalid module was accepted: %v", origErr)
		}
		cm, err := rtMeter.CompileModule(ctx, metered)
		if err != nil {
			t.Fatalf("the module is valid, the metered one is not: %v", err)
		}
		if len(orig.ImportedFunctions())+len(orig.ImportedMemories()) > 0 {
			return // nothing to link it with
		}
		runBoth(t, ctx, rtOrig, orig, rtMeter, cm, data)
	})
}

// runBoth instantiates both modules and calls each exported function of
// numeric params on both, comparing outcomes and state.
func runBoth(t *testing.T, ctx context.Context, rtOrig wazero.Runtime, orig wazero.CompiledModule, rtMeter wazero.Runtime, cm wazero.CompiledModule, data []byte) {
	const fuel = 2_000_000
	ictx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	cfg := wazero.NewModuleConfig().WithName("")
	mm, errM := rtMeter.InstantiateModule(ictx, cm, cfg)
	if errM != nil {
		return // a start function that traps or runs out of its fuel
	}
	om, errO := rtOrig.InstantiateModule(ictx, orig, cfg)
	if errO != nil {
		t.Fatalf("the metered module instantiates, the original does not: %v", errO)
	}
	g := mm.ExportedGlobal(meter.FuelGlobal).(api.MutableGlobal)
	sg := mm.ExportedGlobal(meter.StackGlobal).(api.MutableGlobal)
	names := make([]string, 0)
	for name, def := range orig.ExportedFunctions() {
		ok := true
		for _, p := range def.ParamTypes() {
			ok = ok && (p == api.ValueTypeI32 || p == api.ValueTypeI64)
		}
		if ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	args := []uint64{0, 1, 7, 0xffffffff, 0x80000000, 65535, 3}
	for i, name := range names {
		def := orig.ExportedFunctions()[name]
		in := make([]uint64, len(def.ParamTypes()))
		for j := range in {
			k := i + j
			if len(data) > 0 {
				k += int(data[(i+j)%len(data)])
			}
			in[j] = args[k%len(args)]
		}
		g.Set(uint64(fuel))
		sg.Set(uint64(meter.StackBudget))
		resM, errM := mm.ExportedFunction(name).Call(ctx, in...)
		if meter.Exhausted(int64(g.Get())) {
			return // the original might run forever: stop comparing
		}
		if meter.StackExhausted(int64(sg.Get())) {
			// The original recurses deeper: it may overflow wazero's own
			// stack, run forever, or return; the metered module traps
			// with its call stack budget exhausted, by design.
			if errM == nil {
				t.Fatalf("%s%v: returned with the stack budget exhausted", name, in)
			}
			return
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		resO, errO := om.ExportedFunction(name).Call(cctx, in...)
		cancel()
		if (errM == nil) != (errO == nil) {
			t.Fatalf("%s%v: metered %v, %v; original %v, %v", name, in, resM, errM, resO, errO)
		}
		if errM != nil {
			if a, b := firstLine(errM), firstLine(errO); a != b {
				t.Fatalf("%s%v: metered trap %q, original %q", name, in, a, b)
			}
			continue
		}
		if len(resM) != len(resO) {
			t.Fatalf("%s%v: %d results metered, %d original", name, in, len(resM), len(resO))
		}
		for k := range resM {
			if resM[k] != resO[k] {
				t.Fatalf("%s%v: metered %v, original %v", name, in, resM, resO)
			}
		}
	}
	for name := range orig.ExportedMemories() {
		mo, mm := om.ExportedMemory(name), mm.ExportedMemory(name)
		a, _ := mo.Read(0, mo.Size())
		b, _ := mm.Read(0, mm.Size())
		if string(a) != string(b) {
			t.Fatalf("memories differ after the calls (%d and %d bytes)", len(a), len(b))
		}
	}
	if a, b := om.ExportedGlobal("g"), mm.ExportedGlobal("g"); a != nil && b != nil && a.Get() != b.Get() {
		t.Fatalf("global g: original %d, metered %d", a.Get(), b.Get())
	}
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	var exit interface{ ExitCode() uint32 }
	if errors.As(err, &exit) {
		return "exit"
	}
	return s
}
