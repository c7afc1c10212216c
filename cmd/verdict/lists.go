package main

// The keys whose value is a list of objects (discovery endpoints, module
// claims, external access, plugin signing keys): one parser walks the list
// and checks each entry's keys; each key's setter reads one entry.

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/verdictpdp/verdict/host/backstage"
)

// objectList describes a key whose value is a list of objects, and how its
// errors read.
type objectList struct {
	// prefix starts every entry's errors: "externalAccess" gives
	// "externalAccess[0]: ...", "" gives "[0]: ...".
	prefix string
	// listOf completes "... is not a list" (e.g. " of {module, claims}").
	listOf string
	// objectOf completes "[0]: not an object" (e.g. " with module and
	// claims").
	objectOf string
	// keys are the keys an entry may have; any other is an error.
	keys []string
}

// each calls read with every entry of v, a list of objects (nil is an empty
// list), and reports an error as its entry's: "[1]: plugins must be ...".
// It stops at the first error.
func (l objectList) each(v any, read func(entry map[string]any) error) error {
	if v == nil {
		return nil
	}
	entries, ok := v.([]any)
	if !ok {
		return fmt.Errorf("%s is not a list%s", quote(v), l.listOf)
	}
	for i, e := range entries {
		m, err := l.object(e)
		if err == nil {
			err = read(m)
		}
		if err != nil {
			return l.at(i, err)
		}
	}
	return nil
}

// object checks that e is an object whose keys are all in l.keys.
func (l objectList) object(e any) (map[string]any, error) {
	m, ok := e.(map[string]any)
	if !ok {
		return nil, errors.New("not an object" + l.objectOf)
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(l.keys, k) {
			return nil, fmt.Errorf("unknown key %q", k)
		}
	}
	return m, nil
}

// at places err at entry i: "[i]: err", or "[i].claims[2]: ..." for a
// nestedError.
func (l objectList) at(i int, err error) error {
	var ne *nestedError
	if errors.As(err, &ne) {
		return fmt.Errorf("%s[%d]%s: %w", l.prefix, i, ne.path, ne.err)
	}
	return fmt.Errorf("%s[%d]: %w", l.prefix, i, err)
}

// nestedError is a problem deeper inside an entry: path continues the
// entry's position, as ".claims[2]" in "[0].claims[2]: ...".
type nestedError struct {
	path string
	err  error
}

// Error returns the path and the problem, as "path: problem".
func (e *nestedError) Error() string { return e.path + ": " + e.err.Error() }

// Unwrap returns the problem.
func (e *nestedError) Unwrap() error { return e.err }

// endpointList is backstage.discovery.endpoints.
var endpointList = objectList{objectOf: " with target and plugins", keys: []string{"target", "plugins"}}

// setEndpoints reads backstage.discovery.endpoints: a list of {target,
// plugins} where target is a URL or, as in Backstage, {internal,
// external} (Verdict, a backend, uses internal).
func setEndpoints(s *settings, v any) error {
	s.Backstage.Discovery.Endpoints = nil
	return endpointList.each(v, func(m map[string]any) error {
		target, err := endpointTarget(m["target"])
		if err != nil {
			return err
		}
		plugins, err := pluginIDs(m["plugins"])
		if err != nil {
			return err
		}
		s.Backstage.Discovery.Endpoints = append(s.Backstage.Discovery.Endpoints,
			backstage.Endpoint{Target: target, Plugins: plugins})
		return nil
	})
}

// endpointTarget reads an endpoint's target: a URL, or {internal,
// external} of which it returns internal.
func endpointTarget(t any) (string, error) {
	switch t := t.(type) {
	case string:
		return t, nil
	case map[string]any:
		in, ok := t["internal"].(string)
		if !ok {
			return "", errors.New("target.internal must be a string")
		}
		for k := range t {
			if k != "internal" && k != "external" {
				return "", fmt.Errorf("target: unknown key %q", k)
			}
		}
		return in, nil
	case nil:
		return "", errors.New("target is required")
	}
	return "", errors.New("target must be a URL or {internal, external}")
}

// pluginIDs reads an endpoint's plugins: a list of plugin ids.
func pluginIDs(v any) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, errors.New("plugins must be a list of plugin ids")
	}
	var ids []string
	for j, p := range list {
		id, ok := p.(string)
		if !ok {
			return nil, fmt.Errorf("plugins[%d] must be a string", j)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// claimsList is policies.claims.
var claimsList = objectList{listOf: " of {module, claims}", objectOf: " with module and claims",
	keys: []string{"module", "claims"}}

// setClaims reads policies.claims: a list of {module, claims} that replace
// the claims those modules describe.
func setClaims(s *settings, v any) error {
	s.Host.Claims = nil
	out := map[string][]string{}
	err := claimsList.each(v, func(m map[string]any) error {
		name, ok := m["module"].(string)
		if !ok || name == "" {
			return errors.New("module must be a module name (its file name without .wasm)")
		}
		if _, dup := out[name]; dup {
			return fmt.Errorf("module %q is listed twice", name)
		}
		claims, err := claimPatterns(m["claims"])
		out[name] = claims
		return err
	})
	if err != nil {
		return err
	}
	if len(out) > 0 {
		s.Host.Claims = out
	}
	return nil
}

// claimPatterns reads an entry's claims: a non-empty list of non-empty
// permission name patterns.
func claimPatterns(v any) ([]string, error) {
	raw, ok := v.([]any)
	if !ok || len(raw) == 0 {
		return nil, errors.New("claims must be a non-empty list of permission name patterns")
	}
	out := make([]string, 0, len(raw))
	for j, c := range raw {
		cs, ok := c.(string)
		if !ok || cs == "" {
			return nil, &nestedError{path: fmt.Sprintf(".claims[%d]", j), err: errors.New("not a non-empty string")}
		}
		out = append(out, cs)
	}
	return out, nil
}

// externalAccessList is backstage.auth.externalAccess.
var externalAccessList = objectList{prefix: "externalAccess", keys: []string{"type", "options", "accessRestrictions"}}

// setExternalAccess reads backstage.auth.externalAccess: entries of type
// static (options token, subject), legacy (options secret, subject) and
// jwks (options url, issuer, audience, algorithm, subjectPrefix), as
// Backstage's backend.auth.externalAccess. accessRestrictions are refused
// rather than ignored: ignoring them would grant access the operator did
// not mean.
func setExternalAccess(s *settings, v any) error {
	s.HTTP.StaticTokens = nil
	s.Backstage.Identity.JWKS = nil
	s.Backstage.Identity.Legacy = nil
	return externalAccessList.each(v, func(m map[string]any) error {
		if _, ok := m["accessRestrictions"]; ok {
			return errors.New("accessRestrictions are not supported yet")
		}
		opts, ok := m["options"].(map[string]any)
		if !ok {
			return errors.New("options are required")
		}
		switch typ, _ := m["type"].(string); typ {
		case "static":
			return s.addStaticToken(opts)
		case "legacy":
			return s.addLegacyAccess(opts)
		case "jwks":
			return s.addJWKSAccess(opts)
		}
		return fmt.Errorf("type %s is not one of static, legacy, jwks", quote(m["type"]))
	})
}

// addStaticToken adds an externalAccess entry of type static.
func (s *settings) addStaticToken(opts map[string]any) error {
	var t backstage.StaticToken
	err := readStrings(opts, "options.", map[string]*string{"token": &t.Token, "subject": &t.Subject}, nil)
	s.HTTP.StaticTokens = append(s.HTTP.StaticTokens, t)
	return err
}

// addLegacyAccess adds an externalAccess entry of type legacy.
func (s *settings) addLegacyAccess(opts map[string]any) error {
	var l backstage.LegacyAccess
	err := readStrings(opts, "options.", map[string]*string{"secret": &l.Secret, "subject": &l.Subject}, nil)
	if err == nil && (l.Secret == "" || l.Subject == "") {
		err = errors.New("options.secret and options.subject are required")
	}
	s.Backstage.Identity.Legacy = append(s.Backstage.Identity.Legacy, l)
	return err
}

// addJWKSAccess adds an externalAccess entry of type jwks.
func (s *settings) addJWKSAccess(opts map[string]any) error {
	var j backstage.JWKSAccess
	err := readStrings(opts, "options.", map[string]*string{"url": &j.URL, "subjectPrefix": &j.SubjectPrefix},
		map[string]*[]string{"issuer": &j.Issuers, "audience": &j.Audiences, "algorithm": &j.Algorithms})
	if err == nil && j.URL == "" {
		err = errors.New("options.url is required")
	}
	s.Backstage.Identity.JWKS = append(s.Backstage.Identity.JWKS, j)
	return err
}

// pluginKeyList is backstage.auth.pluginKeyStore.static.keys.
var pluginKeyList = objectList{
	listOf:   " of {publicKeyFile, privateKeyFile, keyId, algorithm}",
	objectOf: " with publicKeyFile, privateKeyFile, keyId and algorithm",
	keys:     []string{"publicKeyFile", "privateKeyFile", "keyId", "algorithm"},
}

// setPluginKeys reads backstage.auth.pluginKeyStore.static.keys: a list of
// {publicKeyFile, privateKeyFile, keyId, algorithm}, as Backstage's.
func setPluginKeys(s *settings, v any) error {
	s.Backstage.PluginKeys.Keys = nil
	return pluginKeyList.each(v, func(m map[string]any) error {
		var k backstage.PluginKey
		err := readStrings(m, "", map[string]*string{"publicKeyFile": &k.PublicKeyFile,
			"privateKeyFile": &k.PrivateKeyFile, "keyId": &k.KeyID, "algorithm": &k.Algorithm}, nil)
		s.Backstage.PluginKeys.Keys = append(s.Backstage.PluginKeys.Keys, k)
		return err
	})
}

// readStrings reads the string values of m into strs and its
// string-or-list values into lists; prefix starts their names in errors
// ("options."). Any other key is an unknown option.
func readStrings(m map[string]any, prefix string, strs map[string]*string, lists map[string]*[]string) error {
	for k, v := range m {
		if dst, ok := strs[k]; ok {
			sv, ok := v.(string)
			if !ok {
				return fmt.Errorf("%s%s must be a string", prefix, k)
			}
			*dst = sv
			continue
		}
		if dst, ok := lists[k]; ok {
			if !appendStrings(v, dst) {
				return fmt.Errorf("%s%s must be a string or a list of strings", prefix, k)
			}
			continue
		}
		return fmt.Errorf("unknown option %q", k)
	}
	return nil
}

// appendStrings appends v, a string or a list of strings, to dst; false
// means v is neither.
func appendStrings(v any, dst *[]string) bool {
	switch x := v.(type) {
	case string:
		*dst = []string{x}
		return true
	case []any:
		for _, e := range x {
			sv, ok := e.(string)
			if !ok {
				return false
			}
			*dst = append(*dst, sv)
		}
		return true
	}
	return false
}
