package main

// The configuration file (--config or VERDICT_CONFIG): YAML or JSON, with
// ${VAR} replaced from the environment.

import (
	"fmt"
	"os"
	"regexp"

	"github.com/knadh/koanf/parsers/yaml"
)

// readConfigFile parses a YAML or JSON file and replaces ${VAR} in its
// string values from env. An unset variable is an error naming it.
func readConfigFile(path string, env map[string]string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := yaml.Parser().Unmarshal(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if m == nil {
		m = map[string]any{}
	}
	v, err := substitute(m, env)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v.(map[string]any), nil
}

// varRef is a ${VAR} reference in a configuration file's string.
var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// substitute replaces ${VAR} references in every string inside v, in
// place for maps and lists, and returns v.
func substitute(v any, env map[string]string) (any, error) {
	switch x := v.(type) {
	case string:
		return expand(x, env)
	case map[string]any:
		for k, e := range x {
			r, err := substitute(e, env)
			if err != nil {
				return nil, err
			}
			x[k] = r
		}
	case []any:
		for i, e := range x {
			r, err := substitute(e, env)
			if err != nil {
				return nil, err
			}
			x[i] = r
		}
	}
	return v, nil
}

// expand replaces the ${VAR} references in s from env; the first unset
// variable is an error.
func expand(s string, env map[string]string) (string, error) {
	var missing string
	out := varRef.ReplaceAllStringFunc(s, func(ref string) string {
		name := ref[2 : len(ref)-1]
		val, ok := env[name]
		if !ok && missing == "" {
			missing = name
		}
		return val
	})
	if missing != "" {
		return "", fmt.Errorf("environment variable %s is not set (used as ${%s})", missing, missing)
	}
	return out, nil
}
