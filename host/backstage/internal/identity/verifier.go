package identity

import (
	"context"
	"crypto/sha256"
	"time"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host/backstage/internal/ttlcache"
)

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

// tokenKey is a token's SHA-256: caches never hold a token in plain.
type tokenKey [sha256.Size]byte

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
	deps, err := prepare(cfg, deps)
	if err != nil {
		return nil, err
	}
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

// verify tries the kinds of token in Backstage's order: plugin, user,
// legacy, jwks.
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
