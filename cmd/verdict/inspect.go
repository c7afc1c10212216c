package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/verdictpdp/verdict/host"
)

// inspectUsage is `verdict inspect --help`, before the flags.
const inspectUsage = `Usage: verdict inspect [flags] FILE.wasm...

Examines each module the way serve would load it (with the settings file and
NAME.d/ directory beside it, and the configured limits): ABI version,
exports, imports (refused ones flagged), description and claims, seal,
compile time, initial memory, and whether it would load. Exits 0 when every
file would load, 1 otherwise.

Flags:
`

// addOutputFlag declares --output (text or json), of eval and inspect.
func addOutputFlag(fs *pflag.FlagSet) *string {
	return fs.String("output", "text", "text or json")
}

// inspectCommand is `verdict inspect`.
func inspectCommand(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) int {
	fs := newFlagSet("inspect")
	output := addOutputFlag(fs)
	if code, done := parseFlags(fs, args, inspectUsage, stdout, stderr); done {
		return code
	}
	if fs.NArg() == 0 || (*output != "text" && *output != "json") {
		fmt.Fprint(stderr, inspectUsage)
		return exitUsage
	}
	st, err := loadSettings(fs, environ)
	if err != nil {
		return configError(stderr, err)
	}
	code := exitOK
	var all []host.Inspection
	for _, file := range fs.Args() {
		in := host.Inspect(ctx, st.Host, file)
		if !in.Loads {
			code = exitRuntime
		}
		all = append(all, in)
	}
	printInspections(stdout, all, *output)
	return code
}

// printInspections writes the inspections as indented JSON, or as text
// separated by blank lines.
func printInspections(w io.Writer, all []host.Inspection, output string) {
	if output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(all)
		return
	}
	for i, in := range all {
		if i > 0 {
			fmt.Fprintln(w)
		}
		printInspection(w, in)
	}
}

// printInspection writes one module's inspection as text.
func printInspection(w io.Writer, in host.Inspection) {
	fmt.Fprintf(w, "%s\n  size     %d bytes, sha256 %s\n", in.File, in.Size, in.SHA256)
	seal := "not sealed"
	if in.Sealed {
		seal = "sealed"
	}
	if in.SealError != "" {
		seal += " (" + in.SealError + ")"
	}
	fmt.Fprintf(w, "  seal     %s\n", seal)
	if in.ABI != "" {
		fmt.Fprintf(w, "  abi      %s\n", in.ABI)
	}
	fmt.Fprintf(w, "  compile  %s\n  memory   %d pages (%d KiB) at start\n", in.CompileTime.Round(100_000), in.MemoryPages, in.MemoryPages*64)
	fmt.Fprintf(w, "  exports  %s\n", strings.Join(in.Exports, "\n           "))
	for i, im := range in.Imports {
		label := "  imports "
		if i > 0 {
			label = "         "
		}
		flag := ""
		if !im.Allowed {
			flag = "  REFUSED"
		}
		fmt.Fprintf(w, "%s %s.%s %s%s\n", label, im.Module, im.Name, im.Signature, flag)
	}
	if d := in.Description; d != nil {
		fmt.Fprintf(w, "  module   %s %s (sdk %s, abi %s)\n  claims   %s\n", d.Name, d.Version, d.SDK, d.ABI, strings.Join(d.Claims, ", "))
	}
	if in.Loads {
		fmt.Fprintln(w, "  loads    yes")
	} else {
		fmt.Fprintf(w, "  loads    no: %s\n", in.Error)
	}
}
