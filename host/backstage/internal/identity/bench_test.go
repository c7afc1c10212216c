package identity_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/host/backstage/internal/discovery"
	"github.com/verdictpdp/verdict/host/backstage/internal/identity"
	"github.com/verdictpdp/verdict/internal/testing/backstagetest"
)

// BenchmarkVerify compares a cached verification with uncached ones
// (a fresh token each time; key sets already fetched): a user token is one
// ES256 check, an on-behalf-of plugin token two.
func BenchmarkVerify(b *testing.B) {
	bs := backstagetest.New(b)
	catalog := bs.AddPlugin("catalog")
	d, err := discovery.New(discovery.Config{BaseURL: bs.URL()})
	require.NoError(b, err)
	v, err := identity.New(identity.DefaultConfig(), identity.Deps{Discovery: d})
	require.NoError(b, err)
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	const n = 512
	users := make([]string, n)
	obos := make([]string, n)
	for i := range n {
		e := exp.Add(time.Duration(i) * time.Second)
		users[i] = bs.Auth.UserToken(alice, e, nil)
		obos[i] = catalog.PluginToken("catalog", "permission", e, bs.Auth.LimitedToken(alice, e))
	}
	_, err = v.Verify(ctx, obos[0]) // fetch both key sets
	require.NoError(b, err)

	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			if _, err := v.Verify(ctx, obos[0]); err != nil {
				b.Fatal(err)
			}
		}
	})
	bench := func(toks []string) func(b *testing.B) {
		return func(b *testing.B) {
			i := 0
			for b.Loop() {
				b.StopTimer()
				// A new verifier every n tokens, so that each token is
				// verified uncached; the key sets are refetched then.
				if i%len(toks) == 0 {
					v, _ = identity.New(identity.DefaultConfig(), identity.Deps{Discovery: d})
					_, _ = v.Verify(ctx, obos[n-1])
				}
				b.StartTimer()
				if _, err := v.Verify(ctx, toks[i%len(toks)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		}
	}
	b.Run("uncached user token", bench(users))
	b.Run("uncached on-behalf-of token", bench(obos[:n-1]))
}
