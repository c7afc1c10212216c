package pluginkeys

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host/backstage/internal/identity"
	"github.com/verdictpdp/verdict/host/backstage/internal/ttlcache"
)

// Minter mints plugin tokens and serves their public keys. It is safe for
// concurrent use.
type Minter struct {
	cfg       Config
	keys      *keySet
	generated bool
	now       func() time.Time
	// cache holds minted tokens, keyed by cacheKey, until they are due for
	// renewal (RenewBefore ahead of their expiry).
	cache *ttlcache.Cache[[sha256.Size]byte, string]
}

// New loads cfg's keys (or generates one when there are none) and returns
// a Minter. now is the clock; nil means time.Now.
func New(cfg Config, now func() time.Time) (*Minter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	m := &Minter{cfg: cfg, now: now, cache: ttlcache.New[[sha256.Size]byte, string](cfg.CacheEntries)}
	var err error
	if len(cfg.Keys) == 0 {
		m.keys, err = generateKey()
		m.generated = true
	} else {
		m.keys, err = loadKeys(cfg.Keys)
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Generated reports whether the signing key was generated in memory (no
// static keys configured).
func (m *Minter) Generated() bool { return m.generated }

// KeyID is the kid of the signing key.
func (m *Minter) KeyID() string { return m.keys.kid }

// KeysHandler serves the public keys as a JWKS ({"keys":[...]}), as
// Backstage serves GET /.backstage/auth/v1/jwks.json.
func (m *Minter) KeysHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(m.keys.jwks)
	})
}

// Mint returns the bearer token for a call to targetPluginID on behalf of
// onBehalfOf, as Backstage's getPluginRequestToken:
//
//   - a user: a plugin token whose obo is the user's limited token (the
//     limited token of an on-behalf-of caller as is; one made from a full
//     user token with identity.LimitedUserToken), expiring no later than
//     the user's token;
//   - a service, or nil (Verdict acting for itself, as on the native
//     API): a plugin token without obo;
//   - principal "none" (dev mode): "", meaning no Authorization header.
func (m *Minter) Mint(_ context.Context, targetPluginID string, onBehalfOf *identity.Credentials) (string, error) {
	if onBehalfOf != nil && onBehalfOf.Principal.Type == abi.PrincipalNone {
		return "", nil
	}
	obo, oboExp, err := oboToken(onBehalfOf)
	if err != nil {
		return "", err
	}
	now := m.now()
	key := cacheKey(targetPluginID, obo)
	if tok, ok := m.cache.Get(key, now); ok {
		return tok, nil
	}
	iat, exp := now.Unix(), m.expiry(now, obo, oboExp)
	if exp <= iat {
		return "", errors.New("the user's token has expired")
	}
	tok, err := m.sign(targetPluginID, obo, iat, exp)
	if err != nil {
		return "", err
	}
	// A token already due (a user token about to expire) is not kept.
	m.cache.Put(key, tok, time.Unix(exp, 0).Add(-m.cfg.RenewBefore), now)
	return tok, nil
}

// oboToken is the obo claim for a call on behalf of onBehalfOf, and when
// it expires: a user's limited token, or nothing for a service or nil.
func oboToken(onBehalfOf *identity.Credentials) (string, time.Time, error) {
	if onBehalfOf == nil {
		return "", time.Time{}, nil
	}
	switch onBehalfOf.Principal.Type {
	case abi.PrincipalUser:
		if onBehalfOf.UserToken == "" {
			return "", time.Time{}, errors.New("user credentials without a token")
		}
		return identity.LimitedUserToken(onBehalfOf.UserToken)
	case abi.PrincipalService:
		return "", time.Time{}, nil
	}
	return "", time.Time{}, fmt.Errorf("refusing to forward credentials for unknown principal type %q", onBehalfOf.Principal.Type)
}

// expiry is the exp of a token minted at now: TokenTTL later, or when its
// obo token expires if that is sooner.
func (m *Minter) expiry(now time.Time, obo string, oboExp time.Time) int64 {
	exp := now.Add(m.cfg.TokenTTL).Unix()
	if obo != "" && !oboExp.IsZero() && oboExp.Unix() < exp {
		exp = oboExp.Unix()
	}
	return exp
}

// claims are a plugin token's claims, in Backstage's order.
type claims struct {
	Sub string `json:"sub"`
	Aud string `json:"aud"`
	Iat int64  `json:"iat"`
	Exp int64  `json:"exp"`
	Obo string `json:"obo,omitempty"`
}

// sign makes the plugin token for a call to target with the signing key.
func (m *Minter) sign(target, obo string, iat, exp int64) (string, error) {
	payload, err := json.Marshal(claims{Sub: m.cfg.PluginID, Aud: target, Iat: iat, Exp: exp, Obo: obo})
	if err != nil {
		return "", err
	}
	h := jws.NewHeaders()
	if err := h.Set(jws.TypeKey, identity.TypPlugin); err != nil {
		return "", err
	}
	if err := h.Set(jws.KeyIDKey, m.keys.kid); err != nil {
		return "", err
	}
	tok, err := jws.Sign(payload, jws.WithKey(m.keys.alg, m.keys.priv, jws.WithProtectedHeaders(h)))
	if err != nil {
		return "", fmt.Errorf("sign plugin token: %w", err)
	}
	return string(tok), nil
}

// cacheKey hashes the target and obo token: the cache never holds a user
// token in plain.
func cacheKey(target, obo string) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(target))
	h.Write([]byte{0})
	h.Write([]byte(obo))
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}
