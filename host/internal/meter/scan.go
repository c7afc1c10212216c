package meter

// scan decodes the instructions of the body from f.r's position to its end,
// splitting it into segments and recording where charges go.
func (f *funcBody) scan() error {
	r := &f.r
	for n := 0; ; n++ {
		if len(f.frames) == 0 {
			if !r.Done() {
				return errAt(ErrMalformed, r.Pos(), "%d bytes after the function's final end", r.Left())
			}
			f.instructions = n
			return nil
		}
		at := r.Pos()
		op, err := r.Byte()
		if err != nil {
			return errAt(ErrMalformed, at, "function body ends before its final end")
		}
		if n >= MaxInstructions {
			return errAt(ErrLimit, at, "more than %d instructions in one function (see meter.MaxInstructions)", MaxInstructions)
		}
		top := &f.frames[len(f.frames)-1]
		switch op {
		case opBlock, opLoop, 0x0d: // br_if
			f.blocks++
		case opIf:
			f.blocks += 3 // then, else and what follows
		}
		if f.blocks > MaxBlocks {
			return errAt(ErrLimit, at, "more than %d blocks in one function (see meter.MaxBlocks)", MaxBlocks)
		}
		switch op {
		case opBlock, opLoop, opEnd, 0x01: // nop
			// Free: they compile to nothing (the function's end, a return, is
			// paid by the call).
		default:
			f.segs[f.cur].cost++
			if f.info != nil {
				f.info.total++
				f.info.values++
			}
		}
		switch {
		case op == opBlock:
			if err := f.blockType(); err != nil {
				return err
			}
			f.frames = append(f.frames, frame{op: op, opener: f.cur})
		case op == opIf:
			if err := f.blockType(); err != nil {
				return err
			}
			f.frames = append(f.frames, frame{op: op, opener: f.cur})
			f.segment(f.cur, false)
		case op == opLoop:
			if f.info != nil {
				f.info.bounded, f.info.loops = false, true
			}
			if err := f.blockType(); err != nil {
				return err
			}
			f.frames = append(f.frames, frame{op: op, opener: f.cur})
			f.segment(-1, true)
		case op == opElse:
			if top.op != opIf {
				return errAt(ErrMalformed, at, "else outside an if")
			}
			top.op = opElse
			f.segment(top.opener, false)
		case op == opEnd:
			opener := top.opener
			f.frames = f.frames[:len(f.frames)-1]
			if len(f.frames) > 0 {
				f.segment(opener, false)
			} else {
				f.flush(at) // the function returns
			}
		case op == opPrefixFC:
			if err := f.prefixFC(at); err != nil {
				return err
			}
		case op == opPrefixFD:
			if err := f.prefixFD(at); err != nil {
				return err
			}
		case op == opMemoryGrow:
			if err := f.memIndex(); err != nil {
				return err
			}
			f.charge(at, perPage)
		default:
			if err := f.immediates(at, op); err != nil {
				return err
			}
		}
	}
}

// segment starts a new segment at the current position. parent is the
// segment that must run before this one can, at most once per run of the
// parent (-1 for function entries and loop headers); check says whether the
// segment tests the fuel, not only charges it.
func (f *funcBody) segment(parent int, check bool) {
	f.segs = append(f.segs, seg{pos: f.r.Pos(), parent: parent, check: check})
	f.cur = len(f.segs) - 1
	f.inserts = append(f.inserts, insert{pos: f.r.Pos(), kind: insSegment, arg: f.cur})
}

// exits reports whether a branch to label depth l leaves the function.
func (f *funcBody) exits(l uint32) bool { return int(l) == len(f.frames)-1 }

// flush stores the fuel local into the global before the instruction at
// pos, which leaves the function.
func (f *funcBody) flush(pos int) {
	f.inserts = append(f.inserts, insert{pos: pos, kind: insFlush})
}

// call handles the call at pos, which ends at the reader's position: to fn
// if direct, else through a table. In the first pass it records the call. In
// the second, the segment pays for a prepaid callee (imports cost nothing
// beyond the call instruction); for any other callee the fuel local is
// stored into the global before the call and loaded back after it.
//
// fn is the type index of a call through a table. A call to a function that
// may lower the stack budget, or through a table, restores it after.
func (f *funcBody) call(pos int, fn uint32, direct bool) {
	if f.g == nil {
		f.info.values += f.results(fn, direct)
		if direct {
			f.info.callees = append(f.info.callees, fn)
		} else {
			f.info.bounded, f.info.table = false, true
		}
		return
	}
	if direct && f.g.isPrepaid(fn) {
		f.segs[f.cur].cost += f.g.costOf(fn)
		return
	}
	f.inserts = append(f.inserts, insert{pos: pos, kind: insFlush}, insert{pos: f.r.Pos(), kind: insReload})
	if !direct || f.g.charges(fn) {
		f.inserts = append(f.inserts, insert{pos: f.r.Pos(), kind: insRestore})
	}
}

// results returns the number of results of a call to fn (a function index
// if direct, else a type index), for frameCost: one for an import, whose
// type the rewrite does not keep (the host's functions return at most
// one), and for an index out of range.
func (f *funcBody) results(fn uint32, direct bool) int64 {
	t := fn
	if direct {
		if fn < f.m.importedFunc || int(fn-f.m.importedFunc) >= len(f.m.funcTypes) {
			return 1
		}
		t = f.m.funcTypes[fn-f.m.importedFunc]
	}
	if int(t) >= len(f.m.values) {
		return 1
	}
	return int64(f.m.values[t] - f.m.params[t])
}

// charge adds a dynamic charge of the given kind before the instruction at
// pos.
func (f *funcBody) charge(pos, kind int) {
	if f.info != nil {
		f.info.dynamic = true
	}
	f.inserts = append(f.inserts, insert{pos: pos, kind: insDynamic, arg: kind})
}

// fold moves the cost of small segments into their parents, which saves
// their charge at the price of charging them when they do not run: at most
// foldLimit units too many per run of a segment. Zero-cost segments that do
// not check are dropped.
func (f *funcBody) fold() {
	for i := len(f.segs) - 1; i > 0; i-- {
		s := &f.segs[i]
		if s.check {
			if s.cost == 0 {
				s.cost = 1 // a loop header always checks
			}
			continue
		}
		if s.cost == 0 {
			s.dropped = true
			continue
		}
		p := &f.segs[s.parent]
		if p.extra+s.cost <= foldLimit {
			p.cost += s.cost
			p.extra += s.cost
			s.dropped = true
		}
	}
	if f.segs[0].cost == 0 {
		f.segs[0].cost = 1
	}
}

// immediates skips the immediates of a one-byte opcode other than the
// structured ones, or refuses the opcode.
func (f *funcBody) immediates(at int, op byte) error {
	r := &f.r
	var err error
	switch {
	case op == 0x00 || op == 0x01: // unreachable, nop
	case op == 0x0f: // return
		f.flush(at)
	case op == 0x0c || op == 0x0d: // br, br_if
		var l uint32
		if l, err = r.U32(); err == nil && f.exits(l) {
			f.flush(at)
		}
	case op == 0x0e:
		err = f.brTable(at)
	case op == 0x10: // call
		var fn uint32
		if fn, err = r.U32(); err == nil {
			f.call(at, fn, true)
		}
	case op == 0x11: // call_indirect type table
		var t uint32
		if t, err = r.U32(); err == nil {
			if _, err = r.U32(); err == nil {
				f.call(at, t, false)
			}
		}
	case op == 0x1a || op == 0x1b: // drop, select
	case op == 0x1c: // select t*
		var n uint32
		if n, err = r.U32(); err != nil {
			return err
		}
		for i := uint32(0); i < n && err == nil; i++ {
			err = readValType(r)
		}
	case op >= 0x20 && op <= 0x22: // local.get, local.set, local.tee
		// The rewrite appends locals of its own: an index past the
		// function's would name them (see ErrInvalid).
		var l uint32
		if l, err = r.U32(); err == nil && uint64(l) >= f.locals {
			return errAt(ErrInvalid, at, "local %d of a function with %d locals", l, f.locals)
		}
	case op == 0x23 || op == 0x24: // global.get, global.set
		// The rewrite appends the fuel global at index f.fuel.
		var g uint32
		if g, err = r.U32(); err == nil && g >= f.fuel {
			return errAt(ErrInvalid, at, "global %d of a module with %d globals", g, f.fuel)
		}
	case op == 0x25 || op == 0x26: // table.get, table.set
		_, err = r.U32()
	case op >= 0x28 && op <= 0x3e: // loads and stores
		err = f.memarg()
	case op == 0x3f: // memory.size
		err = f.memIndex()
	case op == 0x41: // i32.const
		_, err = r.S32()
	case op == 0x42: // i64.const
		_, err = r.S64()
	case op == 0x43:
		err = r.Skip(4)
	case op == 0x44:
		err = r.Skip(8)
	case op >= 0x45 && op <= 0xc4: // numeric, sign extension
	case op == 0xd0: // ref.null t
		var t byte
		if t, err = r.Byte(); err == nil && t != 0x70 && t != 0x6f {
			return errAt(ErrUnsupported, at, "ref.null type %#x", t)
		}
	case op == 0xd1: // ref.is_null
	case op == 0xd2: // ref.func
		var fn uint32
		if fn, err = r.U32(); err == nil && f.info != nil {
			f.info.refs = append(f.info.refs, fn)
		}
	default:
		return unsupported(at, op)
	}
	return err
}

// brTable reads br_table's targets: each is an edge the compiler works on
// (see MaxBlocks), and one that leaves the function flushes the fuel.
func (f *funcBody) brTable(at int) error {
	r := &f.r
	n, err := r.U32()
	if err != nil {
		return err
	}
	if f.blocks += int64(n) + 1; f.blocks > MaxBlocks {
		return errAt(ErrLimit, at, "more than %d blocks in one function (see meter.MaxBlocks)", MaxBlocks)
	}
	exits := false
	for i := uint64(0); i <= uint64(n); i++ {
		l, err := r.U32()
		if err != nil {
			return err
		}
		exits = exits || f.exits(l)
	}
	if exits {
		f.flush(at)
	}
	return nil
}

// unsupported is the error for op, an opcode immediates does not read:
// the proposal beyond WebAssembly core 2.0 it belongs to, or that it does
// not exist.
func unsupported(at int, op byte) error {
	switch {
	case op == 0x12 || op == 0x13:
		return errAt(ErrUnsupported, at, "opcode %#02x (tail calls)", op)
	case op == 0x14 || op == 0x15:
		return errAt(ErrUnsupported, at, "opcode %#02x (typed function references)", op)
	case op >= 0x06 && op <= 0x0a, op == 0x18, op == 0x19, op == 0x1f:
		return errAt(ErrUnsupported, at, "opcode %#02x (exception handling)", op)
	case op >= 0xd3 && op <= 0xd6:
		return errAt(ErrUnsupported, at, "opcode %#02x (typed function references or GC)", op)
	case op == 0xfb:
		return errAt(ErrUnsupported, at, "opcode prefix 0xfb (GC)")
	case op == 0xfe:
		return errAt(ErrUnsupported, at, "opcode prefix 0xfe (threads and atomics)")
	}
	return errAt(ErrUnsupported, at, "unknown opcode %#02x", op)
}

// blockType skips a block type: empty, a value type or a type index.
func (f *funcBody) blockType() error {
	r := &f.r
	at := r.Pos()
	c, err := r.Peek()
	if err != nil {
		return err
	}
	if c == blockEmpty || isValType(c) {
		return r.Skip(1)
	}
	v, err := r.S33()
	if err != nil {
		return err
	}
	if v < 0 {
		return errAt(ErrUnsupported, at, "block type %#x", v)
	}
	return nil
}

// memarg skips an alignment and an offset, refusing a memory index
// (multi-memory: bit 6 of the alignment).
func (f *funcBody) memarg() error {
	at := f.r.Pos()
	align, err := f.r.U32()
	if err != nil {
		return err
	}
	if align&0x40 != 0 {
		return errAt(ErrUnsupported, at, "memory index in memarg (multi-memory)")
	}
	_, err = f.r.U32()
	return err
}

// memIndex skips the zero byte of memory.size, memory.grow and the bulk
// memory instructions.
func (f *funcBody) memIndex() error {
	at := f.r.Pos()
	c, err := f.r.Byte()
	if err != nil {
		return err
	}
	if c != 0 {
		return errAt(ErrUnsupported, at, "memory index %#x (multi-memory)", c)
	}
	return nil
}

// prefixFC decodes the 0xfc instructions: saturating truncation, bulk
// memory and table instructions.
func (f *funcBody) prefixFC(at int) error {
	r := &f.r
	sub, err := r.U32()
	if err != nil {
		return err
	}
	u32 := func(n int) error {
		for i := 0; i < n; i++ {
			if _, err := r.U32(); err != nil {
				return err
			}
		}
		return nil
	}
	charge := func(kind int) { f.charge(at, kind) }
	switch sub {
	case 0, 1, 2, 3, 4, 5, 6, 7: // i32/i64.trunc_sat_f32/f64_s/u
		return nil
	case 8: // memory.init data mem
		charge(perBytes)
		if err := u32(1); err != nil {
			return err
		}
		return f.memIndex()
	case 9: // data.drop
		return u32(1)
	case 10: // memory.copy mem mem
		charge(perBytes)
		if err := f.memIndex(); err != nil {
			return err
		}
		return f.memIndex()
	case 11: // memory.fill mem
		charge(perBytes)
		return f.memIndex()
	case 12, 14: // table.init elem table, table.copy table table
		charge(perEntry)
		return u32(2)
	case 13, 16: // elem.drop, table.size
		return u32(1)
	case 15, 17: // table.grow, table.fill
		charge(perEntry)
		return u32(1)
	}
	return errAt(ErrUnsupported, at, "opcode 0xfc %d", sub)
}

// simdGaps are the unassigned opcodes below 0x100 after the 0xfd prefix.
var simdGaps = map[uint32]bool{154: true, 162: true, 165: true, 166: true, 175: true, 176: true,
	178: true, 179: true, 180: true, 187: true, 194: true, 197: true, 198: true, 207: true,
	208: true, 210: true, 211: true, 212: true, 226: true, 238: true}

// prefixFD decodes the 0xfd instructions: fixed-width SIMD.
func (f *funcBody) prefixFD(at int) error {
	r := &f.r
	sub, err := r.U32()
	if err != nil {
		return err
	}
	switch {
	case sub <= 0x0b || sub == 0x5c || sub == 0x5d: // loads, store, load_zero
		return f.memarg()
	case sub == 0x0c || sub == 0x0d: // v128.const, i8x16.shuffle
		return r.Skip(16)
	case sub >= 0x15 && sub <= 0x22: // extract_lane, replace_lane
		return r.Skip(1)
	case sub >= 0x54 && sub <= 0x5b: // load_lane, store_lane
		if err := f.memarg(); err != nil {
			return err
		}
		return r.Skip(1)
	case sub <= 0xff && !simdGaps[sub]:
		return nil
	case sub >= 0x100 && sub <= 0x113:
		return errAt(ErrUnsupported, at, "opcode 0xfd %#x (relaxed SIMD)", sub)
	}
	return errAt(ErrUnsupported, at, "opcode 0xfd %#x", sub)
}
