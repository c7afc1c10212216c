package identity

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/verdictpdp/verdict/host/upstream"
)

// userInfoTTL is how long an answer of user info is reused for the same
// token: Backstage's CachedUserInfoService keeps it 5 s.
const userInfoTTL = 5 * time.Second

// maxUserInfoBytes bounds a user-info answer.
const maxUserInfoBytes = 256 << 10

// ErrNoOwnership is a user whose ownership refs cannot be determined (no
// "ent" in the token, and none in the user-info answer). Backstage answers
// 500 here.
var ErrNoOwnership = errors.New("ownership entity refs can not be determined")

// UserInfo finds users' ownership refs. It is safe for concurrent use.
type UserInfo struct {
	disc    Discoverer
	client  *http.Client
	timeout time.Duration
	cache   *expiringCache[[]string]
}

// NewUserInfo returns a UserInfo that asks the auth backend found by
// deps.Discovery, each call bounded by cfg.Timeout, caching at most
// cfg.CacheEntries answers.
func NewUserInfo(cfg Config, deps Deps) (*UserInfo, error) {
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
	return &UserInfo{disc: deps.Discovery, client: deps.Client, timeout: cfg.Timeout,
		cache: newExpiringCache[[]string](cfg.CacheEntries, deps.Now)}, nil
}

// Ownership returns c's ownershipEntityRefs: c.Ownership when the token
// carried them, else GET <discovery(auth)>/v1/userinfo with c.UserToken.
// A refusal of the auth backend is an *upstream.Error carrying its status
// (Backstage passes it on); ErrNoOwnership when the answer has no refs.
// The returned slice is shared: do not modify it.
func (u *UserInfo) Ownership(ctx context.Context, c Credentials) ([]string, error) {
	if c.Ownership != nil {
		return c.Ownership, nil
	}
	if c.UserToken == "" {
		return nil, errors.New("identity: user credentials without a token")
	}
	key := tokenKey(sha256.Sum256([]byte(c.UserToken)))
	if refs, ok := u.cache.get(key); ok {
		return refs, nil
	}
	refs, err := u.fetch(ctx, c.UserToken)
	if err != nil {
		return nil, err
	}
	exp := u.cacheNow().Add(userInfoTTL)
	if !c.ExpiresAt.IsZero() && c.ExpiresAt.Before(exp) {
		exp = c.ExpiresAt
	}
	u.cache.put(key, refs, exp)
	return refs, nil
}

func (u *UserInfo) cacheNow() time.Time { return u.cache.now() }

func (u *UserInfo) fetch(ctx context.Context, userToken string) ([]string, error) {
	base, err := u.disc.BaseURL("auth")
	if err != nil {
		return nil, fmt.Errorf("user info: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, u.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/userinfo", nil)
	if err != nil {
		return nil, fmt.Errorf("user info: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+userToken)
	resp, err := u.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("user info: %w", err)
	}
	defer upstream.Drain(resp)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, upstream.FromResponse("auth user info", resp)
	}
	var body struct {
		Claims struct {
			Ent []string `json:"ent"`
		} `json:"claims"`
	}
	if err := upstream.ReadJSON(resp, maxUserInfoBytes, &body); err != nil {
		return nil, fmt.Errorf("user info: %w", err)
	}
	if body.Claims.Ent == nil {
		return nil, ErrNoOwnership
	}
	return body.Claims.Ent, nil
}
