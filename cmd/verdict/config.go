package main

import (
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"

	"github.com/verdictpdp/verdict/host"
	"github.com/verdictpdp/verdict/host/backstage"
)

// defaultsYAML is every key with its default; it doubles as documentation.
//
//go:embed defaults.yaml
var defaultsYAML []byte

// envPrefix starts every environment variable Verdict reads.
const envPrefix = "VERDICT_"

// settings is the whole configuration, mapped onto the library configs.
type settings struct {
	Listen         string
	Timeouts       serverTimeouts
	MaxHeaderBytes int
	PoliciesDir    string
	Host           host.Config
	HTTP           backstage.HTTPConfig
	Backstage      backstageSettings
	LogLevel       slog.Level
	LogFormat      string
	DecisionLog    decisionLogSettings
}

// decisionLogSettings say where decided items are logged.
type decisionLogSettings struct {
	Sink   string // stdout, stderr, off or a file path
	Buffer int    // requests' worth of entries waiting to be written
}

type serverTimeouts struct {
	ReadHeader, Read, Write, Idle, Shutdown time.Duration
}

// backstageSettings configure the integration with Backstage: discovery,
// token verification and apply-conditions.
type backstageSettings struct {
	Discovery  backstage.DiscoveryConfig
	Identity   backstage.IdentityConfig
	Conditions backstage.ConditionsConfig
	// ConditionsAuth is backstage.applyConditions.auth: authAuto,
	// authStatic or authPluginToken.
	ConditionsAuth string
	// KeyStoreType is backstage.auth.pluginKeyStore.type: keyStoreMemory
	// or keyStoreStatic.
	KeyStoreType string
	// PluginKeys configures minting (its Keys: the static key store).
	PluginKeys backstage.PluginKeysConfig
}

// Values of backstage.applyConditions.auth and
// backstage.auth.pluginKeyStore.type.
const (
	authAuto        = "auto"
	authStatic      = "static"
	authPluginToken = "plugin-token"
	keyStoreMemory  = "memory"
	keyStoreStatic  = "static"
)

// minting reports whether apply-conditions calls carry minted plugin
// tokens: with auth plugin-token, or auto without a static token.
func (b *backstageSettings) minting() bool {
	return b.ConditionsAuth == authPluginToken || b.ConditionsAuth == authAuto && b.Conditions.Token == ""
}

// validateMinting checks the apply-conditions authentication keys.
func (b *backstageSettings) validateMinting() []error {
	const store = "backstage.auth.pluginKeyStore."
	var errs []error
	if b.ConditionsAuth == authPluginToken && b.Conditions.Token != "" {
		errs = append(errs, errors.New("backstage.applyConditions.token: must be empty when backstage.applyConditions.auth is plugin-token (tokens are minted)"))
	}
	keys := len(b.PluginKeys.Keys) > 0
	switch {
	case b.KeyStoreType == keyStoreMemory && keys:
		errs = append(errs, errors.New(store+"static.keys: set, but "+store+"type is memory (use type static)"))
	case b.KeyStoreType == keyStoreStatic && !keys:
		errs = append(errs, errors.New(store+"static.keys: at least one key is required when "+store+"type is static"))
	}
	if err := b.PluginKeys.Validate(); err != nil {
		errs = append(errs, renameKeys(err, func(name string) string { return store + "static." + name }))
	}
	return errs
}

// addConfigFlags declares the flags that set configuration keys.
func addConfigFlags(fs *pflag.FlagSet) {
	fs.String("config", "", "configuration file (YAML or JSON); also VERDICT_CONFIG")
	fs.String("listen", "", "address to listen on (server.listen, default 127.0.0.1:7008)")
	fs.String("policies", "", "directory of policy modules (policies.dir, default policies)")
	fs.Bool("dev", false, "dev mode: no token needed, /v1/* open (backstage.auth.dangerouslyDisableDefaultAuthPolicy)")
	fs.String("log-level", "", "debug, info, warn or error (log.level, default info)")
	fs.String("log-format", "", "text or json (log.format, default text)")
}

// loadSettings builds the configuration from the embedded defaults, the
// config file (--config or VERDICT_CONFIG), the environment and the flags
// of fs (already parsed), in increasing precedence, and validates it.
// environ is the environment as os.Environ gives it.
func loadSettings(fs *pflag.FlagSet, environ []string) (*settings, error) {
	env := envMap(environ)
	k := koanf.New(".")
	if err := k.Load(rawbytes.Provider(defaultsYAML), yaml.Parser()); err != nil {
		return nil, fmt.Errorf("embedded defaults: %w", err)
	}
	known := map[string]string{} // lower-case key -> key
	for _, f := range fields {
		known[strings.ToLower(f.key)] = f.key
	}

	path, _ := fs.GetString("config")
	if path == "" {
		path = env["VERDICT_CONFIG"]
	}
	if path != "" {
		m, err := readConfigFile(path, env)
		if err != nil {
			return nil, err
		}
		fk := koanf.New(".")
		if err := fk.Load(confmap.Provider(m, ""), nil); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		for _, key := range fk.Keys() {
			if _, ok := fieldByKey(key); !ok {
				return nil, fmt.Errorf("%w (in %s)", unknownKey(key, known), path)
			}
		}
		if err := k.Merge(fk); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}

	em, err := envValues(env, known)
	if err != nil {
		return nil, err
	}
	if err := k.Load(confmap.Provider(em, "."), nil); err != nil {
		return nil, fmt.Errorf("environment: %w", err)
	}

	fm := map[string]any{}
	for _, f := range fields {
		if f.flag != "" && fs.Changed(f.flag) {
			fl := fs.Lookup(f.flag)
			fm[f.key] = fl.Value.String()
		}
	}
	if err := k.Load(confmap.Provider(fm, "."), nil); err != nil {
		return nil, fmt.Errorf("flags: %w", err)
	}

	s := &settings{Host: host.DefaultConfig(), HTTP: backstage.DefaultConfig().HTTP, Backstage: backstageSettings{
		Identity: backstage.DefaultConfig().Identity, Conditions: backstage.DefaultConfig().Conditions,
		ConditionsAuth: authAuto, KeyStoreType: keyStoreMemory, PluginKeys: backstage.DefaultConfig().PluginKeys,
	}}
	for _, f := range fields {
		if !k.Exists(f.key) {
			continue
		}
		if err := f.set(s, k.Get(f.key)); err != nil {
			return nil, fmt.Errorf("%s: %w", f.key, err)
		}
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *settings) validate() error {
	var errs []error
	if s.Listen == "" {
		errs = append(errs, errors.New("server.listen: must not be empty"))
	}
	if s.PoliciesDir == "" {
		errs = append(errs, errors.New("policies.dir: must not be empty"))
	}
	for name, d := range map[string]time.Duration{
		"readHeader": s.Timeouts.ReadHeader, "read": s.Timeouts.Read, "write": s.Timeouts.Write,
		"idle": s.Timeouts.Idle, "shutdown": s.Timeouts.Shutdown,
	} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("server.timeouts.%s: must be positive, got %s", name, d))
		}
	}
	if s.DecisionLog.Sink == "" {
		errs = append(errs, errors.New("decisionLog.sink: must be stdout, stderr, off or a file path"))
	}
	if s.DecisionLog.Buffer <= 0 {
		errs = append(errs, fmt.Errorf("decisionLog.buffer: must be positive, got %d", s.DecisionLog.Buffer))
	}
	if s.MaxHeaderBytes <= 0 {
		errs = append(errs, fmt.Errorf("server.maxHeaderBytes: must be positive, got %d", s.MaxHeaderBytes))
	}
	if err := s.HTTP.Validate(); err != nil {
		errs = append(errs, renameKeys(err, func(name string) string {
			switch {
			case strings.HasPrefix(name, "staticTokens"):
				return "backstage.auth.externalAccess" + strings.TrimPrefix(name, "staticTokens")
			}
			return "server." + name
		}))
	}
	if err := s.Backstage.Discovery.Validate(); err != nil {
		errs = append(errs, renameKeys(err, func(name string) string { return "backstage." + name }))
	}
	if err := s.Backstage.Identity.Validate(); err != nil {
		errs = append(errs, renameKeys(err, func(name string) string {
			switch {
			case strings.HasPrefix(name, "timeout"):
				return "backstage.timeout"
			case strings.HasPrefix(name, "jwks"), strings.HasPrefix(name, "legacy"):
				return "backstage.auth.externalAccess (" + name + ")"
			}
			return "backstage." + name
		}))
	}
	if err := s.Backstage.Conditions.Validate(); err != nil {
		errs = append(errs, renameKeys(err, func(name string) string {
			if name == "timeout" {
				return "backstage.timeout"
			}
			return "backstage.applyConditions." + name
		}))
	}
	errs = append(errs, s.Backstage.validateMinting()...)
	if err := s.Host.Validate(); err != nil {
		errs = append(errs, renameKeys(err, func(name string) string {
			switch {
			case name == "combine", name == "default", name == "debounce", name == "debounceMax", strings.HasPrefix(name, "claims."):
				return "policies." + name
			case name == "quarantineFailures":
				return "policies.quarantine.failures"
			case name == "quarantineWindow":
				return "policies.quarantine.window"
			}
			return "policies.limits." + name
		}))
	}
	return errors.Join(errs...)
}

// renameKeys rewrites the "name: problem" lines of a library's Validate
// error so that each names the full configuration key.
func renameKeys(err error, rename func(string) string) error {
	lines := strings.Split(err.Error(), "\n")
	for i, l := range lines {
		if name, rest, ok := strings.Cut(l, ": "); ok {
			lines[i] = rename(name) + ": " + rest
		}
	}
	return errors.New(strings.Join(lines, "\n"))
}

func unknownKey(key string, known map[string]string) error {
	if k, ok := known[strings.ToLower(key)]; ok {
		return fmt.Errorf("unknown key %q (did you mean %q?)", key, k)
	}
	return fmt.Errorf("unknown key %q", key)
}

func envMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// envValues maps VERDICT_A__B__C variables to known keys, matching each
// level case-insensitively. Variables without "__" (other than
// VERDICT_CONFIG) are ignored: every key has at least two levels, and
// Kubernetes injects VERDICT_SERVICE_HOST and the like for a Service named
// verdict. A variable with "__" that names no key is an error.
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
		lk := strings.ToLower(strings.ReplaceAll(rest, "__", "."))
		key, ok := known[lk]
		if !ok {
			return nil, fmt.Errorf("environment variable %s names no configuration key", name)
		}
		v, err := envValue(key, env[name])
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", key, name, err)
		}
		out[key] = v
	}
	return out, nil
}

// envValue turns an environment string into a value for key: lists are
// YAML flow sequences ("[...]") or, for lists of strings, comma-separated.
func envValue(key, v string) (any, error) {
	switch key {
	case "server.trustedSubjects", "backstage.discovery.endpoints", "backstage.auth.externalAccess",
		"backstage.auth.pluginKeyStore.static.keys":
	default:
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
	if key != "server.trustedSubjects" {
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

var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

func substitute(v any, env map[string]string) (any, error) {
	switch x := v.(type) {
	case string:
		var missing string
		out := varRef.ReplaceAllStringFunc(x, func(ref string) string {
			name := ref[2 : len(ref)-1]
			val, ok := env[name]
			if !ok && missing == "" {
				missing = name
			}
			return val
		})
		if missing != "" {
			return nil, fmt.Errorf("environment variable %s is not set (used as ${%s})", missing, missing)
		}
		return out, nil
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
