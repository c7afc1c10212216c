package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host"
	"github.com/verdictpdp/verdict/host/backstage/internal/conditions"
	"github.com/verdictpdp/verdict/host/backstage/internal/discovery"
	"github.com/verdictpdp/verdict/host/backstage/internal/identity"
	"github.com/verdictpdp/verdict/internal/testing/backstagetest"
)

// ownerDecider is a policy like Backstage's catalog examples: resource
// permissions are CONDITIONAL on IS_ENTITY_OWNER with the principal's
// ownership refs ("*.other" names a plugin without the endpoint); basic
// permissions
// ending in ".allow" are ALLOW; the rest DENY.
type ownerDecider struct {
	mu         sync.Mutex
	principals []abi.Principal
}

func (o *ownerDecider) Decide(_ context.Context, p abi.Principal, qs []host.Query) (*host.Decisions, error) {
	o.mu.Lock()
	o.principals = append(o.principals, p)
	o.mu.Unlock()
	out := &host.Decisions{Generation: 1}
	for _, q := range qs {
		d := host.Decision{Result: abi.Deny}
		switch {
		case q.Permission.IsResource():
			claims, _ := json.Marshal(p.OwnershipEntityRefs)
			plugin, rt := "catalog", q.Permission.ResourceType
			if strings.HasSuffix(q.Permission.Name, ".other") {
				plugin = "nosuch"
			}
			d = host.Decision{Result: abi.Conditional, PluginID: plugin, ResourceType: rt,
				Conditions: &abi.Criteria{Rule: "IS_ENTITY_OWNER", ResourceType: rt,
					Params: map[string]json.RawMessage{"claims": claims}}}
		case strings.HasSuffix(q.Permission.Name, ".allow"):
			d.Result = abi.Allow
		}
		out.Items = append(out.Items, d)
	}
	return out, nil
}

func (o *ownerDecider) Status() host.Status { return host.Status{} }
func (o *ownerDecider) Ready() error        { return nil }

func (o *ownerDecider) last() abi.Principal {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.principals[len(o.principals)-1]
}

const (
	alice    = "user:default/alice"
	teamA    = "group:default/team-a"
	outbound = "outbound-static-token"
)

type world struct {
	bs      *backstagetest.Backstage
	catalog *backstagetest.Issuer
	d       *ownerDecider
	h       http.Handler
	// The real discovery, token verifier and user info, wired to bs.
	disc   *discovery.Discovery
	tokens *identity.Verifier
	users  *identity.UserInfo
}

// newFakeBackstage starts the fake Backstage of these tests (the catalog
// plugin, alice in team-a, an entity team-a owns and one it does not) and
// wires the real discovery, token verifier and user info to it. The
// handler is left to the caller.
func newFakeBackstage(t *testing.T) *world {
	t.Helper()
	bs := backstagetest.New(t)
	w := &world{bs: bs, catalog: bs.AddPlugin("catalog"), d: &ownerDecider{}}
	bs.SetOwnership(alice, []string{alice, teamA})
	bs.AddEntity("component:default/owned", backstagetest.Entity{Kind: "Component", Owner: teamA})
	bs.AddEntity("group:default/other-team", backstagetest.Entity{Kind: "Group", Owner: "group:default/other-team"})
	w.disc, w.tokens, w.users = backstageIdentity(t, bs, identity.DefaultConfig())
	return w
}

// backstageIdentity wires discovery, the token verifier and user info
// (configured by icfg) to the fake Backstage bs.
func backstageIdentity(t *testing.T, bs *backstagetest.Backstage, icfg identity.Config) (*discovery.Discovery, *identity.Verifier, *identity.UserInfo) {
	t.Helper()
	disc, err := discovery.New(discovery.Config{BaseURL: bs.URL()})
	require.NoError(t, err)
	deps := identity.Deps{Discovery: disc}
	tokens, err := identity.New(icfg, deps)
	require.NoError(t, err)
	users, err := identity.NewUserInfo(icfg, deps)
	require.NoError(t, err)
	return disc, tokens, users
}

// newWorld wires the real verifier, user info and apply-conditions client
// to a fake Backstage. outboundToken "" leaves apply-conditions without
// credentials.
func newWorld(t *testing.T, outboundToken string) *world {
	t.Helper()
	w := newFakeBackstage(t)
	ccfg := conditions.DefaultConfig()
	ccfg.Token = outboundToken
	conds, err := conditions.New(ccfg, w.disc, nil, nil, nil)
	require.NoError(t, err)
	w.h, err = New(testConfig(false), w.d, slog.New(slog.DiscardHandler),
		WithTokens(w.tokens), WithOwnership(w.users), WithConditions(conds))
	require.NoError(t, err)
	return w
}

func (w *world) obo(user string) string {
	exp := time.Now().Add(time.Hour)
	return w.catalog.PluginToken("catalog", "permission", exp, w.bs.Auth.LimitedToken(user, exp))
}

const (
	readPerm = `{"type":"resource","name":"catalog.entity.read","attributes":{"action":"read"},"resourceType":"catalog-entity"}`
	basicOK  = `{"type":"basic","name":"catalog.entity.allow","attributes":{}}`
)

func read(id, ref string) string {
	if ref == "" {
		return `{"id":"` + id + `","permission":` + readPerm + `}`
	}
	return `{"id":"` + id + `","permission":` + readPerm + `,"resourceRef":` + ref + `}`
}

func body(items ...string) string { return `{"items":[` + strings.Join(items, ",") + `]}` }

// TestBackstageErrors is Backstage's error table (DESIGN.md, "Backstage's
// error table") with real tokens, user info and a catalog plugin.
func TestBackstageErrors(t *testing.T) {
	soon := time.Now().Add(time.Hour)
	tests := []struct {
		name   string
		token  func(w *world) string
		body   string
		setup  func(w *world)
		status int
		errNm  string
		msg    string
		cause  string // ResponseError cause name
	}{
		{name: "no token", body: body(read("1", `"component:default/owned"`)), status: 401, errNm: "AuthenticationError", msg: "Missing credentials"},
		{name: "expired user token", token: func(w *world) string { return w.bs.Auth.UserToken(alice, time.Now().Add(-time.Minute), nil) },
			body: validBody, status: 401, errNm: "AuthenticationError", msg: "Failed user token verification"},
		{name: "user token signed by a stranger", token: func(*world) string { return backstagetest.NewIssuer("x").UserToken(alice, soon, nil) },
			body: validBody, status: 401, errNm: "AuthenticationError", msg: "Failed user token verification"},
		{name: "limited user token", token: func(w *world) string { return w.bs.Auth.LimitedToken(alice, soon) },
			body: validBody, status: 401, errNm: "AuthenticationError", msg: "Illegal limited user token"},
		{name: "plugin token for another audience", token: func(w *world) string { return w.catalog.PluginToken("catalog", "search", soon, "") },
			body: validBody, status: 401, errNm: "AuthenticationError", msg: "Failed plugin token verification"},
		{name: "expired token and bad body", token: func(w *world) string { return w.bs.Auth.UserToken(alice, time.Now().Add(-time.Minute), nil) },
			body: `{not json`, status: 401, errNm: "AuthenticationError"},
		{name: "plugin service token", token: func(w *world) string { return w.catalog.PluginToken("catalog", "permission", soon, "") },
			body: validBody, status: 403, errNm: "NotAllowedError", msg: "This endpoint does not allow 'service' credentials"},
		{name: "plugin service token and oversized body", token: func(w *world) string { return w.catalog.PluginToken("catalog", "permission", soon, "") },
			body: bigBody(2 << 20), status: 413, errNm: "PayloadTooLargeError"},
		{name: "user token and empty object", token: func(w *world) string { return w.bs.Auth.UserToken(alice, soon, nil) },
			body: `{}`, status: 400, errNm: "InputError"},
		{name: "direct user without a resourceRef", token: func(w *world) string { return w.bs.Auth.UserToken(alice, soon, nil) },
			body: body(read("1", "")), status: 400, errNm: "InputError",
			msg: "Resource permissions require a resourceRef to be set. Direct user requests without a resourceRef are not allowed."},
		{name: "user unknown to user info", token: func(w *world) string { return w.obo("user:default/ghost") },
			body: validBody, status: 404, errNm: "ResponseError", msg: "Request failed with 404 Not Found", cause: "NotFoundError"},
		{name: "apply-conditions refused by the plugin", token: func(w *world) string { return w.obo(alice) },
			setup: func(w *world) { w.bs.FailApply(400) },
			body:  body(read("1", `"component:default/owned"`)), status: 400, errNm: "ResponseError", msg: "Request failed with 400 Bad Request", cause: "InputError"},
		{name: "apply-conditions over the plugin's limit", token: func(w *world) string { return w.obo(alice) },
			setup: func(w *world) { w.bs.FailApply(413) },
			body:  body(read("1", `"component:default/owned"`)), status: 413, errNm: "ResponseError", cause: "InputError"},
		{name: "plugin without apply-conditions", token: func(w *world) string { return w.obo(alice) },
			body:   body(`{"id":"1","permission":{"type":"resource","name":"x.other","attributes":{},"resourceType":"catalog-entity"},"resourceRef":"component:default/owned"}`),
			status: 404, errNm: "ResponseError", msg: "Request failed with 404 Not Found", cause: "Error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, outbound)
			if tc.setup != nil {
				tc.setup(w)
			}
			rq := req{path: authorizePath, body: tc.body}
			if tc.token != nil {
				rq.token = tc.token(w)
			}
			r := do(t, w.h, rq)
			e := requireEnvelope(t, r, tc.status, tc.errNm, "/authorize")
			if tc.msg != "" {
				require.Equal(t, tc.msg, e.Error.Message)
			}
			if tc.cause != "" {
				var c struct {
					Error struct {
						Cause struct{ Name, Message string } `json:"cause"`
					} `json:"error"`
				}
				require.NoError(t, json.Unmarshal([]byte(r.body), &c))
				require.Equal(t, tc.cause, c.Error.Cause.Name)
			}
			if rq.token != "" {
				require.NotContains(t, r.body, rq.token)
			}
		})
	}
}

func TestBackstageOnBehalfOf(t *testing.T) {
	w := newWorld(t, outbound)
	r := do(t, w.h, req{path: authorizePath, token: w.obo(alice), body: body(
		`{"id":"fd91","permission":`+basicOK+`}`,
		read("69f5", `"component:default/owned"`),
		read("e57c", `"group:default/other-team"`),
		read("7f95", `"component:default/does-not-exist"`),
		read("5760", ""),
	)})
	require.Equal(t, 200, r.status, r.body)
	require.JSONEq(t, `{"items":[
		{"id":"fd91","result":"ALLOW"},
		{"id":"69f5","result":"ALLOW"},
		{"id":"e57c","result":"DENY"},
		{"id":"7f95","result":"DENY"},
		{"id":"5760","result":"CONDITIONAL","pluginId":"catalog","resourceType":"catalog-entity",
		 "conditions":{"rule":"IS_ENTITY_OWNER","resourceType":"catalog-entity","params":{"claims":["user:default/alice","group:default/team-a"]}}}]}`, r.body)
	require.Equal(t, abi.Principal{Type: "user", UserEntityRef: alice, OwnershipEntityRefs: []string{alice, teamA},
		Actor: &abi.Actor{Type: "service", Subject: "plugin:catalog"}}, w.d.last())
	calls := w.bs.ApplyCalls()
	require.Len(t, calls, 1, "one apply-conditions call for the three refs")
	require.Len(t, calls[0].Items, 3)
	require.Equal(t, "Bearer "+outbound, calls[0].Authorization)
	require.Equal(t, 1, w.bs.UserInfoCalls())

	// The same token again: verified and user info from the caches.
	r = do(t, w.h, req{path: authorizePath, token: w.obo(alice), body: body(read("1", `"component:default/owned"`))})
	require.Equal(t, 200, r.status, r.body)
	require.Equal(t, 1, w.bs.JWKSFetches(backstagetest.AuthJWKSPath))
}

func TestBackstageBatchedMode(t *testing.T) {
	w := newWorld(t, outbound)
	r := do(t, w.h, req{path: authorizePath, token: w.obo(alice), body: body(
		`{"id":"dd6e","permission":`+basicOK+`}`,
		read("9bea", `["component:default/owned","user:default/bob","group:default/other-team"]`),
	)})
	require.Equal(t, 200, r.status, r.body)
	require.JSONEq(t, `{"items":[{"id":"dd6e","result":"ALLOW"},{"id":"9bea","result":["ALLOW","DENY","DENY"]}]}`, r.body)
	calls := w.bs.ApplyCalls()
	require.Len(t, calls, 1)
	require.Len(t, calls[0].Items, 1, "an array resourceRef goes as one item with the array")
	require.JSONEq(t, `["component:default/owned","user:default/bob","group:default/other-team"]`, string(calls[0].Items[0].ResourceRef))
}

func TestBackstageDirectUser(t *testing.T) {
	w := newWorld(t, outbound)
	tok := w.bs.Auth.UserToken(alice, time.Now().Add(time.Hour), []string{alice, teamA})
	r := do(t, w.h, req{path: authorizePath, token: tok, body: body(read("1", `"component:default/owned"`))})
	require.Equal(t, 200, r.status, r.body)
	require.JSONEq(t, `{"items":[{"id":"1","result":"ALLOW"}]}`, r.body)
	require.Zero(t, w.bs.UserInfoCalls(), "ownership came from the token's ent")
	require.Nil(t, w.d.last().Actor)
}

func TestBackstageWithoutOutboundCredentials(t *testing.T) {
	w := newWorld(t, "")
	r := do(t, w.h, req{path: authorizePath, token: w.obo(alice), body: body(read("1", `"component:default/owned"`))})
	require.Equal(t, 200, r.status, r.body)
	var got struct {
		Items []struct{ ID, Result, Reason string } `json:"items"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.body), &got))
	require.Equal(t, "DENY", got.Items[0].Result)
	require.Contains(t, got.Items[0].Reason, "no outbound credentials")
	require.Empty(t, w.bs.ApplyCalls())
}

func TestNativeAuthorizeResolvesWithStaticToken(t *testing.T) {
	w := newWorld(t, outbound)
	r := do(t, w.h, req{path: "/v1/authorize", token: trustedToken, body: `{"principal":{"type":"user","userEntityRef":"user:default/alice",` +
		`"ownershipEntityRefs":["group:default/team-a"]},"items":[` + read("1", `"component:default/owned"`) + `,` +
		read("2", `"group:default/other-team"`) + `]}`})
	require.Equal(t, 200, r.status, r.body)
	require.JSONEq(t, `{"generation":1,"items":[{"id":"1","result":"ALLOW"},{"id":"2","result":"DENY"}]}`, r.body)
	require.Equal(t, "Bearer "+outbound, w.bs.ApplyCalls()[0].Authorization)
}
