package module

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// genModule turns b into a module for FuzzMeterDifferential: functions of
// type (i32, i32) -> i32, each exported as "fN", over one memory (1 page,
// at most 2), one mutable i32 global (exported as "g"), and one funcref
// table holding every function (for call_indirect). Each body is i32 code
// that b drives: constants, locals, the global, arithmetic that may trap,
// loads and stores, memory and table growth, bulk memory, blocks, loops,
// ifs, br, br_if, br_table, return, calls (recursion included) and
// call_indirect. The generator tracks the operand stack, so the module is
// valid, unless the first byte asks for one invalid instruction (invalid is
// then true): a read of the global or local just past the module's own (the
// indices the meter adds), or an i64 where an i32 is due.
func genModule(b []byte) (wasm []byte, invalid bool) {
	g := &gen{b: b}
	mode := g.next()
	nfuncs := 1 + int(g.next()%4)
	invalidAt := -1
	if mode&0x80 != 0 {
		invalidAt = int(mode>>4) % nfuncs
		invalid = true
	}
	bodies := make([][]byte, nfuncs)
	for i := range bodies {
		bodies[i] = g.body(i, nfuncs, i == invalidAt, mode&0x3)
	}
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = appendSec(m, 1, []byte{1, 0x60, 2, 0x7f, 0x7f, 1, 0x7f})
	fs := []byte{byte(nfuncs)}
	for range bodies {
		fs = append(fs, 0)
	}
	m = appendSec(m, 3, fs)
	m = appendSec(m, 4, []byte{1, 0x70, 0, byte(nfuncs)})  // table: min nfuncs, no max
	m = appendSec(m, 5, []byte{1, 1, 1, 2})                // memory: 1..2 pages
	m = appendSec(m, 6, []byte{1, 0x7f, 1, 0x41, 0, 0x0b}) // global 0: mut i32 = 0
	ex := []byte{byte(nfuncs + 1)}
	for i := range bodies {
		ex = append(ex, 2, 'f', byte('0'+i), 0, byte(i))
	}
	ex = append(ex, 1, 'g', 3, 0)
	m = appendSec(m, 7, ex)
	el := []byte{1, 0, 0x41, 0, 0x0b, byte(nfuncs)} // active, table 0, offset 0
	for i := range bodies {
		el = append(el, byte(i))
	}
	m = appendSec(m, 9, el)
	code := []byte{byte(nfuncs)}
	for _, body := range bodies {
		code = appendLEB(code, uint32(len(body)))
		code = append(code, body...)
	}
	return appendSec(m, 10, code), invalid
}

type gen struct {
	b   []byte
	pos int
}

// next returns the next byte of the recipe, 0 once it is used up.
func (g *gen) next() byte {
	if g.pos >= len(g.b) {
		return 0
	}
	c := g.b[g.pos]
	g.pos++
	return c
}

// body generates the body of function self: params 0 and 1, then
// nlocals i32 locals.
func (g *gen) body(self, nfuncs int, invalid bool, invalidKind byte) []byte {
	nlocals := int(g.next() % 4)
	out := []byte{}
	if nlocals > 0 {
		out = append(out, 1, byte(nlocals), 0x7f)
	} else {
		out = append(out, 0)
	}
	locals := byte(2 + nlocals)
	type frame struct{ height int }
	frames := []frame{{0}}
	h := 0 // i32 values on the stack above the function's base
	push := func(code ...byte) { out = append(out, code...); h++ }
	steps := 8 + int(g.next()%48)
	for s := 0; s < steps; s++ {
		base := frames[len(frames)-1].height
		avail := h - base
		if invalid && s == steps/2 {
			switch invalidKind {
			case 0:
				push(0x23, 1) // global.get 1: the meter's fuel global
			case 1:
				push(0x20, locals) // local.get past the locals: the meter's
			default:
				push(0x42, 1)           // i64.const 1 ...
				out = append(out, 0x6a) // ... i32.add: a type error
				h--
				if avail < 1 {
					push(0x41, 0) // keep the count straight: the module is invalid anyway
				}
			}
			continue
		}
		switch op := g.next(); op % 24 {
		case 0:
			push(0x41, g.next()&0x7f) // i32.const
		case 1:
			push(0x20, g.next()%locals) // local.get
		case 2:
			if avail >= 1 {
				out = append(out, 0x21, g.next()%locals) // local.set
				h--
			}
		case 3:
			if avail >= 1 {
				out = append(out, 0x22, g.next()%locals) // local.tee
			}
		case 4, 5:
			if avail >= 2 {
				ops := []byte{0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x77, 0x46, 0x48, 0x4b}
				out = append(out, ops[int(g.next())%len(ops)])
				h--
			}
		case 6:
			if avail >= 1 {
				ops := []byte{0x45, 0x67, 0x68, 0x69, 0xc0, 0xc1}
				out = append(out, ops[int(g.next())%len(ops)])
			}
		case 7:
			push(0x23, 0) // global.get 0
		case 8:
			if avail >= 1 {
				out = append(out, 0x24, 0) // global.set 0
				h--
			}
		case 9:
			if avail >= 1 {
				out = append(out, 0x28, 2, g.next()&0x7f) // i32.load offset
			}
		case 10:
			if avail >= 2 {
				out = append(out, 0x36, 2, g.next()&0x7f) // i32.store
				h -= 2
			}
		case 11:
			out = append(out, 0x02, 0x40) // block
			frames = append(frames, frame{h})
		case 12:
			out = append(out, 0x03, 0x40) // loop
			frames = append(frames, frame{h})
		case 13:
			if avail >= 1 {
				out = append(out, 0x04, 0x40) // if
				h--
				frames = append(frames, frame{h})
			}
		case 14, 15:
			if len(frames) > 1 {
				for ; h > base; h-- {
					out = append(out, 0x1a) // drop
				}
				out = append(out, 0x0b) // end
				frames = frames[:len(frames)-1]
			}
		case 16:
			if avail >= 1 && len(frames) > 1 {
				out = append(out, 0x0d, g.next()%byte(len(frames)-1)) // br_if to a block, never the function's label
				h--
			}
		case 17:
			if avail >= 1 && len(frames) > 1 {
				n := 1 + g.next()%3
				out = append(out, 0x0e, n) // br_table
				for i := byte(0); i <= n; i++ {
					out = append(out, g.next()%byte(len(frames)-1))
				}
				h-- // the rest is unreachable: the tracked values stay, which validation allows
			}
		case 18:
			if avail >= 2 {
				out = append(out, 0x10, g.next()%byte(nfuncs)) // call
				h--
			}
		case 19:
			if avail >= 3 {
				out = append(out, 0x11, 0, 0) // call_indirect type 0, table 0
				h -= 2
			}
		case 20:
			switch g.next() % 4 {
			case 0:
				if avail >= 1 {
					out = append(out, 0x40, 0) // memory.grow
				}
			case 1:
				push(0x3f, 0) // memory.size
			case 2:
				if avail >= 3 {
					out = append(out, 0xfc, 11, 0) // memory.fill
					h -= 3
				}
			case 3:
				if avail >= 3 {
					out = append(out, 0xfc, 10, 0, 0) // memory.copy
					h -= 3
				}
			}
		case 21:
			switch g.next() % 3 {
			case 0:
				push(0xfc, 16, 0) // table.size
			case 1:
				if avail >= 1 {
					out = append(out, 0xd0, 0x70, 0x20, g.next()%locals, 0xfc, 15, 0, 0x1a) // table.grow (ref.null, local): drop the count
					out = append(out, 0x1a)                                                 // and the operand left below
					h--
				}
			case 2:
				if avail >= 2 {
					out = append(out, 0xd0, 0x70, 0x20, g.next()%locals, 0xfc, 17, 0) // table.fill (i, ref.null, local)
					out = append(out, 0x1a)                                           // drop the spare operand
					h -= 2
				}
			}
		case 22:
			if avail >= 1 {
				switch g.next() % 4 {
				case 0:
					out = append(out, 0x1a) // drop
					h--
				case 1:
					if avail >= 3 {
						out = append(out, 0x1b) // select
						h -= 2
					}
				case 2:
					out = append(out, 0xac, 0x42, 3, 0x7e, 0xa7) // i64.extend_i32_s, i64.const 3, i64.mul, i32.wrap_i64
				case 3:
					out = append(out, 0x0f) // return
				}
			}
		case 23:
			if op == 23 { // rare
				out = append(out, 0x00) // unreachable
			}
		}
	}
	for len(frames) > 1 {
		for ; h > frames[len(frames)-1].height; h-- {
			out = append(out, 0x1a)
		}
		out = append(out, 0x0b)
		frames = frames[:len(frames)-1]
	}
	for ; h > 1; h-- {
		out = append(out, 0x1a)
	}
	if h == 0 {
		out = append(out, 0x41, 0)
	}
	return append(out, 0x0b)
}

func appendSec(m []byte, id byte, body []byte) []byte {
	m = append(m, id)
	m = appendLEB(m, uint32(len(body)))
	return append(m, body...)
}

func appendLEB(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// TestGenModule: the generator's modules are valid unless asked for an
// invalid one, so FuzzMeterDifferential's valid branch runs: for 300
// fixed recipes, every valid module loads through prepare and every invalid
// one is refused.
func TestGenModule(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(api.CoreFeaturesV2))
	defer rt.Close(ctx)
	rng := rand.New(rand.NewPCG(13, 13))
	valid, invalid := 0, 0
	for i := 0; i < 300; i++ {
		recipe := make([]byte, 20+rng.IntN(200))
		for j := range recipe {
			recipe[j] = byte(rng.Uint32())
		}
		wasm, wantInvalid := genModule(recipe)
		_, err := rt.CompileModule(ctx, wasm)
		_, prepErr := prepare(ctx, wasm, 16)
		if wantInvalid {
			require.Error(t, err, "recipe %x", recipe)
			require.Error(t, prepErr, "recipe %x", recipe)
			invalid++
			continue
		}
		require.NoError(t, err, "recipe %x", recipe)
		require.NoError(t, prepErr, "recipe %x", recipe)
		valid++
	}
	require.Greater(t, valid, 100)
	require.Greater(t, invalid, 50)
}
