package meter

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/verdictpdp/verdict/internal/wasmbin"
)

// tiny returns a module with one function of type () -> () whose body (the
// locals count included) is body, after the sections in before.
func tiny(body []byte, before ...[]byte) []byte {
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = append(m, 1, 4, 1, 0x60, 0, 0) // type section: () -> ()
	for _, s := range before {
		m = append(m, s...)
	}
	m = append(m, 3, 2, 1, 0) // function section: one function of type 0
	code := wasmbin.AppendU32(nil, uint32(len(body)))
	code = append(append([]byte{1}, code...), body...)
	return appendSection(m, secCode, code)
}

func TestRefused(t *testing.T) {
	tests := []struct {
		name string
		wasm []byte
		want error
		msg  string
	}{
		{"not wasm", []byte("not wasm at all"), ErrMalformed, "bad magic"},
		{"empty", nil, ErrMalformed, "bad magic"},
		{"version 2", []byte("\x00asm\x02\x00\x00\x00"), ErrUnsupported, "version"},
		{"tail call", tiny([]byte{0, 0x12, 0, 0x0b}), ErrUnsupported, "tail calls"},
		{"atomics", tiny([]byte{0, 0x41, 0, 0xfe, 0x10, 2, 0, 0x1a, 0x0b}), ErrUnsupported, "threads"},
		{"try", tiny([]byte{0, 0x06, 0x40, 0x0b, 0x0b}), ErrUnsupported, "exception"},
		{"GC prefix", tiny([]byte{0, 0xfb, 0, 0x0b}), ErrUnsupported, "GC"},
		{"unknown opcode", tiny([]byte{0, 0xc5, 0x0b}), ErrUnsupported, "unknown opcode 0xc5"},
		{"unknown 0xfc", tiny([]byte{0, 0xfc, 18, 0x0b}), ErrUnsupported, "0xfc 18"},
		{"relaxed SIMD", tiny([]byte{0, 0xfd, 0x80, 0x02, 0x0b}), ErrUnsupported, "relaxed SIMD"},
		{"SIMD gap", tiny([]byte{0, 0xfd, 0x9a, 0x01, 0x0b}), ErrUnsupported, "0xfd 0x9a"},
		{"multi-memory memarg", tiny([]byte{0, 0x41, 0, 0x28, 0x40, 0, 0, 0x1a, 0x0b}), ErrUnsupported, "multi-memory"},
		{"multi-memory size", tiny([]byte{0, 0x3f, 1, 0x1a, 0x0b}), ErrUnsupported, "multi-memory"},
		{"no final end", tiny([]byte{0, 0x01}), ErrMalformed, "before its final end"},
		{"bytes after end", tiny([]byte{0, 0x0b, 0x01}), ErrMalformed, "after the function's final end"},
		{"truncated immediate", tiny([]byte{0, 0x41}), ErrMalformed, "unexpected end"},
		{"LEB too long", tiny([]byte{0, 0x41, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x1a, 0x0b}), ErrMalformed, "LEB128"},
		{"else outside if", tiny([]byte{0, 0x05, 0x0b}), ErrMalformed, "else outside an if"},
		{"truncated section", []byte("\x00asm\x01\x00\x00\x00\x01\x10\x01"), ErrMalformed, "past the end"},
		{"sections out of order", tiny([]byte{0, 0x0b}, []byte{1, 1, 0}), ErrMalformed, "out of order"},
		{"tag section", tiny([]byte{0, 0x0b}, []byte{13, 1, 0}), ErrUnsupported, "tag section"},
		{"shared memory", tiny([]byte{0, 0x0b}, []byte{2, 8, 1, 1, 'm', 1, 'n', 2, 3, 1}), ErrUnsupported, "shared memory"},
		{"memory64", tiny([]byte{0, 0x0b}, []byte{5, 3, 1, 4, 1}), ErrUnsupported, "memory64"},
		{"non-function type", []byte("\x00asm\x01\x00\x00\x00\x01\x03\x01\x5f\x00"), ErrUnsupported, "type form"},
		{"already metered", mustInstrument(t, tiny([]byte{0, 0x0b})), ErrFuelExported, FuelGlobal},
		{"bodies and functions differ", []byte("\x00asm\x01\x00\x00\x00\x0a\x01\x00"), ErrMalformed, "0 function bodies for 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Instrument(tt.wasm)
			if tt.name == "bodies and functions differ" {
				// Zero bodies for zero functions is fine: the control case.
				require.NoError(t, err)
				require.NotEmpty(t, out)
				return
			}
			require.ErrorIs(t, err, tt.want)
			require.ErrorContains(t, err, tt.msg)
			require.ErrorContains(t, err, "offset 0x")
			require.Nil(t, out)
		})
	}
}

func mustInstrument(t *testing.T, wasm []byte) []byte {
	out, err := Instrument(wasm)
	require.NoError(t, err)
	return out
}
