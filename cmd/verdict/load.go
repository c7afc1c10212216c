package main

// Loading the configuration: embedded defaults < config file < environment
// < flags, merged with koanf, then applied key by key and validated.

import (
	_ "embed"
	"fmt"
	"strings"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"
)

// defaultsYAML is every key with its default; it doubles as documentation.
//
//go:embed defaults.yaml
var defaultsYAML []byte

// loadSettings builds the configuration from the embedded defaults, the
// config file (--config or VERDICT_CONFIG), the environment and the flags
// of fs (already parsed), in increasing precedence, and validates it.
// environ is the environment as os.Environ gives it.
func loadSettings(fs *pflag.FlagSet, environ []string) (*settings, error) {
	env := envMap(environ)
	known := knownKeys()
	k := koanf.New(".")
	if err := k.Load(rawbytes.Provider(defaultsYAML), yaml.Parser()); err != nil {
		return nil, fmt.Errorf("embedded defaults: %w", err)
	}
	if err := mergeConfigFile(k, configPath(fs, env), env, known); err != nil {
		return nil, err
	}
	if err := mergeEnvironment(k, env, known); err != nil {
		return nil, err
	}
	if err := k.Load(confmap.Provider(flagValues(fs), "."), nil); err != nil {
		return nil, fmt.Errorf("flags: %w", err)
	}
	s, err := applyKeys(k)
	if err != nil {
		return nil, err
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// knownKeys maps each key, in lower case, to its spelling.
func knownKeys() map[string]string {
	known := make(map[string]string, len(fields))
	for _, f := range fields {
		known[strings.ToLower(f.key)] = f.key
	}
	return known
}

// configPath is the config file --config names, else VERDICT_CONFIG; ""
// for none.
func configPath(fs *pflag.FlagSet, env map[string]string) string {
	path, _ := fs.GetString("config")
	if path == "" {
		path = env["VERDICT_CONFIG"]
	}
	return path
}

// mergeConfigFile merges the file at path (none when "") into k. A key
// the table does not have is an error naming the file.
func mergeConfigFile(k *koanf.Koanf, path string, env, known map[string]string) error {
	if path == "" {
		return nil
	}
	m, err := readConfigFile(path, env)
	if err != nil {
		return err
	}
	fk := koanf.New(".")
	if err := fk.Load(confmap.Provider(m, ""), nil); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, key := range fk.Keys() {
		if _, ok := fieldByKey(key); !ok {
			return fmt.Errorf("%w (in %s)", unknownKey(key, known), path)
		}
	}
	if err := k.Merge(fk); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// unknownKey refuses key, suggesting the known key it spells in another
// case.
func unknownKey(key string, known map[string]string) error {
	if k, ok := known[strings.ToLower(key)]; ok {
		return fmt.Errorf("unknown key %q (did you mean %q?)", key, k)
	}
	return fmt.Errorf("unknown key %q", key)
}

// mergeEnvironment loads the VERDICT_* variables of env into k.
func mergeEnvironment(k *koanf.Koanf, env, known map[string]string) error {
	em, err := envValues(env, known)
	if err != nil {
		return err
	}
	if err := k.Load(confmap.Provider(em, "."), nil); err != nil {
		return fmt.Errorf("environment: %w", err)
	}
	return nil
}

// flagValues are the keys set by the flags given on the command line.
func flagValues(fs *pflag.FlagSet) map[string]any {
	fm := map[string]any{}
	for _, f := range fields {
		if f.flag != "" && fs.Changed(f.flag) {
			fm[f.key] = fs.Lookup(f.flag).Value.String()
		}
	}
	return fm
}

// applyKeys applies every key k holds to the library defaults, in the
// table's order; the first bad value is an error naming its key.
func applyKeys(k *koanf.Koanf) (*settings, error) {
	s := defaultSettings()
	for _, f := range fields {
		if !k.Exists(f.key) {
			continue
		}
		if err := f.set(s, k.Get(f.key)); err != nil {
			return nil, fmt.Errorf("%s: %w", f.key, err)
		}
	}
	return s, nil
}
