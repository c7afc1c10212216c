package identity

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/verdictpdp/verdict/host/backstage/internal/ttlcache"
	"github.com/verdictpdp/verdict/host/backstage/internal/upstream"
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
	now     func() time.Time
	cache   *ttlcache.Cache[tokenKey, []string]
	// flight shares one call between concurrent requests with the same
	// token (keyed by its hash).
	flight singleflight.Group
}

// NewUserInfo returns a UserInfo that asks the auth backend found by
// deps.Discovery, each call bounded by cfg.Timeout, caching at most
// cfg.CacheEntries answers.
func NewUserInfo(cfg Config, deps Deps) (*UserInfo, error) {
	deps, err := prepare(cfg, deps)
	if err != nil {
		return nil, err
	}
	return &UserInfo{disc: deps.Discovery, client: deps.Client, timeout: cfg.Timeout, now: deps.Now,
		cache: ttlcache.New[tokenKey, []string](cfg.CacheEntries)}, nil
}

// Ownership returns c's ownershipEntityRefs: c.Ownership when the token
// carried them, else GET <discovery(auth)>/v1/userinfo with c.UserToken.
// A refusal of the auth backend is an *upstream.Error carrying its status
// (Backstage passes it on); ErrNoOwnership when the answer has no refs;
// ErrUserInfoSubject when it describes another user than c.
// The returned slice is shared: do not modify it.
//
// The call is shared: it runs detached from ctx with its own timeout, and
// concurrent requests with the same token wait for the same call; ctx only
// bounds how long this caller waits. A call that failed is not cached.
func (u *UserInfo) Ownership(ctx context.Context, c Credentials) ([]string, error) {
	if c.Ownership != nil {
		return c.Ownership, nil
	}
	if c.UserToken == "" {
		return nil, errors.New("identity: user credentials without a token")
	}
	key := tokenKey(sha256.Sum256([]byte(c.UserToken)))
	if refs, ok := u.cache.Get(key, u.now()); ok {
		return refs, nil
	}
	detached := context.WithoutCancel(ctx)
	ch := u.flight.DoChan(string(key[:]), func() (any, error) {
		refs, err := u.fetch(detached, c.UserToken, c.Principal.UserEntityRef)
		if err != nil {
			return nil, err
		}
		now := u.now()
		exp := now.Add(userInfoTTL)
		if !c.ExpiresAt.IsZero() && c.ExpiresAt.Before(exp) {
			exp = c.ExpiresAt
		}
		u.cache.Put(key, refs, exp, now)
		return refs, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.([]string), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("user info: %w", context.Cause(ctx))
	}
}

// fetch asks user info with userToken, whose subject is user, bounded by
// u.timeout and maxUserInfoBytes whatever ctx allows.
func (u *UserInfo) fetch(ctx context.Context, userToken, user string) ([]string, error) {
	ans, err := u.ask(ctx, userToken)
	if err != nil {
		return nil, err
	}
	return ans.ownership(user)
}

// userInfoAnswer is the part of a user-info answer Verdict reads.
type userInfoAnswer struct {
	Claims struct {
		Sub *string  `json:"sub"`
		Ent []string `json:"ent"`
	} `json:"claims"`
}

// ask makes the call: GET <discovery(auth)>/v1/userinfo with userToken.
func (u *UserInfo) ask(ctx context.Context, userToken string) (*userInfoAnswer, error) {
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
	if err := upstream.Redirect("auth user info", resp); err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, upstream.FromResponse("auth user info", resp)
	}
	var ans userInfoAnswer
	if err := upstream.ReadJSON(resp, maxUserInfoBytes, &ans); err != nil {
		return nil, fmt.Errorf("user info: %w", err)
	}
	return &ans, nil
}

// ownership returns the ownership refs of the answer about user.
//
// Backstage takes the user from the token and reads only "ent" of the
// answer; Verdict also requires the answer to name that user, so that an
// auth backend (or anything answering in its place) that mixes up users
// is refused rather than believed.
func (a *userInfoAnswer) ownership(user string) ([]string, error) {
	if a.Claims.Sub == nil || *a.Claims.Sub != user {
		return nil, fmt.Errorf("%w: the answer for %q names %s", ErrUserInfoSubject, user, quoteOrMissing(a.Claims.Sub))
	}
	if a.Claims.Ent == nil {
		return nil, ErrNoOwnership
	}
	return a.Claims.Ent, nil
}

// quoteOrMissing quotes s, or says there is none.
func quoteOrMissing(s *string) string {
	if s == nil {
		return "no user"
	}
	return strconv.Quote(*s)
}
