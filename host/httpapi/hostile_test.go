package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/host"
	"github.com/verdictpdp/verdict/host/httpapi"
)

// TestHostileModulesOverHTTP runs the real server with a real host whose
// directory holds hostile modules beside a healthy one. Every request gets
// 200 with DENY for what the hostile modules claim, the server keeps
// answering, and /v1/policies shows the modules refused at load.
func TestHostileModulesOverHTTP(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"allow-one", "trap-unreachable", "loop", "garbage", "bad-import", "init-trap"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "fixtures", f+".wasm"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, f+".wasm"), b, 0o644))
	}
	hcfg := host.DefaultConfig()
	hcfg.CacheDir = filepath.Join(os.TempDir(), "verdict-test-cache")
	hcfg.CallTimeout = 50 * time.Millisecond
	h, err := host.New(context.Background(), hcfg, nil)
	require.NoError(t, err)
	defer h.Close(context.Background())
	cfg := httpapi.DefaultConfig()
	cfg.DevMode = true
	handler, err := httpapi.New(cfg, h, nil)
	require.NoError(t, err)
	srv := httptest.NewServer(handler)
	defer srv.Close()

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
		for _, why := range []string{"module garbage failed: bad output", "module loop failed: timeout", "module trap-unreachable failed: trap"} {
			require.Contains(t, out.Items[0].Reason, why)
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
	require.Equal(t, uint64(5), byName["trap-unreachable"].Counters.Traps)
	require.Equal(t, uint64(5), byName["loop"].Counters.Timeouts)
	require.Equal(t, host.StatusOK, byName["allow-one"].Status)
}
