package discovery_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/host/backstage/internal/discovery"
)

func TestBaseURL(t *testing.T) {
	cfg := discovery.Config{
		BaseURL: "http://backstage:7007/",
		Endpoints: []discovery.Endpoint{
			{Target: "http://catalog:7007/api/{{pluginId}}", Plugins: []string{"catalog", "search"}},
			{Target: "http://auth:7007/api/{{ pluginId }}/", Plugins: []string{"auth"}},
			{Target: "http://fixed:1234/custom", Plugins: []string{"permission"}},
		},
	}
	d, err := discovery.New(cfg)
	require.NoError(t, err)
	tests := []struct{ plugin, want string }{
		{"catalog", "http://catalog:7007/api/catalog"},
		{"search", "http://catalog:7007/api/search"},
		{"auth", "http://auth:7007/api/auth"},
		{"permission", "http://fixed:1234/custom"},
		{"scaffolder", "http://backstage:7007/api/scaffolder"},
		{"a/b", "http://backstage:7007/api/a%2Fb"},
	}
	for _, tc := range tests {
		t.Run(tc.plugin, func(t *testing.T) {
			got, err := d.BaseURL(tc.plugin)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestBaseURLUnknown(t *testing.T) {
	d, err := discovery.New(discovery.Config{})
	require.NoError(t, err)
	_, err = d.BaseURL("catalog")
	require.ErrorIs(t, err, discovery.ErrUnknownPlugin)
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  discovery.Config
		want string
	}{
		{"relative base", discovery.Config{BaseURL: "backstage:7007"}, "baseUrl"},
		{"ftp target", discovery.Config{Endpoints: []discovery.Endpoint{{Target: "ftp://x/{{pluginId}}", Plugins: []string{"a"}}}}, "endpoints[0].target"},
		{"no plugins", discovery.Config{Endpoints: []discovery.Endpoint{{Target: "http://x"}}}, "endpoints[0].plugins"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorContains(t, tc.cfg.Validate(), tc.want)
		})
	}
}
