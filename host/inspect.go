package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host/internal/module"
)

// Inspection is what Inspect found out about a module file.
type Inspection struct {
	File   string `json:"file"`
	Size   int    `json:"size"`
	SHA256 string `json:"sha256"`
	// Sealed is true when the file carries a seal; SealError says why a
	// seal (or the lack of one, with requireSeal) refuses it.
	Sealed    bool   `json:"sealed"`
	SealError string `json:"sealError,omitempty"`
	// ABI is "v1" when the marker export is present.
	ABI     string   `json:"abi,omitempty"`
	Exports []string `json:"exports"`
	Imports []Import `json:"imports"`
	// MemoryPages is the module's initial memory, in 64 KiB pages.
	MemoryPages uint32 `json:"memoryPages"`
	// CompileTime is how long compiling took (a compilation cache hit is
	// much faster than a cold compile).
	CompileTime time.Duration `json:"compileTime"`
	// Description is what verdict_describe returned, when the module loaded.
	Description *abi.Description `json:"description,omitempty"`
	// Loads says whether the host would load the module, with the settings
	// beside it; Error says why not.
	Loads bool   `json:"loads"`
	Error string `json:"error,omitempty"`
}

// Import is one imported function of a module file, as Inspect reports it:
// its module, name and signature, and whether the host allows it (the same
// allow-list the loader applies, whose type this is).
type Import = module.Import

// Inspect examines a module file the way the host would load it, with the
// settings file and sidecar directory beside it, and reports what it found.
// It never fails: problems are in the Inspection.
func Inspect(ctx context.Context, cfg Config, file string) Inspection {
	in := Inspection{File: file, Exports: []string{}, Imports: []Import{}}
	wasm, err := os.ReadFile(file)
	if err != nil {
		in.Error = err.Error()
		return in
	}
	in.Size = len(wasm)
	sum := sha256.Sum256(wasm)
	in.SHA256 = hex.EncodeToString(sum[:])
	in.Sealed, in.SealError = inspectSeal(wasm, cfg.RequireSeal)
	h, err := New(ctx, cfg, nil)
	if err != nil {
		in.Error = err.Error()
		return in
	}
	defer h.Close(ctx)
	iface, err := module.Inspect(ctx, wasm, h.opts)
	in.CompileTime = iface.CompileTime
	if err != nil {
		in.Error = err.Error()
		return in
	}
	in.Exports, in.Imports, in.MemoryPages = iface.Exports, iface.Imports, iface.MemoryPages
	if iface.Marker {
		in.ABI = "v1"
	}
	in.Description, err = h.inspectLoad(ctx, file, wasm, in.SealError)
	if err != nil {
		in.Error = err.Error()
		return in
	}
	in.Loads = true
	return in
}

// inspectSeal is what Inspect says of wasm's seal: whether it has one, and
// why the seal, or the lack of one with requireSeal, refuses it.
func inspectSeal(wasm []byte, requireSeal bool) (sealed bool, refused string) {
	sealed, err := abi.CheckSeal(wasm)
	switch {
	case err != nil:
		return sealed, err.Error()
	case !sealed && requireSeal:
		return sealed, "not sealed, and requireSeal is set"
	}
	return sealed, ""
}

// inspectLoad loads file, whose bytes are wasm, as LoadDir would, with the
// settings file and sidecar directory beside it, and returns its
// description and claims. sealError, when not empty, refuses it once its
// settings are read.
func (h *Host) inspectLoad(ctx context.Context, file string, wasm []byte, sealError string) (*abi.Description, error) {
	dir := filepath.Dir(file)
	e := entry{name: strings.TrimSuffix(filepath.Base(file), ".wasm"), file: file}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	if err := checkModuleFile(root, dir, e); err != nil {
		return nil, err
	}
	configure, err := readConfigure(root, dir, e)
	if err != nil {
		return nil, err
	}
	if sealError != "" {
		return nil, errors.New(sealError)
	}
	m, err := h.loadModule(ctx, e, wasm, configure)
	if err != nil {
		return nil, err
	}
	defer m.Close(ctx)
	d := m.Description()
	d.Claims = m.Claims().Patterns()
	return &d, nil
}
