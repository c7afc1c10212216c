package meter

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// TestInstrumentCompiles rewrites every fixture and built guest: the result
// compiles, keeps every export and adds the fuel global.
func TestInstrumentCompiles(t *testing.T) {
	paths := fixtures(t)
	if gs := guestsOrNil(t); gs != nil {
		paths = append(paths, gs...)
	}
	ctx := context.Background()
	rt := newRuntime(t, false)
	for _, p := range paths {
		name := strings.TrimLeft(strings.TrimPrefix(p, "../"), "./")
		t.Run(name, func(t *testing.T) {
			wasm := read(t, p)
			orig, origErr := rt.CompileModule(ctx, wasm)
			start := time.Now()
			out, err := Instrument(wasm)
			require.NoError(t, err)
			t.Logf("%d -> %d bytes in %s", len(wasm), len(out), time.Since(start))
			cm, err := rt.CompileModule(ctx, out)
			if origErr != nil {
				// bigmin: refused at compile time for its memory, before and after.
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, exportNames(orig), exportNames(cm))
			for _, imp := range cm.ImportedFunctions() {
				if m, _, _ := imp.Import(); m == "env" {
					return // bad-import: cannot be instantiated here
				}
			}
			// The start section runs, on InitialFuel, when it instantiates.
			origMod, origErr := rt.InstantiateModule(ctx, orig, wazero.NewModuleConfig().WithName("").WithStartFunctions())
			mod, err := rt.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithName("").WithStartFunctions())
			if origErr != nil {
				t.Logf("cannot be instantiated here: %v", origErr)
				require.Error(t, err)
				return
			}
			require.NoError(t, origMod.Close(ctx))
			require.NoError(t, err)
			defer mod.Close(ctx)
			g, ok := mod.ExportedGlobal(FuelGlobal).(api.MutableGlobal)
			require.True(t, ok, "no mutable %s export", FuelGlobal)
			require.Equal(t, api.ValueTypeI64, g.Type())
			// Only a start function has used any.
			require.LessOrEqual(t, int64(g.Get()), InitialFuel)
			require.Positive(t, int64(g.Get()))
		})
	}
}

// guestsOrNil is guests, but returns nil instead of skipping when none is
// built (other paths still get tested).
func guestsOrNil(t *testing.T) []string {
	var gs []string
	t.Run("guests-present", func(t *testing.T) { gs = guests(t) })
	return slices.Clip(gs)
}
