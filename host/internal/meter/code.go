package meter

import "github.com/verdictpdp/verdict/internal/wasmbin"

// Opcodes the rewrite emits or looks at.
const (
	opUnreachable = 0x00
	opBlock       = 0x02
	opLoop        = 0x03
	opIf          = 0x04
	opElse        = 0x05
	opEnd         = 0x0b
	opLocalGet    = 0x20
	opLocalSet    = 0x21
	opLocalTee    = 0x22
	opGlobalGet   = 0x23
	opGlobalSet   = 0x24
	opI64Const    = 0x42
	opI64LtS      = 0x53
	opI64Sub      = 0x7d
	opI64Mul      = 0x7e
	opI64ShrU     = 0x88
	opI64ExtendU  = 0xad
	opMemoryGrow  = 0x40
	opPrefixFC    = 0xfc
	opPrefixFD    = 0xfd
	blockEmpty    = 0x40
)

// Dynamic charges: how an operand (an i32 count on top of the stack) turns
// into fuel.
const (
	perEntry = iota // one unit per table entry
	perBytes        // one unit per 4 bytes
	perPage         // 1024 units per 64 KiB page
)

// foldLimit bounds how many units a segment may be charged for instructions
// it may skip (see fold).
const foldLimit = 12

// What an insert adds.
const (
	insSegment = iota // the charge of segment arg
	insDynamic        // a dynamic charge of kind arg
	insFlush          // store the fuel local into the global (before a call or an exit)
	insReload         // load the global into the fuel local (after a call)
	insRestore        // restore the stack budget (after a call)
)

// insert is code to add before body offset pos.
type insert struct {
	pos  int
	kind int
	arg  int
}

// rewriteCode returns the code section's new contents. A first pass over
// the bodies finds the direct calls of each (see buildGraph); the second
// rewrites them.
func (m *module) rewriteCode(c wasmbin.Reader, fuel uint32) ([]byte, error) {
	fb := funcBody{m: m}
	at := c.Pos()
	n, err := c.U32()
	if err != nil {
		return nil, err
	}
	if int(n) != len(m.funcTypes) {
		return nil, errAt(ErrMalformed, at, "%d function bodies for %d functions", n, len(m.funcTypes))
	}
	bodies := make([]wasmbin.Reader, n)
	fns := make([]calls, n)
	var work int64    // the sum of the squares of the bodies' blocks
	instructions := 0 // the bodies' instructions, as MaxInstructions counts them
	for i := range bodies {
		size, err := c.U32()
		if err != nil {
			return nil, err
		}
		if bodies[i], err = c.Sub(size); err != nil {
			return nil, err
		}
		t := m.funcTypes[i]
		if int(t) >= len(m.params) {
			return nil, errAt(ErrMalformed, bodies[i].Pos(), "function %d has type %d of %d", i, t, len(m.params))
		}
		fb.reset(bodies[i], m.params[t], fuel, nil, i)
		fb.info = &fns[i]
		fns[i].bounded = true
		if _, err := fb.rewrite(); err != nil {
			return nil, err
		}
		fns[i].locals = int64(fb.locals)
		if instructions += fb.instructions; instructions > MaxModuleInstructions {
			return nil, errAt(ErrLimit, bodies[i].Pos(), "more than %d instructions in all functions (see meter.MaxModuleInstructions)", MaxModuleInstructions)
		}
		if work += fb.blocks * fb.blocks; work > MaxBlockWork {
			return nil, errAt(ErrLimit, bodies[i].Pos(), "functions with too many blocks: the compiler's work grows with the square of each function's (see meter.MaxBlockWork)")
		}
	}
	if !c.Done() {
		return nil, errAt(ErrMalformed, c.Pos(), "code section has %d bytes after its last body", c.Left())
	}
	g := buildGraph(m, fns)
	out := wasmbin.AppendU32(make([]byte, 0, (c.End()-at)*5/4+16), n)
	for i, body := range bodies {
		if g.prepaid[i] {
			out = wasmbin.AppendU32(out, uint32(body.Left()))
			out = append(out, body.Rest()...)
			continue
		}
		fb.reset(body, m.params[m.funcTypes[i]], fuel, g, i)
		nb, err := fb.rewrite()
		if err != nil {
			return nil, err
		}
		out = wasmbin.AppendU32(out, uint32(len(nb)))
		out = append(out, nb...)
	}
	return out, nil
}

// funcBody rewrites one function body. It is reused between bodies to keep
// its slices.
type funcBody struct {
	// instructions is how many instructions scan read, as MaxInstructions
	// counts them.
	instructions int
	r            wasmbin.Reader
	params       uint32
	locals       uint64 // params and declared locals: the rewrite's own come after
	blocks       int64  // weighted count of blocks, loops, ifs and conditional branches (see MaxBlocks)
	fuel         uint32
	segs         []seg // 0 is the function's entry
	cur          int   // the segment being scanned
	inserts      []insert
	frames       []frame
	out          []byte
	local        uint32 // the fuel local
	global       bool   // charge the global directly, without the local
	slocal       uint32 // the stack local: the stack budget left after the entry's charge
	restore      bool   // restore the stack budget after calls (from slocal)
	m            *module
	index        int // the function's index among defined functions
	// g is nil in the first pass, which records the body's calls in info;
	// the second pass rewrites the body.
	g    *graph
	info *calls
}

// seg is a segment: a run of instructions that control can only enter at
// its start (a function entry, a loop header, the start of an if's arm, the
// instruction after an end). Its charge, at its start, pays for all of them.
type seg struct {
	pos     int
	cost    int64
	extra   int64 // cost folded in from segments that may not run
	parent  int
	check   bool
	dropped bool
}

// frame is an open block, loop, if or the function itself.
type frame struct {
	op     byte
	opener int // the segment holding the block, loop or if instruction
}

// reset prepares f for the body r of defined function index, whose type has
// params parameters; fuel is the fuel global's index, g the call graph (nil
// in the first pass).
func (f *funcBody) reset(r wasmbin.Reader, params, fuel uint32, g *graph, index int) {
	f.r, f.params, f.fuel, f.g, f.index, f.info = r, params, fuel, g, index, nil
	f.segs, f.inserts, f.frames, f.out = f.segs[:0], f.inserts[:0], f.frames[:0], f.out[:0]
	f.blocks = 0
}

// rewrite reads the body's locals and scans its code; in the second pass
// it then returns the body with the meter's locals and charges added.
func (f *funcBody) rewrite() ([]byte, error) {
	start := f.r.Pos()
	groups, err := f.readLocals()
	if err != nil {
		return nil, err
	}
	code := f.r.Pos()
	f.frames = append(f.frames, frame{op: 0, opener: -1})
	f.segment(-1, true)
	if err := f.scan(); err != nil {
		return nil, err
	}
	if f.g == nil {
		return nil, nil // first pass
	}
	f.fold()
	f.segs[0].check = f.g.check[f.index]
	// A function with a loop keeps the fuel in a local (a register), from
	// its entry to each call and exit; one without charges the global.
	f.global = !f.g.loops[f.index]
	scratch, dynamic := f.addLocals()
	out := f.appendLocals(f.out, groups, start, code, dynamic)
	out = f.appendStackCharge(out, f.g.stack[f.index])
	f.out = f.appendCode(out, code, scratch)
	return f.out, nil
}

// readLocals reads the body's local declarations, refusing more than
// MaxLocals with the parameters, sets f.locals and returns how many groups
// declare them.
func (f *funcBody) readLocals() (uint32, error) {
	r := &f.r
	start := r.Pos()
	groups, err := r.U32()
	if err != nil {
		return 0, err
	}
	locals := uint64(f.params)
	for i := uint32(0); i < groups; i++ {
		n, err := r.U32()
		if err != nil {
			return 0, err
		}
		if err := readValType(r); err != nil {
			return 0, err
		}
		locals += uint64(n)
		if locals > MaxLocals {
			return 0, errAt(ErrLimit, start, "more than %d locals (params included)", MaxLocals)
		}
	}
	f.locals = locals
	return groups, nil
}

// addLocals places the locals the rewrite adds after the function's own,
// so that no index moves: the fuel local (an i64) unless the function
// charges the global, the stack local (an i64) when calls restore the stack
// budget, and a scratch i32 when there are dynamic charges. It sets f.local,
// f.restore and f.slocal, and returns the scratch local's index and whether
// it is needed.
func (f *funcBody) addLocals() (scratch uint32, dynamic bool) {
	f.local = uint32(f.locals)
	scratch = f.local
	if !f.global {
		scratch++
	}
	f.restore = false
	for _, in := range f.inserts {
		dynamic = dynamic || in.kind == insDynamic
		f.restore = f.restore || in.kind == insRestore
	}
	if f.restore {
		f.slocal, scratch = scratch, scratch+1
	}
	return scratch, dynamic
}

// appendLocals re-encodes the body's local declarations (groups groups,
// from start to code) with a group for each local addLocals added.
func (f *funcBody) appendLocals(out []byte, groups uint32, start, code int, dynamic bool) []byte {
	var buf [6]byte
	added := buf[:0] // one group of one local each
	if !f.global {
		added = append(added, 1, 0x7e)
	}
	if f.restore {
		added = append(added, 1, 0x7e)
	}
	if dynamic {
		added = append(added, 1, 0x7f)
	}
	out = wasmbin.AppendU32(out, groups+uint32(len(added)/2))
	out = append(out, f.r.Data()[startOfGroups(f.r.Data(), start):code]...)
	return append(out, added...)
}

// appendCode copies the body's code, from code to its end, with what scan
// planned inserted: segment charges, dynamic charges (with the scratch
// local) and, when the function keeps its fuel in a local, the flushes,
// reloads and restores around calls and exits.
func (f *funcBody) appendCode(out []byte, code int, scratch uint32) []byte {
	data := f.r.Data()
	prev := code
	for _, in := range f.inserts {
		if in.kind == insSegment && f.segs[in.arg].dropped || f.global && (in.kind == insFlush || in.kind == insReload) {
			continue
		}
		out = append(out, data[prev:in.pos]...)
		prev = in.pos
		switch in.kind {
		case insSegment:
			out = f.appendSegment(out, in.arg)
		case insDynamic:
			out = f.appendDynamic(out, in.arg, scratch)
		case insFlush:
			out = f.appendFlush(out)
		case insReload:
			out = f.appendReload(out)
		case insRestore:
			out = f.appendRestore(out)
		}
	}
	return append(out, data[prev:f.r.End()]...)
}

// startOfGroups returns the offset just after the locals' group count, which
// starts at start.
func startOfGroups(b []byte, start int) int {
	for b[start]&0x80 != 0 {
		start++
	}
	return start + 1
}

// appendSegment appends the charge of segment i and, if the segment checks,
// its trap test.
func (f *funcBody) appendSegment(out []byte, i int) []byte {
	s := &f.segs[i]
	out = f.appendFuel(out, i == 0)
	out = append(out, opI64Const)
	out = wasmbin.AppendS64(out, s.cost)
	out = append(out, opI64Sub)
	return f.appendStore(out, s.check)
}

// appendFuel pushes the fuel: the global's value at the function's entry
// or when the function charges the global directly, else the local's.
func (f *funcBody) appendFuel(out []byte, entry bool) []byte {
	if entry || f.global {
		out = append(out, opGlobalGet)
		return wasmbin.AppendU32(out, f.fuel)
	}
	out = append(out, opLocalGet)
	return wasmbin.AppendU32(out, f.local)
}

// appendStore stores the new fuel value on top of the stack into the global
// or the local and, if check, traps when it is negative (storing it into
// the global first):
//
//	global.set $fuel  [global.get $fuel  i64.const 0  i64.lt_s  if  unreachable  end]
//	local.set $f | local.tee $f  i64.const 0  i64.lt_s  if  local.get $f  global.set $fuel  unreachable  end
func (f *funcBody) appendStore(out []byte, check bool) []byte {
	if f.global {
		out = append(out, opGlobalSet)
		out = wasmbin.AppendU32(out, f.fuel)
		if !check {
			return out
		}
		out = append(out, opGlobalGet)
		out = wasmbin.AppendU32(out, f.fuel)
		return append(out, opI64Const, 0, opI64LtS, opIf, blockEmpty, opUnreachable, opEnd)
	}
	if !check {
		out = append(out, opLocalSet)
		return wasmbin.AppendU32(out, f.local)
	}
	out = append(out, opLocalTee)
	out = wasmbin.AppendU32(out, f.local)
	out = append(out, opI64Const, 0, opI64LtS, opIf, blockEmpty)
	out = f.appendFlush(out)
	return append(out, opUnreachable, opEnd)
}

// appendFlush appends: $fuel = fuel.
func (f *funcBody) appendFlush(out []byte) []byte {
	out = append(out, opLocalGet)
	out = wasmbin.AppendU32(out, f.local)
	out = append(out, opGlobalSet)
	return wasmbin.AppendU32(out, f.fuel)
}

// appendReload appends: fuel = $fuel.
func (f *funcBody) appendReload(out []byte) []byte {
	out = append(out, opGlobalGet)
	out = wasmbin.AppendU32(out, f.fuel)
	out = append(out, opLocalSet)
	return wasmbin.AppendU32(out, f.local)
}

// appendStackCharge appends the entry's charge of cost to the stack budget
// (none when cost is 0: then only the save, if needed) and its trap test, storing the budget left into the global (and the
// stack local) if a call may read it, or only before trapping:
//
//	global.get $stack  i64.const COST  i64.sub  local.tee $s  global.set $stack
//	local.get $s  i64.const 0  i64.lt_s  if  unreachable  end
//
//	global.get $stack  i64.const COST  i64.lt_s  if
//	global.get $stack  i64.const COST  i64.sub  global.set $stack  unreachable  end
func (f *funcBody) appendStackCharge(out []byte, cost int64) []byte {
	stack := f.fuel + 1
	if cost == 0 {
		if !f.restore {
			return out
		}
		// Not charged, but it calls functions that are: save the budget
		// to restore it after them (global.get $stack  local.set $s).
		out = append(out, opGlobalGet)
		out = wasmbin.AppendU32(out, stack)
		out = append(out, opLocalSet)
		return wasmbin.AppendU32(out, f.slocal)
	}
	out = append(out, opGlobalGet)
	out = wasmbin.AppendU32(out, stack)
	out = append(out, opI64Const)
	out = wasmbin.AppendS64(out, cost)
	if f.restore {
		out = append(out, opI64Sub, opLocalTee)
		out = wasmbin.AppendU32(out, f.slocal)
		out = append(out, opGlobalSet)
		out = wasmbin.AppendU32(out, stack)
		out = append(out, opLocalGet)
		out = wasmbin.AppendU32(out, f.slocal)
		return append(out, opI64Const, 0, opI64LtS, opIf, blockEmpty, opUnreachable, opEnd)
	}
	out = append(out, opI64LtS, opIf, blockEmpty, opGlobalGet)
	out = wasmbin.AppendU32(out, stack)
	out = append(out, opI64Const)
	out = wasmbin.AppendS64(out, cost)
	out = append(out, opI64Sub, opGlobalSet)
	out = wasmbin.AppendU32(out, stack)
	return append(out, opUnreachable, opEnd)
}

// appendRestore appends: $stack = s, the budget left after the entry's
// charge, which the callee that just returned lowered.
func (f *funcBody) appendRestore(out []byte) []byte {
	out = append(out, opLocalGet)
	out = wasmbin.AppendU32(out, f.slocal)
	out = append(out, opGlobalSet)
	return wasmbin.AppendU32(out, f.fuel+1)
}

// appendDynamic appends a charge for the i32 count on top of the stack,
// which it leaves in place, and its trap test.
func (f *funcBody) appendDynamic(out []byte, kind int, scratch uint32) []byte {
	out = append(out, opLocalTee)
	out = wasmbin.AppendU32(out, scratch)
	out = f.appendFuel(out, false)
	out = append(out, opLocalGet)
	out = wasmbin.AppendU32(out, scratch)
	out = append(out, opI64ExtendU)
	switch kind {
	case perBytes:
		out = append(out, opI64Const, 2, opI64ShrU) // one unit per 4 bytes
	case perPage:
		out = append(out, opI64Const, 0x80, 0x08, opI64Mul) // 1024
	}
	out = append(out, opI64Sub)
	return f.appendStore(out, true)
}
