package host

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/verdictpdp/verdict/abi"
)

// Limits of a module's sidecar directory (DESIGN §14).
const (
	maxSidecarFiles = 64
	maxSidecarBytes = 8 << 20
	maxModuleBytes  = 64 << 20
	maxSettingBytes = 8 << 20
)

// entry is one module found in a policy directory.
type entry struct {
	name, file string
}

// scanDir lists the modules of dir in file-name order. Dotfiles, *.tmp and
// other extensions are ignored.
func scanDir(dir string) ([]entry, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("policy directory: %w", err)
	}
	var out []entry
	for _, de := range des {
		n := de.Name()
		if strings.HasPrefix(n, ".") || !strings.HasSuffix(n, ".wasm") || de.IsDir() {
			continue
		}
		out = append(out, entry{name: strings.TrimSuffix(n, ".wasm"), file: filepath.Join(dir, n)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].file < out[j].file })
	return out, nil
}

// readSource reads a module and builds its verdict_configure input from its
// settings file and sidecar directory.
func readSource(dir string, e entry) (wasm, configure []byte, err error) {
	wasm, err = readBounded(e.file, maxModuleBytes)
	if err != nil {
		return nil, nil, err
	}
	in := abi.ConfigureInput{Files: map[string]string{}}
	in.Settings, err = readSettings(dir, e.name)
	if err != nil {
		return nil, nil, err
	}
	in.Files, err = readSidecar(filepath.Join(dir, e.name+".d"))
	if err != nil {
		return nil, nil, err
	}
	configure, err = json.Marshal(in)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: settings: %w", e.file, err)
	}
	return wasm, configure, nil
}

func readBounded(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > max {
		return nil, fmt.Errorf("%s: %d bytes is over the limit of %d", path, st.Size(), max)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return buf.Bytes(), nil
}

// readSettings returns the JSON form of NAME.yaml, NAME.yml or NAME.json, or
// nil when there is none. Two of them at once is an error.
func readSettings(dir, name string) (json.RawMessage, error) {
	var found []string
	for _, ext := range []string{".yaml", ".yml", ".json"} {
		p := filepath.Join(dir, name+ext)
		if strings.HasSuffix(p, ".test.yaml") || strings.HasSuffix(p, ".test.yml") {
			continue // policy tests, never settings
		}
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
	default:
		return nil, fmt.Errorf("%s: more than one settings file: %s", name, strings.Join(found, ", "))
	}
	raw, err := readBounded(found[0], maxSettingBytes)
	if err != nil {
		return nil, err
	}
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
	v, err = jsonable(v)
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

// readSidecar reads the regular files of dir (if it exists) by base name.
func readSidecar(dir string) (map[string]string, error) {
	files := map[string]string{}
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return files, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sidecar directory: %w", err)
	}
	total := 0
	for _, de := range des {
		p := filepath.Join(dir, de.Name())
		if strings.HasPrefix(de.Name(), ".") {
			continue
		}
		if de.IsDir() {
			return nil, fmt.Errorf("%s: subdirectories are not allowed in a sidecar directory", p)
		}
		if len(files) == maxSidecarFiles {
			return nil, fmt.Errorf("%s: more than %d files", dir, maxSidecarFiles)
		}
		b, err := readBounded(p, maxSidecarBytes)
		if err != nil {
			return nil, err
		}
		if total += len(b); total > maxSidecarBytes {
			return nil, fmt.Errorf("%s: more than %d bytes in all", dir, maxSidecarBytes)
		}
		if !utf8.Valid(b) {
			return nil, fmt.Errorf("%s: not UTF-8 text", p)
		}
		files[de.Name()] = string(b)
	}
	return files, nil
}
