package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host"
	"github.com/verdictpdp/verdict/host/backstage/internal/identity"
)

// fakeDecider is the HTTP layer's test double for host.Host: it answers by
// permission name so that tests can steer each item. The real host is
// tested end to end in cmd/verdict and in package host.
//
// Names: "*.allow" ALLOW; "*.cond" CONDITIONAL (catalog, IS_ENTITY_OWNER);
// "*.byref" ALLOW when the ref contains "owned", else DENY; "*.bogus" an
// invalid result; anything else DENY with reason "unclaimed".
type fakeDecider struct {
	mu     sync.Mutex
	calls  []fakeCall
	err    error
	ready  error
	status host.Status
	// short makes Decide answer one decision fewer than asked.
	short bool
}

type fakeCall struct {
	principal abi.Principal
	queries   []host.Query
	deadline  bool
}

func (f *fakeDecider) Decide(ctx context.Context, p abi.Principal, qs []host.Query) (*host.Decisions, error) {
	_, hasDeadline := ctx.Deadline()
	f.mu.Lock()
	f.calls = append(f.calls, fakeCall{principal: p, queries: append([]host.Query(nil), qs...), deadline: hasDeadline})
	err := f.err
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	out := &host.Decisions{Generation: 7, Items: make([]host.Decision, 0, len(qs))}
	for _, q := range qs {
		out.Items = append(out.Items, fakeDecision(q))
	}
	if f.short && len(out.Items) > 0 {
		out.Items = out.Items[:len(out.Items)-1]
	}
	return out, nil
}

func fakeDecision(q host.Query) host.Decision {
	name := q.Permission.Name
	switch {
	case strings.HasSuffix(name, ".allow"):
		return host.Decision{Result: abi.Allow}
	case strings.HasSuffix(name, ".cond"):
		return host.Decision{Result: abi.Conditional, PluginID: "catalog", ResourceType: q.Permission.ResourceType,
			Conditions: &abi.Criteria{Rule: "IS_ENTITY_OWNER", ResourceType: q.Permission.ResourceType,
				Params: map[string]json.RawMessage{"claims": json.RawMessage(`["user:default/alice"]`)}},
			Reason: "owner rule"}
	case strings.HasSuffix(name, ".byref"):
		if q.ResourceRef != nil && strings.Contains(*q.ResourceRef, "owned") {
			return host.Decision{Result: abi.Allow}
		}
		return host.Decision{Result: abi.Deny}
	case strings.HasSuffix(name, ".bogus"):
		return host.Decision{Result: abi.Abstain}
	}
	return host.Decision{Result: abi.Deny, Reason: "unclaimed"}
}

func (f *fakeDecider) Status() host.Status { return f.status }

func (f *fakeDecider) Ready() error { return f.ready }

func (f *fakeDecider) lastCall(t *testing.T) fakeCall {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	require.NotEmpty(t, f.calls, "Decide was not called")
	return f.calls[len(f.calls)-1]
}

func (f *fakeDecider) numCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// Tokens used by the tests.
const (
	serviceToken = "svc-token-123456"
	trustedToken = "trusted-token-123456"
	userToken    = "user-token-123456"
	oboToken     = "obo-token-123456"
)

func testConfig(dev bool) Config {
	cfg := DefaultConfig()
	cfg.DevMode = dev
	cfg.StaticTokens = []StaticToken{
		{Token: serviceToken, Subject: "catalog-service"},
		{Token: trustedToken, Subject: "gateway"},
	}
	cfg.TrustedSubjects = []string{"gateway"}
	return cfg
}

// newTestServer returns the handler for cfg and a fake Decider. User tokens
// are recognised through the verifier hook: userToken is a direct user,
// oboToken a user with a plugin actor.
func newTestServer(t testing.TB, cfg Config) (http.Handler, *fakeDecider) {
	t.Helper()
	f := &fakeDecider{}
	h, err := New(cfg, f, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	return h, f
}

// newTestServerWithUsers is newTestServer plus user tokens (the verifier
// hook that JWT verification will use).
func newTestServerWithUsers(t testing.TB, cfg Config) (http.Handler, *fakeDecider) {
	t.Helper()
	f := &fakeDecider{}
	h, err := New(cfg, f, slog.New(slog.DiscardHandler), WithTokens(fakeTokens{}))
	require.NoError(t, err)
	return h, f
}

// fakeTokens is the TokenVerifier of tests that need user principals
// without real JWTs (those are tested with backstagetest).
type fakeTokens struct{}

func (fakeTokens) Verify(_ context.Context, tok string) (identity.Credentials, error) {
	switch tok {
	case userToken:
		return identity.Credentials{Principal: abi.Principal{Type: abi.PrincipalUser, UserEntityRef: "user:default/alice"}}, nil
	case oboToken:
		return identity.Credentials{Principal: abi.Principal{Type: abi.PrincipalUser, UserEntityRef: "user:default/alice",
			Actor: &abi.Actor{Type: "service", Subject: "plugin:catalog"}}}, nil
	}
	return identity.Credentials{}, identity.ErrIllegalToken
}

type req struct {
	method, path, token, contentType, body string
	// chunked sends the body without a Content-Length.
	chunked bool
	header  map[string]string
}

type resp struct {
	status int
	header http.Header
	body   string
}

func do(t testing.TB, h http.Handler, rq req) resp {
	t.Helper()
	if rq.method == "" {
		rq.method = http.MethodPost
	}
	var body io.Reader = strings.NewReader(rq.body)
	if rq.chunked {
		body = io.MultiReader(strings.NewReader(rq.body))
	}
	r := httptest.NewRequest(rq.method, rq.path, body)
	if rq.chunked {
		r.ContentLength = -1
	}
	if rq.token != "" {
		r.Header.Set("Authorization", "Bearer "+rq.token)
	}
	ct := rq.contentType
	if ct == "" && rq.body != "" {
		ct = "application/json"
	}
	if ct != "-" && ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	for k, v := range rq.header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return resp{status: w.Code, header: w.Header(), body: w.Body.String()}
}

// envelope is Backstage's error envelope.
type envelope struct {
	Error struct {
		Name    string `json:"name"`
		Message string `json:"message"`
		Limit   int64  `json:"limit"`
	} `json:"error"`
	Request struct {
		Method string `json:"method"`
		URL    string `json:"url"`
	} `json:"request"`
	Response struct {
		StatusCode int `json:"statusCode"`
	} `json:"response"`
}

func requireEnvelope(t *testing.T, r resp, status int, name, url string) envelope {
	t.Helper()
	require.Equal(t, status, r.status, r.body)
	require.Equal(t, contentTypeJSON, r.header.Get("Content-Type"))
	var e envelope
	require.NoError(t, json.Unmarshal([]byte(r.body), &e), r.body)
	require.Equal(t, name, e.Error.Name, r.body)
	require.Equal(t, status, e.Response.StatusCode)
	require.Equal(t, url, e.Request.URL)
	require.NotContains(t, r.body, `"ALLOW"`)
	return e
}
