package abi_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "host", "testdata", "fixtures", name+".wasm"))
	require.NoError(t, err)
	return b
}

func TestSeal(t *testing.T) {
	plain := fixture(t, "allow-one")
	sealed, err := abi.Seal(plain)
	require.NoError(t, err)
	require.Equal(t, plain, sealed[:len(plain)], "sealing only appends")

	ok, err := abi.CheckSeal(plain)
	require.NoError(t, err)
	require.False(t, ok, "an unsealed module is not sealed")

	ok, err = abi.CheckSeal(sealed)
	require.NoError(t, err)
	require.True(t, ok)

	again, err := abi.Seal(sealed)
	require.NoError(t, err)
	require.Equal(t, sealed, again, "resealing replaces the seal")

	// Every truncation of a sealed file fails: either the sections no
	// longer walk, or the seal is gone or does not verify; none passes as a
	// valid seal.
	for cut := 0; cut < len(sealed); cut++ {
		ok, err := abi.CheckSeal(sealed[:cut])
		require.False(t, ok && err == nil, "cut at %d verifies", cut)
	}

	// An altered byte fails the seal.
	altered := append([]byte(nil), sealed...)
	altered[len(plain)-3] ^= 0xff
	ok, err = abi.CheckSeal(altered)
	require.True(t, ok)
	require.ErrorIs(t, err, abi.ErrBadSeal)

	// A seal that is not last is refused, by both.
	notLast := append(append([]byte(nil), sealed...), 0, 1, 0) // an empty-named custom section
	_, err = abi.CheckSeal(notLast)
	require.ErrorContains(t, err, "not the last section")
	_, err = abi.Seal(notLast)
	require.ErrorContains(t, err, "not the last section")

	_, err = abi.Seal([]byte("not wasm"))
	require.ErrorIs(t, err, abi.ErrNotWasm)
}

// TestSealMalformedSections pins how a module whose sections do not walk is
// refused (the words reach a policy's status and verdict inspect).
func TestSealMalformedSections(t *testing.T) {
	const header = "\x00asm\x01\x00\x00\x00"
	tests := []struct{ name, wasm, want string }{
		{"not wasm", "\x00asm\x02\x00\x00\x00", "not a WebAssembly binary module"},
		{"size cut short", header + "\x01\x80", "not a WebAssembly binary module: section at byte 8: truncated LEB128"},
		{"size over five bytes", header + "\x01\x80\x80\x80\x80\x80\x00", "not a WebAssembly binary module: section at byte 8: LEB128 too long"},
		{"section past the end", header + "\x01\x00\x0a\x05\x00", "not a WebAssembly binary module: section at byte 10 runs past the end of the file (truncated?)"},
		{"custom name past its section", header + "\x00\x02\x05a", "not a WebAssembly binary module: custom section at byte 8 has a bad name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, f := range []func([]byte) error{
				func(b []byte) error { _, err := abi.CheckSeal(b); return err },
				func(b []byte) error { _, err := abi.Seal(b); return err },
			} {
				err := f([]byte(tc.wasm))
				require.ErrorIs(t, err, abi.ErrNotWasm)
				require.EqualError(t, err, tc.want)
			}
		})
	}
}
