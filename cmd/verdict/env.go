package main

// Configuration from the environment: VERDICT_A__B__C variables name keys.

import (
	"fmt"
	"slices"
	"strings"

	"github.com/knadh/koanf/parsers/yaml"
)

// envPrefix starts every environment variable Verdict reads.
const envPrefix = "VERDICT_"

// envMap turns os.Environ's "NAME=value" list into a map.
func envMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// envValues maps VERDICT_A__B__C variables to known keys (lower-case key
// -> key), matching each level case-insensitively. Variables without "__"
// (other than VERDICT_CONFIG) are ignored: every key has at least two
// levels, and Kubernetes injects VERDICT_SERVICE_HOST and the like for a
// Service named verdict. A variable with "__" that names no key is an
// error.
func envValues(env map[string]string, known map[string]string) (map[string]any, error) {
	out := map[string]any{}
	names := make([]string, 0)
	for name := range env {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		rest, ok := strings.CutPrefix(name, envPrefix)
		if !ok || !strings.Contains(rest, "__") {
			continue
		}
		key, ok := known[strings.ToLower(strings.ReplaceAll(rest, "__", "."))]
		if !ok {
			return nil, fmt.Errorf("environment variable %s names no configuration key", name)
		}
		f, _ := fieldByKey(key)
		v, err := envValue(f, env[name])
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", key, name, err)
		}
		out[key] = v
	}
	return out, nil
}

// envValue turns an environment string into a value for f: lists are YAML
// flow sequences ("[...]") or, for lists of strings, comma-separated.
func envValue(f field, v string) (any, error) {
	if f.env == envString {
		return v, nil
	}
	t := strings.TrimSpace(v)
	if strings.HasPrefix(t, "[") {
		m, err := yaml.Parser().Unmarshal([]byte("v: " + t))
		if err != nil {
			return nil, fmt.Errorf("not a YAML list: %q", v)
		}
		return m["v"], nil
	}
	if f.env != envStringList {
		return nil, fmt.Errorf("must be a YAML list ([...]), got %q", v)
	}
	var list []any
	for _, p := range strings.Split(t, ",") {
		if p = strings.TrimSpace(p); p != "" {
			list = append(list, p)
		}
	}
	return list, nil
}
