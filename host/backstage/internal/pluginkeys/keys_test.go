package pluginkeys_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/host/backstage/internal/pluginkeys"
)

// writePEM writes one PEM block to dir/name and returns its path.
func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
	return p
}

// ecPair writes a key pair on curve as name.pub.pem (SPKI) and
// name.key.pem (PKCS#8, or SEC 1 when sec1).
func ecPair(t *testing.T, dir, name string, curve elliptic.Curve, sec1 bool) (pub, priv string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	require.NoError(t, err)
	spki, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	require.NoError(t, err)
	pub = writePEM(t, dir, name+".pub.pem", "PUBLIC KEY", spki)
	if sec1 {
		der, err := x509.MarshalECPrivateKey(k)
		require.NoError(t, err)
		return pub, writePEM(t, dir, name+".key.pem", "EC PRIVATE KEY", der)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	require.NoError(t, err)
	return pub, writePEM(t, dir, name+".key.pem", "PRIVATE KEY", der)
}

func jwksOf(t *testing.T, m *pluginkeys.Minter) jwk.Set {
	t.Helper()
	rec := httptest.NewRecorder()
	m.KeysHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/.backstage/auth/v1/jwks.json", nil))
	require.Equal(t, 200, rec.Code)
	require.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"))
	body, _ := io.ReadAll(rec.Body)
	require.NotContains(t, string(body), `"d"`, "no private key material is published")
	set, err := jwk.Parse(body)
	require.NoError(t, err)
	return set
}

func TestStaticKeyStore(t *testing.T) {
	dir := t.TempDir()
	pub1, priv1 := ecPair(t, dir, "one", elliptic.P256(), false)
	pub2, priv2 := ecPair(t, dir, "two", elliptic.P384(), true)
	pub3, _ := ecPair(t, dir, "three", elliptic.P256(), false)
	cfg := pluginkeys.DefaultConfig()
	cfg.Keys = []pluginkeys.Key{
		{PublicKeyFile: pub1, PrivateKeyFile: priv1, KeyID: "k1"},
		{PublicKeyFile: pub2, PrivateKeyFile: priv2, KeyID: "k2", Algorithm: "ES384"},
		{PublicKeyFile: pub3, KeyID: "k3-retired"},
	}
	m, err := pluginkeys.New(cfg, nil)
	require.NoError(t, err)
	require.False(t, m.Generated())
	require.Equal(t, "k1", m.KeyID(), "the first key signs")
	set := jwksOf(t, m)
	require.Equal(t, 3, set.Len(), "every key is published")
	for kid, alg := range map[string]string{"k1": "ES256", "k2": "ES384", "k3-retired": "ES256"} {
		k, ok := set.LookupKeyID(kid)
		require.True(t, ok, kid)
		a, _ := k.Algorithm()
		require.Equal(t, alg, a.String())
		use, _ := k.KeyUsage()
		require.Equal(t, "sig", use)
	}
}

func TestGeneratedKey(t *testing.T) {
	m, err := pluginkeys.New(pluginkeys.DefaultConfig(), nil)
	require.NoError(t, err)
	require.True(t, m.Generated())
	set := jwksOf(t, m)
	require.Equal(t, 1, set.Len())
	k, _ := set.Key(0)
	kid, _ := k.KeyID()
	require.Equal(t, m.KeyID(), kid)
	other, err := pluginkeys.New(pluginkeys.DefaultConfig(), nil)
	require.NoError(t, err)
	require.NotEqual(t, m.KeyID(), other.KeyID(), "a new key, and kid, at every start")
}

// TestKeyStoreErrors: each configuration error is one line naming the key
// (and the file when a file is at fault).
func TestKeyStoreErrors(t *testing.T) {
	dir := t.TempDir()
	pub, priv := ecPair(t, dir, "good", elliptic.P256(), false)
	pub384, priv384 := ecPair(t, dir, "p384", elliptic.P384(), false)
	otherPub, _ := ecPair(t, dir, "other", elliptic.P256(), false)
	garbage := filepath.Join(dir, "garbage.pem")
	require.NoError(t, os.WriteFile(garbage, []byte("not a key\n"), 0o600))
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	rsaPKIX, err := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	require.NoError(t, err)
	rsaPub := writePEM(t, dir, "rsa.pub.pem", "PUBLIC KEY", rsaPKIX)
	rsaPKCS8, err := x509.MarshalPKCS8PrivateKey(rk)
	require.NoError(t, err)
	rsaPriv := writePEM(t, dir, "rsa.key.pem", "PRIVATE KEY", rsaPKCS8)
	cert := writePEM(t, dir, "cert.pem", "CERTIFICATE", []byte{1, 2, 3})
	missing := filepath.Join(dir, "missing.pem")

	tests := []struct {
		name string
		keys []pluginkeys.Key
		want string
	}{
		{"missing public key file", []pluginkeys.Key{{PublicKeyFile: missing, PrivateKeyFile: priv, KeyID: "a"}},
			`keys[0] (keyId "a"): publicKeyFile "` + missing + `": open: no such file or directory`},
		{"missing private key file", []pluginkeys.Key{{PublicKeyFile: pub, PrivateKeyFile: missing, KeyID: "a"}},
			`keys[0] (keyId "a"): privateKeyFile "` + missing + `": open: no such file or directory`},
		{"not PEM", []pluginkeys.Key{{PublicKeyFile: garbage, PrivateKeyFile: priv, KeyID: "a"}},
			`keys[0] (keyId "a"): publicKeyFile "` + garbage + `": not a PEM file`},
		{"wrong PEM block", []pluginkeys.Key{{PublicKeyFile: cert, PrivateKeyFile: priv, KeyID: "a"}},
			`keys[0] (keyId "a"): publicKeyFile "` + cert + `": PEM block is "CERTIFICATE", want PUBLIC KEY`},
		{"RSA public key", []pluginkeys.Key{{PublicKeyFile: rsaPub, PrivateKeyFile: priv, KeyID: "a"}},
			`keys[0] (keyId "a"): publicKeyFile "` + rsaPub + `": an RSA key, not an EC key`},
		{"RSA private key", []pluginkeys.Key{{PublicKeyFile: pub, PrivateKeyFile: rsaPriv, KeyID: "a"}},
			`keys[0] (keyId "a"): privateKeyFile "` + rsaPriv + `": an RSA key, not an EC key`},
		{"curve does not fit the algorithm", []pluginkeys.Key{{PublicKeyFile: pub384, PrivateKeyFile: priv384, KeyID: "a"}},
			`keys[0] (keyId "a"): publicKeyFile "` + pub384 + `": an EC key on P-384, the algorithm needs P-256`},
		{"unknown algorithm", []pluginkeys.Key{{PublicKeyFile: pub, PrivateKeyFile: priv, KeyID: "a", Algorithm: "RS256"}},
			`keys[0] (keyId "a"): unknown algorithm "RS256" (use ES256, ES384 or ES512)`},
		{"pair does not match", []pluginkeys.Key{{PublicKeyFile: otherPub, PrivateKeyFile: priv, KeyID: "a"}},
			`keys[0] (keyId "a"): privateKeyFile "` + priv + `" does not match publicKeyFile "` + otherPub + `"`},
		{"first key without a private key", []pluginkeys.Key{{PublicKeyFile: pub, KeyID: "a"}},
			`keys[0] (keyId "a"): privateKeyFile is required for the first key, which signs`},
		{"no key id", []pluginkeys.Key{{PublicKeyFile: pub, PrivateKeyFile: priv}},
			`keys[0]: keyId is required`},
		{"key id twice", []pluginkeys.Key{{PublicKeyFile: pub, PrivateKeyFile: priv, KeyID: "a"}, {PublicKeyFile: pub, KeyID: "a"}},
			`keys[1] (keyId "a"): keyId is used twice`},
		{"second key bad", []pluginkeys.Key{{PublicKeyFile: pub, PrivateKeyFile: priv, KeyID: "a"}, {PublicKeyFile: garbage, KeyID: "b"}},
			`keys[1] (keyId "b"): publicKeyFile "` + garbage + `": not a PEM file`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := pluginkeys.DefaultConfig()
			cfg.Keys = tc.keys
			_, err := pluginkeys.New(cfg, nil)
			require.EqualError(t, err, tc.want)
			require.False(t, strings.Contains(err.Error(), "\n"), "one line")
		})
	}
}

func TestConfigValidate(t *testing.T) {
	cfg := pluginkeys.DefaultConfig()
	require.NoError(t, cfg.Validate())
	cfg.PluginID = ""
	cfg.TokenTTL = 0
	cfg.CacheEntries = 0
	require.EqualError(t, cfg.Validate(), "pluginId: must not be empty\n"+
		"tokenTTL: must be at least 1m, got 0s\n"+
		"renewBefore: must be at least 0 and less than tokenTTL, got 5m0s\n"+
		"cacheEntries: must be positive, got 0")
}
