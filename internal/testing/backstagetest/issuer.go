// Package backstagetest is a fake Backstage backend for tests: an auth
// backend that signs user tokens and answers user info, plugins that sign
// plugin tokens and serve their JWKS, and a catalog plugin whose
// apply-conditions endpoint evaluates IS_ENTITY_OWNER and IS_ENTITY_KIND
// over a few entities. Keys are generated per test; nothing touches the
// network beyond the loopback httptest server.
package backstagetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// Issuer signs tokens with an ES256 key and publishes its public key.
type Issuer struct {
	Kid  string
	priv *ecdsa.PrivateKey
	pub  jwk.Key
}

// NewIssuer generates a P-256 key named kid.
func NewIssuer(kid string) *Issuer {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	pub, err := jwk.Import(priv.Public())
	if err != nil {
		panic(err)
	}
	_ = pub.Set(jwk.KeyIDKey, kid)
	_ = pub.Set(jwk.AlgorithmKey, jwa.ES256())
	_ = pub.Set(jwk.KeyUsageKey, "sig")
	return &Issuer{Kid: kid, priv: priv, pub: pub}
}

// JWKS is the issuer's public key set as JSON.
func (i *Issuer) JWKS() []byte {
	b, err := json.Marshal(map[string]any{"keys": []jwk.Key{i.pub}})
	if err != nil {
		panic(err)
	}
	return b
}

// Sign signs claims with header typ (omitted when empty) and the issuer's
// kid.
func (i *Issuer) Sign(typ string, claims map[string]any) string {
	payload, err := json.Marshal(claims)
	if err != nil {
		panic(err)
	}
	h := jws.NewHeaders()
	_ = h.Set(jws.KeyIDKey, i.Kid)
	if typ != "" {
		_ = h.Set(jws.TypeKey, typ)
	}
	tok, err := jws.Sign(payload, jws.WithKey(jwa.ES256(), i.priv, jws.WithProtectedHeaders(h)))
	if err != nil {
		panic(err)
	}
	return string(tok)
}

// Token types.
const (
	TypUser        = "vnd.backstage.user"
	TypLimitedUser = "vnd.backstage.limited-user"
	TypPlugin      = "vnd.backstage.plugin"
)

// UserToken is a user token for sub, valid until exp; ent is included
// when non-nil (Backstage omits it by default). Like the auth backend's
// tokens it carries "uip": the signature of the limited user token
// {typ: limited-user, alg, kid}.{sub, iat, exp}, serialised as
// JSON.stringify does, so that a limited token can be made from it.
func (i *Issuer) UserToken(sub string, exp time.Time, ent []string) string {
	iat := time.Now().Unix()
	c := map[string]any{"sub": sub, "iat": iat, "exp": exp.Unix(), "uip": i.uip(sub, iat, exp.Unix())}
	if ent != nil {
		c["ent"] = ent
	}
	return i.Sign(TypUser, c)
}

// uip signs the limited user token for sub and returns its signature.
func (i *Issuer) uip(sub string, iat, exp int64) string {
	h, _ := json.Marshal(struct {
		Typ string `json:"typ"`
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}{TypLimitedUser, "ES256", i.Kid})
	p, _ := json.Marshal(struct {
		Sub string `json:"sub"`
		Iat int64  `json:"iat"`
		Exp int64  `json:"exp"`
	}{sub, iat, exp})
	enc := base64.RawURLEncoding
	sum := sha256.Sum256([]byte(enc.EncodeToString(h) + "." + enc.EncodeToString(p)))
	r, s, err := ecdsa.Sign(rand.Reader, i.priv, sum[:])
	if err != nil {
		panic(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return enc.EncodeToString(sig)
}

// Key is the issuer's public key, to verify its tokens with.
func (i *Issuer) Key() jwk.Key { return i.pub }

// LimitedToken is a limited user token for sub.
func (i *Issuer) LimitedToken(sub string, exp time.Time) string {
	return i.Sign(TypLimitedUser, map[string]any{"sub": sub, "iat": time.Now().Unix(), "exp": exp.Unix()})
}

// LegacyUserToken is a user token without typ and with aud "backstage".
func (i *Issuer) LegacyUserToken(sub string, exp time.Time, ent []string) string {
	c := map[string]any{"sub": sub, "aud": "backstage", "iat": time.Now().Unix(), "exp": exp.Unix()}
	if ent != nil {
		c["ent"] = ent
	}
	return i.Sign("", c)
}

// PluginToken is a plugin token from plugin sub to plugin aud; obo (a
// limited user token) is included when non-empty.
func (i *Issuer) PluginToken(sub, aud string, exp time.Time, obo string) string {
	c := map[string]any{"sub": sub, "aud": aud, "iat": time.Now().Unix(), "exp": exp.Unix()}
	if obo != "" {
		c["obo"] = obo
	}
	return i.Sign(TypPlugin, c)
}

// LegacySecret is a base64 secret for legacy external access.
func LegacySecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// LegacyToken signs a legacy external-access token (HS256, sub
// "backstage-server") with secret (base64).
func LegacyToken(secret string, exp time.Time) string {
	key, err := base64.StdEncoding.DecodeString(secret)
	if err != nil {
		panic(err)
	}
	payload, _ := json.Marshal(map[string]any{"sub": "backstage-server", "exp": exp.Unix()})
	tok, err := jws.Sign(payload, jws.WithKey(jwa.HS256(), key))
	if err != nil {
		panic(err)
	}
	return string(tok)
}
