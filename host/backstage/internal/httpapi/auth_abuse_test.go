package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host"
	"github.com/verdictpdp/verdict/host/backstage/internal/identity"
	"github.com/verdictpdp/verdict/internal/testing/backstagetest"
	"github.com/verdictpdp/verdict/internal/testing/reliability"
)

// README, "Reliability", row 17, auth abuse: every forged, expired,
// misdirected or under-privileged credential is refused with 401/403 in the
// envelope before any guest runs, and the identity a guest sees comes only
// from the verified token. The guest is the conformance policy: for
// conf.reason it answers ALLOW with its decoded input as the reason, so the
// test reads what the guest was given.

// countingCalls counts guest calls (host.CallObserver).
type countingCalls struct{ n atomic.Int64 }

func (c *countingCalls) ObserveCall(string, time.Duration, string) { c.n.Add(1) }

// recordingHost is the real host, recording each principal it is asked
// to decide for.
type recordingHost struct {
	*host.Host
	mu         sync.Mutex
	principals []abi.Principal
}

func (r *recordingHost) Decide(ctx context.Context, p abi.Principal, qs []host.Query) (*host.Decisions, error) {
	r.mu.Lock()
	r.principals = append(r.principals, p)
	r.mu.Unlock()
	return r.Host.Decide(ctx, p, qs)
}

func (r *recordingHost) decides() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.principals)
}

// conformanceGuest finds a built conformance policy (any SDK's).
func conformanceGuest(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"rust/conformance.wasm", "conformance.wasm", "c/conformance-freestanding.wasm"} {
		path := filepath.Join("..", "..", "..", "..", "build", "sdk", p)
		if _, err := os.Stat(path); err == nil {
			return path
		}
	}
	if os.Getenv("VERDICT_REQUIRE_GUESTS") != "" {
		t.Fatal("no conformance guest under build/sdk: run `make sdks` first")
	}
	t.Skip("no conformance guest under build/sdk (run `make sdks`)")
	return ""
}

type abuseWorld struct {
	bs       *backstagetest.Backstage
	catalog  *backstagetest.Issuer
	external *backstagetest.Issuer
	calls    *countingCalls
	h        *recordingHost
	handler  func(dev bool) http.Handler
}

func newAbuseWorld(t *testing.T) *abuseWorld {
	t.Helper()
	wasm, err := os.ReadFile(conformanceGuest(t))
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "conformance.wasm"), wasm, 0o644))
	w := &abuseWorld{calls: &countingCalls{}}
	hh := NewTestHost(t, func(c *host.Config) {
		c.CallTimeout = 10 * time.Second // the race detector slows guests
		c.LoadTimeout = time.Minute
	}, host.WithCallObserver(w.calls))
	require.NoError(t, hh.LoadDir(context.Background(), dir))
	require.Equal(t, host.StatusOK, hh.Status().Policies[0].Status, hh.Status().Policies[0].Message)
	w.h = &recordingHost{Host: hh}

	w.bs = backstagetest.New(t)
	w.catalog = w.bs.AddPlugin("catalog")
	w.external = w.bs.AddPlugin("idp") // an external identity provider's keys, served by the fake
	w.bs.SetOwnership(alice, []string{alice, teamA})
	icfg := identity.DefaultConfig()
	icfg.JWKS = []identity.JWKSAccess{{URL: w.bs.URL() + "/api/idp/.backstage/auth/v1/jwks.json",
		Issuers: []string{"https://idp"}, Audiences: []string{"verdict"}, SubjectPrefix: "idp"}}
	_, tokens, users := backstageIdentity(t, w.bs, icfg)
	w.handler = func(dev bool) http.Handler {
		cfg := testConfig(dev)
		cfg.TrustedSubjects = append(cfg.TrustedSubjects, "external:idp:ci")
		h, err := New(cfg, w.h, nil, WithTokens(tokens), WithOwnership(users))
		require.NoError(t, err)
		return h
	}
	return w
}

// smuggled are identity fields a caller may put in the body, hoping the
// server reads them: Backstage's own names and Verdict's native principal.
const smuggled = `"identity":{"type":"user","userEntityRef":"user:default/mallory","ownershipEntityRefs":["group:default/admins"]},` +
	`"principal":{"type":"user","userEntityRef":"user:default/mallory","ownershipEntityRefs":["group:default/admins"]},` +
	`"credentials":{"principal":{"type":"service","subject":"mallory"}},`

// abuseBody asks conf.reason, with the smuggled identity fields.
const abuseBody = `{` + smuggled + `"items":[{"id":"a","permission":{"type":"basic","name":"conf.reason","attributes":{}}}]}`

// tamper re-signs nothing: it swaps the payload's sub for mallory and keeps
// the original signature.
func tamper(t *testing.T, tok string) string {
	t.Helper()
	c := claimsOf(t, tok)
	c["sub"] = "user:default/mallory"
	raw, err := json.Marshal(c)
	require.NoError(t, err)
	parts := strings.Split(tok, ".")
	parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, ".")
}

// unsigned is a user token for mallory with alg "none" and no signature.
func unsigned(exp time.Time) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]any{"alg": "none", "typ": backstagetest.TypUser, "kid": "auth"}) + "." +
		enc(map[string]any{"sub": "user:default/mallory", "iat": time.Now().Unix(), "exp": exp.Unix()}) + "."
}

// TestAuthAbuse: each abusive credential is refused in the envelope with
// 0 guest calls, even with identity fields in the body.
func TestAuthAbuse(t *testing.T) {
	w := newAbuseWorld(t)
	soon, past := time.Now().Add(time.Hour), time.Now().Add(-time.Minute)
	stranger := backstagetest.NewIssuer("auth") // same kid as the auth backend, another key
	ext := func(iss, aud string) func() string {
		return func() string {
			return w.external.Sign("JWT", map[string]any{"sub": "ci", "iss": iss, "aud": aud, "exp": soon.Unix()})
		}
	}
	obo := func(limited string) func() string {
		return func() string { return w.catalog.PluginToken("catalog", "permission", soon, limited) }
	}
	tests := []struct {
		name   string
		path   string
		dev    bool
		token  func() string
		header map[string]string
		status int
		errNm  string
	}{
		{name: "no token", status: 401},
		{name: "not a bearer header", header: map[string]string{"Authorization": "Basic bWFsbG9yeTpwdw=="}, status: 401},
		{name: "opaque unknown token", token: func() string { return "mallory-token-123" }, status: 401},
		{name: "unknown token in dev mode", dev: true, token: func() string { return "mallory-token-123" }, status: 401},
		{name: "user token signed by another key", token: func() string { return stranger.UserToken(alice, soon, nil) }, status: 401},
		{name: "user token with a tampered payload", token: func() string { return tamper(t, w.bs.Auth.UserToken(alice, soon, nil)) }, status: 401},
		{name: "unsigned user token (alg none)", token: func() string { return unsigned(soon) }, status: 401},
		{name: "expired user token", token: func() string { return w.bs.Auth.UserToken(alice, past, nil) }, status: 401},
		{name: "limited user token as bearer", token: func() string { return w.bs.Auth.LimitedToken(alice, soon) }, status: 401},
		{name: "plugin token for another audience", token: func() string { return w.catalog.PluginToken("catalog", "search", soon, "") }, status: 401},
		{name: "expired plugin token", token: func() string { return w.catalog.PluginToken("catalog", "permission", past, "") }, status: 401},
		{name: "plugin token whose obo is forged", token: obo(stranger.LimitedToken(alice, soon)), status: 401},
		{name: "plugin token whose obo expired", token: obo(w.bs.Auth.LimitedToken(alice, past)), status: 401},
		{name: "external token from another issuer", token: ext("https://evil", "verdict"), status: 401},
		{name: "external token for another audience", token: ext("https://idp", "other"), status: 401},
		{name: "plugin service principal where a user is required", token: obo(""), status: 403},
		{name: "external service principal where a user is required", token: ext("https://idp", "verdict"), status: 403},
		{name: "static service principal where a user is required", token: func() string { return trustedToken }, status: 403},
		{name: "native: no token", path: "/v1/authorize", status: 401},
		{name: "native: user token cannot assert principals", path: "/v1/authorize", token: func() string { return w.bs.Auth.UserToken(alice, soon, nil) }, status: 403},
		{name: "native: on-behalf-of token cannot assert principals", path: "/v1/authorize", token: obo(w.bs.Auth.LimitedToken(alice, soon)), status: 403},
		{name: "native: untrusted service", path: "/v1/authorize", token: func() string { return serviceToken }, status: 403},
		{name: "native: forged external token", path: "/v1/authorize", token: func() string {
			return backstagetest.NewIssuer("idp").Sign("JWT", map[string]any{"sub": "ci", "iss": "https://idp", "aud": "verdict", "exp": soon.Unix()})
		}, status: 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path, url := authorizePath, "/authorize"
			if tc.path != "" {
				path, url = tc.path, tc.path
			}
			rq := req{path: path, body: abuseBody, header: tc.header}
			if tc.token != nil {
				rq.token = tc.token()
			}
			name := map[int]string{401: "AuthenticationError", 403: "NotAllowedError"}[tc.status]
			requireEnvelope(t, do(t, w.handler(tc.dev), rq), tc.status, name, url)
			require.Zero(t, w.calls.n.Load(), "guest calls")
			require.Zero(t, w.h.decides(), "the host was asked to decide")
		})
	}
	reliability.Record(t, 17, "abusive credentials refused with 401/403 and the envelope, guest calls", "%d of %d, %d guest calls",
		len(tests), len(tests), w.calls.n.Load())
}

// TestIdentityOnlyFromToken: accepted callers are decided as their token
// says, whatever identity the body or headers claim; the guest's decoded
// input (conf.reason's echo) shows it.
func TestIdentityOnlyFromToken(t *testing.T) {
	w := newAbuseWorld(t)
	soon := time.Now().Add(time.Hour)
	tests := []struct {
		name  string
		dev   bool
		token func() string
		echo  string // the guest's decoded principal, from conf.reason
	}{
		{name: "direct user", token: func() string { return w.bs.Auth.UserToken(alice, soon, nil) },
			echo: "principal=user user=user:default/alice subject=- actor=- owners=user:default/alice,group:default/team-a"},
		{name: "user through a plugin", token: func() string {
			return w.catalog.PluginToken("catalog", "permission", soon, w.bs.Auth.LimitedToken(alice, soon))
		}, echo: "principal=user user=user:default/alice subject=- actor=plugin:catalog owners=user:default/alice,group:default/team-a"},
		{name: "dev mode without a token", dev: true,
			echo: "principal=none user=- subject=- actor=- owners="},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := w.calls.n.Load()
			rq := req{path: authorizePath, body: abuseBody, header: map[string]string{
				"X-Backstage-User": "user:default/mallory", "X-Forwarded-User": "user:default/mallory"}}
			if tc.token != nil {
				rq.token = tc.token()
			}
			r := do(t, w.handler(tc.dev), rq)
			require.Equal(t, http.StatusOK, r.status, r.body)
			var got struct {
				Items []struct{ ID, Result, Reason string } `json:"items"`
			}
			require.NoError(t, json.Unmarshal([]byte(r.body), &got))
			require.Len(t, got.Items, 1)
			require.Equal(t, "ALLOW", got.Items[0].Result)
			require.Equal(t, "conformance: name=conf.reason type=basic action=- resourceType=- ref=- "+tc.echo, got.Items[0].Reason)
			require.NotContains(t, r.body, "mallory")
			require.NotContains(t, r.body, "admins")
			require.Equal(t, int64(1), w.calls.n.Load()-before, "one guest call")
		})
	}
}
