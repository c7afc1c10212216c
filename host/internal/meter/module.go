package meter

import (
	"errors"
	"strings"

	"github.com/verdictpdp/verdict/internal/wasmbin"
)

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

// module is what Instrument needs to know about its input.
type module struct {
	sections       []wasmbin.Section
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
	out, err := rewriteModule(wasm)
	if err != nil {
		return nil, malformed(err)
	}
	return out, nil
}

// malformed words an error of the binary reader (wasmbin) as this package
// words its own, wrapping ErrMalformed; it returns other errors as they are.
func malformed(err error) error {
	var e *wasmbin.Error
	if errors.As(err, &e) {
		return errAt(ErrMalformed, e.Offset, "%s", e.Detail)
	}
	return err
}

// rewriteModule is Instrument with the binary reader's errors as they come.
func rewriteModule(wasm []byte) ([]byte, error) {
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
		if s.ID != secCustom {
			if !sawGlobal && order[s.ID] > order[secGlobal] {
				out = appendSection(out, secGlobal, appendMeterGlobals(wasmbin.AppendU32(nil, 2)))
				sawGlobal = true
			}
			if !sawExport && order[s.ID] > order[secExport] {
				out = appendSection(out, secExport, appendMeterExports(wasmbin.AppendU32(nil, 2), fuel))
				sawExport = true
			}
		}
		switch s.ID {
		case secCustom:
			c := s.Contents
			name, _ := c.Name() // checked by parse
			if dropCustom(name) {
				continue
			}
			out = append(out, s.Raw...)
		case secGlobal:
			sawGlobal = true
			c := s.Contents
			_, _ = c.U32() // checked by parse
			body := wasmbin.AppendU32(nil, m.definedGlobal+2)
			body = append(body, c.Rest()...)
			out = appendSection(out, secGlobal, appendMeterGlobals(body))
		case secExport:
			sawExport = true
			c := s.Contents
			n, _ := c.U32() // checked by parse
			body := wasmbin.AppendU32(nil, n+2)
			body = append(body, c.Rest()...)
			out = appendSection(out, secExport, appendMeterExports(body, fuel))
		case secTable:
			out = appendSection(out, secTable, capTables(s.Contents))
		case secCode:
			body, err := m.rewriteCode(s.Contents, fuel)
			if err != nil {
				return nil, err
			}
			out = appendSection(out, secCode, body)
		default:
			out = append(out, s.Raw...)
		}
	}
	if !sawGlobal {
		out = appendSection(out, secGlobal, appendMeterGlobals(wasmbin.AppendU32(nil, 2)))
	}
	if !sawExport {
		out = appendSection(out, secExport, appendMeterExports(wasmbin.AppendU32(nil, 2), fuel))
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
	out = wasmbin.AppendU32(out, uint32(len(body)))
	return append(out, body...)
}

// appendMeterGlobals appends the fuel global (mut i64, init i64.const
// InitialFuel) and the stack global after it (mut i64, init i64.const
// StackBudget).
func appendMeterGlobals(b []byte) []byte {
	b = append(b, 0x7e, 0x01, 0x42)
	b = wasmbin.AppendS64(b, InitialFuel)
	b = append(b, 0x0b, 0x7e, 0x01, 0x42)
	b = wasmbin.AppendS64(b, StackBudget)
	return append(b, 0x0b)
}

// appendMeterExports appends the exports of the fuel global, at index, and
// of the stack global after it.
func appendMeterExports(b []byte, index uint32) []byte {
	b = wasmbin.AppendName(b, FuelGlobal)
	b = append(b, 0x03)
	b = wasmbin.AppendU32(b, index)
	b = wasmbin.AppendName(b, StackGlobal)
	b = append(b, 0x03)
	return wasmbin.AppendU32(b, index+1)
}

// capTables returns the table section c, which parse checked, with each
// table's maximum lowered to MaxTableEntries, or set to it when there is
// none: growing past it then fails (table.grow returns -1) instead of
// making the host allocate. A maximum below the minimum stays for wazero to
// refuse.
func capTables(c wasmbin.Reader) []byte {
	n, _ := c.U32()
	out := wasmbin.AppendU32(make([]byte, 0, c.Left()+int(n)*4), n)
	for i := uint32(0); i < n; i++ {
		elem, lo, hi, _ := tableType(&c)
		out = append(out, elem, 1)
		out = wasmbin.AppendU32(out, lo)
		out = wasmbin.AppendU32(out, min(hi, MaxTableEntries))
	}
	return out
}
