package meter

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// FuzzInstrument feeds module bytes to Instrument, seeded from every .wasm
// in the repository (fixtures, this package's testdata, built guests if
// any): Instrument never panics nor changes its input, and whenever it
// accepts an input that compiles with wazero (core 2.0), the output compiles
// too. Crashers are kept in testdata/fuzz as regressions:
// table-count-4G-oom made wazero itself allocate 64 GiB for a table section
// claiming 4 billion entries in a few bytes; Instrument now refuses such
// counts before the host compiles anything.
func FuzzInstrument(f *testing.F) {
	var seeds []string
	for _, dir := range []string{"../../..", "testdata"} {
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			if filepath.Ext(p) == ".wasm" {
				seeds = append(seeds, p)
			}
			return nil
		})
	}
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	ctx := context.Background()
	// The interpreter validates exactly like the compiler, and faster.
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().
		WithCoreFeatures(api.CoreFeaturesV2))
	f.Cleanup(func() { _ = rt.Close(ctx) })
	compiles := func(b []byte) error {
		cm, err := rt.CompileModule(ctx, b)
		if err == nil {
			_ = cm.Close(ctx)
		}
		return err
	}
	f.Fuzz(func(t *testing.T, wasm []byte) {
		orig := bytes.Clone(wasm)
		out, err := Instrument(wasm)
		if !bytes.Equal(orig, wasm) {
			t.Fatal("Instrument changed its input")
		}
		if err != nil {
			// Refusing is always allowed: the package refuses what it
			// cannot decode or what is beyond core 2.0. (Compiling such
			// input could also make wazero run out of memory on counts
			// that Instrument refuses, see testdata/fuzz.)
			return
		}
		if compiles(wasm) != nil {
			return
		}
		if err := compiles(out); err != nil {
			t.Fatalf("the input compiles, the output does not: %v", err)
		}
	})
}
