package pluginkeys

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

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
		pub, priv, err := loadKey(keyName(i, k), k)
		if err != nil {
			return nil, err
		}
		pubs = append(pubs, pub)
		if i == 0 {
			ks.kid, ks.priv = k.KeyID, priv
			ks.alg, _ = jwa.LookupSignatureAlgorithm(k.algorithm())
		}
	}
	if ks.priv == nil {
		return nil, errors.New("keys: at least one key pair is required; the first signs")
	}
	return &ks, ks.setJWKS(pubs)
}

// loadKey reads key k, called name in errors: its public key as a JWK to
// publish, and its private key (nil when k has none), which must match.
func loadKey(name string, k Key) (jwk.Key, *ecdsa.PrivateKey, error) {
	alg := k.algorithm()
	curve := curves[alg]
	pub, err := readPublic(k.PublicKeyFile, curve)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: publicKeyFile %s: %w", name, strconv.Quote(k.PublicKeyFile), err)
	}
	var priv *ecdsa.PrivateKey
	if k.PrivateKeyFile != "" {
		if priv, err = readPrivate(k.PrivateKeyFile, curve); err != nil {
			return nil, nil, fmt.Errorf("%s: privateKeyFile %s: %w", name, strconv.Quote(k.PrivateKeyFile), err)
		}
		if !priv.PublicKey.Equal(pub) {
			return nil, nil, fmt.Errorf("%s: privateKeyFile %s does not match publicKeyFile %s",
				name, strconv.Quote(k.PrivateKeyFile), strconv.Quote(k.PublicKeyFile))
		}
	}
	j, err := publicJWK(pub, k.KeyID, alg)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return j, priv, nil
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

// setJWKS encodes pubs as the JWKS ks publishes.
func (ks *keySet) setJWKS(pubs []jwk.Key) error {
	b, err := json.Marshal(map[string]any{"keys": pubs})
	if err != nil {
		return fmt.Errorf("encode JWKS: %w", err)
	}
	ks.jwks = b
	return nil
}

// publicJWK is pub as a JWK with kid, alg and use "sig".
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
