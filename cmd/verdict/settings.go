package main

// The settings: the whole configuration, mapped onto the library configs
// (host.Config, backstage.Config's parts) plus what only the binary uses.

import (
	"log/slog"
	"time"

	"github.com/verdictpdp/verdict/host"
	"github.com/verdictpdp/verdict/host/backstage"
)

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

// serverTimeouts are server.timeouts.*: the http.Server's timeouts and the
// graceful shutdown's.
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

// defaultSettings are the libraries' defaults, before defaults.yaml and
// the rest are applied: the keys defaults.yaml leaves out
// (optionalKeys) keep them.
func defaultSettings() *settings {
	lib := backstage.DefaultConfig()
	return &settings{Host: host.DefaultConfig(), HTTP: lib.HTTP, Backstage: backstageSettings{
		Identity: lib.Identity, Conditions: lib.Conditions,
		ConditionsAuth: authAuto, KeyStoreType: keyStoreMemory, PluginKeys: lib.PluginKeys,
	}}
}

// minting reports whether apply-conditions calls carry minted plugin
// tokens: with auth plugin-token, or auto without a static token.
func (b *backstageSettings) minting() bool {
	return b.ConditionsAuth == authPluginToken || b.ConditionsAuth == authAuto && b.Conditions.Token == ""
}
