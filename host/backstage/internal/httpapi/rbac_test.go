package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/host"
	"github.com/verdictpdp/verdict/host/backstage/internal/httpapi"
	"github.com/verdictpdp/verdict/internal/testing/rbactable"
)

// The RBAC decision table (policies/rbac/testdata/cases.json) over HTTP:
// the real server over a real host whose directory holds rbac.wasm, its
// settings and rbac.d/, one POST /v1/authorize per case (dev mode: the
// principal comes from the body). ABSTAIN becomes the default, DENY.
const rbacTestdata = "../../../../policies/rbac/testdata"

func rbacServer(t *testing.T, s rbactable.Setup) *httptest.Server {
	t.Helper()
	wasm, err := os.ReadFile("../../../../build/policies/rbac.wasm")
	if err != nil {
		if os.Getenv("VERDICT_REQUIRE_GUESTS") != "" {
			t.Fatal("build/policies/rbac.wasm is missing: run `make guests` first")
		}
		t.Skip("build/policies/rbac.wasm is not built (run `make guests`)")
	}
	dir := t.TempDir()
	rbactable.WriteDir(t, dir, wasm, rbacTestdata, s.Settings, s.Files)
	h := httpapi.NewTestHost(t, func(c *host.Config) {
		c.CallTimeout = 10 * time.Second
		c.LoadTimeout = 60 * time.Second
	})
	require.NoError(t, h.LoadDir(context.Background(), dir))
	httpapi.RequireLoaded(t, h)
	cfg := httpapi.DefaultConfig()
	cfg.DevMode = true
	cfg.Limits.RequestTimeout = time.Minute // answers are under test, not deadlines
	return httpapi.ServeTest(t, cfg, h)
}

// rbacBody is the POST /v1/authorize body of case c.
func rbacBody(t *testing.T, c *rbactable.Case) string {
	principal := c.Principal
	if c.User != "" {
		principal, _ = json.Marshal(map[string]any{"type": "user", "userEntityRef": c.User, "ownershipEntityRefs": c.Owners()})
	}
	attrs := map[string]any{}
	if c.Action != "" {
		attrs["action"] = c.Action
	}
	perm := map[string]any{"type": "basic", "name": c.Perm, "attributes": attrs}
	if c.RT != "" {
		perm["type"], perm["resourceType"] = "resource", c.RT
	}
	b, err := json.Marshal(map[string]any{"principal": principal,
		"items": []any{map[string]any{"id": "case", "permission": perm}}})
	require.NoError(t, err)
	return string(b)
}

func TestRBACDecisionTableOverHTTP(t *testing.T) {
	tb := rbactable.Load(t, rbacTestdata)
	servers := map[string]*httptest.Server{}
	for name, s := range tb.Setups {
		servers[name] = rbacServer(t, s)
	}
	for _, c := range tb.Cases {
		t.Run(c.Name, func(t *testing.T) {
			resp, err := http.Post(servers[c.Setup].URL+"/v1/authorize", "application/json", strings.NewReader(rbacBody(t, &c)))
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			var out struct {
				Items []struct {
					ID, Result, Reason, PluginID, ResourceType string
					Conditions                                 json.RawMessage
				} `json:"items"`
			}
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
			require.Len(t, out.Items, 1)
			a := out.Items[0]
			require.Equal(t, "case", a.ID)
			if c.Result != "ABSTAIN" {
				require.Contains(t, a.Reason, c.Reason)
			}
			require.Equal(t, c.HostResult(), a.Result, a.Reason)
			require.Equal(t, c.PluginID, a.PluginID)
			if c.Conditions != nil {
				require.JSONEq(t, string(c.Conditions), string(a.Conditions))
				require.Equal(t, c.RT, a.ResourceType)
			}
		})
	}
}
