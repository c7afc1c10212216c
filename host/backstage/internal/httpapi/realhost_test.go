package httpapi

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/host"
)

// The setup shared by the tests that run the real host behind the real
// handler, in this package and in httpapi_test. Its names are exported for
// httpapi_test and, being in a _test.go file, exist only in test builds.

// NewTestHost starts a real host for tb: host.DefaultConfig with the
// compilation cache every test package shares (DESIGN.md, "One
// compilation cache for every test package"), changed by configure when
// not nil. It loads nothing and is closed when tb ends.
func NewTestHost(tb testing.TB, configure func(*host.Config), opts ...host.Option) *host.Host {
	tb.Helper()
	hcfg := host.DefaultConfig()
	hcfg.CacheDir = filepath.Join(os.TempDir(), "verdict-test-cache")
	if configure != nil {
		configure(&hcfg)
	}
	h, err := host.New(context.Background(), hcfg, nil, opts...)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = h.Close(context.Background()) })
	return h
}

// RequireLoaded requires every module of h to have loaded.
func RequireLoaded(tb testing.TB, h *host.Host) {
	tb.Helper()
	for _, p := range h.Status().Policies {
		require.Equal(tb, host.StatusOK, p.Status, p.Message)
	}
}

// ServeTest serves the handler New(cfg, d, nil, opts...) on loopback until
// tb ends.
func ServeTest(tb testing.TB, cfg Config, d Decider, opts ...Option) *httptest.Server {
	tb.Helper()
	handler, err := New(cfg, d, nil, opts...)
	require.NoError(tb, err)
	srv := httptest.NewServer(handler)
	tb.Cleanup(srv.Close)
	return srv
}

// FixturePath is the module fixture NAME.wasm of host/testdata/fixtures.
func FixturePath(name string) string {
	return filepath.Join("..", "..", "..", "testdata", "fixtures", name+".wasm")
}

// CopyFixture copies the module fixture named fixture into dir as file.
func CopyFixture(tb testing.TB, dir, file, fixture string) {
	tb.Helper()
	b, err := os.ReadFile(FixturePath(fixture))
	require.NoError(tb, err)
	require.NoError(tb, os.WriteFile(filepath.Join(dir, file), b, 0o644))
}
