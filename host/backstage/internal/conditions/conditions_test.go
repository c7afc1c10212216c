package conditions_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host/backstage/internal/conditions"
	"github.com/verdictpdp/verdict/host/backstage/internal/discovery"
	"github.com/verdictpdp/verdict/host/backstage/internal/identity"
	"github.com/verdictpdp/verdict/host/backstage/internal/upstream"
	"github.com/verdictpdp/verdict/internal/testing/backstagetest"
)

const (
	staticToken = "static-outbound-token"
	owner       = `{"rule":"IS_ENTITY_OWNER","resourceType":"catalog-entity","params":{"claims":["user:default/alice","group:default/team-a"]}}`
)

func newCatalog(t *testing.T) *backstagetest.Backstage {
	bs := backstagetest.New(t)
	bs.AddEntity("component:default/owned", backstagetest.Entity{Kind: "Component", Owner: "group:default/team-a"})
	bs.AddEntity("component:default/other", backstagetest.Entity{Kind: "Component", Owner: "group:default/team-b"})
	return bs
}

func newClient(t *testing.T, bs *backstagetest.Backstage, mod func(*conditions.Config), minter conditions.Minter) *conditions.Client {
	t.Helper()
	d, err := discovery.New(discovery.Config{BaseURL: bs.URL()})
	require.NoError(t, err)
	cfg := conditions.DefaultConfig()
	if minter == nil {
		cfg.Token = staticToken
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := conditions.New(cfg, d, nil, minter, nil)
	require.NoError(t, err)
	return c
}

func one(ref string) conditions.Request {
	return conditions.Request{Refs: []string{ref}, ResourceType: "catalog-entity", Conditions: []byte(owner)}
}

func results(rs ...abi.Result) []abi.Result { return rs }

func TestResolve(t *testing.T) {
	bs := newCatalog(t)
	c := newClient(t, bs, nil, nil)
	reqs := []conditions.Request{
		one("component:default/owned"),
		one("component:default/other"),
		one("component:default/missing"),
		{Refs: []string{"component:default/other", "component:default/owned"}, Array: true, ResourceType: "catalog-entity", Conditions: []byte(owner)},
	}
	out, err := c.Resolve(context.Background(), "catalog", nil, reqs)
	require.NoError(t, err)
	require.Equal(t, []conditions.Result{
		{Results: results(abi.Allow)},
		{Results: results(abi.Deny)},
		{Results: results(abi.Deny)},
		{Results: results(abi.Deny, abi.Allow)},
	}, out)
	calls := bs.ApplyCalls()
	require.Len(t, calls, 1, "one call per plugin")
	require.Equal(t, "Bearer "+staticToken, calls[0].Authorization)
	require.Len(t, calls[0].Items, 4)
	require.JSONEq(t, `["component:default/other","component:default/owned"]`, string(calls[0].Items[3].ResourceRef))
}

func TestResolveSplitsLargeBatches(t *testing.T) {
	bs := newCatalog(t)
	const limit = 2048
	c := newClient(t, bs, func(cfg *conditions.Config) { cfg.MaxBodyBytes = limit }, nil)
	var reqs []conditions.Request
	for i := range 40 {
		if i%2 == 0 {
			reqs = append(reqs, one("component:default/owned"))
		} else {
			reqs = append(reqs, one("component:default/other-"+strconv.Itoa(i)))
		}
	}
	out, err := c.Resolve(context.Background(), "catalog", nil, reqs)
	require.NoError(t, err)
	for i, r := range out {
		want := abi.Deny
		if i%2 == 0 {
			want = abi.Allow
		}
		require.Equal(t, []abi.Result{want}, r.Results, "item %d", i)
		require.Empty(t, r.Reason)
	}
	calls := bs.ApplyCalls()
	require.Greater(t, len(calls), 1)
	n := 0
	for _, call := range calls {
		require.LessOrEqual(t, call.Bytes, limit)
		for _, it := range call.Items {
			require.Equal(t, strconv.Itoa(n), it.ID, "sent in order")
			n++
		}
	}
	require.Equal(t, len(reqs), n)
}

func TestResolveFailures(t *testing.T) {
	tests := []struct {
		name   string
		plugin string
		setup  func(*backstagetest.Backstage)
		mod    func(*conditions.Config)
		status int    // an *upstream.Error with this status
		cause  string // its cause name
		reason string // else: every item DENY with a reason containing this
	}{
		{name: "plugin refuses", plugin: "catalog", setup: func(b *backstagetest.Backstage) { b.FailApply(400) },
			status: 400, cause: "InputError"},
		{name: "plugin over its body limit", plugin: "catalog", setup: func(b *backstagetest.Backstage) { b.FailApply(413) },
			status: 413, cause: "InputError"},
		{name: "plugin without the endpoint", plugin: "nosuch", status: 404, cause: "Error"},
		{name: "no outbound credentials", plugin: "catalog", mod: func(c *conditions.Config) { c.Token = "" },
			reason: "no outbound credentials"},
		{name: "wrong number of answers", plugin: "catalog",
			setup:  func(b *backstagetest.Backstage) { b.SetApplyAnswer(`{"items":[{"id":"0","result":"ALLOW"}]}`) },
			reason: "answered 1 items for 2"},
		{name: "ids do not match", plugin: "catalog",
			setup: func(b *backstagetest.Backstage) {
				b.SetApplyAnswer(`{"items":[{"id":"1","result":"ALLOW"},{"id":"0","result":"ALLOW"}]}`)
			},
			reason: `answered id "1" where "0" was sent`},
		{name: "invalid result", plugin: "catalog",
			setup: func(b *backstagetest.Backstage) {
				b.SetApplyAnswer(`{"items":[{"id":"0","result":"MAYBE"},{"id":"1","result":"CONDITIONAL"}]}`)
			},
			reason: `answered result "MAYBE"`},
		{name: "not JSON", plugin: "catalog",
			setup:  func(b *backstagetest.Backstage) { b.SetApplyAnswer(`{"items":`) },
			reason: "malformed answer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bs := newCatalog(t)
			if tc.setup != nil {
				tc.setup(bs)
			}
			c := newClient(t, bs, tc.mod, nil)
			out, err := c.Resolve(context.Background(), tc.plugin, nil,
				[]conditions.Request{one("component:default/owned"), one("component:default/owned")})
			if tc.status != 0 {
				var ue *upstream.Error
				require.True(t, errors.As(err, &ue), "%v", err)
				require.Equal(t, tc.status, ue.Status)
				require.Equal(t, tc.cause, ue.Cause.Name)
				return
			}
			require.NoError(t, err)
			for _, r := range out {
				require.Equal(t, []abi.Result{abi.Deny}, r.Results)
				require.NotEmpty(t, r.Reason)
			}
			require.Contains(t, out[0].Reason, tc.reason)
		})
	}
}

func TestResolveUnreachable(t *testing.T) {
	bs := newCatalog(t)
	c := newClient(t, bs, nil, nil)
	bs.Server.Close()
	out, err := c.Resolve(context.Background(), "catalog", nil, []conditions.Request{one("component:default/owned")})
	require.NoError(t, err)
	require.Equal(t, []abi.Result{abi.Deny}, out[0].Results)
	require.Equal(t, "cannot resolve conditions: plugin catalog could not be reached", out[0].Reason)
}

// fakeMinter mints "minted-<target>-for-<who>", and "" (no header) for
// principal none, as the Minter contract says.
type fakeMinter struct{ calls []string }

func (m *fakeMinter) Mint(_ context.Context, target string, c *identity.Credentials) (string, error) {
	who := "verdict"
	if c != nil {
		who = string(c.Principal.Type) + ":" + c.Principal.UserEntityRef
	}
	m.calls = append(m.calls, target+" for "+who)
	if c != nil && c.Principal.Type == abi.PrincipalNone {
		return "", nil
	}
	return "minted-" + target + "-for-" + who, nil
}

func TestResolveWithMintedToken(t *testing.T) {
	bs := newCatalog(t)
	m := &fakeMinter{}
	c := newClient(t, bs, nil, m)
	user := &identity.Credentials{Principal: abi.Principal{Type: abi.PrincipalUser, UserEntityRef: "user:default/alice"}}
	_, err := c.Resolve(context.Background(), "catalog", user, []conditions.Request{one("component:default/owned")})
	require.NoError(t, err)
	// Without a caller (the native API) Verdict mints for itself.
	_, err = c.Resolve(context.Background(), "catalog", nil, []conditions.Request{one("component:default/owned")})
	require.NoError(t, err)
	// Principal none (dev mode): no Authorization header, as Backstage;
	// this catalog refuses that, and its 401 is passed on.
	none := &identity.Credentials{Principal: abi.Principal{Type: abi.PrincipalNone}}
	_, err = c.Resolve(context.Background(), "catalog", none, []conditions.Request{one("component:default/owned")})
	var ue *upstream.Error
	require.ErrorAs(t, err, &ue)
	require.Equal(t, 401, ue.Status)

	calls := bs.ApplyCalls()
	require.Len(t, calls, 3)
	require.Equal(t, "Bearer minted-catalog-for-user:user:default/alice", calls[0].Authorization)
	require.Equal(t, "Bearer minted-catalog-for-verdict", calls[1].Authorization)
	require.Empty(t, calls[2].Authorization)
	require.Equal(t, []string{"catalog for user:user:default/alice", "catalog for verdict", "catalog for none:"}, m.calls)
}

func TestResolveMintFailure(t *testing.T) {
	bs := newCatalog(t)
	c := newClient(t, bs, nil, failingMinter{})
	out, err := c.Resolve(context.Background(), "catalog", nil, []conditions.Request{one("component:default/owned")})
	require.NoError(t, err)
	require.Equal(t, []abi.Result{abi.Deny}, out[0].Results)
	require.Equal(t, "cannot resolve conditions of plugin catalog: mint a plugin token: no key", out[0].Reason)
	require.Empty(t, bs.ApplyCalls())
}

type failingMinter struct{}

func (failingMinter) Mint(context.Context, string, *identity.Credentials) (string, error) {
	return "", errors.New("no key")
}

func TestNewRefusesTokenAndMinter(t *testing.T) {
	d, err := discovery.New(discovery.Config{BaseURL: "http://backstage"})
	require.NoError(t, err)
	cfg := conditions.DefaultConfig()
	cfg.Token = staticToken
	_, err = conditions.New(cfg, d, nil, &fakeMinter{}, nil)
	require.EqualError(t, err, "conditions: both a static token and a Minter: use one")
}

// TestRedirectsNotFollowed: a plugin whose apply-conditions answers a
// redirect (to another host, or its own) is not followed: the call
// carries Verdict's credentials and its answer decides access. The items
// are DENY with a reason naming the redirect; the target never hears
// from Verdict. Before, net/http followed 307/308 with the body and (same
// hostname) the Authorization header, and 301/302/303 as a GET, and the
// target's ALLOW was believed.
func TestRedirectsNotFollowed(t *testing.T) {
	for _, status := range []int{301, 302, 303, 307, 308} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			var mu sync.Mutex
			var heard []string
			evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				heard = append(heard, r.Method+" "+r.Header.Get("Authorization"))
				mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"items":[{"id":"0","result":"ALLOW"}]}`))
			}))
			defer evil.Close()
			plugin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, evil.URL+"/steal?x=secret", status)
			}))
			defer plugin.Close()
			d, err := discovery.New(discovery.Config{BaseURL: plugin.URL})
			require.NoError(t, err)
			cfg := conditions.DefaultConfig()
			cfg.Token = staticToken
			c, err := conditions.New(cfg, d, nil, nil, nil)
			require.NoError(t, err)
			out, err := c.Resolve(context.Background(), "catalog", nil, []conditions.Request{one("component:default/owned")})
			require.NoError(t, err)
			require.Equal(t, results(abi.Deny), out[0].Results)
			require.Contains(t, out[0].Reason, "redirect")
			require.Contains(t, out[0].Reason, strings.TrimPrefix(evil.URL, "http://"))
			require.NotContains(t, out[0].Reason, "secret", "the target's path and query are not shown")
			mu.Lock()
			defer mu.Unlock()
			require.Empty(t, heard, "the redirect target was called")
		})
	}
}
