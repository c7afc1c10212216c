package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

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

// Import is one imported function and whether the host allows it.
type Import struct {
	Module    string `json:"module"`
	Name      string `json:"name"`
	Signature string `json:"signature"`
	Allowed   bool   `json:"allowed"`
}

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
	in.Sealed, err = abi.CheckSeal(wasm)
	if err != nil {
		in.SealError = err.Error()
	} else if !in.Sealed && cfg.RequireSeal {
		in.SealError = "not sealed, and requireSeal is set"
	}
	h, err := New(ctx, cfg, nil)
	if err != nil {
		in.Error = err.Error()
		return in
	}
	defer h.Close(ctx)

	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().
		WithCompilationCache(h.cache).WithCoreFeatures(api.CoreFeaturesV2).
		WithMemoryLimitPages(uint32(cfg.MemoryMiB)*16))
	defer rt.Close(ctx)
	start := time.Now()
	compiled, err := rt.CompileModule(ctx, wasm)
	in.CompileTime = time.Since(start)
	if err != nil {
		in.Error = fmt.Sprintf("not a valid WebAssembly module: %v", err)
		return in
	}
	for name, f := range compiled.ExportedFunctions() {
		in.Exports = append(in.Exports, name+" "+sig(f))
		if name == abi.MarkerExport {
			in.ABI = "v1"
		}
	}
	for name := range compiled.ExportedMemories() {
		in.Exports = append(in.Exports, name+" (memory)")
	}
	sort.Strings(in.Exports)
	for _, f := range compiled.ImportedFunctions() {
		mod, name, _ := f.Import()
		in.Imports = append(in.Imports, Import{Module: mod, Name: name, Signature: sig(f),
			Allowed: mod == abi.WASIModule || mod == abi.HostModule && name == abi.LogImport})
	}
	for _, m := range compiled.ExportedMemories() {
		in.MemoryPages = m.Min()
	}

	dir := filepath.Dir(file)
	e := entry{name: strings.TrimSuffix(filepath.Base(file), ".wasm"), file: file}
	root, err := os.OpenRoot(dir)
	if err != nil {
		in.Error = err.Error()
		return in
	}
	defer root.Close()
	_, configure, err := readSource(root, dir, e)
	if err != nil {
		in.Error = err.Error()
		return in
	}
	if in.SealError != "" {
		in.Error = in.SealError
		return in
	}
	m, err := module.Load(ctx, module.Source{Name: e.name, File: file, Wasm: wasm, Configure: configure,
		Claims: cfg.Claims[e.name]}, h.opts)
	if err != nil {
		in.Error = err.Error()
		return in
	}
	defer m.Close(ctx)
	d := m.Description()
	d.Claims = m.Claims().Patterns()
	in.Description = &d
	in.Loads = true
	return in
}

func sig(f api.FunctionDefinition) string {
	names := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return "(" + strings.Join(s, ", ") + ")"
	}
	return names(f.ParamTypes()) + " -> " + names(f.ResultTypes())
}
