package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/host/backstage/internal/conditions"
	"github.com/verdictpdp/verdict/host/backstage/internal/pluginkeys"
)

const keysPath = "/api/permission/.backstage/auth/v1/jwks.json"

// mintingWorld is newWorld with apply-conditions authenticated by plugin
// tokens Verdict mints, served over loopback so that the fake catalog can
// fetch Verdict's JWKS as a Backstage plugin would
// (<discovery(permission)>/.backstage/auth/v1/jwks.json). signer, when not
// nil, mints instead of the minter whose keys are published.
func mintingWorld(t *testing.T, dev bool, signer *pluginkeys.Minter) (*world, *httptest.Server, *strings.Builder) {
	t.Helper()
	w := newFakeBackstage(t)
	published, err := pluginkeys.New(pluginkeys.DefaultConfig(), nil)
	require.NoError(t, err)
	if signer == nil {
		signer = published
	}
	logs := &strings.Builder{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	conds, err := conditions.New(conditions.DefaultConfig(), w.disc, nil, signer, log)
	require.NoError(t, err)
	w.h, err = New(testConfig(dev), w.d, log,
		WithTokens(w.tokens), WithOwnership(w.users), WithConditions(conds), WithPluginKeys(published.KeysHandler()))
	require.NoError(t, err)
	srv := httptest.NewServer(w.h)
	t.Cleanup(srv.Close)
	w.bs.TrustPlugin("permission", srv.URL+"/api/permission")
	return w, srv, logs
}

// bearerOf returns the token of an Authorization header.
func bearerOf(t *testing.T, h string) string {
	t.Helper()
	tok, ok := strings.CutPrefix(h, "Bearer ")
	require.True(t, ok, h)
	return tok
}

func claimsOf(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	require.Len(t, parts, 3)
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var c map[string]any
	require.NoError(t, json.Unmarshal(raw, &c))
	return c
}

func headerOf(t *testing.T, tok string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	require.NoError(t, err)
	var h map[string]any
	require.NoError(t, json.Unmarshal(raw, &h))
	return h
}

// TestMintedTokensEndToEnd: the fake catalog verifies Verdict's plugin
// tokens with the JWKS Verdict serves, and the obo user with the auth
// backend's key, for on-behalf-of callers and for direct users.
func TestMintedTokensEndToEnd(t *testing.T) {
	w, srv, logs := mintingWorld(t, false, nil)
	exp := time.Now().Add(time.Hour)
	limited := w.bs.Auth.LimitedToken(alice, exp)
	full := w.bs.Auth.UserToken(alice, exp, nil)
	for _, tc := range []struct {
		name, token, obo string
	}{
		{"on-behalf-of caller", w.catalog.PluginToken("catalog", "permission", exp, limited), limited},
		{"direct user", full, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(w.bs.ApplyCalls())
			r := do(t, w.h, req{path: authorizePath, token: tc.token, body: body(
				read("1", `"component:default/owned"`), read("2", `"group:default/other-team"`))})
			require.Equal(t, 200, r.status, r.body)
			require.JSONEq(t, `{"items":[{"id":"1","result":"ALLOW"},{"id":"2","result":"DENY"}]}`, r.body)
			calls := w.bs.ApplyCalls()[before:]
			require.Len(t, calls, 1)
			require.Equal(t, alice, calls[0].Principal, "the catalog verified the token and its obo")
			require.Equal(t, "plugin:permission", calls[0].Actor)

			minted := bearerOf(t, calls[0].Authorization)
			require.Equal(t, "vnd.backstage.plugin", headerOf(t, minted)["typ"])
			c := claimsOf(t, minted)
			require.Equal(t, "permission", c["sub"])
			require.Equal(t, "catalog", c["aud"])
			obo, _ := c["obo"].(string)
			require.Equal(t, "vnd.backstage.limited-user", headerOf(t, obo)["typ"], "never the full user token")
			if tc.obo != "" {
				require.Equal(t, tc.obo, obo, "the caller's limited token, forwarded as is")
			}
			require.NotContains(t, obo, full)
		})
	}
	require.Positive(t, w.bs.JWKSFetches(srv.URL+keysPath), "the catalog fetched Verdict's JWKS")

	// The JWKS route is open, like Backstage's, and verifies every minted
	// token (checked here with jwx directly).
	resp, err := http.Get(srv.URL + keysPath)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	jwks, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	set, err := jwk.Parse(jwks)
	require.NoError(t, err)
	for _, call := range w.bs.ApplyCalls() {
		_, err := jws.Verify([]byte(bearerOf(t, call.Authorization)), jws.WithKeySet(set, jws.WithRequireKid(true)))
		require.NoError(t, err)
	}
	r := do(t, w.h, req{method: http.MethodPost, path: keysPath})
	require.Equal(t, 401, r.status, "GET only, as a Backstage route: another method meets the credentials barrier")

	for _, call := range w.bs.ApplyCalls() {
		require.NotContains(t, logs.String(), bearerOf(t, call.Authorization), "tokens are never logged")
	}
	require.NotContains(t, logs.String(), limited)
	require.NotContains(t, logs.String(), full)
}

// TestMintedTokenWithUnpublishedKey: a token signed with a key Verdict does
// not publish is refused by the plugin, and its 401 is passed on as
// Backstage passes on a plugin's refusal.
func TestMintedTokenWithUnpublishedKey(t *testing.T) {
	other, err := pluginkeys.New(pluginkeys.DefaultConfig(), nil)
	require.NoError(t, err)
	w, _, _ := mintingWorld(t, false, other)
	r := do(t, w.h, req{path: authorizePath, token: w.obo(alice), body: body(read("1", `"component:default/owned"`))})
	require.Equal(t, 401, r.status, r.body)
	require.Contains(t, r.body, `"name":"ResponseError"`)
	calls := w.bs.ApplyCalls()
	require.Len(t, calls, 1)
	require.Empty(t, calls[0].Principal)
}

// TestMintedTokensDevModeNone: principal "none" (dev mode) calls
// apply-conditions without a token, as Backstage does; this catalog
// requires one, and its 401 is passed on.
func TestMintedTokensDevModeNone(t *testing.T) {
	w, _, _ := mintingWorld(t, true, nil)
	r := do(t, w.h, req{path: authorizePath, body: body(read("1", `"component:default/owned"`))})
	require.Equal(t, 401, r.status, r.body)
	calls := w.bs.ApplyCalls()
	require.Len(t, calls, 1)
	require.Empty(t, calls[0].Authorization)
}

// TestMintedTokensNativeAPI: on the native API Verdict calls as itself, a
// plugin token without obo (the catalog sees service plugin:permission).
func TestMintedTokensNativeAPI(t *testing.T) {
	w, _, _ := mintingWorld(t, false, nil)
	r := do(t, w.h, req{path: "/v1/authorize", token: trustedToken, body: `{"principal":{"type":"user","userEntityRef":"user:default/alice",` +
		`"ownershipEntityRefs":["group:default/team-a"]},"items":[` + read("1", `"component:default/owned"`) + `]}`})
	require.Equal(t, 200, r.status, r.body)
	require.JSONEq(t, `{"generation":1,"items":[{"id":"1","result":"ALLOW"}]}`, r.body)
	calls := w.bs.ApplyCalls()
	require.Len(t, calls, 1)
	require.Equal(t, "plugin:permission", calls[0].Principal)
	require.Empty(t, calls[0].Actor)
	require.NotContains(t, claimsOf(t, bearerOf(t, calls[0].Authorization)), "obo")
}
