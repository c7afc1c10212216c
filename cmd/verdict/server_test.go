package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The http.Server that `verdict serve` builds (README.md, "Reliability",
// row 16): its timeouts are set, configurable and validated.

func TestHTTPServerDefaults(t *testing.T) {
	st, err := load(t, nil, nil)
	require.NoError(t, err)
	srv := newHTTPServer(st, http.NotFoundHandler(), slog.New(slog.DiscardHandler))
	require.Equal(t, 5*time.Second, srv.ReadHeaderTimeout)
	require.Equal(t, 10*time.Second, srv.ReadTimeout)
	require.Equal(t, 15*time.Second, srv.WriteTimeout)
	require.Equal(t, 60*time.Second, srv.IdleTimeout)
	require.Equal(t, 64<<10, srv.MaxHeaderBytes)
	require.NotNil(t, srv.ErrorLog)
}

func TestHTTPServerConfigured(t *testing.T) {
	st, err := load(t, nil, []string{
		"VERDICT_SERVER__TIMEOUTS__READHEADER=1s", "VERDICT_SERVER__TIMEOUTS__READ=2s",
		"VERDICT_SERVER__TIMEOUTS__WRITE=3s", "VERDICT_SERVER__TIMEOUTS__IDLE=4s",
		"VERDICT_SERVER__MAXHEADERBYTES=8192",
	})
	require.NoError(t, err)
	srv := newHTTPServer(st, http.NotFoundHandler(), slog.New(slog.DiscardHandler))
	require.Equal(t, []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 4 * time.Second},
		[]time.Duration{srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout})
	require.Equal(t, 8192, srv.MaxHeaderBytes)
}

// Zero would mean "no timeout" to net/http: every server limit refuses
// zero and negative values, naming the key.
func TestServerLimitsValidated(t *testing.T) {
	tests := []struct{ env, err string }{
		{env: "VERDICT_SERVER__TIMEOUTS__READHEADER=0s", err: "server.timeouts.readHeader: must be positive, got 0s"},
		{env: "VERDICT_SERVER__TIMEOUTS__READ=-1s", err: "server.timeouts.read: must be positive, got -1s"},
		{env: "VERDICT_SERVER__TIMEOUTS__WRITE=0s", err: "server.timeouts.write: must be positive, got 0s"},
		{env: "VERDICT_SERVER__TIMEOUTS__IDLE=-5m", err: "server.timeouts.idle: must be positive, got -5m0s"},
		{env: "VERDICT_SERVER__TIMEOUTS__SHUTDOWN=0s", err: "server.timeouts.shutdown: must be positive, got 0s"},
		{env: "VERDICT_SERVER__MAXHEADERBYTES=0", err: "server.maxHeaderBytes: must be positive, got 0"},
		{env: "VERDICT_SERVER__MAXHEADERBYTES=-1", err: "server.maxHeaderBytes: must be positive, got -1"},
		{env: "VERDICT_SERVER__LIMITS__RESOURCEREFS=0", err: "server.limits.resourceRefs: must be positive, got 0"},
		{env: "VERDICT_SERVER__LIMITS__BODYBYTES=-1", err: "server.limits.bodyBytes: must be positive, got -1"},
		{env: "VERDICT_SERVER__LIMITS__BODYBYTESINFLIGHT=65536", err: "server.limits.bodyBytesInFlight: must be at least limits.bodyBytes (1048576), got 65536"},
	}
	for _, tc := range tests {
		t.Run(tc.env, func(t *testing.T) {
			_, err := load(t, nil, []string{tc.env})
			require.ErrorContains(t, err, tc.err)
		})
	}
}

func TestResourceRefsKey(t *testing.T) {
	st, err := load(t, nil, []string{"VERDICT_SERVER__LIMITS__RESOURCEREFS=20"})
	require.NoError(t, err)
	require.Equal(t, 20, st.HTTP.Limits.ResourceRefs)
	st, err = load(t, nil, nil)
	require.NoError(t, err)
	require.Equal(t, 10000, st.HTTP.Limits.ResourceRefs)
}

// liveServer is `verdict serve` running in the test on a loopback listener,
// in dev mode over a directory holding the allow-one fixture.
type liveServer struct {
	addr string
	st   *settings
}

// legitBody is what legitimate clients ask: allow-one answers ALLOW.
const legitBody = `{"items":[{"id":"0","permission":{"type":"basic","name":"catalog.entity.create","attributes":{}}}]}`

func startServe(t *testing.T, environ ...string) *liveServer {
	t.Helper()
	wasm, err := os.ReadFile(filepath.Join("..", "..", "host", "testdata", "fixtures", "allow-one.wasm"))
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "allow-one.wasm"), wasm, 0o600))
	st, err := load(t, []string{"--policies", dir}, append([]string{
		"VERDICT_BACKSTAGE__AUTH__DANGEROUSLYDISABLEDEFAULTAUTHPOLICY=true",
		"VERDICT_POLICIES__CACHEDIR=" + filepath.Join(os.TempDir(), "verdict-test-cache"),
		"VERDICT_POLICIES__LIMITS__CALLTIMEOUT=10s", // the race detector slows guests; deadlines are not under test
		"VERDICT_DECISIONLOG__SINK=off",
	}, environ...))
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, st, slog.New(slog.DiscardHandler), ln) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	s := &liveServer{addr: ln.Addr().String(), st: st}
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + s.addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, time.Minute, 20*time.Millisecond, "the policy directory never loaded")
	return s
}

// legit sends one legitimate decision request on a new connection and
// fails unless it is allowed.
func (s *liveServer) legit(client *http.Client) (time.Duration, error) {
	start := time.Now()
	resp, err := client.Post("http://"+s.addr+"/api/permission/authorize", "application/json", strings.NewReader(legitBody))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"ALLOW"`) {
		return 0, &unexpected{status: resp.StatusCode, body: string(b)}
	}
	return took, nil
}

type unexpected struct {
	status int
	body   string
}

func (u *unexpected) Error() string {
	return "unexpected answer " + http.StatusText(u.status) + ": " + u.body
}
