package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/verdictpdp/verdict/abi"
)

// sealUsage is `verdict seal --help`.
const sealUsage = `Usage: verdict seal FILE.wasm...

Appends (or replaces) the verdict.seal section: the SHA-256 of every byte
before it. A sealed file that is truncated or altered no longer verifies and
is refused at load; with policies.requireSeal, unsealed files are refused
too. Each file is rewritten atomically (a temporary file, then a rename).
`

// sealCommand is `verdict seal`.
func sealCommand(_ context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, sealUsage)
		return exitUsage
	}
	if args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, sealUsage)
		return exitOK
	}
	code := exitOK
	for _, file := range args {
		if err := sealFile(file); err != nil {
			fmt.Fprintf(stderr, "verdict seal: %s: %v\n", file, err)
			code = exitRuntime
			continue
		}
		fmt.Fprintf(stdout, "sealed %s\n", file)
	}
	return code
}

// sealFile seals file in place, atomically: a sealed temporary file beside
// it, with its permissions, renamed over it.
func sealFile(file string) error {
	wasm, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	sealed, err := abi.Seal(wasm)
	if err != nil {
		return err
	}
	st, err := os.Stat(file)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(sealed); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(st.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}
