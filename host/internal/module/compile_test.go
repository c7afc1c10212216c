package module

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
)

// panicRuntime is a wazero.Runtime whose compiler panics, as wazero
// v1.12.0's validator does on some malformed modules.
type panicRuntime struct{ wazero.Runtime }

func (panicRuntime) CompileModule(context.Context, []byte) (wazero.CompiledModule, error) {
	panic("index out of range [3] with length 3")
}

// TestCompilePanicIsAnError: a panic inside wazero's compiler is a load
// error naming the failure, never a crash of the process.
func TestCompilePanicIsAnError(t *testing.T) {
	_, err := compile(context.Background(), panicRuntime{}, []byte("\x00asm\x01\x00\x00\x00"))
	require.ErrorIs(t, err, errCompilerPanic)
	require.ErrorContains(t, err, "index out of range")
}
