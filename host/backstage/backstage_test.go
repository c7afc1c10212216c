package backstage_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/host/backstage"
)

func TestNewRefusesBadConfigNamingThePart(t *testing.T) {
	tests := []struct {
		name string
		edit func(*backstage.Config)
		part string
	}{
		{name: "engine", edit: func(c *backstage.Config) { c.Engine.Instances = -1 }, part: backstage.PartEngine},
		{name: "http", edit: func(c *backstage.Config) { c.HTTP.BasePath = "no-slash" }, part: backstage.PartHTTP},
		{name: "discovery", edit: func(c *backstage.Config) { c.Discovery.BaseURL = "://" }, part: backstage.PartDiscovery},
		{name: "plugin keys when minting", edit: func(c *backstage.Config) {
			c.MintTokens = true
			c.PluginKeys.TokenTTL = -1
		}, part: backstage.PartPluginKeys},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := backstage.DefaultConfig()
			tc.edit(&cfg)
			s, err := backstage.New(context.Background(), cfg, nil)
			require.Nil(t, s)
			var ce *backstage.ConfigError
			require.True(t, errors.As(err, &ce), "got %v", err)
			require.Equal(t, tc.part, ce.Part)
		})
	}
}

func TestNewWithNilLoggerServes(t *testing.T) {
	cfg := backstage.DefaultConfig()
	cfg.MintTokens = true
	s, err := backstage.New(context.Background(), cfg, nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close(context.Background())) })
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/api/permission/.backstage/auth/v1/jwks.json", nil))
	require.Equal(t, 200, rec.Code, "minting serves its keys")
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	require.Equal(t, 503, rec.Code, "no policies loaded yet")
}

// TestValidateNamesEachPart: Validate reports every part's problems at
// once, each a *ConfigError naming its part.
func TestValidateNamesEachPart(t *testing.T) {
	cfg := backstage.DefaultConfig()
	require.NoError(t, cfg.Validate())
	cfg.Identity.PluginID = ""
	cfg.Conditions.Timeout = 0
	err := cfg.Validate()
	require.EqualError(t, err, "identity: pluginId: must not be empty\nconditions: timeout: must be positive, got 0s")
	var ce *backstage.ConfigError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, backstage.PartIdentity, ce.Part)
}
