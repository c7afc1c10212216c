package host

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

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

// openInside opens name (relative to the policy directory root) for
// reading without following it out of the directory and without blocking:
//   - a symlink is followed only when it is relative and it, and every
//     symlink on its way, stays inside the directory (a Kubernetes
//     ConfigMap's NAME.wasm -> ..data/NAME.wasm, ..data -> ..2026_...
//     layout does); an absolute symlink or one that leads outside is
//     refused, so no file outside the directory (/etc/passwd,
//     /proc/self/environ, /dev/zero) ever reaches a module;
//   - the file is opened with O_NONBLOCK (and O_NOCTTY), so a FIFO with no
//     writer or a device cannot hang the open;
//   - what was opened is checked with fstat on the open descriptor, not a
//     stat of the path beforehand (which the file could be swapped after),
//     and must be a regular file, or a directory when dirOK.
//
// Any failure names the file (dir joined with name) and the problem;
// fs.ErrNotExist is kept in the chain.
func openInside(root *os.Root, dir, name string, dirOK bool) (*os.File, fs.FileInfo, error) {
	path := filepath.Join(dir, name)
	f, err := root.OpenFile(name, os.O_RDONLY|openFlags, 0)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil, fmt.Errorf("%s: %w", path, fs.ErrNotExist)
	case err != nil:
		return nil, nil, fmt.Errorf("%s: %w: %w (only regular files are read, and symlinks that are relative and stay inside the policy directory)",
			path, ErrRefusedFile, err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if st.Mode().IsRegular() || (dirOK && st.IsDir()) {
		return f, st, nil
	}
	_ = f.Close()
	want := "a regular file"
	if dirOK {
		want = "a directory"
	}
	return nil, nil, fmt.Errorf("%s: %w: it is %s, not %s", path, ErrRefusedFile, fileKind(st.Mode()), want)
}

// fileKind names the type of a file for error messages.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO (named pipe)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m.IsRegular():
		return "a regular file"
	}
	return "not a regular file (" + m.Type().String() + ")"
}

// readBounded reads the regular file name inside root (see openInside) and
// refuses it when it holds more than max bytes. The read itself is bounded
// by max+1 bytes whatever stat said, since a file can grow while it is read
// and some files (those of /proc, for one) report a size of 0.
func readBounded(root *os.Root, dir, name string, max int64) ([]byte, error) {
	f, st, err := openBounded(root, dir, name, max)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	path := filepath.Join(dir, name)
	if hook := testHookRead.Load(); hook != nil {
		(*hook)(path)
	}
	buf := bytes.NewBuffer(make([]byte, 0, st.Size()+1))
	if _, err := buf.ReadFrom(io.LimitReader(f, max+1)); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(buf.Len()) > max {
		return nil, fmt.Errorf("%s: %w: more than the limit of %d bytes", path, ErrRefusedFile, max)
	}
	return buf.Bytes(), nil
}

// openBounded opens the regular file name inside root (see openInside) and
// refuses it when it holds more than max bytes.
func openBounded(root *os.Root, dir, name string, max int64) (*os.File, fs.FileInfo, error) {
	f, st, err := openInside(root, dir, name, false)
	if err != nil {
		return nil, nil, err
	}
	if st.Size() > max {
		_ = f.Close()
		return nil, nil, fmt.Errorf("%s: %w: %d bytes is over the limit of %d", filepath.Join(dir, name), ErrRefusedFile, st.Size(), max)
	}
	return f, st, nil
}

// testHookRead, when set by a test, runs before each file is read: it
// stands for a read that hangs (a stuck network file system), which no
// file a test can create otherwise produces.
var testHookRead atomic.Pointer[func(path string)]

// readSettings returns the JSON form of NAME.yaml, NAME.yml or NAME.json, or
// nil when there is none. Two of them at once is an error, and so is one
// that is not a regular file (see openInside).
func readSettings(root *os.Root, dir, name string) (json.RawMessage, error) {
	var found []string
	var raws [][]byte
	for _, ext := range []string{".yaml", ".yml", ".json"} {
		n := name + ext
		if strings.HasSuffix(n, ".test.yaml") || strings.HasSuffix(n, ".test.yml") {
			continue // policy tests, never settings
		}
		raw, err := readBounded(root, dir, n, maxSettingBytes)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		found = append(found, filepath.Join(dir, n))
		raws = append(raws, raw)
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
	default:
		return nil, fmt.Errorf("%s: more than one settings file: %s", name, strings.Join(found, ", "))
	}
	raw := raws[0]
	if strings.HasSuffix(found[0], ".json") {
		if !json.Valid(raw) {
			return nil, fmt.Errorf("%s: not valid JSON", found[0])
		}
		return raw, nil
	}
	var v any
	if err := yaml.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("%s: %w", found[0], err)
	}
	v, err := jsonable(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", found[0], err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", found[0], err)
	}
	return out, nil
}

// jsonable converts YAML values to values encoding/json accepts.
func jsonable(v any) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			c, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			t[k] = c
		}
		return t, nil
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			ks, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("map key %v is not a string", k)
			}
			c, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			m[ks] = c
		}
		return m, nil
	case []any:
		for i, e := range t {
			c, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			t[i] = c
		}
		return t, nil
	}
	return v, nil
}

// readSidecar reads the regular files of the sidecar directory name
// inside root (if it exists) by base name. The directory itself, and each
// file, must stay inside the policy directory (see openInside); dotfiles
// and dot-directories (a ConfigMap's ..data) are skipped, other
// subdirectories refused. At most maxSidecarEntries entries are listed, so
// a directory of millions of entries cannot exhaust memory.
func readSidecar(root *os.Root, dir, name string) (map[string]string, error) {
	files := map[string]string{}
	d, _, err := openInside(root, dir, name, true)
	if errors.Is(err, fs.ErrNotExist) {
		return files, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sidecar directory: %w", err)
	}
	des, err := d.ReadDir(maxSidecarEntries + 1)
	_ = d.Close()
	path := filepath.Join(dir, name)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("sidecar directory %s: %w", path, err)
	}
	if len(des) > maxSidecarEntries {
		return nil, fmt.Errorf("%s: more than %d entries", path, maxSidecarEntries)
	}
	sort.Slice(des, func(i, j int) bool { return des[i].Name() < des[j].Name() })
	total := 0
	for _, de := range des {
		p := filepath.Join(path, de.Name())
		if strings.HasPrefix(de.Name(), ".") {
			continue
		}
		if de.IsDir() {
			return nil, fmt.Errorf("%s: subdirectories are not allowed in a sidecar directory", p)
		}
		if len(files) == maxSidecarFiles {
			return nil, fmt.Errorf("%s: more than %d files", path, maxSidecarFiles)
		}
		b, err := readBounded(root, dir, filepath.Join(name, de.Name()), maxSidecarBytes)
		if err != nil {
			return nil, err
		}
		if total += len(b); total > maxSidecarBytes {
			return nil, fmt.Errorf("%s: more than %d bytes in all", path, maxSidecarBytes)
		}
		if !utf8.Valid(b) {
			return nil, fmt.Errorf("%s: not UTF-8 text", p)
		}
		files[de.Name()] = string(b)
	}
	return files, nil
}
