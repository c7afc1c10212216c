package meter

import "strings"

// Section ids.
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secElement   = 9
	secStart     = 8
	secData      = 11
	secCode      = 10
	secDataCount = 12
	secTag       = 13
)

// order gives each known section id its place in the required order
// (data count sits between element and code). Tags (exception handling) are
// not listed: they are refused.
var order = [...]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 8: 8, 9: 9, 12: 10, 10: 11, 11: 12}

type section struct {
	id       byte
	raw      reader // the whole section, id and size included
	contents reader
}

// module is what Instrument needs to know about its input.
type module struct {
	sections       []section
	params         []uint32 // number of params of each type
	values         []uint32 // number of params and results of each type
	funcTypes      []uint32 // type index of each defined function
	importedGlobal uint32
	definedGlobal  uint32
	importedFunc   uint32
	tables         uint32 // imported and defined
	// escaping lists the functions that may be called other than by a
	// direct call (exports, start, table elements, ref.func in a global);
	// opaque is set when one of those sections could not be decoded, and
	// then every function is taken to escape.
	escaping []uint32
	opaque   bool
}

// Instrument returns a copy of wasm, a binary WebAssembly module, rewritten
// to pay fuel out of the exported i64 global FuelGlobal and to trap when it
// runs out. See the package documentation for what is charged, what changes
// and what is refused. wasm is not modified.
func Instrument(wasm []byte) ([]byte, error) {
	m, err := parse(wasm)
	if err != nil {
		return nil, err
	}
	fuel := m.importedGlobal + m.definedGlobal
	if m.definedGlobal >= ^uint32(0)-1 || fuel < m.importedGlobal || fuel+1 < fuel {
		return nil, errAt(ErrUnsupported, 0, "too many globals")
	}
	out := make([]byte, 0, len(wasm)+len(wasm)/4+64)
	out = append(out, wasm[:8]...)
	var sawGlobal, sawExport bool
	for _, s := range m.sections {
		if s.id != secCustom {
			if !sawGlobal && order[s.id] > order[secGlobal] {
				out = appendSection(out, secGlobal, appendMeterGlobals(appendU32(nil, 2)))
				sawGlobal = true
			}
			if !sawExport && order[s.id] > order[secExport] {
				out = appendSection(out, secExport, appendMeterExports(appendU32(nil, 2), fuel))
				sawExport = true
			}
		}
		switch s.id {
		case secCustom:
			c := s.contents
			name, _ := c.name() // checked by parse
			if dropCustom(name) {
				continue
			}
			out = append(out, s.raw.b[s.raw.pos:s.raw.end]...)
		case secGlobal:
			sawGlobal = true
			c := s.contents
			_, _ = c.u32() // checked by parse
			body := appendU32(nil, m.definedGlobal+2)
			body = append(body, c.b[c.pos:c.end]...)
			out = appendSection(out, secGlobal, appendMeterGlobals(body))
		case secExport:
			sawExport = true
			c := s.contents
			n, _ := c.u32() // checked by parse
			body := appendU32(nil, n+2)
			body = append(body, c.b[c.pos:c.end]...)
			out = appendSection(out, secExport, appendMeterExports(body, fuel))
		case secTable:
			out = appendSection(out, secTable, capTables(s.contents))
		case secCode:
			body, err := m.rewriteCode(s.contents, fuel)
			if err != nil {
				return nil, err
			}
			out = appendSection(out, secCode, body)
		default:
			out = append(out, s.raw.b[s.raw.pos:s.raw.end]...)
		}
	}
	if !sawGlobal {
		out = appendSection(out, secGlobal, appendMeterGlobals(appendU32(nil, 2)))
	}
	if !sawExport {
		out = appendSection(out, secExport, appendMeterExports(appendU32(nil, 2), fuel))
	}
	return out, nil
}

// dropCustom reports whether a custom section's contents would be wrong
// after the rewrite.
func dropCustom(name string) bool {
	return strings.HasPrefix(name, ".debug_") || name == "sourceMappingURL" ||
		name == "external_debug_info" || name == "verdict.seal"
}

func appendSection(out []byte, id byte, body []byte) []byte {
	out = append(out, id)
	out = appendU32(out, uint32(len(body)))
	return append(out, body...)
}

// appendMeterGlobals appends the fuel global (mut i64, init i64.const
// InitialFuel) and the stack global after it (mut i64, init i64.const
// StackBudget).
func appendMeterGlobals(b []byte) []byte {
	b = append(b, 0x7e, 0x01, 0x42)
	b = appendS64(b, InitialFuel)
	b = append(b, 0x0b, 0x7e, 0x01, 0x42)
	b = appendS64(b, StackBudget)
	return append(b, 0x0b)
}

// appendMeterExports appends the exports of the fuel global, at index, and
// of the stack global after it.
func appendMeterExports(b []byte, index uint32) []byte {
	b = appendName(b, FuelGlobal)
	b = append(b, 0x03)
	b = appendU32(b, index)
	b = appendName(b, StackGlobal)
	b = append(b, 0x03)
	return appendU32(b, index+1)
}

// parse splits wasm into sections and reads the counts Instrument needs.
func parse(wasm []byte) (*module, error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return nil, errAt(ErrMalformed, 0, "not a WebAssembly binary (bad magic number)")
	}
	if string(wasm[4:8]) != "\x01\x00\x00\x00" {
		return nil, errAt(ErrUnsupported, 4, "binary format version %x, want 1", wasm[4:8])
	}
	m := &module{}
	r := reader{b: wasm, pos: 8, end: len(wasm)}
	last := 0
	for !r.done() {
		start := r.pos
		id, _ := r.byte()
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		contents, err := r.sub(size)
		if err != nil {
			return nil, err
		}
		s := section{id: id, raw: reader{b: wasm, pos: start, end: r.pos}, contents: contents}
		if id == secTag {
			return nil, errAt(ErrUnsupported, start, "tag section (exception handling)")
		}
		if int(id) >= len(order) || (id != secCustom && order[id] == 0) {
			return nil, errAt(ErrMalformed, start, "unknown section id %d", id)
		}
		if id != secCustom {
			if order[id] <= last {
				return nil, errAt(ErrMalformed, start, "section %d out of order or repeated", id)
			}
			last = order[id]
		}
		if err := m.read(s); err != nil {
			return nil, err
		}
		m.sections = append(m.sections, s)
	}
	return m, nil
}

// read reads what Instrument needs from one section.
func (m *module) read(s section) error {
	c := s.contents
	if s.id == secCustom {
		_, err := c.name()
		return err
	}
	var n uint32
	switch s.id {
	case secType, secImport, secFunction, secTable, secMemory, secGlobal, secExport:
		var err error
		if n, err = c.u32(); err != nil {
			return err
		}
	}
	switch s.id {
	case secType:
		for i := uint32(0); i < n; i++ {
			p, v, err := readFuncType(&c)
			if err != nil {
				return err
			}
			m.params = append(m.params, p)
			m.values = append(m.values, v)
		}
	case secImport:
		for i := uint32(0); i < n; i++ {
			at := c.pos
			kind, err := readImport(&c)
			if err != nil {
				return err
			}
			switch kind {
			case importGlobal:
				m.importedGlobal++
			case importFunc:
				m.importedFunc++
			case importTable:
				if m.tables++; m.tables > MaxTables {
					return errAt(ErrLimit, at, "more than %d tables", MaxTables)
				}
			}
		}
	case secFunction:
		for i := uint32(0); i < n; i++ {
			t, err := c.u32()
			if err != nil {
				return err
			}
			m.funcTypes = append(m.funcTypes, t)
		}
	case secTable:
		for i := uint32(0); i < n; i++ {
			at := c.pos
			if err := readTableType(&c); err != nil {
				return err
			}
			if m.tables++; m.tables > MaxTables {
				return errAt(ErrLimit, at, "more than %d tables", MaxTables)
			}
		}
	case secMemory:
		for i := uint32(0); i < n; i++ {
			if err := readLimits(&c); err != nil {
				return err
			}
		}
	case secGlobal:
		m.definedGlobal = n
		m.readGlobals(c, n)
		return nil // copied as is
	case secExport:
		for i := uint32(0); i < n; i++ {
			at := c.pos
			name, err := c.name()
			if err != nil {
				return err
			}
			if name == FuelGlobal || name == StackGlobal {
				return errAt(ErrFuelExported, at, "export %q", name)
			}
			kind, err := c.byte()
			if err != nil {
				return err
			}
			index, err := c.u32()
			if err != nil {
				return err
			}
			if kind == 0x00 {
				m.escaping = append(m.escaping, index)
			}
			// The rewrite appends the fuel global after the module's
			// own: an export naming it would export the fuel.
			if kind == 0x03 && uint64(index) >= uint64(m.importedGlobal)+uint64(m.definedGlobal) {
				return errAt(ErrInvalid, at, "export %q of global %d in a module with %d globals",
					name, index, uint64(m.importedGlobal)+uint64(m.definedGlobal))
			}
		}
	case secElement, secData:
		// Copied as is, but a count that cannot fit makes wazero allocate
		// for it (gigabytes) before it finds out: refuse it here.
		n, err := c.u32()
		if err != nil {
			return err
		}
		if int64(n) > int64(c.end-c.pos) {
			return errAt(ErrMalformed, s.contents.pos, "section %d claims %d entries in %d bytes", s.id, n, c.end-c.pos)
		}
		if s.id == secElement {
			m.readElements(c, n)
		}
		return nil
	case secStart:
		index, err := c.u32()
		if err != nil {
			m.opaque = true
			return nil // copied as is; wazero reports it
		}
		m.escaping = append(m.escaping, index)
		return nil
	default:
		return nil // copied as is, or the code section, read later
	}
	if !c.done() {
		return errAt(ErrMalformed, c.pos, "section %d has %d bytes after its last entry", s.id, c.end-c.pos)
	}
	return nil
}

// readFuncType reads a function type and returns its number of params and
// its number of params and results.
func readFuncType(c *reader) (params, values uint32, err error) {
	at := c.pos
	form, err := c.byte()
	if err != nil {
		return 0, 0, err
	}
	if form != 0x60 {
		return 0, 0, errAt(ErrUnsupported, at, "type form %#x (only function types, 0x60)", form)
	}
	for i := 0; i < 2; i++ {
		n, err := c.u32()
		if err != nil {
			return 0, 0, err
		}
		for j := uint32(0); j < n; j++ {
			if err := readValType(c); err != nil {
				return 0, 0, err
			}
		}
		if i == 0 {
			params = n
		}
		values += n // each at most the section's size: no overflow
	}
	return params, values, nil
}

func readValType(c *reader) error {
	at := c.pos
	t, err := c.byte()
	if err != nil {
		return err
	}
	if !isValType(t) {
		return errAt(ErrUnsupported, at, "value type %#x", t)
	}
	return nil
}

// Import kinds.
const (
	importFunc   = 0x00
	importTable  = 0x01
	importGlobal = 0x03
)

// readImport reads one import and returns its kind.
func readImport(c *reader) (byte, error) {
	for i := 0; i < 2; i++ {
		if _, err := c.name(); err != nil {
			return 0, err
		}
	}
	at := c.pos
	kind, err := c.byte()
	if err != nil {
		return 0, err
	}
	switch kind {
	case 0x00: // function
		_, err = c.u32()
	case importTable:
		err = readTableType(c)
	case 0x02: // memory
		err = readLimits(c)
	case 0x03: // global
		if err = readValType(c); err == nil {
			at := c.pos
			var mut byte
			if mut, err = c.byte(); err == nil && mut > 1 {
				return 0, errAt(ErrMalformed, at, "global mutability %#x", mut)
			}
		}
		return kind, err
	case 0x04:
		return 0, errAt(ErrUnsupported, at, "tag import (exception handling)")
	default:
		return 0, errAt(ErrMalformed, at, "import kind %#x", kind)
	}
	return kind, err
}

// readTableType reads a table type, refusing a minimum over
// MaxTableEntries.
func readTableType(c *reader) error {
	_, _, _, err := tableType(c)
	return err
}

// tableType reads a table type and returns its element type and limits
// (see limits), refusing a minimum over MaxTableEntries.
func tableType(c *reader) (elem byte, min, max uint32, err error) {
	at := c.pos
	if elem, err = c.byte(); err != nil {
		return 0, 0, 0, err
	}
	if elem != 0x70 && elem != 0x6f {
		return 0, 0, 0, errAt(ErrUnsupported, at, "table element type %#x", elem)
	}
	at = c.pos
	if min, max, err = limits(c); err != nil {
		return 0, 0, 0, err
	}
	if min > MaxTableEntries {
		return 0, 0, 0, errAt(ErrLimit, at, "table of at least %d entries (at most %d)", min, MaxTableEntries)
	}
	return elem, min, max, nil
}

func readLimits(c *reader) error {
	_, _, err := limits(c)
	return err
}

// limits reads limits and returns the minimum and the maximum (^0 when
// there is none).
func limits(c *reader) (min, max uint32, err error) {
	at := c.pos
	flag, err := c.byte()
	if err != nil {
		return 0, 0, err
	}
	if flag > 1 {
		return 0, 0, errAt(ErrUnsupported, at, "limits flag %#x (shared memory or memory64)", flag)
	}
	if min, err = c.u32(); err != nil {
		return 0, 0, err
	}
	max = ^uint32(0)
	if flag == 1 {
		max, err = c.u32()
	}
	return min, max, err
}

// capTables returns the table section c, which parse checked, with each
// table's maximum lowered to MaxTableEntries, or set to it when there is
// none: growing past it then fails (table.grow returns -1) instead of
// making the host allocate. A maximum below the minimum stays for wazero to
// refuse.
func capTables(c reader) []byte {
	n, _ := c.u32()
	out := appendU32(make([]byte, 0, c.end-c.pos+int(n)*4), n)
	for i := uint32(0); i < n; i++ {
		elem, lo, hi, _ := tableType(&c)
		out = append(out, elem, 1)
		out = appendU32(out, lo)
		out = appendU32(out, min(hi, MaxTableEntries))
	}
	return out
}
