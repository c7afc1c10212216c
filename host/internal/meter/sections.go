package meter

import "github.com/verdictpdp/verdict/internal/wasmbin"

// parse splits wasm into sections and reads the counts Instrument needs.
func parse(wasm []byte) (*module, error) {
	if len(wasm) < 8 || string(wasm[:4]) != wasmbin.Magic {
		return nil, errAt(ErrMalformed, 0, "not a WebAssembly binary (bad magic number)")
	}
	if string(wasm[4:8]) != wasmbin.Header[4:] {
		return nil, errAt(ErrUnsupported, 4, "binary format version %x, want 1", wasm[4:8])
	}
	m := &module{}
	r := wasmbin.NewReader(wasm, len(wasmbin.Header))
	last := 0
	for !r.Done() {
		s, err := r.Section()
		if err != nil {
			return nil, err
		}
		id, start := s.ID, s.Start
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

// read reads what Instrument needs from one section, and refuses what must
// not reach wazero. The code section is read later (see rewriteCode); the
// others not named here are copied as they are.
func (m *module) read(s wasmbin.Section) error {
	c := s.Contents
	switch s.ID {
	case secCustom:
		_, err := c.Name()
		return err
	case secType, secImport, secFunction, secTable, secMemory, secExport:
		return m.readEntries(s)
	case secGlobal:
		n, err := c.U32()
		if err != nil {
			return err
		}
		m.definedGlobal = n
		m.readGlobals(c, n)
		return nil // copied as is
	case secElement, secData:
		return m.readSegments(s)
	case secStart:
		m.readStart(c)
	}
	return nil
}

// readEntries reads the entries of section s, a count and then each entry
// (see readEntry), and refuses bytes after the last one.
func (m *module) readEntries(s wasmbin.Section) error {
	c := s.Contents
	n, err := c.U32()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		if err := m.readEntry(s.ID, &c); err != nil {
			return err
		}
	}
	if !c.Done() {
		return errAt(ErrMalformed, c.Pos(), "section %d has %d bytes after its last entry", s.ID, c.Left())
	}
	return nil
}

// readEntry reads one entry of a section of id id: a type, an import, a
// function's type index, a table, a memory or an export.
func (m *module) readEntry(id byte, c *wasmbin.Reader) error {
	switch id {
	case secType:
		return m.readType(c)
	case secImport:
		return m.readImport(c)
	case secFunction:
		return m.readFunction(c)
	case secTable:
		return m.readTable(c)
	case secMemory:
		return readLimits(c)
	}
	return m.readExport(c) // secExport
}

// readType reads a function type, noting its parameter and value counts.
func (m *module) readType(c *wasmbin.Reader) error {
	p, v, err := readFuncType(c)
	if err != nil {
		return err
	}
	m.params = append(m.params, p)
	m.values = append(m.values, v)
	return nil
}

// readImport reads an import, counting imported functions, globals and
// tables.
func (m *module) readImport(c *wasmbin.Reader) error {
	at := c.Pos()
	kind, err := readImportDesc(c)
	if err != nil {
		return err
	}
	switch kind {
	case importGlobal:
		m.importedGlobal++
	case importFunc:
		m.importedFunc++
	case importTable:
		return m.addTable(at)
	}
	return nil
}

// readFunction reads a function's type index.
func (m *module) readFunction(c *wasmbin.Reader) error {
	t, err := c.U32()
	if err != nil {
		return err
	}
	m.funcTypes = append(m.funcTypes, t)
	return nil
}

// readTable reads a table type and counts the table.
func (m *module) readTable(c *wasmbin.Reader) error {
	at := c.Pos()
	if err := readTableType(c); err != nil {
		return err
	}
	return m.addTable(at)
}

// addTable counts a table, imported or defined at at, and refuses more than
// MaxTables.
func (m *module) addTable(at int) error {
	if m.tables++; m.tables > MaxTables {
		return errAt(ErrLimit, at, "more than %d tables", MaxTables)
	}
	return nil
}

// readExport reads an export: it refuses one named like the meter's
// globals, or naming a global past the module's own, and notes exported
// functions as escaping.
func (m *module) readExport(c *wasmbin.Reader) error {
	at := c.Pos()
	name, err := c.Name()
	if err != nil {
		return err
	}
	if name == FuelGlobal || name == StackGlobal {
		return errAt(ErrFuelExported, at, "export %q", name)
	}
	kind, err := c.Byte()
	if err != nil {
		return err
	}
	index, err := c.U32()
	if err != nil {
		return err
	}
	if kind == 0x00 {
		m.escaping = append(m.escaping, index)
	}
	// The rewrite appends the fuel global after the module's own: an
	// export naming it would export the fuel.
	if kind == 0x03 && uint64(index) >= uint64(m.importedGlobal)+uint64(m.definedGlobal) {
		return errAt(ErrInvalid, at, "export %q of global %d in a module with %d globals",
			name, index, uint64(m.importedGlobal)+uint64(m.definedGlobal))
	}
	return nil
}

// readSegments reads the count of an element or data section, copied as
// is: a count that cannot fit makes wazero allocate for it (gigabytes)
// before it finds out, so it is refused here. Element segments note the
// functions they hold (see readElements).
func (m *module) readSegments(s wasmbin.Section) error {
	c := s.Contents
	n, err := c.U32()
	if err != nil {
		return err
	}
	if int64(n) > int64(c.Left()) {
		return errAt(ErrMalformed, s.Contents.Pos(), "section %d claims %d entries in %d bytes", s.ID, n, c.Left())
	}
	if s.ID == secElement {
		m.readElements(c, n)
	}
	return nil
}

// readStart notes the start function as escaping. The section is copied as
// is: when it cannot be read, wazero reports it, and no function is
// prepaid (opaque).
func (m *module) readStart(c wasmbin.Reader) {
	index, err := c.U32()
	if err != nil {
		m.opaque = true
		return
	}
	m.escaping = append(m.escaping, index)
}

// readFuncType reads a function type and returns its number of params and
// its number of params and results.
func readFuncType(c *wasmbin.Reader) (params, values uint32, err error) {
	at := c.Pos()
	form, err := c.Byte()
	if err != nil {
		return 0, 0, err
	}
	if form != 0x60 {
		return 0, 0, errAt(ErrUnsupported, at, "type form %#x (only function types, 0x60)", form)
	}
	for i := 0; i < 2; i++ {
		n, err := c.U32()
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

// isValType reports whether c is a core 2.0 value type.
func isValType(c byte) bool {
	switch c {
	case 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
		return true
	}
	return false
}

func readValType(c *wasmbin.Reader) error {
	at := c.Pos()
	t, err := c.Byte()
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

// readImportDesc reads one import (its module and name, and what it
// imports) and returns its kind.
func readImportDesc(c *wasmbin.Reader) (byte, error) {
	for i := 0; i < 2; i++ {
		if _, err := c.Name(); err != nil {
			return 0, err
		}
	}
	at := c.Pos()
	kind, err := c.Byte()
	if err != nil {
		return 0, err
	}
	switch kind {
	case 0x00: // function
		_, err = c.U32()
	case importTable:
		err = readTableType(c)
	case 0x02: // memory
		err = readLimits(c)
	case 0x03: // global
		if err = readValType(c); err == nil {
			at := c.Pos()
			var mut byte
			if mut, err = c.Byte(); err == nil && mut > 1 {
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
func readTableType(c *wasmbin.Reader) error {
	_, _, _, err := tableType(c)
	return err
}

// tableType reads a table type and returns its element type and limits
// (see limits), refusing a minimum over MaxTableEntries.
func tableType(c *wasmbin.Reader) (elem byte, min, max uint32, err error) {
	at := c.Pos()
	if elem, err = c.Byte(); err != nil {
		return 0, 0, 0, err
	}
	if elem != 0x70 && elem != 0x6f {
		return 0, 0, 0, errAt(ErrUnsupported, at, "table element type %#x", elem)
	}
	at = c.Pos()
	if min, max, err = limits(c); err != nil {
		return 0, 0, 0, err
	}
	if min > MaxTableEntries {
		return 0, 0, 0, errAt(ErrLimit, at, "table of at least %d entries (at most %d)", min, MaxTableEntries)
	}
	return elem, min, max, nil
}

func readLimits(c *wasmbin.Reader) error {
	_, _, err := limits(c)
	return err
}

// limits reads limits and returns the minimum and the maximum (^0 when
// there is none).
func limits(c *wasmbin.Reader) (min, max uint32, err error) {
	at := c.Pos()
	flag, err := c.Byte()
	if err != nil {
		return 0, 0, err
	}
	if flag > 1 {
		return 0, 0, errAt(ErrUnsupported, at, "limits flag %#x (shared memory or memory64)", flag)
	}
	if min, err = c.U32(); err != nil {
		return 0, 0, err
	}
	max = ^uint32(0)
	if flag == 1 {
		max, err = c.U32()
	}
	return min, max, err
}
