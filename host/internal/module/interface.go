package module

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/verdictpdp/verdict/abi"
)

// The exports Load requires (but for optional ones) and their signatures.
var (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
	sig = map[string][2][]api.ValueType{
		abi.MarkerExport:     {nil, nil},
		abi.AllocExport:      {{i32}, {i32}},
		abi.FreeExport:       {{i32, i32}, nil},
		abi.EvaluateExport:   {{i32, i32}, {i64}},
		abi.DescribeExport:   {nil, {i64}},
		abi.ConfigureExport:  {{i32, i32}, {i64}},
		abi.InitializeExport: {nil, nil},
	}
	optional = map[string]bool{abi.ConfigureExport: true, abi.InitializeExport: true}
)

// checkImports refuses a module that imports anything but WASI functions
// and the host module's log (with its signature), or imports a memory.
func (m *Module) checkImports() error {
	for _, f := range m.compiled.ImportedFunctions() {
		mod, name, _ := f.Import()
		if !importAllowed(mod, name) {
			return fmt.Errorf("import %q.%q is not allowed (only %s and %s.%s)",
				mod, name, abi.WASIModule, abi.HostModule, abi.LogImport)
		}
		if mod == abi.HostModule && (!sameTypes(f.ParamTypes(), []api.ValueType{i32, i32, i32}) || len(f.ResultTypes()) != 0) {
			return fmt.Errorf("import %s.%s has the wrong signature %s, want (i32, i32, i32) -> ()",
				mod, name, signature(f))
		}
	}
	for _, mem := range m.compiled.ImportedMemories() {
		mod, name, _ := mem.Import()
		return fmt.Errorf("memory import %q.%q is not allowed: a module exports its own memory", mod, name)
	}
	return nil
}

// checkExports requires the memory, the marker and every required export
// with its signature, and notes which optional load stages the module has.
func (m *Module) checkExports() error {
	if _, ok := m.compiled.ExportedMemories()[abi.MemoryExport]; !ok {
		return fmt.Errorf("missing export %q (a memory)", abi.MemoryExport)
	}
	exports := m.compiled.ExportedFunctions()
	if _, ok := exports[abi.MarkerExport]; !ok {
		return fmt.Errorf("missing export %q: not an ABI v1 module", abi.MarkerExport)
	}
	var missing []string
	for name, types := range sig {
		f, ok := exports[name]
		if !ok {
			if !optional[name] {
				missing = append(missing, name)
			}
			continue
		}
		if !sameTypes(f.ParamTypes(), types[0]) || !sameTypes(f.ResultTypes(), types[1]) {
			return fmt.Errorf("export %q has signature %s, want %s",
				name, signature(f), fmtSig(types[0], types[1]))
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("missing exports %s", strings.Join(missing, ", "))
	}
	_, m.hasInit = exports[abi.InitializeExport]
	_, m.hasConfigure = exports[abi.ConfigureExport]
	return nil
}

// importAllowed reports whether a module may import function name of module
// mod: any WASI function, and the host module's log.
func importAllowed(mod, name string) bool {
	return mod == abi.WASIModule || mod == abi.HostModule && name == abi.LogImport
}

// sameTypes reports whether a and b are the same value types.
func sameTypes(a, b []api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// fmtSig formats a function type as "(i32, i32) -> (i64)".
func fmtSig(params, results []api.ValueType) string {
	names := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return "(" + strings.Join(s, ", ") + ")"
	}
	return names(params) + " -> " + names(results)
}

// signature is f's type, formatted by fmtSig.
func signature(f api.FunctionDefinition) string { return fmtSig(f.ParamTypes(), f.ResultTypes()) }

// Interface is what a module file declares, read from its compiled form as
// found (before metering): what `verdict inspect` shows, also for a module
// that Load refuses.
type Interface struct {
	// Exports are the exported functions, "NAME (PARAMS) -> (RESULTS)",
	// and memories, "NAME (memory)", sorted.
	Exports []string
	// Imports are the imported functions, each with whether Load allows it.
	Imports []Import
	// MemoryPages is the exported memory's initial size, in 64 KiB pages.
	MemoryPages uint32
	// Marker is true when the module exports abi.MarkerExport (ABI v1).
	Marker bool
	// CompileTime is how long compiling took (a compilation cache hit is
	// much faster than a cold compile).
	CompileTime time.Duration
}

// Import is one imported function and whether the host allows it.
type Import struct {
	Module    string `json:"module"`
	Name      string `json:"name"`
	Signature string `json:"signature"`
	Allowed   bool   `json:"allowed"`
}

// Inspect compiles wasm as found, in a runtime like the one Load runs
// modules in (with opts' limits and compilation cache), and reports what it
// declares. It fails only when wasm does not compile; CompileTime is set
// either way.
func Inspect(ctx context.Context, wasm []byte, opts Options) (Interface, error) {
	rt := newRuntime(ctx, opts)
	defer func() { _ = rt.Close(context.WithoutCancel(ctx)) }()
	in := Interface{Exports: []string{}, Imports: []Import{}}
	start := time.Now()
	compiled, err := compile(ctx, rt, wasm)
	in.CompileTime = time.Since(start)
	if err != nil {
		return in, fmt.Errorf("not a valid WebAssembly module: %w", err)
	}
	for name, f := range compiled.ExportedFunctions() {
		in.Exports = append(in.Exports, name+" "+signature(f))
		in.Marker = in.Marker || name == abi.MarkerExport
	}
	for name, mem := range compiled.ExportedMemories() {
		in.Exports = append(in.Exports, name+" (memory)")
		in.MemoryPages = mem.Min()
	}
	slices.Sort(in.Exports)
	for _, f := range compiled.ImportedFunctions() {
		mod, name, _ := f.Import()
		in.Imports = append(in.Imports, Import{Module: mod, Name: name, Signature: signature(f), Allowed: importAllowed(mod, name)})
	}
	return in, nil
}
