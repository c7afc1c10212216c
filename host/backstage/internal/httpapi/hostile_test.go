package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host"
	"github.com/verdictpdp/verdict/host/backstage/internal/httpapi"
)

var (
	abiNone  = abi.Principal{Type: abi.PrincipalNone}
	oneQuery = []host.Query{{Permission: abi.Permission{Type: abi.PermissionBasic, Name: "x"}}}
)

// TestHostileModulesOverHTTP runs the real server with a real host whose
// directory holds hostile modules beside a healthy one. Every request gets
// 200 with DENY for what the hostile modules claim, the server keeps
// answering, modules that trap or time out three times are quarantined, and
// /v1/policies shows them and the modules refused at load.
func TestHostileModulesOverHTTP(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"allow-one", "trap-unreachable", "loop", "garbage", "bad-import", "init-trap"} {
		httpapi.CopyFixture(t, dir, f+".wasm", f)
	}
	h := httpapi.NewTestHost(t, func(c *host.Config) {
		c.CallTimeout = 10 * time.Second // fuel, not this backstop, stops the loop
	})
	cfg := httpapi.DefaultConfig()
	cfg.DevMode = true
	srv := httpapi.ServeTest(t, cfg, h)

	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/readyz")
	require.Equal(t, http.StatusServiceUnavailable, code, "no snapshot before the first load")
	require.Contains(t, body, "ServiceUnavailableError")

	require.NoError(t, h.LoadDir(context.Background(), dir))
	code, _ = get("/readyz")
	require.Equal(t, http.StatusOK, code)

	for i := 0; i < 5; i++ {
		resp, err := http.Post(srv.URL+"/api/permission/authorize", "application/json", strings.NewReader(
			`{"items":[{"id":"x","permission":{"type":"basic","name":"catalog.entity.create","attributes":{}}}]}`))
		require.NoError(t, err)
		var out struct {
			Items []struct{ ID, Result, Reason string } `json:"items"`
		}
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		resp.Body.Close()
		require.Len(t, out.Items, 1)
		require.Equal(t, "DENY", out.Items[0].Result)
		why := []string{"module garbage failed: bad output", "module loop failed: timeout", "module trap-unreachable failed: trap"}
		if i >= 3 { // three traps, timeouts or whole-output failures quarantine a module (the default)
			why = []string{"module garbage failed: quarantined", "module loop failed: quarantined", "module trap-unreachable failed: quarantined"}
		}
		for _, w := range why {
			require.Contains(t, out.Items[0].Reason, w)
		}
		code, _ = get("/healthz")
		require.Equal(t, http.StatusOK, code)
	}

	code, body = get("/v1/policies")
	require.Equal(t, http.StatusOK, code)
	var st host.Status
	require.NoError(t, json.Unmarshal([]byte(body), &st))
	byName := map[string]host.PolicyStatus{}
	for _, p := range st.Policies {
		byName[p.Name] = p
	}
	require.Equal(t, host.StatusError, byName["bad-import"].Status)
	require.Contains(t, byName["bad-import"].Message, `import "env"."abort" is not allowed`)
	require.Equal(t, host.StatusError, byName["init-trap"].Status)
	require.Equal(t, uint64(3), byName["trap-unreachable"].Counters.Traps)
	require.Equal(t, uint64(3), byName["loop"].Counters.Timeouts)
	require.Equal(t, host.StatusQuarantined, byName["loop"].Status)
	require.Equal(t, host.StatusQuarantined, byName["trap-unreachable"].Status)
	require.Equal(t, uint64(3), byName["garbage"].Counters.BadOutput)
	require.Equal(t, host.StatusQuarantined, byName["garbage"].Status,
		"bad output counts toward quarantine: each one throws the instance away, and rebuilding it runs the module's initialisation again")
	require.Equal(t, host.StatusOK, byName["allow-one"].Status)
}

// POST /v1/policies/reload reloads the directory and releases quarantined
// modules; it needs a trusted token outside dev mode.
func TestReloadEndpoint(t *testing.T) {
	dir := t.TempDir()
	httpapi.CopyFixture(t, dir, "trap.wasm", "trap-unreachable")
	h := httpapi.NewTestHost(t, func(c *host.Config) { c.QuarantineFailures = 1 })
	require.NoError(t, h.LoadDir(context.Background(), dir))
	_, err := h.Decide(context.Background(), abiNone, oneQuery)
	require.NoError(t, err)
	require.Equal(t, host.StatusQuarantined, h.Status().Policies[0].Status)

	cfg := httpapi.DefaultConfig()
	cfg.StaticTokens = []httpapi.StaticToken{{Token: "trusted-token-1", Subject: "ops"}, {Token: "other-token-12", Subject: "x"}}
	cfg.TrustedSubjects = []string{"ops"}
	srv := httpapi.ServeTest(t, cfg, h)
	post := func(token string) (int, string) {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/v1/policies/reload", nil)
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	code, _ := post("")
	require.Equal(t, http.StatusUnauthorized, code)
	code, _ = post("other-token-12")
	require.Equal(t, http.StatusForbidden, code)
	require.Equal(t, host.StatusQuarantined, h.Status().Policies[0].Status, "refused calls change nothing")
	code, body := post("trusted-token-1")
	require.Equal(t, http.StatusOK, code, body)
	var st host.Status
	require.NoError(t, json.Unmarshal([]byte(body), &st))
	require.Equal(t, uint64(2), st.Generation)
	require.Equal(t, host.StatusOK, st.Policies[0].Status, "the reload released the quarantine")
}
