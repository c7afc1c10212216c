package module

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host/internal/meter"
)

// fixturesDir holds the host's WAT fixtures (see its README).
var fixturesDir = filepath.Join("..", "..", "testdata", "fixtures")

// testOptions are the host's defaults, with the compilation cache every
// test package shares (DESIGN.md, "One compilation cache for every test
// package") and one instance.
func testOptions(tb testing.TB) Options {
	tb.Helper()
	cache, err := wazero.NewCompilationCacheWithDir(filepath.Join(os.TempDir(), "verdict-test-cache"))
	require.NoError(tb, err)
	return Options{
		Cache:              cache,
		MemoryPages:        32 * 16,
		CallTimeout:        10 * time.Second, // fuel, not this backstop, stops runaways
		LoadTimeout:        2 * time.Second,
		OutputBytes:        64 << 10,
		OutputBytesPerItem: 4 << 10,
		Instances:          1,
		StdioBytes:         64 << 10,
		LogBytes:           64 << 10,
		LogMessages:        1000,
		LogBytesPerCall:    256 << 10,
		RandomBytes:        64 << 10,
		QuarantineFailures: 1 << 30, // tests count failures; quarantine is tested in host
		QuarantineWindow:   time.Minute,
		Fuel:               meter.InitialFuel,
		Log:                slog.New(slog.DiscardHandler),
	}
}

// loadFixture loads host/testdata/fixtures/NAME.wasm with opts.
func loadFixture(tb testing.TB, name string, opts Options) *Module {
	tb.Helper()
	wasm, err := os.ReadFile(filepath.Join(fixturesDir, name+".wasm"))
	require.NoError(tb, err)
	m, err := Load(context.Background(), Source{Name: name, File: name + ".wasm", Wasm: wasm}, opts)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = m.Close(context.Background()) })
	return m
}

// guestItems returns n items with ids "0".."n-1" asking about perms in
// turn.
func guestItems(n int, perms ...abi.Permission) []abi.Item {
	items := make([]abi.Item, n)
	for i := range items {
		items[i] = abi.Item{ID: strconv.Itoa(i), Permission: perms[i%len(perms)]}
	}
	return items
}

var (
	basicPerm    = abi.Permission{Type: abi.PermissionBasic, Name: "catalog.entity.create"}
	resourcePerm = abi.Permission{Type: abi.PermissionResource, Name: "catalog.entity.read", ResourceType: "catalog-entity"}
)

// answerWith makes module m answer items with output: input, given to
// verdict_evaluate as it is, is what the echo fixture returns and what the
// packed fixture reads its packed result from.
func answerWith(m *Module, input []byte, items []abi.Item) []abi.Answer {
	return m.evaluate(context.Background(), input, nil, items, make([]abi.Answer, len(items)))
}
