package host

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/internal/testing/reliability"
)

// Tests that every change is seen, within a bound (Watch): rewrites that
// keep size and modification time, and directories that never go quiet.

// seenWithin is how long these tests wait for a change to serve. It is not
// a timing assertion (the figures go to the reliability report): before
// Watch looked at inodes and change times and bounded its debounce, these
// changes were never loaded at all.
const seenWithin = 30 * time.Second

// fastWatch is the watch config of the directory tests: short debounce
// bounds, and a call timeout a loaded machine cannot turn into DENY.
func fastWatch(cfg *Config) {
	cfg.Debounce = 50 * time.Millisecond
	cfg.DebounceMax = 200 * time.Millisecond
	cfg.CallTimeout = 10 * time.Second
}

// denyOneSameSize is allow-one.wasm with its answer turned into a DENY of
// exactly the same length: a module rewrite that keeps the file's size.
func denyOneSameSize(t *testing.T) []byte {
	t.Helper()
	allow, err := os.ReadFile(filepath.Join("testdata", "fixtures", "allow-one.wasm"))
	require.NoError(t, err)
	from := []byte(`"result":"ALLOW","reason":"wat says yes"`)
	to := []byte(`"result":"DENY","reason":"wat says no!!"`)
	require.Len(t, to, len(from))
	require.Equal(t, 1, bytes.Count(allow, from))
	return bytes.Replace(allow, from, to, 1)
}

// rewritePinned replaces path's contents with b (same size) in place, as
// cp -p does, and sets its modification time back.
func rewritePinned(t *testing.T, path string, b []byte) {
	t.Helper()
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, st.Size(), int64(len(b)), "the rewrite must keep the size")
	require.NoError(t, os.WriteFile(path, b, 0o644))
	require.NoError(t, os.Chtimes(path, st.ModTime(), st.ModTime()))
}

// renamePinned replaces path by renaming a new file with contents b and
// path's modification time over it, as rsync -a and tar do.
func renamePinned(t *testing.T, path string, b []byte) {
	t.Helper()
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, st.Size(), int64(len(b)), "the rewrite must keep the size")
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	require.NoError(t, os.WriteFile(tmp, b, 0o644))
	require.NoError(t, os.Chtimes(tmp, st.ModTime(), st.ModTime()))
	require.NoError(t, os.Rename(tmp, path))
}

// Same size, same modification time, new contents: the fingerprint differs.
func TestFingerprintSeesPinnedRewrites(t *testing.T) {
	dir := fixtureDir(t, "m=allow-one")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "m.json"), []byte(`{"v":1}`), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "m.d"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "m.d", "f.csv"), []byte("a\n"), 0o644))
	tests := []struct {
		name    string
		rewrite func(t *testing.T)
	}{
		{"module in place", func(t *testing.T) { rewritePinned(t, filepath.Join(dir, "m.wasm"), denyOneSameSize(t)) }},
		{"module renamed over", func(t *testing.T) { renamePinned(t, filepath.Join(dir, "m.wasm"), denyOneSameSize(t)) }},
		{"settings in place", func(t *testing.T) { rewritePinned(t, filepath.Join(dir, "m.json"), []byte(`{"v":2}`)) }},
		{"sidecar file in place", func(t *testing.T) { rewritePinned(t, filepath.Join(dir, "m.d", "f.csv"), []byte("b\n")) }},
		{"sidecar file renamed over", func(t *testing.T) { renamePinned(t, filepath.Join(dir, "m.d", "f.csv"), []byte("c\n")) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := fingerprint(dir)
			// Let the file system's clock tick (a few ms at most on Linux).
			time.Sleep(20 * time.Millisecond)
			tt.rewrite(t)
			after, racy := fingerprint(dir)
			require.NotEqual(t, before, after)
			require.True(t, racy, "a file changed just now makes the fingerprint racy")
		})
	}
}

// A rewrite that keeps size and modification time (cp -p, rsync -a, tar,
// touch -d) is loaded by Watch: module, settings and sidecar file. Each
// case waits out racyWindow first, so the change is seen by its inode and
// change time rather than by the distrust of a fresh fingerprint.
func TestWatchSeesPinnedMtimeRewrites(t *testing.T) {
	tests := []struct {
		name    string
		fixture string // module m's fixture; "" for the allow-list guest
		setup   func(t *testing.T, dir string)
		rewrite func(t *testing.T, dir string)
		// served reports whether the new contents serve.
		served func(t *testing.T, h *Host, before PolicyStatus) bool
	}{
		{"module rewritten in place (cp -p)", "allow-one", nil, func(t *testing.T, dir string) {
			rewritePinned(t, filepath.Join(dir, "m.wasm"), denyOneSameSize(t))
		}, func(t *testing.T, h *Host, _ PolicyStatus) bool {
			return decideOne(t, h, basic("x")).Result == abi.Deny
		}},
		{"module renamed over (rsync -a, tar)", "allow-one", nil, func(t *testing.T, dir string) {
			renamePinned(t, filepath.Join(dir, "m.wasm"), denyOneSameSize(t))
		}, func(t *testing.T, h *Host, _ PolicyStatus) bool {
			return decideOne(t, h, basic("x")).Result == abi.Deny
		}},
		{"settings rewritten in place", "", func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "m.json"), []byte(`{"allow":["a.read"]}`), 0o644))
		}, func(t *testing.T, dir string) {
			rewritePinned(t, filepath.Join(dir, "m.json"), []byte(`{"allow":["b.read"]}`))
		}, func(t *testing.T, h *Host, _ PolicyStatus) bool {
			return decideOne(t, h, basic("b.read")).Result == abi.Allow
		}},
		{"sidecar file rewritten in place", "configure-ok", func(t *testing.T, dir string) {
			require.NoError(t, os.Mkdir(filepath.Join(dir, "m.d"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "m.d", "data.csv"), []byte("x\n"), 0o644))
		}, func(t *testing.T, dir string) {
			rewritePinned(t, filepath.Join(dir, "m.d", "data.csv"), []byte("y\n"))
		}, func(t *testing.T, h *Host, before PolicyStatus) bool {
			return status(t, h, "m").LoadedAt != before.LoadedAt
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var dir string
			if tt.fixture == "" {
				dir = t.TempDir()
				wasm, err := os.ReadFile(guest(t, "examples/allow-list.wasm"))
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(filepath.Join(dir, "m.wasm"), wasm, 0o644))
			} else {
				dir = fixtureDir(t, "m="+tt.fixture)
			}
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			h := watchingWith(t, dir, 50*time.Millisecond)
			before := status(t, h, "m")
			require.Equal(t, StatusOK, before.Status, before.Message)
			require.False(t, tt.served(t, h, before), "the new contents do not serve yet")
			time.Sleep(racyWindow + 100*time.Millisecond) // see the test's comment
			start := time.Now()
			tt.rewrite(t, dir)
			require.Eventually(t, func() bool { return tt.served(t, h, before) }, seenWithin, 5*time.Millisecond,
				"a rewrite keeping size and mtime must be loaded")
			reliability.Record(t, 14, "rewrite keeping size and mtime ("+tt.name+"), debounce 50 ms: time until the new contents serve (before: never)",
				"%.0f ms", float64(time.Since(start))/float64(time.Millisecond))
		})
	}
}

// A directory that never goes quiet (a dotfile and an ignored *.tmp file
// rewritten every 20 ms) still reloads within DebounceMax: removing a
// module and replacing one take effect while requests flow, and no request
// fails meanwhile.
func TestWatchNeverQuietDirectoryReloads(t *testing.T) {
	dir := fixtureDir(t, "a=allow-one", "b=deny-one")
	h := watchingCfg(t, dir, seenWithin, func(cfg *Config) {
		cfg.Debounce = 250 * time.Millisecond
		cfg.DebounceMax = time.Second
		cfg.CallTimeout = 10 * time.Second // a loaded machine must not turn answers into timeouts
	})
	require.Equal(t, abi.Deny, decideOne(t, h, basic("x")).Result)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the churn
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			_ = os.WriteFile(filepath.Join(dir, ".churn"), []byte(fmt.Sprint(i)), 0o644)
			_ = os.WriteFile(filepath.Join(dir, "churn.tmp"), []byte(fmt.Sprint(i)), 0o644)
		}
	}()
	var requests, failed atomic.Int64
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				d, err := h.Decide(context.Background(), user, []Query{basic("x")})
				requests.Add(1)
				if err != nil || len(d.Items) != 1 || d.Items[0].Reason == "" {
					failed.Add(1)
					continue
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	time.Sleep(100 * time.Millisecond) // the churn is under way

	start := time.Now()
	require.NoError(t, os.Remove(filepath.Join(dir, "b.wasm")))
	require.Eventually(t, func() bool { return decideOne(t, h, basic("x")).Result == abi.Allow }, seenWithin, time.Millisecond,
		"removing a module takes effect though the directory never goes quiet")
	removed := time.Since(start)

	start = time.Now()
	copyFixture(t, dir, ".a.wasm.new", "deny-one")
	require.NoError(t, os.Rename(filepath.Join(dir, ".a.wasm.new"), filepath.Join(dir, "a.wasm")))
	require.Eventually(t, func() bool { return decideOne(t, h, basic("x")).Result == abi.Deny }, seenWithin, time.Millisecond,
		"replacing a module takes effect though the directory never goes quiet")
	replaced := time.Since(start)
	require.Zero(t, failed.Load(), "failed requests")
	require.Positive(t, requests.Load())
	reliability.Record(t, 14, "directory rewritten every 20 ms (debounce 250 ms, debounceMax 1 s), 4 clients: module removed / replaced to served (before: never)",
		"%.0f / %.0f ms", float64(removed)/float64(time.Millisecond), float64(replaced)/float64(time.Millisecond))
}

// Removing or renaming the policy directory itself removes its modules:
// an ALLOW it served is revoked, as removing the files one by one would
// (before, the reload failed on the missing directory and the previous
// snapshot kept serving the ALLOW until the directory came back).
func TestWatchDirectoryGoneRevokes(t *testing.T) {
	tests := []struct {
		name   string
		remove func(dir string) error
	}{
		{"removed", os.RemoveAll},
		{"renamed away", func(dir string) error { return os.Rename(dir, dir+".old") }},
		{"replaced by a file", func(dir string) error {
			if err := os.RemoveAll(dir); err != nil {
				return err
			}
			return os.WriteFile(dir, []byte("not a directory"), 0o644)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "policies")
			require.NoError(t, os.Rename(fixtureDir(t, "a=allow-one"), dir))
			h := watchingCfg(t, dir, seenWithin, fastWatch)
			require.Equal(t, abi.Allow, decideOne(t, h, basic("x")).Result)

			require.NoError(t, tt.remove(dir))
			require.Eventually(t, func() bool { return decideOne(t, h, basic("x")).Result == abi.Deny }, seenWithin, 10*time.Millisecond,
				"the directory is gone: its ALLOW is revoked")
		})
	}
}

// The policy directory may itself be a symlink that a deployment swaps to
// a new release (policies -> releases/v2, as ConfigMaps do one level down).
// The swap, and later changes inside the new target, are seen by their
// events within the debounce bound, not only by the periodic resync (which
// this test turns off): before, the watch stayed on the old target, and
// both were seen only by the resync, 10 s later (11.3 s measured with
// verdict serve).
func TestWatchDirectorySymlinkSwap(t *testing.T) {
	saved := resyncEvery
	resyncEvery = time.Hour
	defer func() { resyncEvery = saved }()

	base := t.TempDir()
	v1, v2 := filepath.Join(base, "v1"), filepath.Join(base, "v2")
	require.NoError(t, os.Rename(fixtureDir(t, "a=allow-one"), v1))
	require.NoError(t, os.Rename(fixtureDir(t, "b=deny-one"), v2))
	dir := filepath.Join(base, "policies")
	require.NoError(t, os.Symlink("v1", dir))

	h := watchingCfg(t, dir, seenWithin, fastWatch)
	require.Equal(t, abi.Allow, decideOne(t, h, basic("x")).Result)

	// Swap the symlink atomically, as deployments do.
	require.NoError(t, os.Symlink("v2", dir+".new"))
	require.NoError(t, os.Rename(dir+".new", dir))
	require.Eventually(t, func() bool { return decideOne(t, h, basic("x")).Result == abi.Deny }, seenWithin, 10*time.Millisecond,
		"the swap to v2 is seen")

	// A change inside the new target is seen too.
	require.NoError(t, os.Remove(filepath.Join(v2, "b.wasm")))
	allow, err := os.ReadFile(filepath.Join("testdata", "fixtures", "allow-one.wasm"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(v2, "a.wasm"), allow, 0o644))
	require.Eventually(t, func() bool { return decideOne(t, h, basic("x")).Result == abi.Allow }, seenWithin, 10*time.Millisecond,
		"a change inside the new target is seen")
}
