package meter

import (
	"context"
	"runtime"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// BenchmarkTableGrowBomb measures the host memory one abusive instance
// takes: a module whose table has no maximum calls table.grow for 100
// million entries, which the fuel budget (one unit per entry, 150 million
// by default) allows. It reports the bytes the call allocated and its
// result (-1: refused). Before tables were capped (MaxTableEntries) the call
// succeeded and allocated 800 MB (the process peaked at 794 MB resident);
// now it fails with -1 and allocates 12 kB. Run: go test -run '^$' -bench BenchmarkTableGrowBomb -benchtime 1x ./host/internal/meter/
func BenchmarkTableGrowBomb(b *testing.B) {
	// (table 1 funcref) (func (export "f") (param i32) (result i32)
	//   (table.grow 0 (ref.null func) (local.get 0)))
	wasm := build([]byte{secType, 1, 0x60, 1, 0x7f, 1, 0x7f}, []byte{secFunction, 1, 0},
		[]byte{secTable, 1, 0x70, 0, 1}, []byte{secExport, 1, 1, 'f', 0x00, 0},
		code([]byte{0, 0xd0, 0x70, 0x20, 0, 0xfc, 15, 0, 0x0b}))
	metered, err := Instrument(wasm)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCoreFeatures(api.CoreFeaturesV2))
	defer rt.Close(ctx)
	cm, err := rt.CompileModule(ctx, metered)
	if err != nil {
		b.Fatal(err)
	}
	var allocated uint64
	var result int32
	for i := 0; i < b.N; i++ {
		mod, err := rt.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithName(""))
		if err != nil {
			b.Fatal(err)
		}
		mod.ExportedGlobal(FuelGlobal).(api.MutableGlobal).Set(uint64(InitialFuel))
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		res, err := mod.ExportedFunction("f").Call(ctx, 100_000_000)
		runtime.ReadMemStats(&after)
		if err != nil {
			b.Fatal(err)
		}
		allocated += after.TotalAlloc - before.TotalAlloc
		result = int32(res[0])
		_ = mod.Close(ctx)
	}
	b.ReportMetric(float64(allocated)/float64(b.N), "host-bytes/op")
	b.ReportMetric(float64(result), "result")
}
