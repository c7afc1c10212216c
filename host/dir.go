package host

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/verdictpdp/verdict/abi"
)

// Limits of a module's sidecar directory (DESIGN.md, "Sidecar files and
// their limits").
const (
	maxSidecarFiles = 64
	maxSidecarBytes = 8 << 20
	maxModuleBytes  = 64 << 20
	maxSettingBytes = 8 << 20
	// maxSidecarEntries bounds how many entries of a sidecar directory are
	// listed, dotfiles included (a ConfigMap adds three).
	maxSidecarEntries = 4 * maxSidecarFiles
)

// entry is one module found in a policy directory.
type entry struct {
	name, file string
}

// scanDir lists the modules of dir in file-name order: every NAME.wasm that
// is not a dotfile, whatever its type, so that a NAME.wasm that is not a
// regular file (a directory, a FIFO, a device, a socket) is refused with a
// message when it is read instead of silently ignored. Dotfiles, *.tmp and
// other extensions are ignored.
func scanDir(dir string) ([]entry, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("policy directory: %w", err)
	}
	var out []entry
	for _, de := range des {
		n := de.Name()
		if strings.HasPrefix(n, ".") || !strings.HasSuffix(n, ".wasm") {
			continue
		}
		out = append(out, entry{name: strings.TrimSuffix(n, ".wasm"), file: filepath.Join(dir, n)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].file < out[j].file })
	return out, nil
}

// readSource reads a module and builds its verdict_configure input from its
// settings file and sidecar directory. Every file is opened through root,
// the policy directory: see openInside for what may be read.
func readSource(root *os.Root, dir string, e entry) (wasm, configure []byte, err error) {
	wasm, err = readBounded(root, dir, e.name+".wasm", maxModuleBytes)
	if err != nil {
		return nil, nil, err
	}
	configure, err = readConfigure(root, dir, e)
	if err != nil {
		return nil, nil, err
	}
	return wasm, configure, nil
}

// checkModuleFile refuses the module file of e when readSource would: when
// it is not a regular file inside root, or is over its size limit. It
// opens the file without reading it, for Inspect, which has its bytes.
func checkModuleFile(root *os.Root, dir string, e entry) error {
	f, _, err := openBounded(root, dir, e.name+".wasm", maxModuleBytes)
	if err != nil {
		return err
	}
	return f.Close()
}

// readConfigure builds the verdict_configure input of e: its settings
// (see readSettings) and the files of its sidecar directory (see
// readSidecar).
func readConfigure(root *os.Root, dir string, e entry) ([]byte, error) {
	in := abi.ConfigureInput{Files: map[string]string{}}
	var err error
	in.Settings, err = readSettings(root, dir, e.name)
	if err != nil {
		return nil, err
	}
	in.Files, err = readSidecar(root, dir, e.name+".d")
	if err != nil {
		return nil, err
	}
	configure, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("%s: settings: %w", e.file, err)
	}
	return configure, nil
}
