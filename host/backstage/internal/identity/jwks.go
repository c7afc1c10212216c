package identity

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"golang.org/x/sync/singleflight"

	"github.com/verdictpdp/verdict/host/backstage/internal/upstream"
)

// Key-set refresh policy, the defaults of jose's createRemoteJWKSet that
// Backstage uses: a set is used for at most keySetMaxAge, and a token
// whose kid is unknown triggers a refetch at most once per
// keySetCooldown, so a stream of forged kids cannot hammer the JWKS
// endpoint.
const (
	keySetMaxAge   = 10 * time.Minute
	keySetCooldown = 30 * time.Second
	// maxJWKSBytes bounds a fetched key set.
	maxJWKSBytes = 256 << 10
)

// errNoJWKS is a JWKS endpoint that answered 404: the plugin has none.
var errNoJWKS = errors.New("JWKS endpoint answered 404")

// errKeyTooLarge is a key whose signature checks would cost too much.
var errKeyTooLarge = errors.New("key too large")

// errUnknownKid is a token whose kid is in no fetched key.
var errUnknownKid = errors.New("no key with the token's kid")

// remoteSet is one JWKS URL's keys, fetched on demand with jwk.Fetch.
// A set is fetched by the verification that needs it, never on a timer:
// nothing runs when nobody asks, and tests need no sleeps. The fetch
// itself belongs to no caller, as in jose's createRemoteJWKSet that
// Backstage uses: it runs detached from the request that started it
// (bounded by the fetcher's own timeout), every caller that needs the set
// meanwhile waits for that one fetch (or gives up when its own request
// ends, leaving the fetch to finish for the others), and only a fetch that
// succeeded starts the refetch cooldown. A fetch that failed, timed out or
// was abandoned by its caller leaves no state behind: the next token that
// needs the set fetches again.
type remoteSet struct {
	url string

	// flight shares one fetch between concurrent callers (key "").
	flight singleflight.Group

	mu        sync.Mutex
	set       jwk.Set   // nil until a fetch succeeded
	fetchedOK time.Time // when set was fetched
	// missingAt is when the endpoint last answered 404 (the plugin has no
	// key set): a definitive answer, kept for keySetCooldown.
	missingAt time.Time
}

// maxFetches bounds the key-set fetches in flight at once over all URLs.
// Fetches outlive the requests that start them, and plugin ids come from
// unverified tokens, so without a bound a stream of tokens naming new
// plugins could keep any number of connections open for Config.Timeout.
const maxFetches = 64

// errTooManyFetches is a fetch that found no free slot in time.
var errTooManyFetches = errors.New("too many key-set fetches in flight")

// fetcher fetches key sets.
type fetcher struct {
	client  *http.Client
	timeout time.Duration
	now     func() time.Time
	slots   chan struct{} // maxFetches
}

// fetch GETs url and parses the key set, bounded by f.timeout (waiting
// for a slot included) and maxJWKSBytes whatever ctx allows.
func (f *fetcher) fetch(ctx context.Context, url string) (jwk.Set, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	select {
	case f.slots <- struct{}{}:
		defer func() { <-f.slots }()
	case <-ctx.Done():
		return nil, fmt.Errorf("fetch %s: %w", url, errTooManyFetches)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, errNoJWKS
	}
	if err := upstream.Redirect("JWKS "+url, resp); err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch %s: status %d", url, resp.StatusCode)
	}
	body, err := readLimited(resp, maxJWKSBytes)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", url, err)
	}
	set, err := jwk.Parse(body)
	if err != nil {
		return nil, fmt.Errorf("parse JWKS of %s: %w", url, err)
	}
	return set, nil
}

// key returns the key for kid (any key of the set when kid is empty and
// the set holds exactly one), fetching the set when it is missing, older
// than keySetMaxAge, or lacks kid; a set that lacks kid is refetched at
// most once per keySetCooldown after the last successful fetch. ctx bounds
// only how long this caller waits, never the fetch.
func (r *remoteSet) key(ctx context.Context, f *fetcher, kid string) (jwk.Key, error) {
	if k, done, err := r.held(f.now(), kid); done {
		return k, err
	}
	// Detached: the caller's cancellation must not fail the fetch the
	// other callers wait for.
	detached := context.WithoutCancel(ctx)
	ch := r.flight.DoChan("", func() (any, error) { return r.refetch(detached, f) })
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		if k, ok := lookup(res.Val.(jwk.Set), kid); ok {
			return k, nil
		}
		return nil, errUnknownKid
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the key set of %s: %w", r.url, context.Cause(ctx))
	}
}

// held answers from what r holds at now when it can (done): errNoJWKS
// while the endpoint's 404 is fresh, the key when the set is fresh and has
// kid, errUnknownKid when it lacks kid but was fetched too recently to
// fetch again. done is false when the set must be fetched.
func (r *remoteSet) held(now time.Time, kid string) (k jwk.Key, done bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.missingAt.IsZero() && now.Sub(r.missingAt) < keySetCooldown {
		return nil, true, errNoJWKS
	}
	if r.set == nil || now.Sub(r.fetchedOK) >= keySetMaxAge {
		return nil, false, nil
	}
	if key, ok := lookup(r.set, kid); ok {
		return key, true, nil
	}
	if now.Sub(r.fetchedOK) < keySetCooldown {
		return nil, true, errUnknownKid
	}
	return nil, false, nil
}

// refetch fetches r's set and records the outcome: a set replaces the one
// held, a 404 starts the cooldown, any other failure leaves r as it was.
func (r *remoteSet) refetch(ctx context.Context, f *fetcher) (jwk.Set, error) {
	set, err := f.fetch(ctx, r.url)
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case errors.Is(err, errNoJWKS):
		r.missingAt = f.now()
	case err == nil:
		r.set, r.fetchedOK, r.missingAt = set, f.now(), time.Time{}
	}
	return set, err
}

// readLimited reads resp's body, failing when it is over limit bytes.
func readLimited(resp *http.Response, limit int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("answer larger than %d bytes", limit)
	}
	return body, nil
}

// lookup finds kid in set, or the one key of a set of one when kid is
// empty.
func lookup(set jwk.Set, kid string) (jwk.Key, bool) {
	if kid != "" {
		return set.LookupKeyID(kid)
	}
	if set.Len() == 1 {
		return set.Key(0)
	}
	return nil, false
}

// remoteSets holds the key sets of plugins, by plugin id. Plugin ids come
// from unverified tokens, so the table is bounded: when full it is
// emptied (a cheap, rare reset; sets are refetched on demand).
type remoteSets struct {
	mu   sync.Mutex
	sets map[string]*remoteSet
	max  int
}

// get returns plugin id's set, making one at the URL url returns when
// there is none.
func (s *remoteSets) get(id string, url func() (string, error)) (*remoteSet, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.sets[id]; ok {
		return r, nil
	}
	u, err := url()
	if err != nil {
		return nil, err
	}
	if len(s.sets) >= s.max {
		clear(s.sets)
	}
	r := &remoteSet{url: u}
	s.sets[id] = r
	return r, nil
}
