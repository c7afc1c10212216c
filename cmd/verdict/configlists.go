package main

// The keys whose value is a list of objects: discovery endpoints, module
// claims, external access and plugin signing keys. Each setter reads one
// entry; objectList (objectlist.go) walks the list and places errors.

import (
	"errors"
	"fmt"

	"github.com/verdictpdp/verdict/host/backstage"
)

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
