// Package pluginkeys mints Backstage plugin tokens for Verdict's outbound
// calls, the way Backstage's permission backend authenticates to plugins
// (auth.getPluginRequestToken), and publishes the keys that verify them.
//
// # Keys
//
// The key store has Backstage's backend.auth.pluginKeyStore static shape:
// a list of PEM key pairs (public key SPKI, private key PKCS#8 or SEC 1),
// each with a key id and an algorithm (ES256, ES384 or ES512). The first
// key signs; every key is published, so a key being retired can stay
// listed, without its private key, until tokens signed with it have
// expired. With no keys configured, New generates an ES256 key in memory:
// tokens then change at every restart, and replicas do not know each
// other's keys, so several replicas behind one URL need a static store.
//
// # Tokens
//
// A minted token has the header {alg, kid, typ: "vnd.backstage.plugin"}
// and the claims {sub: <Verdict's plugin id>, aud: <target plugin id>,
// iat, exp}, plus obo (a limited user token) when the call is made on
// behalf of a user; exp is an hour after iat, or the user token's expiry
// if that is sooner. Tokens are cached per target and obo token and reused
// until RenewBefore ahead of their expiry. Keys and tokens are never
// logged.
//
// The public keys are served, unauthenticated, as a JWKS by KeysHandler;
// Backstage plugins fetch it from {discovery(permission)}/.backstage/auth/v1/jwks.json.
package pluginkeys

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// Key is one key pair of the static key store, as in Backstage's
// backend.auth.pluginKeyStore.static.keys.
type Key struct {
	// PublicKeyFile is a PEM file with the public key (SPKI, "PUBLIC
	// KEY"). Required.
	PublicKeyFile string
	// PrivateKeyFile is a PEM file with the private key (PKCS#8 "PRIVATE
	// KEY" or SEC 1 "EC PRIVATE KEY"). Required for the first key, which
	// signs; optional for the others, which are only published.
	PrivateKeyFile string
	// KeyID is the key's kid. Required.
	KeyID string
	// Algorithm is the JOSE algorithm: ES256 (P-256), ES384 (P-384) or
	// ES512 (P-521). Empty: ES256, Backstage's default.
	Algorithm string
}

// curves maps each supported algorithm to its curve.
var curves = map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}

// defaultAlgorithm is Backstage's default plugin-token algorithm.
const defaultAlgorithm = "ES256"

func (k Key) algorithm() string {
	if k.Algorithm == "" {
		return defaultAlgorithm
	}
	return k.Algorithm
}

// name names the key in errors: its index and kid.
func keyName(i int, k Key) string {
	if k.KeyID == "" {
		return fmt.Sprintf("keys[%d]", i)
	}
	return fmt.Sprintf("keys[%d] (keyId %s)", i, strconv.Quote(k.KeyID))
}

// validateKeys checks the shape of keys, not the files.
func validateKeys(keys []Key) []error {
	var errs []error
	seen := map[string]bool{}
	for i, k := range keys {
		name := keyName(i, k)
		if k.KeyID == "" {
			errs = append(errs, fmt.Errorf("%s: keyId is required", name))
		} else if seen[k.KeyID] {
			errs = append(errs, fmt.Errorf("%s: keyId is used twice", name))
		}
		seen[k.KeyID] = true
		if k.PublicKeyFile == "" {
			errs = append(errs, fmt.Errorf("%s: publicKeyFile is required", name))
		}
		if i == 0 && k.PrivateKeyFile == "" {
			errs = append(errs, fmt.Errorf("%s: privateKeyFile is required for the first key, which signs", name))
		}
		if _, ok := curves[k.algorithm()]; !ok {
			errs = append(errs, fmt.Errorf("%s: unknown algorithm %s (use ES256, ES384 or ES512)", name, strconv.Quote(k.Algorithm)))
		}
	}
	return errs
}

// keySet is the loaded key store: the signing key and the published set.
type keySet struct {
	kid  string
	alg  jwa.SignatureAlgorithm
	priv *ecdsa.PrivateKey
	jwks []byte // {"keys":[...]}, public keys only
}

// loadKeys reads keys (which passed validateKeys). Each error is one line
// naming the key and the file.
func loadKeys(keys []Key) (*keySet, error) {
	var ks keySet
	var pubs []jwk.Key
	for i, k := range keys {
		name := keyName(i, k)
		alg := k.algorithm()
		curve := curves[alg]
		pub, err := readPublic(k.PublicKeyFile, curve)
		if err != nil {
			return nil, fmt.Errorf("%s: publicKeyFile %s: %w", name, strconv.Quote(k.PublicKeyFile), err)
		}
		if k.PrivateKeyFile != "" {
			priv, err := readPrivate(k.PrivateKeyFile, curve)
			if err != nil {
				return nil, fmt.Errorf("%s: privateKeyFile %s: %w", name, strconv.Quote(k.PrivateKeyFile), err)
			}
			if !priv.PublicKey.Equal(pub) {
				return nil, fmt.Errorf("%s: privateKeyFile %s does not match publicKeyFile %s",
					name, strconv.Quote(k.PrivateKeyFile), strconv.Quote(k.PublicKeyFile))
			}
			if i == 0 {
				ks.priv = priv
			}
		}
		j, err := publicJWK(pub, k.KeyID, alg)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		pubs = append(pubs, j)
		if i == 0 {
			ks.kid = k.KeyID
			ks.alg, _ = jwa.LookupSignatureAlgorithm(alg)
		}
	}
	if ks.priv == nil {
		return nil, errors.New("keys: at least one key pair is required; the first signs")
	}
	return &ks, ks.setJWKS(pubs)
}

// generateKey makes an in-memory ES256 key with a random kid.
func generateKey() (*keySet, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, fmt.Errorf("generate key id: %w", err)
	}
	ks := &keySet{kid: hex.EncodeToString(id), alg: jwa.ES256(), priv: priv}
	j, err := publicJWK(&priv.PublicKey, ks.kid, defaultAlgorithm)
	if err != nil {
		return nil, err
	}
	return ks, ks.setJWKS([]jwk.Key{j})
}

func (ks *keySet) setJWKS(pubs []jwk.Key) error {
	b, err := json.Marshal(map[string]any{"keys": pubs})
	if err != nil {
		return fmt.Errorf("encode JWKS: %w", err)
	}
	ks.jwks = b
	return nil
}

func publicJWK(pub *ecdsa.PublicKey, kid, alg string) (jwk.Key, error) {
	j, err := jwk.Import(pub)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	a, _ := jwa.LookupSignatureAlgorithm(alg)
	for _, kv := range []struct {
		k string
		v any
	}{{jwk.KeyIDKey, kid}, {jwk.AlgorithmKey, a}, {jwk.KeyUsageKey, "sig"}} {
		if err := j.Set(kv.k, kv.v); err != nil {
			return nil, fmt.Errorf("public key: %w", err)
		}
	}
	return j, nil
}

// readPEM reads the first PEM block of path.
func readPEM(path string) (*pem.Block, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, unwrapPath(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("not a PEM file")
	}
	return blk, nil
}

// unwrapPath drops the path an *os.PathError repeats (the caller names the
// file already).
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

func readPublic(path string, curve elliptic.Curve) (*ecdsa.PublicKey, error) {
	blk, err := readPEM(path)
	if err != nil {
		return nil, err
	}
	if blk.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("PEM block is %s, want PUBLIC KEY", strconv.Quote(blk.Type))
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("not a public key: %v", err)
	}
	ec, ok := k.(*ecdsa.PublicKey)
	if !ok {
		return nil, notEC(k)
	}
	if ec.Curve != curve {
		return nil, fmt.Errorf("an EC key on %s, the algorithm needs %s", ec.Curve.Params().Name, curve.Params().Name)
	}
	return ec, nil
}

// notEC names the kind of a key that is not an EC key.
func notEC(k any) error {
	kind := fmt.Sprintf("a %T", k)
	switch k.(type) {
	case *rsa.PublicKey, *rsa.PrivateKey:
		kind = "an RSA key"
	case ed25519.PublicKey, ed25519.PrivateKey:
		kind = "an Ed25519 key"
	case *ecdh.PublicKey, *ecdh.PrivateKey:
		kind = "an X25519 key"
	}
	return errors.New(kind + ", not an EC key")
}

func readPrivate(path string, curve elliptic.Curve) (*ecdsa.PrivateKey, error) {
	blk, err := readPEM(path)
	if err != nil {
		return nil, err
	}
	var k any
	switch blk.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(blk.Bytes)
	default:
		return nil, fmt.Errorf("PEM block is %s, want PRIVATE KEY or EC PRIVATE KEY", strconv.Quote(blk.Type))
	}
	if err != nil {
		return nil, fmt.Errorf("not a private key: %v", err)
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, notEC(k)
	}
	if ec.Curve != curve {
		return nil, fmt.Errorf("an EC key on %s, the algorithm needs %s", ec.Curve.Params().Name, curve.Params().Name)
	}
	return ec, nil
}
