package meter

// Opcodes the rewrite emits or looks at.
const (
	opUnreachable = 0x00
	opBlock       = 0x02
	opLoop        = 0x03
	opIf          = 0x04
	opElse        = 0x05
	opEnd         = 0x0b
	opLocalGet    = 0x20
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
	perBytes        // one unit per 64 bytes
	perPage         // 1024 units per 64 KiB page
)

// foldLimit bounds how many units a segment may be charged for instructions
// it may skip (see fold).
const foldLimit = 12

// insert is a charge to add before body offset pos: the charge of segment
// region (when dynamic < 0), or a dynamic charge.
type insert struct {
	pos     int
	region  int
	dynamic int
}

// rewriteCode returns the code section's new contents.
func (m *module) rewriteCode(c reader, fuel uint32) ([]byte, error) {
	at := c.pos
	n, err := c.u32()
	if err != nil {
		return nil, err
	}
	if int(n) != len(m.funcTypes) {
		return nil, errAt(ErrMalformed, at, "%d function bodies for %d functions", n, len(m.funcTypes))
	}
	out := appendU32(make([]byte, 0, (c.end-c.pos)*5/4+16), n)
	var fb funcBody
	for i := uint32(0); i < n; i++ {
		size, err := c.u32()
		if err != nil {
			return nil, err
		}
		body, err := c.sub(size)
		if err != nil {
			return nil, err
		}
		t := m.funcTypes[i]
		if int(t) >= len(m.params) {
			return nil, errAt(ErrMalformed, body.pos, "function %d has type %d of %d", i, t, len(m.params))
		}
		fb.reset(body, m.params[t], fuel)
		nb, err := fb.rewrite()
		if err != nil {
			return nil, err
		}
		out = appendU32(out, uint32(len(nb)))
		out = append(out, nb...)
	}
	if !c.done() {
		return nil, errAt(ErrMalformed, c.pos, "code section has %d bytes after its last body", c.end-c.pos)
	}
	return out, nil
}

// funcBody rewrites one function body. It is reused between bodies to keep
// its slices.
type funcBody struct {
	r       reader
	params  uint32
	fuel    uint32
	segs    []seg // 0 is the function's entry
	cur     int   // the segment being scanned
	inserts []insert
	frames  []frame
	out     []byte
	// loops or calls: whether the body has a loop or makes a call. A body
	// with neither is a leaf whose work is bounded by its size: its entry
	// charge needs no trap test of its own (the caller's next check, at a
	// loop header or a calling function's entry, traps instead).
	loops bool
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

func (f *funcBody) reset(r reader, params, fuel uint32) {
	f.r, f.params, f.fuel = r, params, fuel
	f.segs, f.inserts, f.frames, f.out = f.segs[:0], f.inserts[:0], f.frames[:0], f.out[:0]
	f.loops = false
}

func (f *funcBody) rewrite() ([]byte, error) {
	r := &f.r
	start := r.pos
	groups, err := r.u32()
	if err != nil {
		return nil, err
	}
	locals := uint64(f.params)
	for i := uint32(0); i < groups; i++ {
		n, err := r.u32()
		if err != nil {
			return nil, err
		}
		if err := readValType(r); err != nil {
			return nil, err
		}
		locals += uint64(n)
	}
	if locals >= 1<<32-1 {
		return nil, errAt(ErrMalformed, start, "too many locals")
	}
	code := r.pos
	f.frames = append(f.frames, frame{op: 0, opener: -1})
	f.segment(-1, true)
	if err := f.scan(); err != nil {
		return nil, err
	}
	f.fold()
	if !f.loops {
		f.segs[0].check = false
	}
	// Re-encode the locals, with a scratch i32 for dynamic charges if needed.
	scratch := uint32(locals)
	dynamic := false
	for _, in := range f.inserts {
		dynamic = dynamic || in.dynamic >= 0
	}
	out := f.out
	if dynamic {
		out = appendU32(out, groups+1)
		out = append(out, r.b[startOfGroups(r.b, start):code]...)
		out = append(out, 1, 0x7f)
	} else {
		out = append(out, r.b[start:code]...)
	}
	prev := code
	for _, in := range f.inserts {
		if in.dynamic < 0 && f.segs[in.region].dropped {
			continue
		}
		out = append(out, r.b[prev:in.pos]...)
		prev = in.pos
		if s := &f.segs[in.region]; in.dynamic < 0 && s.check {
			out = f.appendCheck(out, s.cost)
		} else if in.dynamic < 0 {
			out = f.appendCharge(out, s.cost)
		} else {
			out = f.appendDynamic(out, in.dynamic, scratch)
		}
	}
	out = append(out, r.b[prev:r.end]...)
	f.out = out
	return out, nil
}

// startOfGroups returns the offset just after the locals' group count, which
// starts at start.
func startOfGroups(b []byte, start int) int {
	for b[start]&0x80 != 0 {
		start++
	}
	return start + 1
}

// appendCheck appends: fuel -= cost; if fuel < 0 { unreachable }.
func (f *funcBody) appendCheck(out []byte, cost int64) []byte {
	return f.appendTrap(f.appendCharge(out, cost))
}

// appendCharge appends: fuel -= cost.
func (f *funcBody) appendCharge(out []byte, cost int64) []byte {
	out = append(out, opGlobalGet)
	out = appendU32(out, f.fuel)
	out = append(out, opI64Const)
	out = appendS64(out, cost)
	out = append(out, opI64Sub, opGlobalSet)
	return appendU32(out, f.fuel)
}

// appendTrap appends: if fuel < 0 { unreachable }.
func (f *funcBody) appendTrap(out []byte) []byte {
	out = append(out, opGlobalGet)
	out = appendU32(out, f.fuel)
	return append(out, opI64Const, 0, opI64LtS, opIf, blockEmpty, opUnreachable, opEnd)
}

// appendDynamic appends a charge for the i32 count on top of the stack,
// which it leaves in place: fuel -= f(count); if fuel < 0 { unreachable }.
func (f *funcBody) appendDynamic(out []byte, kind int, scratch uint32) []byte {
	out = append(out, opLocalTee)
	out = appendU32(out, scratch)
	out = append(out, opGlobalGet)
	out = appendU32(out, f.fuel)
	out = append(out, opLocalGet)
	out = appendU32(out, scratch)
	out = append(out, opI64ExtendU)
	switch kind {
	case perBytes:
		out = append(out, opI64Const, 6, opI64ShrU)
	case perPage:
		out = append(out, opI64Const, 0x80, 0x08, opI64Mul) // 1024
	}
	out = append(out, opI64Sub, opGlobalSet)
	out = appendU32(out, f.fuel)
	return f.appendTrap(out)
}
