package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/host"
	"github.com/verdictpdp/verdict/host/backstage/internal/httpapi"
)

// The RBAC decision table (policies/rbac/testdata/cases.json) over HTTP:
// the real server over a real host whose directory holds rbac.wasm, its
// settings and rbac.d/, one POST /v1/authorize per case (dev mode: the
// principal comes from the body). ABSTAIN becomes the default, DENY.
const rbacTestdata = "../../../../policies/rbac/testdata"

type rbacSetup struct {
	Settings json.RawMessage   `json:"settings"`
	Files    map[string]string `json:"files"`
}

type rbacCase struct {
	Name       string          `json:"name"`
	Setup      string          `json:"setup"`
	User       string          `json:"user"`
	Refs       *[]string       `json:"refs"`
	Principal  json.RawMessage `json:"principal"`
	Perm       string          `json:"perm"`
	RT         string          `json:"rt"`
	Action     string          `json:"action"`
	Result     string          `json:"result"`
	Reason     string          `json:"reason"`
	PluginID   string          `json:"pluginId"`
	Conditions json.RawMessage `json:"conditions"`
}

func rbacServer(t *testing.T, s rbacSetup) *httptest.Server {
	t.Helper()
	wasm, err := os.ReadFile("../../../../build/policies/rbac.wasm")
	if err != nil {
		if os.Getenv("VERDICT_REQUIRE_GUESTS") != "" {
			t.Fatal("build/policies/rbac.wasm is missing: run `make guests` first")
		}
		t.Skip("build/policies/rbac.wasm is not built (run `make guests`)")
	}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "rbac.wasm"), wasm, 0o644))
	if len(s.Settings) > 0 && string(s.Settings) != "null" {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "rbac.json"), s.Settings, 0o644))
	}
	require.NoError(t, os.Mkdir(filepath.Join(dir, "rbac.d"), 0o755))
	for name, src := range s.Files {
		text, literal := strings.CutPrefix(src, "=")
		if !literal {
			b, err := os.ReadFile(filepath.Join(rbacTestdata, src))
			require.NoError(t, err)
			text = string(b)
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, "rbac.d", name), []byte(text), 0o644))
	}
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

func (c *rbacCase) body(t *testing.T) string {
	principal := c.Principal
	if c.User != "" {
		refs := []string{c.User}
		if c.Refs != nil {
			refs = *c.Refs
		}
		principal, _ = json.Marshal(map[string]any{"type": "user", "userEntityRef": c.User, "ownershipEntityRefs": refs})
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
	b, err := os.ReadFile(filepath.Join(rbacTestdata, "cases.json"))
	require.NoError(t, err)
	var tb struct {
		Setups map[string]rbacSetup `json:"setups"`
		Cases  []rbacCase           `json:"cases"`
	}
	require.NoError(t, json.Unmarshal(b, &tb))
	servers := map[string]*httptest.Server{}
	for name, s := range tb.Setups {
		servers[name] = rbacServer(t, s)
	}
	for _, c := range tb.Cases {
		t.Run(c.Name, func(t *testing.T) {
			resp, err := http.Post(servers[c.Setup].URL+"/v1/authorize", "application/json", strings.NewReader(c.body(t)))
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
			want := c.Result
			if want == "ABSTAIN" {
				want = "DENY"
			} else {
				require.Contains(t, a.Reason, c.Reason)
			}
			require.Equal(t, want, a.Result, a.Reason)
			require.Equal(t, c.PluginID, a.PluginID)
			if c.Conditions != nil {
				require.JSONEq(t, string(c.Conditions), string(a.Conditions))
				require.Equal(t, c.RT, a.ResourceType)
			}
		})
	}
}
