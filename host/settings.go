package host

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

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
