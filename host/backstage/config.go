package backstage

import (
	"errors"
	"io"

	"github.com/verdictpdp/verdict/host"
	"github.com/verdictpdp/verdict/host/backstage/internal/conditions"
	"github.com/verdictpdp/verdict/host/backstage/internal/discovery"
	"github.com/verdictpdp/verdict/host/backstage/internal/httpapi"
	"github.com/verdictpdp/verdict/host/backstage/internal/identity"
	"github.com/verdictpdp/verdict/host/backstage/internal/pluginkeys"
)

// Config is everything the adapter needs: the engine's configuration and
// the Backstage integration's. Start from DefaultConfig; New validates it.
type Config struct {
	// Engine configures the policy host (package host).
	Engine host.Config
	// HTTP configures the routes: base path, static tokens, CORS, limits.
	HTTP HTTPConfig
	// Discovery says where Backstage's plugins are (auth, user info,
	// apply-conditions).
	Discovery DiscoveryConfig
	// Identity configures token verification and user info.
	Identity IdentityConfig
	// Conditions configures the apply-conditions client.
	Conditions ConditionsConfig
	// MintTokens makes apply-conditions requests carry plugin tokens
	// minted with PluginKeys (Backstage's plugin-to-plugin auth) and serves
	// their public keys at {basePath}/.backstage/auth/v1/jwks.json. When
	// false they carry Conditions.Token, if any.
	MintTokens bool
	// PluginKeys holds the signing keys when MintTokens is true; its
	// PluginID is taken from Identity.PluginID.
	PluginKeys PluginKeysConfig
	// DecisionLog receives one JSON line per decided item; nil: no log.
	DecisionLog io.Writer
	// DecisionLogBuffer is how many requests' worth of entries may wait to
	// be written before new ones are dropped (and counted). Default 1024.
	DecisionLogBuffer int
}

// The parts of Config, named by the packages that implement them.
type (
	// HTTPConfig configures the routes.
	HTTPConfig = httpapi.Config
	// CORS configures cross-origin requests.
	CORS = httpapi.CORS
	// Limits bound what one request may make the server spend.
	Limits = httpapi.Limits
	// StaticToken is a shared secret a caller may present.
	StaticToken = httpapi.StaticToken
	// DiscoveryConfig lists Backstage's plugin base URLs.
	DiscoveryConfig = discovery.Config
	// Endpoint maps plugin ids to a base URL.
	Endpoint = discovery.Endpoint
	// IdentityConfig configures token verification and user info.
	IdentityConfig = identity.Config
	// JWKSAccess accepts tokens signed by an external JWKS.
	JWKSAccess = identity.JWKSAccess
	// LegacyAccess accepts Backstage's legacy shared-secret tokens.
	LegacyAccess = identity.LegacyAccess
	// ConditionsConfig configures the apply-conditions client.
	ConditionsConfig = conditions.Config
	// PluginKeysConfig configures the keys that sign minted plugin tokens.
	PluginKeysConfig = pluginkeys.Config
	// PluginKey is one key of a static plugin key store.
	PluginKey = pluginkeys.Key
)

// DefaultConfig returns the defaults of every part: the engine's, the
// routes' (base path /api/permission), identity's, apply-conditions' and
// the plugin keys'; no discovery endpoints, minting off, no decision log.
func DefaultConfig() Config {
	return Config{
		Engine:            host.DefaultConfig(),
		HTTP:              httpapi.DefaultConfig(),
		Identity:          identity.DefaultConfig(),
		Conditions:        conditions.DefaultConfig(),
		PluginKeys:        pluginkeys.DefaultConfig(),
		DecisionLogBuffer: 1024,
	}
}

// Validate reports every part's problems at once, each prefixed by the
// part's name.
func (c Config) Validate() error {
	var errs []error
	check := func(part string, err error) {
		if err != nil {
			errs = append(errs, &ConfigError{Part: part, Err: err})
		}
	}
	check(PartEngine, c.Engine.Validate())
	check(PartHTTP, c.HTTP.Validate())
	check(PartDiscovery, c.Discovery.Validate())
	check(PartIdentity, c.Identity.Validate())
	check(PartConditions, c.Conditions.Validate())
	if c.MintTokens {
		check(PartPluginKeys, c.PluginKeys.Validate())
	}
	return errors.Join(errs...)
}
