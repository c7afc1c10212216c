package check

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"sigs.k8s.io/yaml"
)

// readDefaults parses cmd/verdict/defaults.yaml, which lists every key
// Verdict knows.
func readDefaults(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(defaultsFile)
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	if err := yaml.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", defaultsFile, err)
	}
	return d
}

// flatten lists the dotted paths of every leaf (a scalar or a list) of cfg.
func flatten(t *testing.T, cfg map[string]any) []string {
	t.Helper()
	var out []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		mp, ok := v.(map[string]any)
		if !ok || len(mp) == 0 {
			out = append(out, prefix)
			return
		}
		for k, e := range mp {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			walk(p, e)
		}
	}
	walk("", cfg)
	sort.Strings(out)
	return out
}

// unknownKeys returns the paths of cfg that defaults does not have. Below a
// key whose default is a list (externalAccess, claims, ...) anything goes:
// Verdict checks list entries itself.
func unknownKeys(cfg, defaults map[string]any) []string {
	var bad []string
	var walk func(prefix string, c, d any)
	walk = func(prefix string, c, d any) {
		cm, cIsMap := c.(map[string]any)
		dm, dIsMap := d.(map[string]any)
		if !cIsMap {
			return // a leaf: its value is Verdict's to check
		}
		if !dIsMap {
			if _, dIsList := d.([]any); !dIsList {
				bad = append(bad, prefix+" (a map where the default is a scalar)")
			}
			return
		}
		for k, e := range cm {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			de, ok := dm[k]
			if !ok {
				bad = append(bad, p)
				continue
			}
			walk(p, e, de)
		}
	}
	walk("", cfg, defaults)
	sort.Strings(bad)
	return bad
}

// Both config files of the example (the ConfigMap's and the image's) use
// only keys cmd/verdict/defaults.yaml lists, where they are settable.
func TestConfigKeys(t *testing.T) {
	defaults := readDefaults(t)
	if len(flatten(t, defaults)) < 20 {
		t.Fatalf("%s: too few keys; is it the right file?", defaultsFile)
	}
	// policies.limits.instances is commented out in defaults.yaml (its
	// default is computed); it is a key all the same.
	defaults["policies"].(map[string]any)["limits"].(map[string]any)["instances"] = 0

	m := load(t)
	_, cfg := m.verdictConfig(t)
	if bad := unknownKeys(cfg, defaults); len(bad) > 0 {
		t.Errorf("config.yaml: keys not in cmd/verdict/defaults.yaml: %v", bad)
	}

	data, err := os.ReadFile(filepath.Join(exampleDir, "image", "verdict.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var img map[string]any
	if err := yaml.UnmarshalStrict(data, &img); err != nil {
		t.Fatalf("image/verdict.yaml: %v", err)
	}
	if bad := unknownKeys(img, defaults); len(bad) > 0 {
		t.Errorf("image/verdict.yaml: keys not in cmd/verdict/defaults.yaml: %v", bad)
	}
	if p := listenPort(t, img); p != 7008 {
		t.Errorf("image/verdict.yaml: listens on %d, the image exposes 7008", p)
	}
	if dir, _ := lookup(img, "policies.dir"); dir != "/policies" {
		t.Errorf("image/verdict.yaml: policies.dir %v, the image's modules are in /policies", dir)
	}
}

func TestUnknownKeys(t *testing.T) {
	defaults := map[string]any{
		"server":    map[string]any{"listen": "x", "limits": map[string]any{"bodyBytes": 1}},
		"backstage": map[string]any{"auth": map[string]any{"externalAccess": []any{}}},
	}
	for _, tc := range []struct {
		name string
		cfg  string
		bad  int
	}{
		{"known", "server: {listen: a, limits: {bodyBytes: 2}}", 0},
		{"misspelt", "server: {lisen: a}", 1},
		{"deeper than a scalar", "server: {listen: {x: 1}}", 1},
		{"inside a list", "backstage: {auth: {externalAccess: [{type: static, options: {token: t}}]}}", 0},
		{"top level", "loggging: {level: info}", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cfg map[string]any
			if err := yaml.Unmarshal([]byte(tc.cfg), &cfg); err != nil {
				t.Fatal(err)
			}
			if bad := unknownKeys(cfg, defaults); len(bad) != tc.bad {
				t.Errorf("unknownKeys = %v, want %d", bad, tc.bad)
			}
		})
	}
}
