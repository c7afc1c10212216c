// Package discovery finds the base URL of a Backstage plugin, the way
// Backstage's HostDiscovery does: an explicit endpoint from
// discovery.endpoints when one lists the plugin, else
// {baseUrl}/api/{pluginId}.
//
// Verdict uses it for the auth backend (user info, the user-token JWKS),
// for calling plugins' JWKS (to verify their plugin tokens) and for
// apply-conditions targets. Only internal targets matter: Verdict is a
// backend calling other backends.
package discovery

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Endpoint routes some plugins to a target, as one entry of Backstage's
// discovery.endpoints.
type Endpoint struct {
	// Target is the plugins' base URL; "{{pluginId}}" (spaces inside the
	// braces allowed) is replaced by the plugin id. When Backstage's config
	// gives {internal, external}, this is the internal one.
	Target string
	// Plugins lists the plugin ids routed to Target.
	Plugins []string
}

// Config is discovery's configuration.
type Config struct {
	// BaseURL is the Backstage backend's base URL (backend.baseUrl); a
	// plugin not listed in Endpoints is at BaseURL + "/api/" + pluginId.
	// Empty means "no default": such plugins cannot be found.
	BaseURL string
	// Endpoints are explicit routes, checked in order before BaseURL.
	Endpoints []Endpoint
}

// Validate checks that every URL is absolute http(s) and every endpoint
// names at least one plugin.
func (c Config) Validate() error {
	var errs []error
	if c.BaseURL != "" {
		if err := checkURL(c.BaseURL); err != nil {
			errs = append(errs, fmt.Errorf("baseUrl: %w", err))
		}
	}
	for i, e := range c.Endpoints {
		if err := checkURL(placeholder.ReplaceAllString(e.Target, "plugin")); err != nil {
			errs = append(errs, fmt.Errorf("discovery.endpoints[%d].target: %w", i, err))
		}
		if len(e.Plugins) == 0 {
			errs = append(errs, fmt.Errorf("discovery.endpoints[%d].plugins: must list at least one plugin", i))
		}
		for j, p := range e.Plugins {
			if p == "" {
				errs = append(errs, fmt.Errorf("discovery.endpoints[%d].plugins[%d]: empty plugin id", i, j))
			}
		}
	}
	return errors.Join(errs...)
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL", s)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q must be an absolute http or https URL", s)
	}
	return nil
}

var placeholder = regexp.MustCompile(`\{\{\s*pluginId\s*\}\}`)

// ErrUnknownPlugin is returned by BaseURL for a plugin that no endpoint
// lists when there is no BaseURL.
var ErrUnknownPlugin = errors.New("discovery: no endpoint for plugin")

// Discovery resolves plugin ids to base URLs. It is immutable and safe for
// concurrent use.
type Discovery struct {
	base      string
	endpoints []Endpoint
}

// New returns the Discovery for cfg, which must pass Validate.
func New(cfg Config) (*Discovery, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	eps := make([]Endpoint, len(cfg.Endpoints))
	for i, e := range cfg.Endpoints {
		eps[i] = Endpoint{Target: strings.TrimRight(e.Target, "/"), Plugins: append([]string(nil), e.Plugins...)}
	}
	return &Discovery{base: strings.TrimRight(cfg.BaseURL, "/"), endpoints: eps}, nil
}

// BaseURL returns the base URL of pluginID, without a trailing slash. The
// id is path-escaped where it is substituted.
func (d *Discovery) BaseURL(pluginID string) (string, error) {
	esc := url.PathEscape(pluginID)
	for _, e := range d.endpoints {
		for _, p := range e.Plugins {
			if p == pluginID {
				return placeholder.ReplaceAllLiteralString(e.Target, esc), nil
			}
		}
	}
	if d.base == "" {
		return "", fmt.Errorf("%w %q (set backstage.baseUrl or list it in backstage.discovery.endpoints)", ErrUnknownPlugin, pluginID)
	}
	return d.base + "/api/" + esc, nil
}
