package meter

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/verdictpdp/verdict/internal/wasmbin"
)

// locals returns a body of type () -> () declaring n i32 locals.
func locals(n uint32) []byte {
	return append(wasmbin.AppendU32([]byte{1}, n), 0x7f, opEnd)
}

// blocks returns a body of type () -> () with n empty blocks in a row.
func blocks(n int) []byte {
	b := []byte{0}
	for i := 0; i < n; i++ {
		b = append(b, opBlock, blockEmpty, opEnd)
	}
	return append(b, opEnd)
}

// ifs returns a body of type () -> () with n empty ifs in a row.
func ifs(n int) []byte {
	b := []byte{0}
	for i := 0; i < n; i++ {
		b = append(b, 0x41, 0, opIf, blockEmpty, opEnd)
	}
	return append(b, opEnd)
}

// brTable returns a body of type () -> () with a br_table of n targets.
func brTable(n int) []byte {
	b := wasmbin.AppendU32([]byte{0, opBlock, blockEmpty, 0x41, 0, 0x0e}, uint32(n))
	for i := 0; i <= n; i++ {
		b = append(b, 0)
	}
	return append(b, opEnd, opEnd)
}

// funcs returns the function and code sections of n functions of type 0
// with the same body.
func funcs(n int, body []byte) (function, code []byte) {
	function = wasmbin.AppendU32([]byte{secFunction}, uint32(n))
	code = wasmbin.AppendU32([]byte{secCode}, uint32(n))
	for i := 0; i < n; i++ {
		function = append(function, 0)
		code = wasmbin.AppendU32(code, uint32(len(body)))
		code = append(code, body...)
	}
	return function, code
}

// tables returns a table section of n funcref tables with the given limits
// (max < 0: none).
func tables(n int, min uint32, max int64) []byte {
	t := wasmbin.AppendU32([]byte{secTable}, uint32(n))
	for i := 0; i < n; i++ {
		if max < 0 {
			t = wasmbin.AppendU32(append(t, 0x70, 0), min)
		} else {
			t = wasmbin.AppendU32(wasmbin.AppendU32(append(t, 0x70, 1), min), uint32(max))
		}
	}
	return t
}

// TestLimits: a module over a limit of limits.go is refused with ErrLimit
// before anything compiles it; one at the limit is accepted and compiles.
func TestLimits(t *testing.T) {
	withFuncs := func(n int, body []byte) []byte {
		f, c := funcs(n, body)
		return build(typeVoid, f, c)
	}
	// Functions of 10,000 blocks: five fit in MaxBlockWork.
	work := MaxBlockWork / (MaxBlocks * MaxBlocks)
	tests := []struct {
		name     string
		over, at []byte
		msg      string
	}{
		{"locals", build(typeVoid, oneFunc, code(locals(MaxLocals+1))), build(typeVoid, oneFunc, code(locals(MaxLocals))),
			"more than 50000 locals"},
		{"locals with params", build(typeI32, oneFunc, code(locals(MaxLocals))), build(typeI32, oneFunc, code(append(locals(MaxLocals - 1)[:len(locals(MaxLocals-1))-1], opLocalGet, 0, opEnd))),
			"more than 50000 locals"},
		{"blocks", build(typeVoid, oneFunc, code(blocks(MaxBlocks+1))), build(typeVoid, oneFunc, code(blocks(MaxBlocks))),
			"more than 10000 blocks in one function"},
		{"ifs", build(typeVoid, oneFunc, code(ifs(MaxBlocks/3+1))), build(typeVoid, oneFunc, code(ifs(MaxBlocks/3))),
			"more than 10000 blocks in one function"},
		{"br_table targets", build(typeVoid, oneFunc, code(brTable(MaxBlocks))), build(typeVoid, oneFunc, code(brTable(MaxBlocks-2))),
			"more than 10000 blocks in one function"},
		{"block work", withFuncs(work+1, blocks(MaxBlocks)), withFuncs(work, blocks(MaxBlocks)),
			"too many blocks"},
		// deepStack(n) is 2n+1 instructions.
		{"instructions", build(typeVoid, oneFunc, code(deepStack(MaxInstructions/2))), build(typeVoid, oneFunc, code(deepStack((MaxInstructions-1)/2))),
			"more than 125000 instructions in one function"},
		// 100,000 nops and an end are 100,001 instructions; the at-the-limit
		// case is not compiled (it would take seconds under -race).
		{"module instructions", withFuncs(MaxModuleInstructions/100_001+1, nops(100_000)), nil,
			"more than 8000000 instructions in all functions"},
		{"tables", build(typeVoid, tables(MaxTables+1, 0, -1)), build(typeVoid, tables(MaxTables, 0, -1)),
			"more than 4 tables"},
		{"imported and defined tables", build(typeVoid,
			[]byte{secImport, 1, 1, 'm', 1, 't', importTable, 0x70, 0, 0}, tables(MaxTables, 0, -1)), nil,
			"more than 4 tables"},
		{"table minimum", build(typeVoid, tables(1, MaxTableEntries+1, -1)), build(typeVoid, tables(1, MaxTableEntries, -1)),
			"table of at least 262145 entries"},
		{"imported table minimum", build(typeVoid,
			[]byte{secImport, 1, 1, 'm', 1, 't', importTable, 0x70, 0, 0x81, 0x80, 0x10}), nil,
			"table of at least 262145 entries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Instrument(tt.over)
			require.ErrorIs(t, err, ErrLimit)
			require.ErrorContains(t, err, tt.msg)
			require.Nil(t, out)
			if tt.at != nil {
				require.NoError(t, compiles(t, instrument(t, tt.at)))
			}
		})
	}
}

// TestTableCapped: a table's maximum is lowered to MaxTableEntries, or set
// to it when there is none, so that table.grow past it returns -1 instead
// of allocating; growth within it works, and pays one unit of fuel per
// entry.
func TestTableCapped(t *testing.T) {
	// (func (param $n i32) (result i32) (table.grow 0 (ref.null func) (local.get $n)))
	grow := []byte{0, 0xd0, 0x70, opLocalGet, 0, opPrefixFC, 15, 0, opEnd}
	for _, tc := range []struct {
		name  string
		table []byte
	}{
		{"no maximum", tables(1, 1, -1)},
		{"maximum above the cap", tables(1, 1, 1<<30)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wasm := build(typeI32, oneFunc, tc.table, exportFunc, code(grow))
			require.NoError(t, compiles(t, wasm))
			ctx := context.Background()
			rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(api.CoreFeaturesV2))
			defer rt.Close(ctx)
			mod, err := rt.Instantiate(ctx, instrument(t, wasm))
			require.NoError(t, err)
			fuel := mod.ExportedGlobal(FuelGlobal).(api.MutableGlobal)
			f := mod.ExportedFunction("f")
			call := func(n uint32) int32 {
				res, err := f.Call(ctx, uint64(n))
				require.NoError(t, err)
				return int32(res[0])
			}
			require.Equal(t, int32(-1), call(MaxTableEntries), "growing past the cap fails")
			require.Equal(t, int32(-1), call(100_000_000))
			before := int64(fuel.Get())
			require.Equal(t, int32(1), call(MaxTableEntries-1), "growing up to the cap works")
			require.GreaterOrEqual(t, before-int64(fuel.Get()), int64(MaxTableEntries-1), "one unit per entry")
			require.Equal(t, int32(-1), call(1))
		})
	}
	t.Run("a lower maximum stays", func(t *testing.T) {
		out := instrument(t, build(typeI32, oneFunc, tables(1, 1, 5), exportFunc, code(grow)))
		ctx := context.Background()
		rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(api.CoreFeaturesV2))
		defer rt.Close(ctx)
		mod, err := rt.Instantiate(ctx, out)
		require.NoError(t, err)
		res, err := mod.ExportedFunction("f").Call(ctx, 5)
		require.NoError(t, err)
		require.Equal(t, int32(-1), int32(res[0]))
		res, err = mod.ExportedFunction("f").Call(ctx, 4)
		require.NoError(t, err)
		require.Equal(t, int32(1), int32(res[0]))
	})
}

// deepStack returns a body of type () -> () that pushes n i32 constants and
// adds them up: n operands live at once on the stack.
func deepStack(n int) []byte {
	b := []byte{0}
	for i := 0; i < n; i++ {
		b = append(b, 0x41, 1) // i32.const 1
	}
	for i := 1; i < n; i++ {
		b = append(b, 0x6a) // i32.add
	}
	return append(b, 0x1a, opEnd) // drop
}

// TestOperandStackBomb: a straight-line function keeping a million operands
// on the stack (a 3 MB file, under every limit of limits.go) made loading it
// allocate 1.27 GB and take 11.6 s (wazero's validation and compiler keep
// per-operand state); at the 64 MiB module limit that is about 28 GB, an
// out-of-memory kill of the whole process from one file in the policy
// directory. A module whose operand stack gets that deep must be refused
// with ErrLimit before anything compiles it.
func TestOperandStackBomb(t *testing.T) {
	out, err := Instrument(build(typeVoid, oneFunc, code(deepStack(1_000_000))))
	require.ErrorIs(t, err, ErrLimit)
	require.Nil(t, out)
}

// nops returns a function body of n nops.
func nops(n int) []byte {
	b := append([]byte{0}, make([]byte, n)...) // no locals
	for i := 1; i <= n; i++ {
		b[i] = 0x01
	}
	return append(b, opEnd)
}
