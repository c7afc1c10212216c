package abi_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
)

func TestPackUnpack(t *testing.T) {
	tests := []struct {
		name      string
		ptr, size uint32
		packed    uint64
	}{
		{"zero is failure", 0, 0, 0},
		{"small", 4096, 63, 4096<<32 | 63},
		{"high pointer", 0xfffffff0, 16, 0xfffffff0_00000010},
		{"max", math.MaxUint32, math.MaxUint32, math.MaxUint64},
		{"pointer zero, length set", 0, 2 << 20, 2 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.packed, abi.Pack(tt.ptr, tt.size))
			ptr, size := abi.Unpack(tt.packed)
			require.Equal(t, tt.ptr, ptr)
			require.Equal(t, tt.size, size)
		})
	}
}

func TestNames(t *testing.T) {
	// These names are the wire contract (abi/SPEC.md); changing one breaks every module.
	require.Equal(t, "verdict_abi_v1", abi.MarkerExport)
	require.Equal(t, "verdict:host/v1", abi.HostModule)
	require.Equal(t, "wasi_snapshot_preview1", abi.WASIModule)
	require.Equal(t, 1, abi.Version)
}
