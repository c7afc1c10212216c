package identity_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/host/backstage/internal/discovery"
	"github.com/verdictpdp/verdict/host/backstage/internal/identity"
)

// rsaJWK is pub as a public JWK with kid.
func rsaJWK(t *testing.T, pub *rsa.PublicKey, kid string) jwk.Key {
	t.Helper()
	k, err := jwk.Import(pub)
	require.NoError(t, err)
	require.NoError(t, k.Set(jwk.KeyIDKey, kid))
	return k
}

// rs256 signs a user token's header and claims with priv, or, when priv is
// nil, gives it a junk signature of sigBytes bytes.
func rs256(t *testing.T, kid string, priv *rsa.PrivateKey, sigBytes int) string {
	t.Helper()
	enc := base64.RawURLEncoding
	h, err := json.Marshal(map[string]string{"typ": identity.TypUser, "alg": "RS256", "kid": kid})
	require.NoError(t, err)
	now := time.Now()
	c, err := json.Marshal(map[string]any{"sub": "user:default/alice", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	require.NoError(t, err)
	signing := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	sig := make([]byte, sigBytes)
	if priv != nil {
		d := sha256.Sum256([]byte(signing))
		sig, err = rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, d[:])
		require.NoError(t, err)
	} else {
		sig[1] = 1
	}
	return signing + "." + enc.EncodeToString(sig)
}

// TestOversizedRSAKeyRefused: a key set (the auth backend's, a plugin's or
// an external one) that publishes an RSA key with a huge modulus must not
// let anyone burn the host's CPU: checking a signature costs time that
// grows with the square of the modulus (about 5 s of CPU for a 262144-bit
// key, whose signatures still fit in a token), and tokens that fail are
// never cached, so each forged token naming such a key would cost that
// again, without any valid credentials. Keys above 8192 bits (the bound
// of Go's TLS stack) are refused before any signature check; ordinary RSA
// keys keep working.
func TestOversizedRSAKeyRefused(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	// A modulus past the bound: no private key needed, the forged
	// token only has to name it.
	const bigBits, edgeBits = 16384, 8192
	modulus := func(bits int) *big.Int {
		n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), uint(bits)))
		require.NoError(t, err)
		return n.SetBit(n, bits-1, 1).SetBit(n, 0, 1)
	}
	set := map[string]any{"keys": []jwk.Key{
		rsaJWK(t, &priv.PublicKey, "ok"),
		rsaJWK(t, &rsa.PublicKey{N: modulus(bigBits), E: 65537}, "big"),
		rsaJWK(t, &rsa.PublicKey{N: modulus(edgeBits), E: 65537}, "edge"),
	}}
	body, err := json.Marshal(set)
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	d, err := discovery.New(discovery.Config{BaseURL: srv.URL})
	require.NoError(t, err)
	v, err := identity.New(identity.DefaultConfig(), identity.Deps{Discovery: d})
	require.NoError(t, err)

	t.Run("a token naming the oversized key is refused for its size", func(t *testing.T) {
		_, err := v.Verify(context.Background(), rs256(t, "big", nil, bigBits/8))
		var ae *identity.AuthError
		require.ErrorAs(t, err, &ae)
		require.ErrorContains(t, err, "16384-bit RSA key")
	})
	t.Run("a key of exactly the bound is used (the forged signature fails)", func(t *testing.T) {
		_, err := v.Verify(context.Background(), rs256(t, "edge", nil, edgeBits/8))
		var ae *identity.AuthError
		require.ErrorAs(t, err, &ae)
		require.ErrorContains(t, err, "verification error")
		require.NotContains(t, err.Error(), "RSA key")
	})
	t.Run("a token signed with an ordinary RSA key verifies", func(t *testing.T) {
		c, err := v.Verify(context.Background(), rs256(t, "ok", priv, 0))
		require.NoError(t, err)
		require.Equal(t, "user:default/alice", c.Principal.UserEntityRef)
	})
}
