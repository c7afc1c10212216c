package pluginkeys_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host/backstage/internal/conditions"
	"github.com/verdictpdp/verdict/host/backstage/internal/identity"
	"github.com/verdictpdp/verdict/host/backstage/internal/pluginkeys"
	"github.com/verdictpdp/verdict/internal/testing/backstagetest"
)

var _ conditions.Minter = (*pluginkeys.Minter)(nil)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

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

type mintedToken struct {
	header map[string]any
	claims struct {
		Sub string `json:"sub"`
		Aud string `json:"aud"`
		Iat int64  `json:"iat"`
		Exp int64  `json:"exp"`
		Obo string `json:"obo"`
	}
	keys int // claims in the payload
}

// verified checks tok's signature against m's JWKS route with jwx (kid
// required, the published key's alg) and decodes it.
func verified(t *testing.T, m *pluginkeys.Minter, tok string) mintedToken {
	t.Helper()
	payload, err := jws.Verify([]byte(tok), jws.WithKeySet(jwksOf(t, m), jws.WithRequireKid(true)))
	require.NoError(t, err)
	var mt mintedToken
	require.NoError(t, json.Unmarshal(payload, &mt.claims))
	var all map[string]any
	require.NoError(t, json.Unmarshal(payload, &all))
	mt.keys = len(all)
	h, _, _ := strings.Cut(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(h)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &mt.header))
	return mt
}

func TestMint(t *testing.T) {
	bs := backstagetest.New(t)
	clk := &clock{t: time.Now().Truncate(time.Second)}
	m, err := pluginkeys.New(pluginkeys.DefaultConfig(), clk.Now)
	require.NoError(t, err)
	ctx := context.Background()
	now := clk.Now().Unix()
	userExp := clk.Now().Add(8 * time.Hour)

	t.Run("user token: obo is its limited token", func(t *testing.T) {
		full := bs.Auth.UserToken("user:default/alice", userExp, nil)
		tok, err := m.Mint(ctx, "catalog", &identity.Credentials{
			Principal: abi.Principal{Type: abi.PrincipalUser, UserEntityRef: "user:default/alice"}, UserToken: full})
		require.NoError(t, err)
		mt := verified(t, m, tok)
		require.Equal(t, map[string]any{"alg": "ES256", "kid": m.KeyID(), "typ": "vnd.backstage.plugin"}, mt.header)
		require.Equal(t, "permission", mt.claims.Sub)
		require.Equal(t, "catalog", mt.claims.Aud)
		require.Equal(t, now, mt.claims.Iat)
		require.Equal(t, now+3600, mt.claims.Exp, "an hour")
		limited, _, err := identity.LimitedUserToken(full)
		require.NoError(t, err)
		require.Equal(t, limited, mt.claims.Obo)
		require.NotContains(t, tok, full)
	})
	t.Run("on-behalf-of caller: its limited token as is", func(t *testing.T) {
		limited := bs.Auth.LimitedToken("user:default/bob", userExp)
		tok, err := m.Mint(ctx, "scaffolder", &identity.Credentials{
			Principal: abi.Principal{Type: abi.PrincipalUser, UserEntityRef: "user:default/bob",
				Actor: &abi.Actor{Type: abi.PrincipalService, Subject: "plugin:catalog"}}, UserToken: limited})
		require.NoError(t, err)
		mt := verified(t, m, tok)
		require.Equal(t, limited, mt.claims.Obo)
		require.Equal(t, "scaffolder", mt.claims.Aud)
	})
	t.Run("never outlives the user's token", func(t *testing.T) {
		soon := clk.Now().Add(20 * time.Minute)
		tok, err := m.Mint(ctx, "catalog", &identity.Credentials{
			Principal: abi.Principal{Type: abi.PrincipalUser, UserEntityRef: "user:default/carol"},
			UserToken: bs.Auth.LimitedToken("user:default/carol", soon)})
		require.NoError(t, err)
		require.Equal(t, soon.Unix(), verified(t, m, tok).claims.Exp)
	})
	for name, c := range map[string]*identity.Credentials{
		"service caller: no obo": {Principal: abi.Principal{Type: abi.PrincipalService, Subject: "external:x"}},
		"Verdict itself: no obo": nil,
	} {
		t.Run(name, func(t *testing.T) {
			tok, err := m.Mint(ctx, "catalog", c)
			require.NoError(t, err)
			mt := verified(t, m, tok)
			require.Equal(t, 4, mt.keys, "sub, aud, iat, exp")
			require.Equal(t, "permission", mt.claims.Sub)
		})
	}
	t.Run("principal none: no token", func(t *testing.T) {
		tok, err := m.Mint(ctx, "catalog", &identity.Credentials{Principal: abi.Principal{Type: abi.PrincipalNone}})
		require.NoError(t, err)
		require.Empty(t, tok)
	})
	t.Run("a full user token without uip", func(t *testing.T) {
		noUIP := bs.Auth.Sign(backstagetest.TypUser, map[string]any{"sub": "user:default/dan", "iat": now, "exp": userExp.Unix()})
		_, err := m.Mint(ctx, "catalog", &identity.Credentials{
			Principal: abi.Principal{Type: abi.PrincipalUser, UserEntityRef: "user:default/dan"}, UserToken: noUIP})
		require.ErrorIs(t, err, identity.ErrNoUIP)
	})
	t.Run("configured plugin id", func(t *testing.T) {
		cfg := pluginkeys.DefaultConfig()
		cfg.PluginID = "verdict"
		m2, err := pluginkeys.New(cfg, clk.Now)
		require.NoError(t, err)
		tok, err := m2.Mint(ctx, "catalog", nil)
		require.NoError(t, err)
		require.Equal(t, "verdict", verified(t, m2, tok).claims.Sub)
	})
}

func TestMintCache(t *testing.T) {
	bs := backstagetest.New(t)
	clk := &clock{t: time.Now().Truncate(time.Second)}
	m, err := pluginkeys.New(pluginkeys.DefaultConfig(), clk.Now)
	require.NoError(t, err)
	ctx := context.Background()
	user := func(sub string, exp time.Time) *identity.Credentials {
		return &identity.Credentials{Principal: abi.Principal{Type: abi.PrincipalUser, UserEntityRef: sub},
			UserToken: bs.Auth.UserToken(sub, exp, nil)}
	}
	alice := user("user:default/alice", clk.Now().Add(8*time.Hour))
	mint := func(target string, c *identity.Credentials) string {
		t.Helper()
		tok, err := m.Mint(ctx, target, c)
		require.NoError(t, err)
		return tok
	}

	first := mint("catalog", alice)
	require.Equal(t, first, mint("catalog", alice), "reused")
	require.NotEqual(t, first, mint("scaffolder", alice), "per target")
	require.NotEqual(t, first, mint("catalog", user("user:default/bob", clk.Now().Add(8*time.Hour))), "per user token")
	own := mint("catalog", nil)
	require.NotEqual(t, first, own)
	require.Equal(t, own, mint("catalog", nil))

	clk.Add(54*time.Minute + 59*time.Second)
	require.Equal(t, first, mint("catalog", alice), "still more than 5 minutes to go")
	clk.Add(time.Second)
	renewed := mint("catalog", alice)
	require.NotEqual(t, first, renewed, "renewed 5 minutes before expiry")
	require.Equal(t, clk.Now().Unix()+3600, verified(t, m, renewed).claims.Exp)

	// A user token that expires within 5 minutes: each call mints anew,
	// never past the user's expiry.
	brief := user("user:default/carol", clk.Now().Add(4*time.Minute))
	a := mint("catalog", brief)
	clk.Add(time.Second)
	b := mint("catalog", brief)
	require.NotEqual(t, a, b)
	require.Equal(t, clk.Now().Add(4*time.Minute-time.Second).Unix(), verified(t, m, b).claims.Exp)
}

// TestMintCacheBounded: a full cache is swept or reset, never grows.
func TestMintCacheBounded(t *testing.T) {
	cfg := pluginkeys.DefaultConfig()
	cfg.CacheEntries = 2
	m, err := pluginkeys.New(cfg, nil)
	require.NoError(t, err)
	ctx := context.Background()
	a, err := m.Mint(ctx, "a", nil)
	require.NoError(t, err)
	for _, target := range []string{"b", "c", "d"} {
		_, err := m.Mint(ctx, target, nil)
		require.NoError(t, err)
	}
	again, err := m.Mint(ctx, "a", nil)
	require.NoError(t, err)
	require.NotEqual(t, a, again, "evicted")
}

// TestMintHammer mints from many goroutines at once (run with -race).
func TestMintHammer(t *testing.T) {
	bs := backstagetest.New(t)
	cfg := pluginkeys.DefaultConfig()
	cfg.CacheEntries = 8
	m, err := pluginkeys.New(cfg, nil)
	require.NoError(t, err)
	exp := time.Now().Add(time.Hour)
	users := make([]*identity.Credentials, 6)
	for i := range users {
		sub := "user:default/u" + string(rune('a'+i))
		users[i] = &identity.Credentials{Principal: abi.Principal{Type: abi.PrincipalUser, UserEntityRef: sub},
			UserToken: bs.Auth.UserToken(sub, exp, nil)}
	}
	const P, N = 8, 200
	var wg sync.WaitGroup
	errs := make(chan error, P)
	for p := range P {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range N {
				tok, err := m.Mint(context.Background(), []string{"catalog", "scaffolder"}[n%2], users[(p+n)%len(users)])
				if err == nil && tok == "" {
					err = context.Canceled
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}
