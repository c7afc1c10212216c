package host

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/internal/testing/reliability"
	"github.com/verdictpdp/verdict/internal/testing/stall"
)

func copyFixture(t testing.TB, dir, name, fixture string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "fixtures", fixture+".wasm"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
}

func TestQuarantine(t *testing.T) {
	cfg := testConfig()
	cfg.QuarantineFailures = 3
	h := newHost(t, cfg, "trap-unreachable")
	for i := 0; i < 3; i++ {
		require.Contains(t, decideOne(t, h, basic("x")).Reason, "trap")
	}
	st := status(t, h, "trap-unreachable")
	require.Equal(t, StatusQuarantined, st.Status)
	require.Contains(t, st.Message, "quarantined since")
	require.Equal(t, uint64(1), st.Counters.Quarantines)

	// Quarantined: DENY without running the module.
	d := decideOne(t, h, basic("x"))
	require.Equal(t, abi.Deny, d.Result)
	require.Contains(t, d.Reason, "quarantined since")
	require.Equal(t, uint64(3), status(t, h, "trap-unreachable").Counters.Traps, "the module did not run")
	require.Equal(t, uint64(3), status(t, h, "trap-unreachable").Counters.Calls)
}

func TestReloadReleasesQuarantine(t *testing.T) {
	dir := fixtureDir(t, "trap-unreachable")
	cfg := testConfig()
	cfg.QuarantineFailures = 1
	h, err := New(context.Background(), cfg, nil)
	require.NoError(t, err)
	defer h.Close(context.Background())
	require.NoError(t, h.LoadDir(context.Background(), dir))
	decideOne(t, h, basic("x"))
	require.Equal(t, StatusQuarantined, status(t, h, "trap-unreachable").Status)

	// A change seen by the watcher with the file unchanged keeps it quarantined.
	require.NoError(t, h.load(context.Background(), source{dir: dir}, false))
	require.Equal(t, StatusQuarantined, status(t, h, "trap-unreachable").Status)

	// A forced reload releases it, and the module runs again.
	require.NoError(t, h.LoadDir(context.Background(), dir))
	require.Equal(t, StatusOK, status(t, h, "trap-unreachable").Status)
	require.Contains(t, decideOne(t, h, basic("x")).Reason, "failed: trap")
}

func TestReloadKeepsUnchangedModules(t *testing.T) {
	dir := fixtureDir(t, "a=allow-one", "b=deny-one")
	h, err := New(context.Background(), testConfig(), nil)
	require.NoError(t, err)
	defer h.Close(context.Background())
	require.NoError(t, h.LoadDir(context.Background(), dir))
	decideOne(t, h, basic("x"))
	loadedAt := status(t, h, "a").LoadedAt

	// Replace b, leave a alone.
	copyFixture(t, dir, "b.wasm", "abstain-one")
	require.NoError(t, h.LoadDir(context.Background(), dir))
	a := status(t, h, "a")
	require.Equal(t, loadedAt, a.LoadedAt, "an unchanged module is not reloaded")
	require.Equal(t, uint64(1), a.Counters.Calls, "and keeps its counters")
	d := decideOne(t, h, basic("x"))
	require.Equal(t, abi.Allow, d.Result, "b now abstains")
	require.Equal(t, uint64(2), h.Status().Generation)

	// A changed settings file reloads the module like a changed .wasm.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.json"), []byte(`{"x":1}`), 0o644))
	require.NoError(t, h.LoadDir(context.Background(), dir))
	require.NotEqual(t, loadedAt, status(t, h, "a").LoadedAt)

	// Removing a file removes the module.
	require.NoError(t, os.Remove(filepath.Join(dir, "b.wasm")))
	require.NoError(t, h.LoadDir(context.Background(), dir))
	require.Len(t, h.Status().Policies, 1)
}

func TestFailedReplacementKeepsPreviousVersion(t *testing.T) {
	dir := fixtureDir(t, "m=allow-one")
	h, err := New(context.Background(), testConfig(), nil)
	require.NoError(t, err)
	defer h.Close(context.Background())
	require.NoError(t, h.LoadDir(context.Background(), dir))
	sum := status(t, h, "m").SHA256

	copyFixture(t, dir, "m.wasm", "bad-import")
	require.NoError(t, h.LoadDir(context.Background(), dir))
	st := status(t, h, "m")
	require.Equal(t, StatusError, st.Status)
	require.Contains(t, st.Message, `import "env"."abort" is not allowed`)
	require.Contains(t, st.Message, "the previous version keeps serving")
	require.Equal(t, sum, st.SHA256, "the status describes the version that serves")
	require.Equal(t, abi.Allow, decideOne(t, h, basic("x")).Result)

	// Fixed: the new version serves and the error is gone.
	copyFixture(t, dir, "m.wasm", "deny-one")
	require.NoError(t, h.LoadDir(context.Background(), dir))
	require.Equal(t, StatusOK, status(t, h, "m").Status)
	require.Equal(t, abi.Deny, decideOne(t, h, basic("x")).Result)
}

func TestSeals(t *testing.T) {
	plain, err := os.ReadFile(filepath.Join("testdata", "fixtures", "allow-one.wasm"))
	require.NoError(t, err)
	sealed, err := abi.Seal(plain)
	require.NoError(t, err)
	tampered := append([]byte(nil), sealed...)
	tampered[len(plain)-5] ^= 1
	tests := []struct {
		name        string
		wasm        []byte
		requireSeal bool
		status      string
		message     string
	}{
		{"unsealed, seal optional", plain, false, StatusOK, ""},
		{"sealed, seal optional", sealed, false, StatusOK, ""},
		{"sealed, seal required", sealed, true, StatusOK, ""},
		{"unsealed, seal required", plain, true, StatusError, "not sealed and policies.requireSeal is true"},
		{"bad seal, seal optional", tampered, false, StatusError, "seal does not verify"},
		{"truncated sealed file, seal required", sealed[:len(sealed)-10], true, StatusError, "not a valid WebAssembly module"},
		{"sealed file cut at a section boundary, seal required", plain[:len(plain)-0], true, StatusError, "not sealed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "m.wasm"), tt.wasm, 0o644))
			cfg := testConfig()
			cfg.RequireSeal = tt.requireSeal
			h, err := New(context.Background(), cfg, nil)
			require.NoError(t, err)
			defer h.Close(context.Background())
			require.NoError(t, h.LoadDir(context.Background(), dir))
			st := status(t, h, "m")
			require.Equal(t, tt.status, st.Status, st.Message)
			require.Contains(t, st.Message, tt.message)
			if tt.status == StatusOK {
				require.Equal(t, len(tt.wasm) > len(plain), st.Sealed)
				require.Equal(t, abi.Allow, decideOne(t, h, basic("x")).Result)
			} else {
				require.Equal(t, abi.Deny, decideOne(t, h, basic("x")).Result)
			}
		})
	}
}

func TestClaimsOverride(t *testing.T) {
	cfg := testConfig()
	cfg.Claims = map[string][]string{"allow-one": {"catalog.entity.*"}}
	h := newHost(t, cfg, "allow-one")
	require.Equal(t, []string{"catalog.entity.*"}, status(t, h, "allow-one").Claims)
	require.Equal(t, abi.Allow, decideOne(t, h, basic("catalog.entity.create")).Result)
	d := decideOne(t, h, basic("scaffolder.action.execute"))
	require.Equal(t, abi.Deny, d.Result)
	require.Contains(t, d.Reason, "no module claims")
}

func TestUnchangedDirectoryKeepsGeneration(t *testing.T) {
	dir := fixtureDir(t, "allow-one")
	h, err := New(context.Background(), testConfig(), nil)
	require.NoError(t, err)
	defer h.Close(context.Background())
	require.NoError(t, h.LoadDir(context.Background(), dir))
	require.NoError(t, h.load(context.Background(), source{dir: dir}, false))
	require.Equal(t, uint64(1), h.Status().Generation, "a change that changes nothing activates nothing")
	require.NoError(t, h.Reload(context.Background()))
	require.Equal(t, uint64(2), h.Status().Generation, "a forced reload always activates")
	require.Equal(t, abi.Allow, decideOne(t, h, basic("x")).Result)
}

// With requireSeal, no truncation of a sealed module ever activates, and
// the failed loads leave the complete module serving.
func TestRequireSealRefusesEveryTruncation(t *testing.T) {
	plain, err := os.ReadFile(filepath.Join("testdata", "fixtures", "allow-one.wasm"))
	require.NoError(t, err)
	sealed, err := abi.Seal(plain)
	require.NoError(t, err)
	dir := t.TempDir()
	file := filepath.Join(dir, "m.wasm")
	cfg := testConfig()
	cfg.RequireSeal = true
	h, err := New(context.Background(), cfg, nil)
	require.NoError(t, err)
	defer h.Close(context.Background())
	for cut := 0; cut < len(sealed); cut++ {
		require.NoError(t, os.WriteFile(file, sealed[:cut], 0o644))
		require.NoError(t, h.LoadDir(context.Background(), dir))
		st := status(t, h, "m")
		require.Equal(t, StatusError, st.Status, "cut at %d of %d activated", cut, len(sealed))
		require.Equal(t, abi.Deny, decideOne(t, h, basic("x")).Result)
	}
	require.NoError(t, os.WriteFile(file, sealed, 0o644))
	require.NoError(t, h.LoadDir(context.Background(), dir))
	require.Equal(t, StatusOK, status(t, h, "m").Status)
	// A truncated copy over a serving module: the complete one keeps serving.
	require.NoError(t, os.WriteFile(file, sealed[:len(plain)], 0o644))
	require.NoError(t, h.LoadDir(context.Background(), dir))
	st := status(t, h, "m")
	require.Equal(t, StatusError, st.Status)
	require.True(t, st.Sealed)
	require.Equal(t, abi.Allow, decideOne(t, h, basic("x")).Result)
	reliability.Record(t, 14, "a sealed module cut at every byte, requireSeal: activated",
		"0 of %d cuts; a truncated copy over the serving module left it serving", len(sealed))
}

// Running out of fuel counts toward quarantine; outliving the wall-clock
// backstop with fuel left (the host was too slow) is denied but not held
// against the module.
func TestQuarantineCountsFuelNotOverload(t *testing.T) {
	cfg := testConfig()
	cfg.QuarantineFailures = 1
	cfg.CallTimeout = 30 * time.Second
	h := newHost(t, cfg, "loop")
	require.Contains(t, decideOne(t, h, basic("x")).Reason, "fuel exhausted")
	require.Equal(t, StatusQuarantined, status(t, h, "loop").Status)

	cfg = testConfig()
	cfg.QuarantineFailures = 1
	cfg.Instances = 1
	cfg.Fuel = 1 << 62
	cfg.CallTimeout = 100 * time.Millisecond
	stall.WithoutGC(t)
	h = newHost(t, cfg, "slow-recursion")
	d := decideOne(t, h, basic("x"))
	require.Equal(t, abi.Deny, d.Result)
	require.Contains(t, d.Reason, "no answer within")
	st := status(t, h, "slow-recursion")
	require.Equal(t, uint64(1), st.Counters.Timeouts)
	require.NotEqual(t, StatusQuarantined, st.Status)
	require.Eventually(t, func() bool { return h.Ready() == nil }, 60*time.Second, 20*time.Millisecond)
}
