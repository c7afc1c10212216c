package host

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host/internal/meter"
	"github.com/verdictpdp/verdict/host/internal/module"
)

// A module that does not load fails with an error that names the file first
// and wraps its cause: a caller can match the seal check's and the meter's
// verdicts on the binary (errors.Is), the failed stage of the load
// lifecycle and the kind of its failed call (errors.As).
func TestLoadErrorsWrapTheirCause(t *testing.T) {
	header := "\x00asm\x01\x00\x00\x00"
	tests := []struct {
		name  string
		wasm  string // when empty, the fixture of this name
		is    error  // a sentinel the error wraps
		stage string // the stage of the *module.LoadError it wraps, if any
		kind  module.Kind
		as    any // another type the error wraps (a pointer to it)
	}{
		{name: "not a Wasm binary", wasm: "\x00asm\x02", is: abi.ErrNotWasm},
		{name: "tag section", wasm: header + "\x0d\x01\x00", is: meter.ErrUnsupported},
		{name: "unknown section id", wasm: header + "\x0e\x00", is: meter.ErrMalformed},
		{name: "invalid-global", is: meter.ErrInvalid},
		{name: "configure-error", stage: "verdict_configure", kind: module.KindGuestError},
		{name: "configure-zero", stage: "verdict_configure", kind: module.KindBadOutput},
		{name: "init-trap", kind: module.KindTrap},
		{name: "describe-garbage", as: new(*json.SyntaxError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wasm := []byte(tt.wasm)
			if tt.wasm == "" {
				var err error
				wasm, err = os.ReadFile(filepath.Join("testdata", "fixtures", tt.name+".wasm"))
				require.NoError(t, err)
			}
			err := loadOneError(t, wasm)
			if tt.is != nil {
				require.ErrorIs(t, err, tt.is)
			}
			if tt.as != nil {
				require.ErrorAs(t, err, tt.as)
			}
			var le *module.LoadError
			if tt.stage != "" {
				require.ErrorAs(t, err, &le)
				require.Equal(t, tt.stage, le.Stage)
			} else {
				require.False(t, errors.As(err, &le), "no load stage failed: %v", err)
			}
			var ce *module.CallError
			if tt.kind != 0 {
				require.ErrorAs(t, err, &ce)
				require.Equal(t, tt.kind, ce.Kind)
			} else {
				require.False(t, errors.As(err, &ce), "no call failed: %v", err)
			}
		})
	}
}

// loadOneError loads wasm as m.wasm of a new directory, as LoadDir loads
// each module, and returns why it failed, checking that the message names
// the file first.
func loadOneError(t *testing.T, wasm []byte) error {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "m.wasm")
	require.NoError(t, os.WriteFile(file, wasm, 0o644))
	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	defer root.Close()
	h, err := New(context.Background(), testConfig(), nil)
	require.NoError(t, err)
	defer h.Close(context.Background())
	_, err = h.loadOne(context.Background(), root, dir, entry{name: "m", file: file}, nil)
	require.Error(t, err)
	require.Regexp(t, "^"+regexp.QuoteMeta(file)+": ", err.Error())
	return err
}
