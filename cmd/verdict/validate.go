package main

// Validating the settings: the binary's own keys, then each library
// config's Validate, whose errors are reworded to name the configuration
// keys.

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// validate reports every problem at once, one line each, naming its key.
func (s *settings) validate() error {
	errs := s.validateOwn()
	errs = appendRenamed(errs, s.HTTP.Validate(), httpKey)
	errs = appendRenamed(errs, s.Backstage.Discovery.Validate(), func(name string) string { return "backstage." + name })
	errs = appendRenamed(errs, s.Backstage.Identity.Validate(), identityKey)
	errs = appendRenamed(errs, s.Backstage.Conditions.Validate(), conditionsKey)
	errs = append(errs, s.Backstage.validateMinting()...)
	errs = appendRenamed(errs, s.Host.Validate(), hostKey)
	return errors.Join(errs...)
}

// validateOwn checks the keys no library validates.
func (s *settings) validateOwn() []error {
	var errs []error
	if s.Listen == "" {
		errs = append(errs, errors.New("server.listen: must not be empty"))
	}
	if s.PoliciesDir == "" {
		errs = append(errs, errors.New("policies.dir: must not be empty"))
	}
	for _, t := range []struct {
		name string
		d    time.Duration
	}{
		{"readHeader", s.Timeouts.ReadHeader}, {"read", s.Timeouts.Read}, {"write", s.Timeouts.Write},
		{"idle", s.Timeouts.Idle}, {"shutdown", s.Timeouts.Shutdown},
	} {
		if t.d <= 0 {
			errs = append(errs, fmt.Errorf("server.timeouts.%s: must be positive, got %s", t.name, t.d))
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
	return errs
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
	return appendRenamed(errs, b.PluginKeys.Validate(), pluginKeysKey)
}

// The key renamers: each turns a name in a library's Validate error into
// the configuration key it comes from.

// httpKey names backstage.HTTPConfig's fields: the server.* keys, and the
// static tokens of backstage.auth.externalAccess.
func httpKey(name string) string {
	if rest, ok := strings.CutPrefix(name, "staticTokens"); ok {
		return "backstage.auth.externalAccess" + rest
	}
	return "server." + name
}

// identityKey names backstage.IdentityConfig's fields.
func identityKey(name string) string {
	switch {
	case strings.HasPrefix(name, "timeout"):
		return "backstage.timeout"
	case strings.HasPrefix(name, "jwks"), strings.HasPrefix(name, "legacy"):
		return "backstage.auth.externalAccess (" + name + ")"
	}
	return "backstage." + name
}

// conditionsKey names backstage.ConditionsConfig's fields.
func conditionsKey(name string) string {
	if name == "timeout" {
		return "backstage.timeout"
	}
	return "backstage.applyConditions." + name
}

// pluginKeysKey names backstage.PluginKeysConfig's fields.
func pluginKeysKey(name string) string { return "backstage.auth.pluginKeyStore.static." + name }

// hostKey names host.Config's fields.
func hostKey(name string) string {
	switch {
	case name == "combine", name == "default", name == "debounce", name == "debounceMax", strings.HasPrefix(name, "claims."):
		return "policies." + name
	case name == "quarantineFailures":
		return "policies.quarantine.failures"
	case name == "quarantineWindow":
		return "policies.quarantine.window"
	}
	return "policies.limits." + name
}

// appendRenamed appends err, if any, to errs with its lines renamed.
func appendRenamed(errs []error, err error, rename func(string) string) []error {
	if err == nil {
		return errs
	}
	return append(errs, renameKeys(err, rename))
}

// renameKeys rewrites the "name: problem" lines of a library's Validate
// error so that each names the full configuration key. The result unwraps
// to err.
func renameKeys(err error, rename func(string) string) error {
	lines := strings.Split(err.Error(), "\n")
	for i, l := range lines {
		if name, rest, ok := strings.Cut(l, ": "); ok {
			lines[i] = rename(name) + ": " + rest
		}
	}
	return &renamedError{msg: strings.Join(lines, "\n"), err: err}
}

// renamedError is a library's error reworded to name configuration keys.
type renamedError struct {
	msg string
	err error
}

// Error returns the reworded message.
func (e *renamedError) Error() string { return e.msg }

// Unwrap returns the library's error.
func (e *renamedError) Unwrap() error { return e.err }
