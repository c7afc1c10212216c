package identity_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host/backstage/internal/discovery"
	"github.com/verdictpdp/verdict/host/backstage/internal/identity"
	"github.com/verdictpdp/verdict/host/backstage/internal/upstream"
	"github.com/verdictpdp/verdict/internal/testing/backstagetest"
)

// front stands in front of a fake Backstage: a request to a path with a
// queued hook is answered by the hook (once), everything else by the fake.
type front struct {
	bs  *backstagetest.Backstage
	srv *httptest.Server

	mu    sync.Mutex
	hooks map[string][]http.HandlerFunc
}

func newFront(t *testing.T) *front {
	t.Helper()
	f := &front{bs: backstagetest.New(t), hooks: map[string][]http.HandlerFunc{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		var h http.HandlerFunc
		if q := f.hooks[r.URL.Path]; len(q) > 0 {
			h, f.hooks[r.URL.Path] = q[0], q[1:]
		}
		f.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		f.bs.Server.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// next queues h for the next request to path.
func (f *front) next(path string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hooks[path] = append(f.hooks[path], h)
}

// pass answers like the fake.
func (f *front) pass(w http.ResponseWriter, r *http.Request) {
	f.bs.Server.Config.Handler.ServeHTTP(w, r)
}

// gate returns a hook that reports each request on arrived, then waits for
// release before answering like the fake.
func (f *front) gate(arrived chan<- struct{}, release <-chan struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		f.pass(w, r)
	}
}

// hang never answers: it returns when the client gives up.
func hang(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

// megabytes answers 200 with 4 MiB of JSON-looking bytes.
func megabytes(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	chunk := []byte(strings.Repeat(" ", 64<<10))
	_, _ = w.Write([]byte(`{"claims":{"ent":[`))
	for range 64 {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
}

func fail(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "upstream trouble", http.StatusInternalServerError)
}

// newFrontVerifier returns a Verifier and UserInfo that find Backstage
// through f, with the given fetch timeout and a clock that never moves
// (so no cooldown ever ends by itself).
func newFrontVerifier(t *testing.T, f *front, timeout time.Duration) (*identity.Verifier, *identity.UserInfo) {
	t.Helper()
	d, err := discovery.New(discovery.Config{BaseURL: f.srv.URL})
	require.NoError(t, err)
	cfg := identity.DefaultConfig()
	cfg.Timeout = timeout
	now := time.Now()
	deps := identity.Deps{Discovery: d, Now: func() time.Time { return now }}
	v, err := identity.New(cfg, deps)
	require.NoError(t, err)
	ui, err := identity.NewUserInfo(cfg, deps)
	require.NoError(t, err)
	return v, ui
}

// TestSharedFetchFailureDoesNotLockOut: a key-set fetch that its caller
// abandons, that times out, fails or answers megabytes must not make the
// next valid token fail (no cooldown after anything but a successful
// fetch). Before, the first three started the 30 s cooldown with the
// error, so one aborted request with a forged kid locked out every new
// user for 30 s.
func TestSharedFetchFailureDoesNotLockOut(t *testing.T) {
	soon := time.Now().Add(time.Hour)
	tests := []struct {
		name string
		// first runs the failing verification; it must fail.
		first func(t *testing.T, f *front, v *identity.Verifier)
	}{
		{name: "caller with an unknown kid aborts while the fetch is in flight", first: func(t *testing.T, f *front, v *identity.Verifier) {
			arrived, release := make(chan struct{}, 1), make(chan struct{})
			f.next(backstagetest.AuthJWKSPath, f.gate(arrived, release))
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				_, err := v.Verify(ctx, backstagetest.NewIssuer("forged").UserToken(alice, soon, nil))
				done <- err
			}()
			<-arrived
			cancel()
			err := <-done
			require.ErrorIs(t, err, context.Canceled, "the caller stops waiting when its request ends")
			close(release)
		}},
		{name: "fetch times out", first: func(t *testing.T, f *front, v *identity.Verifier) {
			f.next(backstagetest.AuthJWKSPath, hang)
			_, err := v.Verify(context.Background(), f.bs.Auth.UserToken(alice, soon.Add(-time.Second), nil))
			require.ErrorContains(t, err, "deadline exceeded")
		}},
		{name: "endpoint fails", first: func(t *testing.T, f *front, v *identity.Verifier) {
			f.next(backstagetest.AuthJWKSPath, fail)
			_, err := v.Verify(context.Background(), f.bs.Auth.UserToken(alice, soon.Add(-time.Second), nil))
			require.ErrorContains(t, err, "status 500")
		}},
		{name: "endpoint answers megabytes", first: func(t *testing.T, f *front, v *identity.Verifier) {
			f.next(backstagetest.AuthJWKSPath, megabytes)
			_, err := v.Verify(context.Background(), f.bs.Auth.UserToken(alice, soon.Add(-time.Second), nil))
			require.ErrorContains(t, err, "answer larger than 262144 bytes")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFront(t)
			v, _ := newFrontVerifier(t, f, 200*time.Millisecond)
			tc.first(t, f, v)
			c, err := v.Verify(context.Background(), f.bs.Auth.UserToken(alice, soon, nil))
			require.NoError(t, err, "a valid token verifies right after another caller's failed fetch")
			require.Equal(t, abi.Principal{Type: abi.PrincipalUser, UserEntityRef: alice}, c.Principal)
		})
	}
}

// TestSharedFetchIsShared: callers that need the same key set while it is
// being fetched wait for that one fetch.
func TestSharedFetchIsShared(t *testing.T) {
	f := newFront(t)
	v, _ := newFrontVerifier(t, f, 5*time.Second)
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	f.next(backstagetest.AuthJWKSPath, f.gate(arrived, release))
	const callers = 8
	errs := make(chan error, callers)
	for i := range callers {
		go func() {
			_, err := v.Verify(context.Background(), f.bs.Auth.UserToken(alice, time.Now().Add(time.Hour+time.Duration(i)*time.Second), nil))
			errs <- err
		}()
	}
	<-arrived
	close(release)
	for range callers {
		require.NoError(t, <-errs)
	}
	require.Equal(t, 1, f.bs.JWKSFetches(backstagetest.AuthJWKSPath), "one fetch for every caller")
}

// TestUserInfoShared: a user-info call belongs to no single request: one
// whose caller went away still completes and is cached for the next
// request with the same token; failures are not cached.
func TestUserInfoShared(t *testing.T) {
	f := newFront(t)
	v, ui := newFrontVerifier(t, f, 5*time.Second)
	f.bs.SetOwnership(alice, []string{alice, "group:default/team-a"})
	c, err := v.Verify(context.Background(), f.bs.Auth.UserToken(alice, time.Now().Add(time.Hour), nil))
	require.NoError(t, err)

	arrived, release := make(chan struct{}, 1), make(chan struct{})
	f.next("/api/auth/v1/userinfo", f.gate(arrived, release))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := ui.Ownership(ctx, c)
		done <- err
	}()
	<-arrived
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	close(release)

	refs, err := ui.Ownership(context.Background(), c)
	require.NoError(t, err)
	require.Equal(t, []string{alice, "group:default/team-a"}, refs)
	require.Equal(t, 1, f.bs.UserInfoCalls(), "the abandoned call was finished and shared, not repeated")
}

// TestUserInfoRefusals: user-info answers Verdict must not believe, each
// refused with an error (500 at the HTTP layer), never ownership.
func TestUserInfoRefusals(t *testing.T) {
	answer := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(body))
		}
	}
	tests := []struct {
		name string
		hook http.HandlerFunc
		want string
		is   error
	}{
		{name: "names another user", hook: answer(`{"claims":{"sub":"user:default/mallory","ent":["group:default/admins"]}}`),
			is: identity.ErrUserInfoSubject},
		{name: "names no user", hook: answer(`{"claims":{"ent":["group:default/admins"]}}`), is: identity.ErrUserInfoSubject},
		{name: "hangs", hook: hang, want: "deadline exceeded"},
		{name: "answers megabytes", hook: megabytes, want: "answer too large: more than 262144 bytes"},
		{name: "ent is not a list of strings", hook: answer(`{"claims":{"sub":"` + alice + `","ent":[1]}}`), want: "decode answer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFront(t)
			v, ui := newFrontVerifier(t, f, 200*time.Millisecond)
			f.bs.SetOwnership(alice, []string{alice})
			c, err := v.Verify(context.Background(), f.bs.Auth.UserToken(alice, time.Now().Add(time.Hour), nil))
			require.NoError(t, err)
			f.next("/api/auth/v1/userinfo", tc.hook)
			refs, err := ui.Ownership(context.Background(), c)
			require.Nil(t, refs)
			if tc.is != nil {
				require.ErrorIs(t, err, tc.is)
			} else {
				require.ErrorContains(t, err, tc.want)
			}
			// Not cached: the next call asks again and gets the truth.
			refs, err = ui.Ownership(context.Background(), c)
			require.NoError(t, err)
			require.Equal(t, []string{alice}, refs)
		})
	}
}

// TestNoRedirects: the auth backend's JWKS and user info are read from
// the URL discovery names or not at all: a redirect is refused, so a
// forged key set elsewhere never verifies a token and the user's token
// never travels to another server. Before, net/http followed both (with
// the user's token when the target had the same hostname).
func TestNoRedirects(t *testing.T) {
	forger := backstagetest.NewIssuer("forged")
	var mu sync.Mutex
	var heard []string
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		heard = append(heard, r.URL.Path+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "jwks.json") {
			_, _ = w.Write(forger.JWKS())
			return
		}
		_, _ = w.Write([]byte(`{"claims":{"sub":"` + alice + `","ent":["group:default/admins"]}}`))
	}))
	defer evil.Close()
	redirect := func(to string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, evil.URL+to, http.StatusFound) }
	}
	soon := time.Now().Add(time.Hour)

	t.Run("JWKS", func(t *testing.T) {
		f := newFront(t)
		v, _ := newFrontVerifier(t, f, 5*time.Second)
		f.next(backstagetest.AuthJWKSPath, redirect("/jwks.json"))
		_, err := v.Verify(context.Background(), forger.UserToken(alice, soon, nil))
		require.ErrorIs(t, err, upstream.ErrRedirect)
	})
	t.Run("user info", func(t *testing.T) {
		f := newFront(t)
		v, ui := newFrontVerifier(t, f, 5*time.Second)
		c, err := v.Verify(context.Background(), f.bs.Auth.UserToken(alice, soon, nil))
		require.NoError(t, err)
		f.next("/api/auth/v1/userinfo", redirect("/userinfo"))
		refs, err := ui.Ownership(context.Background(), c)
		require.ErrorIs(t, err, upstream.ErrRedirect)
		require.Nil(t, refs)
	})
	mu.Lock()
	defer mu.Unlock()
	require.Empty(t, heard, "the redirect target was called")
}

// TestNoJWKSKeptForCooldown: a plugin's 404 on its JWKS is a definitive
// answer, kept for the cooldown like a fetched set: a plugin without a key
// set that calls on every request does not cost a fetch each time.
func TestNoJWKSKeptForCooldown(t *testing.T) {
	f := newFront(t)
	v, _ := newFrontVerifier(t, f, 5*time.Second)
	issuer := backstagetest.NewIssuer("legacy-key")
	for i := range 3 {
		_, err := v.Verify(context.Background(), issuer.PluginToken("legacyplugin", "permission", time.Now().Add(time.Hour+time.Duration(i)*time.Second), ""))
		var ae *identity.AuthError
		require.ErrorAs(t, err, &ae)
		require.Contains(t, ae.Message, "does not have a JWKS endpoint")
	}
	require.Equal(t, 1, f.bs.JWKSFetches("/api/legacyplugin/.backstage/auth/v1/jwks.json"))
}
