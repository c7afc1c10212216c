package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host"
)

var errSecret = errors.New("secret detail of the host")

func errDeadline() error { return fmt.Errorf("decide: %w", context.DeadlineExceeded) }

func TestRoutes(t *testing.T) {
	tests := []struct {
		name   string
		req    req
		status int
		body   string // exact body, when set
		errNm  string // envelope error name, when set
		url    string
		allow  string
	}{
		{name: "GET authorize is 404 with an empty body", req: req{method: "GET", path: authorizePath, token: serviceToken}, status: 404, body: ""},
		{name: "unknown path under base is 404 with an empty body", req: req{method: "GET", path: "/api/permission/nope", token: serviceToken}, status: 404, body: ""},
		{name: "Backstage health is open", req: req{method: "GET", path: "/api/permission/health"}, status: 200, body: `{"status":"ok"}`},
		{name: "healthz", req: req{method: "GET", path: "/healthz"}, status: 200, body: `{"status":"ok"}`},
		{name: "unknown route", req: req{method: "GET", path: "/nope?x=1"}, status: 404, errNm: "NotFoundError", url: "/nope?x=1"},
		{name: "wrong method on native route", req: req{method: "GET", path: "/v1/authorize", token: trustedToken}, status: 405, errNm: "MethodNotAllowedError", url: "/v1/authorize", allow: "POST"},
		{name: "wrong method on healthz", req: req{method: "DELETE", path: "/healthz"}, status: 405, errNm: "MethodNotAllowedError", url: "/healthz", allow: "GET"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := newTestServer(t, testConfig(false))
			r := do(t, h, tc.req)
			if tc.errNm != "" {
				requireEnvelope(t, r, tc.status, tc.errNm, tc.url)
				require.Equal(t, tc.allow, r.header.Get("Allow"))
				return
			}
			require.Equal(t, tc.status, r.status)
			require.Equal(t, tc.body, r.body)
			if tc.body != "" {
				require.Equal(t, contentTypeJSON, r.header.Get("Content-Type"))
			}
		})
	}
}

func TestReadyz(t *testing.T) {
	h, f := newTestServer(t, testConfig(false))
	f.ready = host.ErrNoSnapshot
	e := requireEnvelope(t, do(t, h, req{method: "GET", path: "/readyz"}), 503, "ServiceUnavailableError", "/readyz")
	require.Equal(t, host.ErrNoSnapshot.Error(), e.Error.Message)
	f.ready = nil
	r := do(t, h, req{method: "GET", path: "/readyz"})
	require.Equal(t, 200, r.status)
	require.JSONEq(t, `{"status":"ok"}`, r.body)
}

func TestNativeAccess(t *testing.T) {
	body := `{"principal":{"type":"none"},"items":[` + basicAllow + `]}`
	tests := []struct {
		name   string
		dev    bool
		path   string
		method string
		token  string
		status int
		errNm  string
	}{
		{name: "authorize: no token", path: "/v1/authorize", status: 401, errNm: "AuthenticationError"},
		{name: "authorize: unknown token", path: "/v1/authorize", token: "nope-nope-nope", status: 401, errNm: "AuthenticationError"},
		{name: "authorize: untrusted token", path: "/v1/authorize", token: serviceToken, status: 403, errNm: "NotAllowedError"},
		{name: "authorize: trusted token", path: "/v1/authorize", token: trustedToken, status: 200},
		{name: "authorize: dev mode is open", dev: true, path: "/v1/authorize", status: 200},
		{name: "policies: no token", path: "/v1/policies", method: "GET", status: 401, errNm: "AuthenticationError"},
		{name: "policies: untrusted token", path: "/v1/policies", method: "GET", token: serviceToken, status: 403, errNm: "NotAllowedError"},
		{name: "policies: trusted token", path: "/v1/policies", method: "GET", token: trustedToken, status: 200},
		{name: "policies: dev mode is open", dev: true, path: "/v1/policies", method: "GET", status: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, f := newTestServer(t, testConfig(tc.dev))
			f.status = host.Status{Generation: 3, Policies: []host.PolicyStatus{{Name: "allow-all", File: "allow-all.wasm",
				Status: host.StatusOK, Claims: []string{"*"}, LoadedAt: time.Unix(0, 0).UTC()}}}
			rq := req{method: tc.method, path: tc.path, token: tc.token}
			if tc.method == "" {
				rq.body = body
			}
			r := do(t, h, rq)
			if tc.errNm != "" {
				requireEnvelope(t, r, tc.status, tc.errNm, tc.path)
				require.Zero(t, f.numCalls())
				return
			}
			require.Equal(t, tc.status, r.status, r.body)
			if tc.path == "/v1/policies" {
				var st host.Status
				require.NoError(t, json.Unmarshal([]byte(r.body), &st))
				require.Equal(t, uint64(3), st.Generation)
				require.Len(t, st.Policies, 1)
				require.Equal(t, "allow-all", st.Policies[0].Name)
			}
		})
	}
}

func TestNativeAuthorize(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		ct     string
		status int
		errNm  string
		want   string // JSON answer or zod issues
	}{
		{name: "user principal, query variant allowed (no direct-user rule)",
			body: `{"principal":{"type":"user","userEntityRef":"user:default/alice","ownershipEntityRefs":["group:default/a"]},
				"items":[{"id":"q","permission":{"type":"resource","name":"c.cond","attributes":{},"resourceType":"catalog-entity"}}]}`,
			status: 200,
			want: `{"generation":7,"items":[{"id":"q","result":"CONDITIONAL","pluginId":"catalog","resourceType":"catalog-entity",
				"conditions":{"rule":"IS_ENTITY_OWNER","resourceType":"catalog-entity","params":{"claims":["user:default/alice"]}},"reason":"owner rule"}]}`},
		{name: "CONDITIONAL with a ref is DENY",
			body: `{"principal":{"type":"service","subject":"s"},
				"items":[{"id":"q","resourceRef":"component:default/x","permission":{"type":"resource","name":"c.cond","attributes":{},"resourceType":"catalog-entity"}}]}`,
			status: 200,
			want:   `{"generation":7,"items":[{"id":"q","result":"DENY","reason":"` + reasonNoResolver + `; owner rule"}]}`},
		{name: "missing principal", body: `{"items":[]}`, status: 400, errNm: "InputError",
			want: `[{"code":"invalid_type","expected":"object","received":"undefined","path":["principal"],"message":"Required"}]`},
		{name: "principal without type", body: `{"principal":{},"items":[]}`, status: 400, errNm: "InputError",
			want: `[{"code":"invalid_type","expected":"'user' | 'service' | 'none'","received":"undefined","path":["principal","type"],"message":"Required"}]`},
		{name: "unknown principal type", body: `{"principal":{"type":"robot"},"items":[]}`, status: 400, errNm: "InputError",
			want: `[{"received":"robot","code":"invalid_enum_value","options":["user","service","none"],"path":["principal","type"],"message":"Invalid enum value. Expected 'user' | 'service' | 'none', received 'robot'"}]`},
		{name: "user without userEntityRef", body: `{"principal":{"type":"user"},"items":[]}`, status: 400, errNm: "InputError",
			want: `[{"code":"invalid_type","expected":"string","received":"undefined","path":["principal","userEntityRef"],"message":"Required"}]`},
		{name: "user with empty userEntityRef and bad items", body: `{"principal":{"type":"user","userEntityRef":""},"items":{}}`, status: 400, errNm: "InputError",
			want: `[{"code":"too_small","minimum":1,"type":"string","inclusive":true,"exact":false,"message":"String must contain at least 1 character(s)","path":["principal","userEntityRef"]},
				{"code":"invalid_type","expected":"array","received":"object","path":["items"],"message":"Expected array, received object"}]`},
		{name: "not JSON", body: `{"principal":{"type":"none"},"items":[]}`, ct: "text/plain", status: 415, errNm: "UnsupportedMediaTypeError"},
		{name: "batch over limit", body: `{"principal":{"type":"none"},` + manyItems(1001)[1:], status: 400, errNm: "InputError"},
		{name: "depth bomb", body: `{"principal":{"type":"none"},"items":` + depthBomb(40)[10:], status: 400, errNm: "InputError"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, f := newTestServer(t, testConfig(true))
			r := do(t, h, req{path: "/v1/authorize", body: tc.body, contentType: tc.ct})
			if tc.errNm != "" {
				e := requireEnvelope(t, r, tc.status, tc.errNm, "/v1/authorize")
				if tc.want != "" {
					require.JSONEq(t, tc.want, e.Error.Message)
				}
				require.Zero(t, f.numCalls())
				return
			}
			require.Equal(t, tc.status, r.status, r.body)
			require.JSONEq(t, tc.want, r.body)
		})
	}
}

func TestNativePrincipalDecoded(t *testing.T) {
	h, f := newTestServer(t, testConfig(true))
	body := `{"principal":{"type":"user","userEntityRef":"user:default/alice","ownershipEntityRefs":["group:default/a"],
		"actor":{"type":"service","subject":"plugin:catalog"},"extra":true},"items":[` + basicAllow + `]}`
	r := do(t, h, req{path: "/v1/authorize", body: body})
	require.Equal(t, http.StatusOK, r.status, r.body)
	p := f.lastCall(t).principal
	require.Equal(t, "user", p.Type)
	require.Equal(t, "user:default/alice", p.UserEntityRef)
	require.Equal(t, []string{"group:default/a"}, p.OwnershipEntityRefs)
	require.NotNil(t, p.Actor)
	require.Equal(t, "plugin:catalog", p.Actor.Subject)
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		errs   []string
	}{
		{name: "defaults", change: func(*Config) {}},
		{name: "base path without slash", change: func(c *Config) { c.BasePath = "api" }, errs: []string{"basePath"}},
		{name: "base path with trailing slash", change: func(c *Config) { c.BasePath = "/api/" }, errs: []string{"basePath"}},
		{name: "base path colliding", change: func(c *Config) { c.BasePath = "/v1" }, errs: []string{"basePath"}},
		{name: "zero limits", change: func(c *Config) { c.Limits = Limits{} },
			errs: []string{"limits.bodyBytes", "limits.bodyBytesInFlight: must be positive", "limits.batchItems", "limits.jsonDepth", "limits.requestTimeout"}},
		{name: "body budget below the body limit", change: func(c *Config) { c.Limits.BodyBytesInFlight = c.Limits.BodyBytes - 1 },
			errs: []string{"limits.bodyBytesInFlight: must be at least limits.bodyBytes"}},
		{name: "short token", change: func(c *Config) { c.StaticTokens = []StaticToken{{Token: "short", Subject: "s"}} },
			errs: []string{"staticTokens[0]: token"}},
		{name: "token with space", change: func(c *Config) { c.StaticTokens = []StaticToken{{Token: "a long token", Subject: "s"}} },
			errs: []string{"staticTokens[0]: token"}},
		{name: "duplicate token and no subject", change: func(c *Config) {
			c.StaticTokens = []StaticToken{{Token: "abcdefgh12", Subject: "s"}, {Token: "abcdefgh12"}}
		}, errs: []string{"staticTokens[1]: subject", "staticTokens[1]: same token"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.change(&c)
			err := c.Validate()
			if len(tc.errs) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, e := range tc.errs {
				require.Contains(t, err.Error(), e)
			}
			require.NotContains(t, err.Error(), "abcdefgh12", "errors must not show tokens")
			_, nerr := New(c, &fakeDecider{}, nil)
			require.Error(t, nerr)
		})
	}
}

func TestNewRefusesNilDecider(t *testing.T) {
	_, err := New(DefaultConfig(), nil, nil)
	require.Error(t, err)
}

func TestPanicIsAnEnvelope(t *testing.T) {
	h, err := New(testConfig(true), panicDecider{&fakeDecider{}}, nil)
	require.NoError(t, err)
	r := do(t, h, req{path: authorizePath, body: validBody})
	e := requireEnvelope(t, r, 500, "Error", "/authorize")
	require.Equal(t, "internal error", e.Error.Message)
}

// panicDecider panics in Decide.
type panicDecider struct{ *fakeDecider }

func (panicDecider) Decide(context.Context, abi.Principal, []host.Query) (*host.Decisions, error) {
	panic("boom")
}

func TestCORS(t *testing.T) {
	cfg := testConfig(true)
	cfg.CORS = CORS{Origins: []string{"https://backstage.example.com"}, Credentials: true}
	h, _ := newTestServer(t, cfg)
	preflight := httptest.NewRequest(http.MethodOptions, "/api/permission/authorize", nil)
	preflight.Header.Set("Origin", "https://backstage.example.com")
	preflight.Header.Set("Access-Control-Request-Method", "POST")
	preflight.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, preflight)
	require.Equal(t, http.StatusNoContent, w.Code)
	require.Equal(t, "https://backstage.example.com", w.Header().Get("Access-Control-Allow-Origin"))
	require.Equal(t, "true", w.Header().Get("Access-Control-Allow-Credentials"))
	require.Contains(t, w.Header().Get("Access-Control-Allow-Headers"), "Authorization")
	require.Contains(t, w.Header().Get("Access-Control-Allow-Methods"), "POST")

	// The actual request carries the headers too.
	r := httptest.NewRequest(http.MethodPost, "/api/permission/authorize", strings.NewReader(`{"items":[]}`))
	r.Header.Set("Origin", "https://backstage.example.com")
	r.Header.Set("Content-Type", "application/json")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	require.Equal(t, http.StatusOK, w.Code)
	require.Equal(t, "https://backstage.example.com", w.Header().Get("Access-Control-Allow-Origin"))

	// Another origin gets no CORS headers, so its browser refuses the answer.
	preflight.Header.Set("Origin", "https://evil.example.com")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, preflight)
	require.Empty(t, w.Header().Get("Access-Control-Allow-Origin"))

	// Without configured origins nothing changes.
	h, _ = newTestServer(t, testConfig(true))
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	require.Empty(t, w.Header().Get("Access-Control-Allow-Origin"))

	bad := testConfig(true)
	bad.CORS = CORS{Origins: []string{"*"}, Credentials: true}
	require.ErrorContains(t, bad.Validate(), `"*" cannot be used with cors.credentials`)
	bad.CORS = CORS{Origins: []string{"backstage.example.com"}}
	require.ErrorContains(t, bad.Validate(), "is not an origin")
}

// TestIdentityBeforeRouting: as Backstage's credentials barrier, every
// request under the base path except /health and the JWKS route, and
// every request under /v1/, checks credentials before routing: an
// unauthenticated caller gets 401 in the envelope whatever the path or
// method, and learns nothing about which routes exist. With a valid token
// the answers are as before. Over real HTTP.
func TestIdentityBeforeRouting(t *testing.T) {
	tests := []struct {
		name   string
		dev    bool
		method string
		path   string
		token  string
		status int
		errNm  string // envelope error name; "" for an empty body
		url    string
	}{
		{name: "GET authorize without a token", method: "GET", path: authorizePath, status: 401, errNm: "AuthenticationError", url: "/authorize"},
		{name: "GET authorize with a bad token", method: "GET", path: authorizePath, token: "nope-nope-nope", status: 401, errNm: "AuthenticationError", url: "/authorize"},
		{name: "GET authorize with a valid token", method: "GET", path: authorizePath, token: userToken, status: 404},
		{name: "GET authorize by a service", method: "GET", path: authorizePath, token: serviceToken, status: 404},
		{name: "unknown path without a token", method: "GET", path: "/api/permission/admin?x=1", status: 401, errNm: "AuthenticationError", url: "/admin?x=1"},
		{name: "unknown path with a valid token", method: "GET", path: "/api/permission/admin", token: userToken, status: 404},
		{name: "the base path itself without a token", method: "GET", path: "/api/permission", status: 401, errNm: "AuthenticationError", url: "/"},
		{name: "DELETE health is open (404)", method: "DELETE", path: "/api/permission/health", status: 404},
		{name: "below health is open (404)", method: "GET", path: "/api/permission/health/x", status: 404},
		{name: "healthy lookalike is not health", method: "GET", path: "/api/permission/healthy", status: 401, errNm: "AuthenticationError", url: "/healthy"},
		{name: "POST jwks without a token", method: "POST", path: "/api/permission/.backstage/auth/v1/jwks.json", status: 401, errNm: "AuthenticationError",
			url: "/.backstage/auth/v1/jwks.json"},
		{name: "GET jwks without keys is 404", method: "GET", path: "/api/permission/.backstage/auth/v1/jwks.json", status: 404},
		{name: "dev mode: unknown path is 404", dev: true, method: "GET", path: "/api/permission/admin", status: 404},
		{name: "GET v1/authorize without a token", method: "GET", path: "/v1/authorize", status: 401, errNm: "AuthenticationError", url: "/v1/authorize"},
		{name: "GET v1/authorize by an untrusted caller", method: "GET", path: "/v1/authorize", token: serviceToken, status: 403, errNm: "NotAllowedError", url: "/v1/authorize"},
		{name: "GET v1/authorize by a trusted caller", method: "GET", path: "/v1/authorize", token: trustedToken, status: 405, errNm: "MethodNotAllowedError", url: "/v1/authorize"},
		{name: "unknown v1 path without a token", method: "GET", path: "/v1/secrets", status: 401, errNm: "AuthenticationError", url: "/v1/secrets"},
		{name: "unknown v1 path by a trusted caller", method: "GET", path: "/v1/secrets", token: trustedToken, status: 404, errNm: "NotFoundError", url: "/v1/secrets"},
		{name: "unknown path elsewhere stays open", method: "GET", path: "/nope", status: 404, errNm: "NotFoundError", url: "/nope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, f := newTestServerWithUsers(t, testConfig(tc.dev))
			srv := httptest.NewServer(h)
			defer srv.Close()
			rq, err := http.NewRequest(tc.method, srv.URL+tc.path, nil)
			require.NoError(t, err)
			if tc.token != "" {
				rq.Header.Set("Authorization", "Bearer "+tc.token)
			}
			res, err := srv.Client().Do(rq)
			require.NoError(t, err)
			defer res.Body.Close()
			b, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			r := resp{status: res.StatusCode, header: res.Header, body: string(b)}
			if tc.errNm == "" {
				require.Equal(t, tc.status, r.status, r.body)
				require.Empty(t, r.body)
				return
			}
			requireEnvelope(t, r, tc.status, tc.errNm, tc.url)
			require.Zero(t, f.numCalls())
		})
	}
}

// TestIdentityBeforePathCleaning: a path that is not in clean form (a
// doubled slash, a dot segment) is still a request under the base path or
// /v1/ and passes the credentials barrier first: no redirect to the clean
// path (the router's default) that would answer an unauthenticated caller
// before identity and tell it which routes exist. Backstage's router does
// not clean paths either: with a token such a path is a plain 404. Over
// real HTTP, without following redirects.
func TestIdentityBeforePathCleaning(t *testing.T) {
	tests := []struct {
		name   string
		method string
		path   string
		token  string
		status int
		errNm  string // envelope error name; "" for an empty body
		url    string
	}{
		{name: "doubled slash before authorize", method: "POST", path: "/api/permission//authorize", status: 401, errNm: "AuthenticationError", url: "//authorize"},
		{name: "doubled slash before the base path", method: "POST", path: "//api/permission/authorize", status: 404, errNm: "NotFoundError", url: "//api/permission/authorize"},
		{name: "dot segment", method: "GET", path: "/api/permission/./authorize", status: 401, errNm: "AuthenticationError", url: "/./authorize"},
		{name: "dot-dot out of the base path", method: "GET", path: "/api/permission/../../v1/policies", status: 401, errNm: "AuthenticationError", url: "/../../v1/policies"},
		{name: "doubled slash in v1", method: "GET", path: "/v1//policies", status: 401, errNm: "AuthenticationError", url: "/v1//policies"},
		{name: "dot-dot into v1", method: "GET", path: "/v1/../v1/policies", status: 401, errNm: "AuthenticationError", url: "/v1/../v1/policies"},
		{name: "doubled slash with a valid token is a plain 404", method: "POST", path: "/api/permission//authorize", token: userToken, status: 404},
		{name: "dot-dot in v1 by a trusted caller is not found", method: "GET", path: "/v1/../v1/policies", token: trustedToken, status: 404, errNm: "NotFoundError", url: "/v1/../v1/policies"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, f := newTestServerWithUsers(t, testConfig(false))
			srv := httptest.NewServer(h)
			defer srv.Close()
			client := srv.Client()
			client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			rq, err := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(`{"items":[]}`))
			require.NoError(t, err)
			rq.Header.Set("Content-Type", "application/json")
			if tc.token != "" {
				rq.Header.Set("Authorization", "Bearer "+tc.token)
			}
			res, err := client.Do(rq)
			require.NoError(t, err)
			defer res.Body.Close()
			b, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			require.Empty(t, res.Header.Get("Location"))
			r := resp{status: res.StatusCode, header: res.Header, body: string(b)}
			require.Zero(t, f.numCalls())
			if tc.errNm == "" {
				require.Equal(t, tc.status, r.status, r.body)
				require.Empty(t, r.body)
				return
			}
			requireEnvelope(t, r, tc.status, tc.errNm, tc.url)
		})
	}
}
