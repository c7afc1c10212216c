package wasmbin_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/internal/wasmbin"
)

func TestU32(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want uint32
		err  error
	}{
		{"one byte", "\x05", 5, nil},
		{"two bytes", "\xe5\x01", 0xe5, nil},
		{"largest", "\xff\xff\xff\xff\x0f", math.MaxUint32, nil},
		{"redundant zero bytes", "\x80\x80\x80\x80\x00", 0, nil},
		{"bits past 32", "\xff\xff\xff\xff\x1f", 0, wasmbin.ErrLEB128},
		{"six bytes", "\x80\x80\x80\x80\x80\x00", 0, wasmbin.ErrLEB128},
		{"cut short", "\x80\x80", 0, wasmbin.ErrTruncated},
		{"empty", "", 0, wasmbin.ErrTruncated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := wasmbin.NewReader([]byte(tc.in), 0)
			v, err := r.U32()
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, v)
			require.True(t, r.Done())
		})
	}
}

func TestSigned(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 63, -64, 64, -65, math.MaxInt32, math.MinInt32, math.MaxInt64, math.MinInt64} {
		b := wasmbin.AppendS64(nil, v)
		r := wasmbin.NewReader(b, 0)
		got, err := r.S64()
		require.NoError(t, err)
		require.Equal(t, v, got)
		if v >= math.MinInt32 && v <= math.MaxInt32 {
			r := wasmbin.NewReader(b, 0)
			got, err := r.S32()
			require.NoError(t, err)
			require.Equal(t, int32(v), got)
		}
	}
	r := wasmbin.NewReader([]byte{0x40}, 0) // -64 as a block type index
	v, err := r.S33()
	require.NoError(t, err)
	require.Equal(t, int64(-64), v)
}

func TestErrorsSayWhere(t *testing.T) {
	data := []byte("xx\x05ab")
	r := wasmbin.NewReader(data, 2)
	_, err := r.Name()
	var e *wasmbin.Error
	require.ErrorAs(t, err, &e)
	require.ErrorIs(t, err, wasmbin.ErrPastEnd)
	require.Equal(t, 3, e.Offset, "offsets count from the start of the whole input")
	require.EqualError(t, err, "offset 0x3: length 5 runs past the end (2 bytes left)")

	r = wasmbin.NewReader(data, 4)
	require.ErrorIs(t, r.Skip(2), wasmbin.ErrTruncated)
	require.NoError(t, r.Skip(1))
	_, err = r.Peek()
	require.EqualError(t, err, "offset 0x5: unexpected end")
}

func TestSection(t *testing.T) {
	wasm := []byte(wasmbin.Header)
	wasm = append(wasm, 1, 2, 0x60, 0)
	wasm = append(wasm, wasmbin.CustomSection)
	wasm = wasmbin.AppendU32(wasm, 4)
	wasm = wasmbin.AppendName(wasm, "abc")
	r := wasmbin.NewReader(wasm, len(wasmbin.Header))

	s, err := r.Section()
	require.NoError(t, err)
	require.Equal(t, byte(1), s.ID)
	require.Equal(t, 8, s.Start)
	require.Equal(t, []byte{1, 2, 0x60, 0}, s.Raw)
	require.Equal(t, []byte{0x60, 0}, s.Contents.Rest())

	s, err = r.Section()
	require.NoError(t, err)
	require.Equal(t, byte(wasmbin.CustomSection), s.ID)
	name, err := s.Contents.Name()
	require.NoError(t, err)
	require.Equal(t, "abc", name)
	require.True(t, r.Done())

	r = wasmbin.NewReader(append([]byte(wasmbin.Header), 1, 9, 0), len(wasmbin.Header))
	_, err = r.Section()
	require.ErrorIs(t, err, wasmbin.ErrPastEnd)
}
