// Package backstage serves a policy host over Backstage's permission
// protocol: POST {basePath}/authorize and GET {basePath}/health as
// Backstage's permission backend answers them, the native /v1/* API, the
// probes and /metrics. It verifies Backstage user, plugin, JWKS and legacy
// tokens, resolves ownership through Backstage's user info, applies
// CONDITIONAL decisions through the plugins' apply-conditions endpoints,
// mints plugin tokens for those calls, and writes the decision log.
//
// New is the one constructor: it builds the engine from Config.Engine and
// every integration from the rest of Config. A program that only decides
// in-process needs package host, not this one.
//
// The request path, the order of checks with their HTTP statuses and the
// declared deviations from Backstage are in DESIGN.md at the repository's
// root.
package backstage

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/verdictpdp/verdict/host"
	"github.com/verdictpdp/verdict/host/backstage/internal/conditions"
	"github.com/verdictpdp/verdict/host/backstage/internal/decisionlog"
	"github.com/verdictpdp/verdict/host/backstage/internal/discovery"
	"github.com/verdictpdp/verdict/host/backstage/internal/httpapi"
	"github.com/verdictpdp/verdict/host/backstage/internal/identity"
	"github.com/verdictpdp/verdict/host/backstage/internal/metrics"
	"github.com/verdictpdp/verdict/host/backstage/internal/pluginkeys"
)

// Server is the engine and its Backstage adapter. It is an http.Handler;
// Host gives the engine, for loading and watching policies.
type Server struct {
	handler http.Handler
	host    *host.Host
	log     *decisionlog.Logger // nil: no decision log
}

var _ http.Handler = (*Server)(nil)

// New validates cfg, builds the engine and the integrations, and returns
// the server. ctx bounds the engine's lifetime as host.New describes.
// Errors name the part of Config that failed (see ConfigError). A nil log
// discards the adapter's and the engine's logs.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{}
	if cfg.DecisionLog != nil {
		s.log = decisionlog.New(cfg.DecisionLog, cfg.DecisionLogBuffer)
	}
	opts, err := integrations(cfg, log)
	if err != nil {
		s.closeLog()
		return nil, err
	}
	m := metrics.New(statusOf(func() host.Status { return s.host.Status() }), s.log.Dropped)
	if s.host, err = host.New(ctx, cfg.Engine, log, host.WithCallObserver(m)); err != nil {
		s.closeLog()
		return nil, fmt.Errorf("policy host: %w", err)
	}
	opts = append(opts, httpapi.WithMetrics(m, m.Handler()))
	if s.log != nil {
		opts = append(opts, httpapi.WithDecisionLog(s.log))
	}
	if s.handler, err = httpapi.New(cfg.HTTP, s.host, log, opts...); err != nil {
		_ = s.Close(context.Background())
		return nil, err
	}
	return s, nil
}

// ServeHTTP serves the routes the package documentation lists.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Host returns the engine the server decides with.
func (s *Server) Host() *host.Host { return s.host }

// Close closes the engine (see host.Host.Close), then writes what the
// decision log holds and stops it.
func (s *Server) Close(ctx context.Context) error {
	err := s.host.Close(ctx)
	s.closeLog()
	return err
}

// closeLog writes what the decision log holds and stops it, if there is
// one.
func (s *Server) closeLog() {
	if s.log != nil {
		s.log.Close()
	}
}

// statusOf adapts a function to metrics.StatusSource.
type statusOf func() host.Status

// Status calls f.
func (f statusOf) Status() host.Status { return f() }

// integrations builds discovery, token verification (user, plugin, jwks
// and legacy tokens), user info, the apply-conditions client and, when it
// mints plugin tokens, their keys at {basePath}/.backstage/auth/v1/jwks.json.
func integrations(cfg Config, log *slog.Logger) ([]httpapi.Option, error) {
	disc, err := discovery.New(cfg.Discovery)
	if err != nil {
		return nil, &ConfigError{Part: PartDiscovery, Err: err}
	}
	if _, err := disc.BaseURL("auth"); err != nil {
		log.Warn("backstage.baseUrl is not set and discovery lists no auth plugin: Backstage user and plugin tokens cannot be verified (static tokens still work)")
	}
	identityOpts, err := identityOptions(cfg.Identity, disc)
	if err != nil {
		return nil, err
	}
	conditionsOpts, err := conditionsOptions(cfg, disc, log)
	if err != nil {
		return nil, err
	}
	return append(identityOpts, conditionsOpts...), nil
}

// identityOptions builds token verification and user info, both finding
// the auth backend and calling plugins with disc.
func identityOptions(cfg IdentityConfig, disc *discovery.Discovery) ([]httpapi.Option, error) {
	deps := identity.Deps{Discovery: disc}
	tokens, err := identity.New(cfg, deps)
	if err != nil {
		return nil, &ConfigError{Part: PartIdentity, Err: err}
	}
	users, err := identity.NewUserInfo(cfg, deps)
	if err != nil {
		return nil, &ConfigError{Part: PartIdentity, Err: err}
	}
	return []httpapi.Option{httpapi.WithTokens(tokens), httpapi.WithOwnership(users)}, nil
}

// conditionsOptions builds the apply-conditions client, authenticated with
// minted plugin tokens (whose keys it then serves) or the static token.
func conditionsOptions(cfg Config, disc *discovery.Discovery, log *slog.Logger) ([]httpapi.Option, error) {
	var opts []httpapi.Option
	var minter conditions.Minter
	if cfg.MintTokens {
		m, err := newMinter(cfg, log)
		if err != nil {
			return nil, err
		}
		minter = m
		opts = append(opts, httpapi.WithPluginKeys(m.KeysHandler()))
	} else if cfg.Conditions.Token == "" {
		log.Warn("backstage.applyConditions.auth is static and backstage.applyConditions.token is not set: CONDITIONAL decisions for items with a resourceRef are DENY")
	}
	conds, err := conditions.New(cfg.Conditions, disc, nil, minter, log)
	if err != nil {
		return nil, &ConfigError{Part: PartConditions, Err: err}
	}
	return append(opts, httpapi.WithConditions(conds)), nil
}

// newMinter loads the plugin key store (or generates a key) for minting
// apply-conditions tokens, and says which key signs.
func newMinter(cfg Config, log *slog.Logger) (*pluginkeys.Minter, error) {
	kc := cfg.PluginKeys
	kc.PluginID = cfg.Identity.PluginID
	m, err := pluginkeys.New(kc, nil)
	if err != nil {
		return nil, &ConfigError{Part: PartPluginKeys, Err: err}
	}
	jwks := cfg.HTTP.BasePath + "/.backstage/auth/v1/jwks.json"
	if m.Generated() {
		log.Warn("apply-conditions: minting plugin tokens with an ES256 key generated in memory "+
			"(backstage.auth.pluginKeyStore.type memory): tokens change at every restart, and several replicas "+
			"need a static key store (backstage.auth.pluginKeyStore.type static)", "keyId", m.KeyID(), "jwks", jwks)
	} else {
		log.Info("apply-conditions: minting plugin tokens", "keyId", m.KeyID(), "keys", len(kc.Keys), "jwks", jwks)
	}
	return m, nil
}
