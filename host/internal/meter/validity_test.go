package meter

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/verdictpdp/verdict/internal/wasmbin"
)

// build returns a module made of the given sections (id and contents), in
// the order given.
func build(sections ...[]byte) []byte {
	m := []byte("\x00asm\x01\x00\x00\x00")
	for _, s := range sections {
		m = appendSection(m, s[0], s[1:])
	}
	return m
}

// Sections for build.
var (
	typeVoid  = []byte{secType, 1, 0x60, 0, 0}             // type 0: () -> ()
	typeI32   = []byte{secType, 1, 0x60, 1, 0x7f, 1, 0x7f} // type 0: (i32) -> i32
	oneFunc   = []byte{secFunction, 1, 0}                  // one function of type 0
	oneMemory = []byte{secMemory, 1, 0, 1}                 // one page
)

// code returns a code section of one body per argument (locals included).
func code(bodies ...[]byte) []byte {
	c := wasmbin.AppendU32([]byte{secCode}, uint32(len(bodies)))
	for _, b := range bodies {
		c = wasmbin.AppendU32(c, uint32(len(b)))
		c = append(c, b...)
	}
	return c
}

// exportFunc exports function 0 as "f".
var exportFunc = []byte{secExport, 1, 1, 'f', 0x00, 0}

// compiles reports whether wazero (core 2.0) compiles wasm: whether it is
// valid.
func compiles(t testing.TB, wasm []byte) error {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(api.CoreFeaturesV2))
	defer rt.Close(ctx)
	cm, err := rt.CompileModule(ctx, wasm)
	if err == nil {
		_ = cm.Close(ctx)
	}
	return err
}

// TestInvalidOnlyBeforeRewrite: modules whose code or exports name an index
// the rewrite adds (the fuel global, the fuel local, the scratch local) are
// invalid, and would become valid once rewritten, with a different meaning
// (reading or exporting the fuel). Instrument refuses them.
func TestInvalidOnlyBeforeRewrite(t *testing.T) {
	tests := []struct {
		name string
		wasm []byte
		msg  string
	}{
		{"global.get of the fuel global", build(typeVoid, oneFunc, code([]byte{0, opGlobalGet, 0, 0x1a, opEnd})),
			"global 0 of a module with 0 globals"},
		{"global.set of the fuel global", build(typeVoid, oneFunc, code([]byte{0, opI64Const, 0, opGlobalSet, 0, opEnd})),
			"global 0 of a module with 0 globals"},
		{"local.get of the fuel local", build(typeVoid, oneFunc, code([]byte{0, opLoop, blockEmpty, opLocalGet, 0, 0x1a, opEnd, opEnd})),
			"local 0 of a function with 0 locals"},
		{"local.set of the fuel local past a param", build(typeI32, oneFunc, code([]byte{0, opLoop, blockEmpty, opI64Const, 1, opLocalSet, 1, opEnd, opLocalGet, 0, opEnd})),
			"local 1 of a function with 1 locals"},
		{"local.tee of the scratch local", build(typeVoid, oneFunc, oneMemory, code([]byte{0,
			0x41, 0, 0x41, 0, 0x41, 0, opPrefixFC, 11, 0, // memory.fill 0 0 0
			0x41, 5, opLocalTee, 0, 0x1a, opEnd})),
			"local 0 of a function with 0 locals"},
		{"export of the fuel global", build(typeVoid, oneFunc, []byte{secExport, 1, 1, 'g', 0x03, 0}, code([]byte{0, opEnd})),
			`export "g" of global 0 in a module with 0 globals`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Error(t, compiles(t, tt.wasm), "the fixture must be invalid")
			out, err := Instrument(tt.wasm)
			require.ErrorIs(t, err, ErrInvalid)
			require.ErrorContains(t, err, tt.msg)
			require.Nil(t, out)
		})
	}
	t.Run("valid indices are kept", func(t *testing.T) {
		wasm := build(typeI32, oneFunc, []byte{secGlobal, 1, 0x7f, 1, 0x41, 3, opEnd},
			[]byte{secExport, 2, 1, 'f', 0x00, 0, 1, 'g', 0x03, 0},
			code([]byte{1, 1, 0x7f, opLoop, blockEmpty, opEnd, opLocalGet, 0, opLocalSet, 1, opGlobalGet, 0, opLocalGet, 1, 0x6a, opEnd}))
		require.NoError(t, compiles(t, wasm))
		out := instrument(t, wasm)
		require.NoError(t, compiles(t, out))
	})
}
