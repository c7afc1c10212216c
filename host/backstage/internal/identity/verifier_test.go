package identity_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host/backstage/internal/discovery"
	"github.com/verdictpdp/verdict/host/backstage/internal/identity"
	"github.com/verdictpdp/verdict/host/backstage/internal/upstream"
	"github.com/verdictpdp/verdict/internal/testing/backstagetest"
)

// clock is a settable clock that starts at the real time (tokens are
// issued with real iat).
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	bs       *backstagetest.Backstage
	catalog  *backstagetest.Issuer
	clock    *clock
	v        *identity.Verifier
	ui       *identity.UserInfo
	legacy   string
	external *backstagetest.Issuer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	bs := backstagetest.New(t)
	f := &fixture{bs: bs, catalog: bs.AddPlugin("catalog"), clock: newClock(), legacy: backstagetest.LegacySecret()}
	// The external JWKS issuer is served as plugin "idp" of the fake.
	f.external = bs.AddPlugin("idp")
	d, err := discovery.New(discovery.Config{BaseURL: bs.URL()})
	require.NoError(t, err)
	cfg := identity.DefaultConfig()
	cfg.Legacy = []identity.LegacyAccess{{Secret: f.legacy, Subject: "legacy-caller"}}
	cfg.JWKS = []identity.JWKSAccess{{URL: bs.URL() + "/api/idp/.backstage/auth/v1/jwks.json",
		Issuers: []string{"https://idp"}, Audiences: []string{"verdict"}, SubjectPrefix: "idp"}}
	deps := identity.Deps{Discovery: d, Now: f.clock.Now}
	f.v, err = identity.New(cfg, deps)
	require.NoError(t, err)
	f.ui, err = identity.NewUserInfo(cfg, deps)
	require.NoError(t, err)
	return f
}

const alice = "user:default/alice"

func TestVerify(t *testing.T) {
	f := newFixture(t)
	soon := time.Now().Add(time.Hour)
	past := time.Now().Add(-time.Minute)
	stranger := backstagetest.NewIssuer("auth-key-1") // same kid, other key
	limited := f.bs.Auth.LimitedToken(alice, soon)
	plugin := func(claims map[string]any) string { return f.catalog.Sign(backstagetest.TypPlugin, claims) }
	now := time.Now().Unix()

	tests := []struct {
		name  string
		token string
		want  abi.Principal
		ent   []string
		err   string // AuthError message; "illegal" for ErrIllegalToken
	}{
		{name: "user token with ent", token: f.bs.Auth.UserToken(alice, soon, []string{alice, "group:default/team-a"}),
			want: abi.Principal{Type: "user", UserEntityRef: alice}, ent: []string{alice, "group:default/team-a"}},
		{name: "user token without ent", token: f.bs.Auth.UserToken(alice, soon, nil),
			want: abi.Principal{Type: "user", UserEntityRef: alice}},
		{name: "legacy user token", token: f.bs.Auth.LegacyUserToken(alice, soon, []string{alice}),
			want: abi.Principal{Type: "user", UserEntityRef: alice}, ent: []string{alice}},
		{name: "limited user token as bearer", token: limited, err: "Illegal limited user token"},
		{name: "expired user token", token: f.bs.Auth.UserToken(alice, past, nil), err: "Failed user token verification"},
		{name: "user token signed by another key", token: stranger.UserToken(alice, soon, nil), err: "Failed user token verification"},
		{name: "user token without sub", token: f.bs.Auth.Sign(backstagetest.TypUser, map[string]any{"iat": now, "exp": soon.Unix()}),
			err: "Failed user token verification"},
		{name: "user token without exp", token: f.bs.Auth.Sign(backstagetest.TypUser, map[string]any{"sub": alice, "iat": now}),
			err: "Failed user token verification"},
		{name: "plugin token on behalf of a user", token: f.catalog.PluginToken("catalog", "permission", soon, limited),
			want: abi.Principal{Type: "user", UserEntityRef: alice, Actor: &abi.Actor{Type: "service", Subject: "plugin:catalog"}}},
		{name: "plugin token as a service", token: f.catalog.PluginToken("catalog", "permission", soon, ""),
			want: abi.Principal{Type: "service", Subject: "plugin:catalog"}},
		{name: "plugin token for another audience", token: f.catalog.PluginToken("catalog", "scaffolder", soon, ""),
			err: "Failed plugin token verification"},
		{name: "expired plugin token", token: f.catalog.PluginToken("catalog", "permission", past, ""),
			err: "Failed plugin token verification"},
		{name: "plugin token without subject", token: plugin(map[string]any{"aud": "permission", "iat": now, "exp": soon.Unix()}),
			err: "Invalid plugin token: missing subject"},
		{name: "plugin token with a forbidden subject", token: f.catalog.PluginToken("../auth", "permission", soon, ""),
			err: "Invalid plugin token: forbidden subject format"},
		{name: "plugin token from a plugin without JWKS", token: f.catalog.PluginToken("legacyplugin", "permission", soon, ""),
			err: "Received a plugin token where the source 'legacyplugin' plugin unexpectedly does not have a JWKS endpoint. " +
				"The target plugin needs to be migrated to be installed in an app using the new backend system."},
		{name: "plugin token signed by the wrong plugin's key", token: f.catalog.PluginToken("idp", "permission", soon, ""),
			err: "Failed plugin token verification"},
		{name: "plugin token whose obo is not a user token", token: f.catalog.PluginToken("catalog", "permission", soon, "garbage"),
			err: "Invalid user token in plugin token obo claim"},
		{name: "plugin token whose obo is forged", token: f.catalog.PluginToken("catalog", "permission", soon, stranger.LimitedToken(alice, soon)),
			err: "Failed user token verification"},
		{name: "plugin token whose obo expired", token: f.catalog.PluginToken("catalog", "permission", soon, f.bs.Auth.LimitedToken(alice, past)),
			err: "Failed user token verification"},
		{name: "legacy external access", token: backstagetest.LegacyToken(f.legacy, soon),
			want: abi.Principal{Type: "service", Subject: "legacy-caller"}},
		{name: "legacy external access with another secret", token: backstagetest.LegacyToken(backstagetest.LegacySecret(), soon), err: "illegal"},
		{name: "jwks external access", token: f.external.Sign("JWT", map[string]any{"sub": "ci", "iss": "https://idp", "aud": "verdict", "exp": soon.Unix()}),
			want: abi.Principal{Type: "service", Subject: "external:idp:ci"}},
		{name: "jwks external access with another issuer", token: f.external.Sign("JWT", map[string]any{"sub": "ci", "iss": "https://evil", "aud": "verdict", "exp": soon.Unix()}),
			err: "illegal"},
		{name: "not a JWT", token: "opaque-token-1234", err: "illegal"},
		{name: "JWT of no known kind", token: stranger.Sign("JWT", map[string]any{"sub": "x"}), err: "illegal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := f.v.Verify(context.Background(), tc.token)
			switch tc.err {
			case "":
				require.NoError(t, err)
				require.Equal(t, tc.want, c.Principal)
				require.Equal(t, tc.ent, c.Ownership)
			case "illegal":
				require.ErrorIs(t, err, identity.ErrIllegalToken)
			default:
				var ae *identity.AuthError
				require.ErrorAs(t, err, &ae)
				require.Equal(t, tc.err, ae.Message)
				require.NotContains(t, err.Error(), tc.token, "errors never hold the token")
			}
		})
	}
}

func TestVerifyAlgNone(t *testing.T) {
	f := newFixture(t)
	// {"alg":"none","typ":"vnd.backstage.user"}.{"sub":...,"exp":...}.
	tok := "eyJhbGciOiJub25lIiwidHlwIjoidm5kLmJhY2tzdGFnZS51c2VyIn0." +
		"eyJzdWIiOiJ1c2VyOmRlZmF1bHQvYWxpY2UiLCJpYXQiOjEsImV4cCI6OTk5OTk5OTk5OX0."
	_, err := f.v.Verify(context.Background(), tok)
	var ae *identity.AuthError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, "Failed user token verification", ae.Message)
}

func TestVerifyCachesUntilExpiry(t *testing.T) {
	f := newFixture(t)
	tok := f.bs.Auth.UserToken(alice, time.Now().Add(10*time.Minute), nil)
	for range 3 {
		_, err := f.v.Verify(context.Background(), tok)
		require.NoError(t, err)
	}
	require.Equal(t, 1, f.bs.JWKSFetches(backstagetest.AuthJWKSPath))
	f.clock.Add(11 * time.Minute)
	_, err := f.v.Verify(context.Background(), tok)
	var ae *identity.AuthError
	require.ErrorAs(t, err, &ae, "a cached token is not valid past its exp")
}

func TestVerifyRefreshesOnUnknownKidRateLimited(t *testing.T) {
	f := newFixture(t)
	soon := time.Now().Add(time.Hour)
	_, err := f.v.Verify(context.Background(), f.bs.Auth.UserToken(alice, soon, nil))
	require.NoError(t, err)
	require.Equal(t, 1, f.bs.JWKSFetches(backstagetest.AuthJWKSPath))

	// Forged kids do not refetch within the cooldown of the last fetch.
	forger := backstagetest.NewIssuer("forged")
	for i := range 3 {
		_, err = f.v.Verify(context.Background(), forger.UserToken(alice, soon.Add(time.Duration(i)*time.Second), nil))
		require.Error(t, err)
	}
	require.Equal(t, 1, f.bs.JWKSFetches(backstagetest.AuthJWKSPath))

	// The auth backend rotates its key; after the cooldown a token with the
	// new kid triggers one refetch and verifies.
	auth2 := f.bs.RotateAuthKey("auth-key-2")
	f.clock.Add(31 * time.Second)
	_, err = f.v.Verify(context.Background(), auth2.UserToken(alice, soon, nil))
	require.NoError(t, err)
	require.Equal(t, 2, f.bs.JWKSFetches(backstagetest.AuthJWKSPath))
	for i := range 3 {
		_, err = f.v.Verify(context.Background(), forger.UserToken(alice, soon.Add(time.Duration(10+i)*time.Second), nil))
		require.Error(t, err)
	}
	require.Equal(t, 2, f.bs.JWKSFetches(backstagetest.AuthJWKSPath))
}

func TestOwnership(t *testing.T) {
	f := newFixture(t)
	f.bs.SetOwnership(alice, []string{alice, "group:default/team-a"})
	soon := time.Now().Add(time.Hour)
	ctx := context.Background()

	t.Run("from ent without a call", func(t *testing.T) {
		c, err := f.v.Verify(ctx, f.bs.Auth.UserToken(alice, soon, []string{"group:default/x"}))
		require.NoError(t, err)
		before := f.bs.UserInfoCalls()
		refs, err := f.ui.Ownership(ctx, c)
		require.NoError(t, err)
		require.Equal(t, []string{"group:default/x"}, refs)
		require.Equal(t, before, f.bs.UserInfoCalls())
	})
	t.Run("from user info, cached 5 s per token", func(t *testing.T) {
		c, err := f.v.Verify(ctx, f.catalog.PluginToken("catalog", "permission", soon, f.bs.Auth.LimitedToken(alice, soon)))
		require.NoError(t, err)
		before := f.bs.UserInfoCalls()
		for range 3 {
			refs, err := f.ui.Ownership(ctx, c)
			require.NoError(t, err)
			require.Equal(t, []string{alice, "group:default/team-a"}, refs)
		}
		require.Equal(t, before+1, f.bs.UserInfoCalls())
		f.clock.Add(6 * time.Second)
		_, err = f.ui.Ownership(ctx, c)
		require.NoError(t, err)
		require.Equal(t, before+2, f.bs.UserInfoCalls())
	})
	t.Run("unknown user is the auth backend's 404", func(t *testing.T) {
		c, err := f.v.Verify(ctx, f.bs.Auth.UserToken("user:default/nobody", soon, nil))
		require.NoError(t, err)
		_, err = f.ui.Ownership(ctx, c)
		var ue *upstream.Error
		require.True(t, errors.As(err, &ue), "%v", err)
		require.Equal(t, 404, ue.Status)
		require.Equal(t, "Request failed with 404 Not Found", ue.Error())
		require.Equal(t, upstream.Cause{Name: "NotFoundError", Message: "User not found"}, ue.Cause)
	})
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*identity.Config)
		want string
	}{
		{"zero timeout", func(c *identity.Config) { c.Timeout = 0 }, "timeout"},
		{"bad jwks url", func(c *identity.Config) { c.JWKS = []identity.JWKSAccess{{URL: "file:///x"}} }, "jwks[0]"},
		{"bad jwks alg", func(c *identity.Config) {
			c.JWKS = []identity.JWKSAccess{{URL: "http://x", Algorithms: []string{"none"}}}
		}, "jwks[0]: unknown algorithm"},
		{"bad legacy secret", func(c *identity.Config) { c.Legacy = []identity.LegacyAccess{{Secret: "!!", Subject: "s"}} }, "legacy[0]: secret"},
		{"legacy subject with space", func(c *identity.Config) { c.Legacy = []identity.LegacyAccess{{Secret: "c2VjcmV0", Subject: "a b"}} }, "legacy[0]: subject"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := identity.DefaultConfig()
			tc.mod(&c)
			require.ErrorContains(t, c.Validate(), tc.want)
		})
	}
}

// TestLimitedUserToken makes the limited token of a full user token and
// checks that the auth backend's key verifies it, as the obo of a plugin
// token.
func TestLimitedUserToken(t *testing.T) {
	f := newFixture(t)
	bs, catalog, v := f.bs, f.catalog, f.v
	exp := time.Now().Add(time.Hour).Truncate(time.Second)

	full := bs.Auth.UserToken("user:default/alice", exp, []string{"group:default/team-a"})
	limited, limitedExp, err := identity.LimitedUserToken(full)
	require.NoError(t, err)
	require.True(t, exp.Equal(limitedExp))
	require.NotEqual(t, full, limited)
	require.NotContains(t, limited, "team-a", "only sub, iat and exp are kept")
	c, err := v.Verify(context.Background(), catalog.PluginToken("catalog", "permission", exp, limited))
	require.NoError(t, err, "the limited token's signature is the full token's uip")
	require.Equal(t, "user:default/alice", c.Principal.UserEntityRef)

	// A limited token and a legacy user token are used as they are.
	already := bs.Auth.LimitedToken("user:default/bob", exp)
	got, _, err := identity.LimitedUserToken(already)
	require.NoError(t, err)
	require.Equal(t, already, got)
	legacy := bs.Auth.LegacyUserToken("user:default/bob", exp, nil)
	got, _, err = identity.LimitedUserToken(legacy)
	require.NoError(t, err)
	require.Equal(t, legacy, got)

	// A full token without uip cannot be limited.
	noUIP := bs.Auth.Sign(backstagetest.TypUser, map[string]any{"sub": "user:default/bob", "iat": time.Now().Unix(), "exp": exp.Unix()})
	_, _, err = identity.LimitedUserToken(noUIP)
	require.ErrorIs(t, err, identity.ErrNoUIP)
	_, _, err = identity.LimitedUserToken(catalog.PluginToken("catalog", "permission", exp, ""))
	require.ErrorContains(t, err, `token of type "vnd.backstage.plugin"`)
	_, _, err = identity.LimitedUserToken("not a token")
	require.ErrorIs(t, err, identity.ErrIllegalToken)
}
