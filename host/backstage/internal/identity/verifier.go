// Package identity verifies Backstage bearer tokens and finds the
// ownership of users, the way Backstage's auth and user-info services do,
// so that Verdict sees the same principal as Backstage's own permission
// backend would.
//
// # Tokens
//
// Verify recognises, in Backstage's order:
//
//   - plugin tokens (JOSE typ "vnd.backstage.plugin"): sub is the calling
//     plugin, verified with <discovery(sub)>/.backstage/auth/v1/jwks.json;
//     aud must name Verdict's plugin id ("permission"). With an "obo"
//     claim (a limited user token, verified with the auth backend's JWKS)
//     the principal is that user with the plugin as actor; without, it is
//     the service "plugin:<sub>".
//   - user tokens (typ "vnd.backstage.user", or legacy ones without typ
//     and with aud "backstage"), verified with
//     <discovery(auth)>/.well-known/jwks.json. Limited user tokens (typ
//     "vnd.backstage.limited-user") verify the same way but are refused as
//     a bearer, as Backstage refuses them without allowLimitedAccess.
//   - external access of type legacy (HS256 with a shared secret, sub
//     "backstage-server") and jwks (a configured JWKS URL, issuer,
//     audience, algorithms), giving service principals.
//
// Static external-access tokens are opaque strings, checked by the caller
// before Verify. A verified token is cached, keyed by its SHA-256, until
// it expires, so a steady caller pays for signature checks (an ES256
// check costs tens of microseconds; an on-behalf-of token needs two) once
// per token. Key sets are fetched on demand and refreshed when a token
// names an unknown kid, at most once per 30 s per URL after a successful
// fetch. Fetches of key sets and user info belong to no single request:
// each runs detached from the request that started it, with its own
// timeout (Config.Timeout) and size bound, concurrent requests share it,
// and one that fails or is abandoned leaves nothing behind that would
// make the next valid token fail.
//
// # Ownership
//
// UserInfo gives a user's ownershipEntityRefs: the token's "ent" claim
// when it has one, else GET <discovery(auth)>/v1/userinfo with the
// user's token, cached for 5 s per token like Backstage's cached user-info
// service. Backstage's auth backend leaves "ent" out by default, so the
// call is the usual case.
package identity

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	mathbits "math/bits"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host/backstage/internal/ttlcache"
	"github.com/verdictpdp/verdict/host/backstage/internal/upstream"
)

// JOSE typ values of Backstage tokens (plugin-auth-node tokenTypes).
const (
	TypUser        = "vnd.backstage.user"
	TypLimitedUser = "vnd.backstage.limited-user"
	TypPlugin      = "vnd.backstage.plugin"
	// legacyUserAudience is the aud of user tokens issued before typ.
	legacyUserAudience = "backstage"
	// legacySubject is the sub of legacy external-access tokens.
	legacySubject = "backstage-server"
)

// Discoverer finds a plugin's base URL. *discovery.Discovery implements it.
type Discoverer interface {
	BaseURL(pluginID string) (string, error)
}

// JWKSAccess is one backend.auth.externalAccess entry of type jwks.
type JWKSAccess struct {
	// URL is where the key set is fetched.
	URL string
	// Issuers, when set, lists the accepted iss values.
	Issuers []string
	// Audiences, when set, lists accepted aud values (one must match).
	Audiences []string
	// Algorithms, when set, lists the accepted JOSE algs; default the
	// asymmetric ones.
	Algorithms []string
	// SubjectPrefix makes the subject "external:<prefix>:<sub>" instead of
	// "external:<sub>".
	SubjectPrefix string
}

// LegacyAccess is one backend.auth.externalAccess entry of type legacy:
// HS256 tokens signed with a shared secret.
type LegacyAccess struct {
	// Secret is the base64 (or base64url) encoded shared secret.
	Secret string
	// Subject is the service principal's subject.
	Subject string
}

// Config configures a Verifier.
type Config struct {
	// PluginID is Verdict's own plugin id: plugin tokens must carry it as
	// aud. Default "permission".
	PluginID string
	// JWKS and Legacy are the external-access entries of those types.
	JWKS   []JWKSAccess
	Legacy []LegacyAccess
	// Timeout bounds each key-set fetch (and user-info call). Default 5 s.
	Timeout time.Duration
	// CacheEntries bounds the verified-token cache. Default 10000.
	CacheEntries int
	// MaxPlugins bounds how many plugins' key sets are kept. Default 256.
	MaxPlugins int
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{PluginID: "permission", Timeout: 5 * time.Second, CacheEntries: 10000, MaxPlugins: 256}
}

// Validate reports every invalid field.
func (c Config) Validate() error {
	var errs []error
	if c.PluginID == "" {
		errs = append(errs, errors.New("pluginId: must not be empty"))
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout: must be positive, got %s", c.Timeout))
	}
	if c.CacheEntries <= 0 {
		errs = append(errs, fmt.Errorf("cacheEntries: must be positive, got %d", c.CacheEntries))
	}
	if c.MaxPlugins <= 0 {
		errs = append(errs, fmt.Errorf("maxPlugins: must be positive, got %d", c.MaxPlugins))
	}
	for i, j := range c.JWKS {
		if !strings.HasPrefix(j.URL, "http://") && !strings.HasPrefix(j.URL, "https://") || strings.ContainsAny(j.URL, " \t\r\n") {
			errs = append(errs, fmt.Errorf("jwks[%d]: url %q must be an http or https URL", i, j.URL))
		}
		for _, a := range j.Algorithms {
			if _, ok := jwa.LookupSignatureAlgorithm(a); !ok || a == "none" {
				errs = append(errs, fmt.Errorf("jwks[%d]: unknown algorithm %q", i, a))
			}
		}
	}
	for i, l := range c.Legacy {
		k, err := decodeSecret(l.Secret)
		if err != nil || len(k) == 0 {
			errs = append(errs, fmt.Errorf("legacy[%d]: secret must be a valid base64 string", i))
		}
		if l.Subject == "" || strings.ContainsAny(l.Subject, " \t\r\n") {
			errs = append(errs, fmt.Errorf("legacy[%d]: subject must be a set of non-space characters", i))
		}
	}
	return errors.Join(errs...)
}

// decodeSecret decodes a legacy secret written in base64 or base64url,
// padded or not, as jose's base64url.decode accepts both.
func decodeSecret(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	s = strings.NewReplacer("+", "-", "/", "_").Replace(s)
	return base64.RawURLEncoding.DecodeString(s)
}

// Deps are a Verifier's collaborators.
type Deps struct {
	// Discovery finds the auth backend and calling plugins. Required.
	Discovery Discoverer
	// Client makes the fetches; default a new http.Client with
	// Config.Timeout.
	Client *http.Client
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Credentials is a verified caller.
type Credentials struct {
	// Principal is who is calling. A user's OwnershipEntityRefs are not
	// set here: UserInfo finds them.
	Principal abi.Principal
	// UserToken is the token to ask user info with: the user's own token,
	// or the limited token of an on-behalf-of call. Empty for services.
	UserToken string
	// Ownership is the user token's "ent" claim; nil when it has none.
	Ownership []string
	// ExpiresAt is when the credentials expire (zero: no expiry known).
	ExpiresAt time.Time
}

type tokenKey [sha256.Size]byte

type legacyKey struct {
	key     []byte
	subject string
}

// Verifier verifies Backstage bearer tokens. It is safe for concurrent use.
type Verifier struct {
	cfg     Config
	disc    Discoverer
	fetch   *fetcher
	now     func() time.Time
	legacy  []legacyKey
	jwks    []*remoteSet
	auth    *remoteSet // nil until the auth backend is first needed
	authMu  chan struct{}
	plugins remoteSets
	cache   *ttlcache.Cache[tokenKey, Credentials]
}

// New returns a Verifier for cfg, which must pass Validate.
func New(cfg Config, deps Deps) (*Verifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Discovery == nil {
		return nil, errors.New("identity: nil Discovery")
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Client == nil {
		deps.Client = &http.Client{Timeout: cfg.Timeout}
	}
	// A key set comes from the URL discovery named or from nowhere.
	deps.Client = upstream.NoRedirects(deps.Client)
	v := &Verifier{
		cfg:     cfg,
		disc:    deps.Discovery,
		fetch:   &fetcher{client: deps.Client, timeout: cfg.Timeout, now: deps.Now, slots: make(chan struct{}, maxFetches)},
		now:     deps.Now,
		authMu:  make(chan struct{}, 1),
		plugins: remoteSets{sets: map[string]*remoteSet{}, max: cfg.MaxPlugins},
		cache:   ttlcache.New[tokenKey, Credentials](cfg.CacheEntries),
	}
	for _, l := range cfg.Legacy {
		k, _ := decodeSecret(l.Secret)
		v.legacy = append(v.legacy, legacyKey{key: k, subject: l.Subject})
	}
	for _, j := range cfg.JWKS {
		v.jwks = append(v.jwks, &remoteSet{url: j.URL})
	}
	return v, nil
}

// Verify returns the credentials token stands for: ErrIllegalToken when
// no kind of token recognises it, an *AuthError when it was recognised but
// does not verify (bad signature, expired, wrong audience, a limited user
// token, a plugin without a JWKS endpoint...).
func (v *Verifier) Verify(ctx context.Context, token string) (Credentials, error) {
	key := tokenKey(sha256.Sum256([]byte(token)))
	if c, ok := v.cache.Get(key, v.now()); ok {
		return c, nil
	}
	t, ok := parseToken(token)
	if !ok {
		return Credentials{}, ErrIllegalToken
	}
	c, err := v.verify(ctx, t)
	if err != nil {
		return Credentials{}, err
	}
	now := v.now()
	exp := c.ExpiresAt
	if exp.IsZero() {
		exp = now.Add(noExpiryCacheTTL)
	}
	v.cache.Put(key, c, exp, now)
	return c, nil
}

// noExpiryCacheTTL is how long credentials without exp stay cached.
const noExpiryCacheTTL = time.Minute

func (v *Verifier) verify(ctx context.Context, t *token) (Credentials, error) {
	if t.header.Typ == TypPlugin {
		return v.verifyPlugin(ctx, t)
	}
	if t.isUserToken() {
		c, err := v.verifyUser(ctx, t)
		if err != nil {
			return Credentials{}, err
		}
		if t.header.Typ == TypLimitedUser {
			return Credentials{}, authErr(msgLimitedUser, nil)
		}
		return c, nil
	}
	if c, ok, err := v.verifyLegacy(t); ok || err != nil {
		return c, err
	}
	if c, ok := v.verifyJWKS(ctx, t); ok {
		return c, nil
	}
	return Credentials{}, ErrIllegalToken
}

// authSet is the auth backend's user-token key set.
func (v *Verifier) authSet() (*remoteSet, error) {
	v.authMu <- struct{}{}
	defer func() { <-v.authMu }()
	if v.auth != nil {
		return v.auth, nil
	}
	base, err := v.disc.BaseURL("auth")
	if err != nil {
		return nil, err
	}
	v.auth = &remoteSet{url: base + "/.well-known/jwks.json"}
	return v.auth, nil
}

// verifyUser verifies a user or limited user token with the auth JWKS.
func (v *Verifier) verifyUser(ctx context.Context, t *token) (Credentials, error) {
	set, err := v.authSet()
	if err != nil {
		return Credentials{}, authErr(msgUserFailed, err)
	}
	cl, err := v.verifySigned(ctx, t, set, asymmetric)
	if err != nil {
		return Credentials{}, authErr(msgUserFailed, err)
	}
	if t.header.Typ != "" {
		if err := cl.require("iat", "exp", "sub"); err != nil {
			return Credentials{}, authErr(msgUserFailed, err)
		}
	} else if !cl.Aud.has(legacyUserAudience) {
		return Credentials{}, authErr(msgUserFailed, errors.New("legacy user token without aud backstage"))
	}
	if err := cl.checkTimes(v.now()); err != nil {
		return Credentials{}, authErr(msgUserFailed, err)
	}
	if cl.Sub == nil || *cl.Sub == "" {
		return Credentials{}, authErr(msgNoUserSub, nil)
	}
	if cl.Exp == nil {
		return Credentials{}, authErr(msgUserNoExpiration, nil)
	}
	c := Credentials{
		Principal: abi.Principal{Type: abi.PrincipalUser, UserEntityRef: *cl.Sub},
		UserToken: t.raw,
		ExpiresAt: unixTime(*cl.Exp),
	}
	if refs, ok := cl.ent(); ok {
		c.Ownership = refs
	}
	return c, nil
}

var pluginIDPattern = regexp.MustCompile(`(?i)^[a-z0-9_-]+$`)

// verifyPlugin verifies a plugin token with the calling plugin's JWKS.
func (v *Verifier) verifyPlugin(ctx context.Context, t *token) (Credentials, error) {
	sub := ""
	if t.claims.Sub != nil {
		sub = *t.claims.Sub
	}
	if sub == "" {
		return Credentials{}, authErr(msgPluginNoSubject, nil)
	}
	if !pluginIDPattern.MatchString(sub) {
		return Credentials{}, authErr(msgPluginBadSubject, nil)
	}
	set, err := v.plugins.get(sub, func() (string, error) {
		base, err := v.disc.BaseURL(sub)
		if err != nil {
			return "", err
		}
		return base + "/.backstage/auth/v1/jwks.json", nil
	})
	if err != nil {
		return Credentials{}, authErr(msgPluginFailed, err)
	}
	cl, err := v.verifySigned(ctx, t, set, asymmetric)
	if errors.Is(err, errNoJWKS) {
		return Credentials{}, authErr(msgPluginNoJWKSStart+sub+msgPluginNoJWKSEnd, nil)
	}
	if err == nil {
		err = cl.require("iat", "exp", "sub", "aud")
	}
	if err == nil && !cl.Aud.has(v.cfg.PluginID) {
		err = fmt.Errorf("aud %v does not name %q", []string(cl.Aud), v.cfg.PluginID)
	}
	if err == nil {
		err = cl.checkTimes(v.now())
	}
	if err != nil {
		return Credentials{}, authErr(msgPluginFailed, err)
	}
	exp := unixTime(*cl.Exp)
	if cl.Obo == nil {
		return Credentials{
			Principal: abi.Principal{Type: abi.PrincipalService, Subject: "plugin:" + sub},
			ExpiresAt: exp,
		}, nil
	}
	ut, ok := parseToken(*cl.Obo)
	if !ok || !ut.isUserToken() {
		return Credentials{}, authErr(msgOBOInvalid, nil)
	}
	c, err := v.verifyUser(ctx, ut)
	if err != nil {
		return Credentials{}, err
	}
	c.Principal.Actor = &abi.Actor{Type: abi.PrincipalService, Subject: "plugin:" + sub}
	if exp.Before(c.ExpiresAt) {
		c.ExpiresAt = exp
	}
	return c, nil
}

// verifyLegacy checks legacy external-access tokens: ok is false when the
// token does not look like one (then the next kind is tried).
func (v *Verifier) verifyLegacy(t *token) (Credentials, bool, error) {
	if len(v.legacy) == 0 || t.header.Alg != "HS256" || t.claims.Sub == nil ||
		*t.claims.Sub != legacySubject || t.claims.Aud != nil {
		return Credentials{}, false, nil
	}
	for _, l := range v.legacy {
		payload, err := jws.Verify([]byte(t.raw), jws.WithKey(jwa.HS256(), l.key))
		if err != nil {
			continue
		}
		cl, err := decodeClaims(payload)
		if err == nil {
			err = cl.checkTimes(v.now())
		}
		if err != nil {
			return Credentials{}, true, authErr(msgExternalFailed, err)
		}
		c := Credentials{Principal: abi.Principal{Type: abi.PrincipalService, Subject: l.subject}}
		if cl.Exp != nil {
			c.ExpiresAt = unixTime(*cl.Exp)
		}
		return c, true, nil
	}
	return Credentials{}, false, nil
}

// verifyJWKS tries each jwks external-access entry in order; the first
// that verifies the token (and whose token has a sub) wins.
func (v *Verifier) verifyJWKS(ctx context.Context, t *token) (Credentials, bool) {
	for i, e := range v.cfg.JWKS {
		algs := asymmetric
		if len(e.Algorithms) > 0 {
			algs = e.Algorithms
		}
		cl, err := v.verifySigned(ctx, t, v.jwks[i], algs)
		if err != nil || cl.checkTimes(v.now()) != nil || cl.Sub == nil || *cl.Sub == "" {
			continue
		}
		if len(e.Issuers) > 0 && !slices.Contains(e.Issuers, cl.Iss) {
			continue
		}
		if len(e.Audiences) > 0 && !slices.ContainsFunc(e.Audiences, cl.Aud.has) {
			continue
		}
		prefix := "external:"
		if e.SubjectPrefix != "" {
			prefix += e.SubjectPrefix + ":"
		}
		c := Credentials{Principal: abi.Principal{Type: abi.PrincipalService, Subject: prefix + *cl.Sub}}
		if cl.Exp != nil {
			c.ExpiresAt = unixTime(*cl.Exp)
		}
		return c, true
	}
	return Credentials{}, false
}

// asymmetric lists the algorithms accepted for tokens verified with a
// fetched key set: never "none" or a shared-secret HMAC, which would let a
// public key be used as an HMAC secret.
var asymmetric = []string{"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"}

// verifySigned checks t's signature with the key of set its kid names and
// returns the verified claims.
func (v *Verifier) verifySigned(ctx context.Context, t *token, set *remoteSet, algs []string) (*claims, error) {
	if !slices.Contains(algs, t.header.Alg) {
		return nil, fmt.Errorf("algorithm %q not accepted", t.header.Alg)
	}
	alg, ok := jwa.LookupSignatureAlgorithm(t.header.Alg)
	if !ok {
		return nil, fmt.Errorf("unknown algorithm %q", t.header.Alg)
	}
	key, err := set.key(ctx, v.fetch, t.header.Kid)
	if err != nil {
		return nil, err
	}
	if ka, ok := key.Algorithm(); ok && ka.String() != t.header.Alg {
		return nil, fmt.Errorf("key %q is for %s, token uses %s", t.header.Kid, ka, t.header.Alg)
	}
	if err := checkKeyCost(key); err != nil {
		return nil, fmt.Errorf("key %q: %w", t.header.Kid, err)
	}
	payload, err := jws.Verify([]byte(t.raw), jws.WithKey(alg, key))
	if err != nil {
		return nil, err
	}
	return decodeClaims(payload)
}

// maxRSABits bounds the modulus of an RSA key used to check a signature,
// as Go's TLS stack bounds certificate keys: the cost of a check grows with
// the square of the modulus (a 262144-bit key costs seconds of CPU), key
// sets come from other services, and tokens that fail to verify are never
// cached, so without a bound one huge key in a key set would let anyone
// burn the host's CPU with forged tokens naming it.
const maxRSABits = 8192

// checkKeyCost refuses keys whose signature checks would cost more than
// the bound allows (RSA keys with a modulus above maxRSABits).
func checkKeyCost(key jwk.Key) error {
	// Public and private RSA keys (a set may carry either) have N.
	rk, ok := key.(interface{ N() ([]byte, bool) })
	if !ok {
		return nil
	}
	n, _ := rk.N()
	n = bytes.TrimLeft(n, "\x00")
	bits := 0
	if len(n) > 0 {
		bits = (len(n)-1)*8 + mathbits.Len8(n[0])
	}
	if bits > maxRSABits {
		return fmt.Errorf("%w: a %d-bit RSA key (at most %d bits)", errKeyTooLarge, bits, maxRSABits)
	}
	return nil
}

// token is a JWT split and decoded without verification: enough to route
// it to the right verifier.
type token struct {
	raw    string
	header header
	claims *claims
}

type header struct {
	Typ string `json:"typ"`
	Alg string `json:"alg"`
	Kid string `json:"kid"`
}

func (t *token) isUserToken() bool {
	switch t.header.Typ {
	case TypUser, TypLimitedUser:
		return true
	}
	return t.claims.Aud.has(legacyUserAudience)
}

// maxTokenBytes bounds what is decoded of an unverified token.
const maxTokenBytes = 64 << 10

func parseToken(raw string) (*token, bool) {
	if len(raw) > maxTokenBytes || strings.Count(raw, ".") != 2 {
		return nil, false
	}
	h, rest, _ := strings.Cut(raw, ".")
	p, _, _ := strings.Cut(rest, ".")
	hb, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return nil, false
	}
	t := &token{raw: raw}
	if json.Unmarshal(hb, &t.header) != nil {
		return nil, false
	}
	pb, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return nil, false
	}
	if t.claims, err = decodeClaims(pb); err != nil {
		return nil, false
	}
	return t, true
}

// claims are the registered and Backstage claims Verdict reads.
type claims struct {
	Sub *string         `json:"sub"`
	Aud audience        `json:"aud"`
	Iss string          `json:"iss"`
	Iat *float64        `json:"iat"`
	Exp *float64        `json:"exp"`
	Nbf *float64        `json:"nbf"`
	Obo *string         `json:"obo"`
	Ent json.RawMessage `json:"ent"`
}

func decodeClaims(b []byte) (*claims, error) {
	var c claims
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	return &c, nil
}

func (c *claims) require(names ...string) error {
	for _, n := range names {
		var missing bool
		switch n {
		case "sub":
			missing = c.Sub == nil
		case "aud":
			missing = c.Aud == nil
		case "iat":
			missing = c.Iat == nil
		case "exp":
			missing = c.Exp == nil
		}
		if missing {
			return fmt.Errorf("missing required %q claim", n)
		}
	}
	return nil
}

// checkTimes checks exp and nbf against now, without clock tolerance (as
// jose's jwtVerify by default).
func (c *claims) checkTimes(now time.Time) error {
	sec := float64(now.UnixNano()) / 1e9
	if c.Exp != nil && sec >= *c.Exp {
		return errors.New(`"exp" claim timestamp check failed`)
	}
	if c.Nbf != nil && sec < *c.Nbf {
		return errors.New(`"nbf" claim timestamp check failed`)
	}
	return nil
}

// ent returns the "ent" claim when it is a list of strings.
func (c *claims) ent() ([]string, bool) {
	if len(c.Ent) == 0 || bytes.Equal(c.Ent, []byte("null")) {
		return nil, false
	}
	var refs []string
	if json.Unmarshal(c.Ent, &refs) != nil {
		return nil, false
	}
	if refs == nil {
		refs = []string{}
	}
	return refs, true
}

// audience is the aud claim: a string or a list of strings.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*a = nil
		return nil
	}
	var s string
	if json.Unmarshal(b, &s) == nil {
		*a = audience{s}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return errors.New("aud must be a string or a list of strings")
	}
	*a = l
	return nil
}

func (a audience) has(s string) bool { return slices.Contains(a, s) }

func unixTime(sec float64) time.Time {
	return time.Unix(0, int64(sec*1e9))
}
