package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/host/backstage"
)

// keyPair writes an EC P-256 key pair as PEM files (SPKI, PKCS#8).
func keyPair(t *testing.T, dir, name string) (pub, priv string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	spki, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	require.NoError(t, err)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(k)
	require.NoError(t, err)
	pub, priv = filepath.Join(dir, name+".pub.pem"), filepath.Join(dir, name+".key.pem")
	require.NoError(t, os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}), 0o600))
	require.NoError(t, os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600))
	return pub, priv
}

func TestApplyConditionsAuthConfig(t *testing.T) {
	dir := t.TempDir()
	pub, priv := keyPair(t, dir, "v1")
	tests := []struct {
		name    string
		environ []string
		file    string
		minting bool
		check   func(*testing.T, *settings)
		err     string
	}{
		{name: "default: auto without a token mints with a memory key", minting: true,
			check: func(t *testing.T, s *settings) {
				require.Equal(t, authAuto, s.Backstage.ConditionsAuth)
				require.Equal(t, keyStoreMemory, s.Backstage.KeyStoreType)
				require.Empty(t, s.Backstage.PluginKeys.Keys)
			}},
		{name: "auto with a token uses it", environ: []string{"VERDICT_BACKSTAGE__APPLYCONDITIONS__TOKEN=static-token-1"}},
		{name: "static without a token does not mint", environ: []string{"VERDICT_BACKSTAGE__APPLYCONDITIONS__AUTH=static"}},
		{name: "plugin-token", environ: []string{"VERDICT_BACKSTAGE__APPLYCONDITIONS__AUTH=plugin-token"}, minting: true},
		{name: "static key store from the environment", minting: true, environ: []string{
			"VERDICT_BACKSTAGE__AUTH__PLUGINKEYSTORE__TYPE=static",
			"VERDICT_BACKSTAGE__AUTH__PLUGINKEYSTORE__STATIC__KEYS=[{publicKeyFile: " + pub + ", privateKeyFile: " + priv + ", keyId: v1}]"},
			check: func(t *testing.T, s *settings) {
				require.Equal(t, []backstage.PluginKey{{PublicKeyFile: pub, PrivateKeyFile: priv, KeyID: "v1"}}, s.Backstage.PluginKeys.Keys)
			}},
		{name: "static key store in Backstage's shape", minting: true, file: `
backstage:
  applyConditions: {auth: plugin-token}
  auth:
    pluginKeyStore:
      type: static
      static:
        keys:
          - {publicKeyFile: ` + pub + `, privateKeyFile: ` + priv + `, keyId: v1, algorithm: ES256}
          - {publicKeyFile: ` + pub + `, keyId: v0}
`, check: func(t *testing.T, s *settings) {
			require.Equal(t, []backstage.PluginKey{{PublicKeyFile: pub, PrivateKeyFile: priv, KeyID: "v1", Algorithm: "ES256"},
				{PublicKeyFile: pub, KeyID: "v0"}}, s.Backstage.PluginKeys.Keys)
		}},
		{name: "plugin-token with a token", environ: []string{"VERDICT_BACKSTAGE__APPLYCONDITIONS__AUTH=plugin-token",
			"VERDICT_BACKSTAGE__APPLYCONDITIONS__TOKEN=static-token-1"},
			err: "backstage.applyConditions.token: must be empty when backstage.applyConditions.auth is plugin-token"},
		{name: "unknown auth", environ: []string{"VERDICT_BACKSTAGE__APPLYCONDITIONS__AUTH=mint"},
			err: `backstage.applyConditions.auth: "mint" is not one of auto, static, plugin-token`},
		{name: "unknown store type", environ: []string{"VERDICT_BACKSTAGE__AUTH__PLUGINKEYSTORE__TYPE=database"},
			err: `backstage.auth.pluginKeyStore.type: "database" is not one of memory, static`},
		{name: "static without keys", environ: []string{"VERDICT_BACKSTAGE__AUTH__PLUGINKEYSTORE__TYPE=static"},
			err: "backstage.auth.pluginKeyStore.static.keys: at least one key is required when backstage.auth.pluginKeyStore.type is static"},
		{name: "keys with type memory", environ: []string{
			"VERDICT_BACKSTAGE__AUTH__PLUGINKEYSTORE__STATIC__KEYS=[{publicKeyFile: a, privateKeyFile: b, keyId: v1}]"},
			err: "backstage.auth.pluginKeyStore.static.keys: set, but backstage.auth.pluginKeyStore.type is memory"},
		{name: "unknown algorithm", environ: []string{"VERDICT_BACKSTAGE__AUTH__PLUGINKEYSTORE__TYPE=static",
			"VERDICT_BACKSTAGE__AUTH__PLUGINKEYSTORE__STATIC__KEYS=[{publicKeyFile: a, privateKeyFile: b, keyId: v1, algorithm: RS256}]"},
			err: `backstage.auth.pluginKeyStore.static.keys[0] (keyId "v1"): unknown algorithm "RS256" (use ES256, ES384 or ES512)`},
		{name: "unknown key field", environ: []string{"VERDICT_BACKSTAGE__AUTH__PLUGINKEYSTORE__TYPE=static",
			"VERDICT_BACKSTAGE__AUTH__PLUGINKEYSTORE__STATIC__KEYS=[{publicKey: a, keyId: v1}]"},
			err: `backstage.auth.pluginKeyStore.static.keys: [0]: unknown key "publicKey"`},
		{name: "keys not a list", environ: []string{"VERDICT_BACKSTAGE__AUTH__PLUGINKEYSTORE__STATIC__KEYS=a.pem"},
			err: `must be a YAML list`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var args []string
			if tc.file != "" {
				args = []string{"--config", writeFile(t, tc.file)}
			}
			s, err := load(t, args, tc.environ)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.minting, s.Backstage.minting())
			if tc.check != nil {
				tc.check(t, s)
			}
		})
	}
}

// TestBackstageOptionsMinting: serve loads the key store, says which key
// signs (never a key or a token), publishes the JWKS, and refuses a broken
// store with a one-line error naming the key.
func TestBackstageOptionsMinting(t *testing.T) {
	dir := t.TempDir()
	pub, priv := keyPair(t, dir, "v1")
	garbage := filepath.Join(dir, "garbage.pem")
	require.NoError(t, os.WriteFile(garbage, []byte("nope"), 0o600))
	env := func(extra ...string) []string {
		return append([]string{"VERDICT_BACKSTAGE__BASEURL=http://backstage.invalid"}, extra...)
	}
	static := func(keys string) []string {
		return env("VERDICT_BACKSTAGE__AUTH__PLUGINKEYSTORE__TYPE=static", "VERDICT_BACKSTAGE__AUTH__PLUGINKEYSTORE__STATIC__KEYS="+keys)
	}
	tests := []struct {
		name    string
		environ []string
		logs    []string // each must appear
		jwks    int      // keys served; 0: no route
		err     string
	}{
		{name: "memory key", environ: env(), jwks: 1,
			logs: []string{"generated in memory", "tokens change at every restart", "several replicas need a static key store"}},
		{name: "static key store", environ: static("[{publicKeyFile: " + pub + ", privateKeyFile: " + priv + ", keyId: v1}]"), jwks: 1,
			logs: []string{"minting plugin tokens", "keyId=v1"}},
		{name: "static token", environ: env("VERDICT_BACKSTAGE__APPLYCONDITIONS__TOKEN=static-token-1")},
		{name: "missing file", environ: static("[{publicKeyFile: " + filepath.Join(dir, "nope.pem") + ", privateKeyFile: " + priv + ", keyId: v1}]"),
			err: `backstage.auth.pluginKeyStore.static.keys[0] (keyId "v1"): publicKeyFile "` + filepath.Join(dir, "nope.pem") + `": open: no such file or directory`},
		{name: "bad PEM", environ: static("[{publicKeyFile: " + pub + ", privateKeyFile: " + garbage + ", keyId: v1}]"),
			err: `backstage.auth.pluginKeyStore.static.keys[0] (keyId "v1"): privateKeyFile "` + garbage + `": not a PEM file`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := load(t, nil, tc.environ)
			require.NoError(t, err)
			logs := &strings.Builder{}
			cfg, closeSink, err := adapterConfig(st)
			require.NoError(t, err)
			defer closeSink()
			h, err := backstage.New(context.Background(), cfg, slog.New(slog.NewTextHandler(logs, nil)))
			if tc.err != "" {
				require.EqualError(t, adapterError(err), tc.err)
				return
			}
			require.NoError(t, err)
			defer func() { _ = h.Close(context.Background()) }()
			for _, l := range tc.logs {
				require.Contains(t, logs.String(), l)
			}
			pemBytes, err := os.ReadFile(priv)
			require.NoError(t, err)
			require.NotContains(t, logs.String(), strings.Split(string(pemBytes), "\n")[1], "no key material logged")
			require.NotContains(t, logs.String(), "static-token-1")

			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/permission/.backstage/auth/v1/jwks.json", nil))
			if tc.jwks == 0 {
				require.Equal(t, 404, rec.Code)
				return
			}
			require.Equal(t, 200, rec.Code)
			require.Equal(t, tc.jwks, strings.Count(rec.Body.String(), `"kid"`))
		})
	}
}
