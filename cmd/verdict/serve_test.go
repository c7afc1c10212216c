package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestServeEndToEnd runs the real server (real host, real module) on a
// loopback listener and asks it for a decision.
func TestServeEndToEnd(t *testing.T) {
	fixture := filepath.Join("..", "..", "host", "testdata", "fixtures", "allow-one.wasm")
	wasm, err := os.ReadFile(fixture)
	if os.IsNotExist(err) {
		t.Skip("host/testdata/fixtures/allow-one.wasm does not exist yet")
	}
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "allow-one.wasm"), wasm, 0o600))

	const token = "e2e-trusted-token"
	st, err := load(t, []string{"--policies", dir}, []string{
		"VERDICT_SERVER__TRUSTEDSUBJECTS=gateway",
		"VERDICT_BACKSTAGE__AUTH__EXTERNALACCESS=[{type: static, options: {token: " + token + ", subject: gateway}}]",
		// One compilation cache shared by every test package (DESIGN.md,
		// "Tests").
		"VERDICT_POLICIES__CACHEDIR=" + filepath.Join(os.TempDir(), "verdict-test-cache"),
		"VERDICT_DECISIONLOG__SINK=off",
	})
	require.NoError(t, err)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logs := &lockedBuffer{}
	go func() { done <- serve(ctx, st, slog.New(slog.NewTextHandler(logs, nil)), ln) }()
	defer func() {
		cancel()
		require.NoError(t, <-done)
		require.Contains(t, logs.String(), "policy snapshot active")
		require.NotContains(t, logs.String(), token, "tokens are never logged")
	}()

	client := &http.Client{Timeout: 10 * time.Second}
	call := func(method, path, tok, body string) (int, string) {
		req, err := http.NewRequest(method, base+path, bytes.NewBufferString(body))
		require.NoError(t, err)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}

	code, _ := call("GET", "/healthz", "", "")
	require.Equal(t, 200, code)
	// Loading a module compiles it; /readyz turns green when the snapshot
	// is active.
	require.Eventually(t, func() bool {
		code, _ := call("GET", "/readyz", "", "")
		return code == 200
	}, 60*time.Second, 20*time.Millisecond, "the policy directory never loaded")

	code, body := call("POST", "/v1/authorize", token,
		`{"principal":{"type":"user","userEntityRef":"user:default/alice"},"items":[{"id":"x","permission":{"type":"basic","name":"catalog.entity.create","attributes":{"action":"create"}}}]}`)
	require.Equal(t, 200, code, body)
	var got struct {
		Generation uint64 `json:"generation"`
		Items      []struct {
			ID, Result, Reason string
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &got))
	require.Len(t, got.Items, 1)
	require.Equal(t, "x", got.Items[0].ID)
	require.Equal(t, "ALLOW", got.Items[0].Result)
	require.Contains(t, got.Items[0].Reason, "wat says yes")
	require.NotZero(t, got.Generation)

	code, body = call("GET", "/metrics", "", "")
	require.Equal(t, 200, code)
	require.Contains(t, body, `verdict_decisions_total{endpoint="native",result="ALLOW"} 1`)
	require.Contains(t, body, `verdict_module_calls_total{module="allow-one"} 1`)

	code, body = call("GET", "/v1/policies", token, "")
	require.Equal(t, 200, code, body)
	require.Contains(t, body, `"name":"allow-one"`)

	code, _ = call("POST", "/v1/authorize", "", `{}`)
	require.Equal(t, 401, code)
	code, _ = call("POST", "/api/permission/authorize", token, `{"items":[]}`)
	require.Equal(t, 403, code, "a static token is a service principal")
}

func TestServeListenError(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"serve", "--listen", "256.0.0.1:1"}, &stdout, &stderr, nil)
	require.Equal(t, exitRuntime, code)
	require.Contains(t, stderr.String(), "cannot listen")
}

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
