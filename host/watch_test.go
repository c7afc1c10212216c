package host

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/internal/testing/reliability"
)

// watching starts Watch on dir and returns the host; the watch stops and
// the host closes at the end of the test.
func watching(t *testing.T, dir string) *Host {
	return watchingWith(t, dir, 50*time.Millisecond)
}

func watchingWith(t *testing.T, dir string, debounce time.Duration) *Host {
	t.Helper()
	return watchingCfg(t, dir, 10*time.Second, func(c *Config) { c.Debounce = debounce })
}

// watchingCfg is watching with the test config changed by mod, waiting up
// to ready for the first snapshot.
func watchingCfg(t *testing.T, dir string, ready time.Duration, mod func(*Config)) *Host {
	t.Helper()
	cfg := testConfig()
	mod(&cfg)
	h, err := New(context.Background(), cfg, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Watch(ctx, dir) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		require.NoError(t, h.Close(context.Background()))
	})
	require.Eventually(t, func() bool { return h.Ready() == nil }, ready, 5*time.Millisecond)
	return h
}

func policyNames(h *Host) map[string]string {
	out := map[string]string{}
	for _, p := range h.Status().Policies {
		out[p.Name] = p.Status + " " + p.SHA256
	}
	return out
}

func TestWatchAddChangeRemove(t *testing.T) {
	dir := fixtureDir(t, "a=allow-one")
	h := watching(t, dir)
	require.Equal(t, abi.Allow, decideOne(t, h, basic("x")).Result)

	// A new module, written the recommended way: a dotfile renamed into place.
	copyFixture(t, dir, ".b.wasm.tmp", "deny-one")
	require.NoError(t, os.Rename(filepath.Join(dir, ".b.wasm.tmp"), filepath.Join(dir, "b.wasm")))
	require.Eventually(t, func() bool { return decideOne(t, h, basic("x")).Result == abi.Deny },
		10*time.Second, 10*time.Millisecond)

	// A settings file change reloads its module.
	before := status(t, h, "a").LoadedAt
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.json"), []byte(`{"v":2}`), 0o644))
	require.Eventually(t, func() bool { return status(t, h, "a").LoadedAt != before }, 10*time.Second, 10*time.Millisecond)

	// So does a file in its sidecar directory, created after the watch began.
	require.NoError(t, os.Mkdir(filepath.Join(dir, "a.d"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.d", "data.csv"), []byte("x\n"), 0o644))
	before = status(t, h, "a").LoadedAt
	require.Eventually(t, func() bool { return status(t, h, "a").LoadedAt != before }, 10*time.Second, 10*time.Millisecond)
	before = status(t, h, "a").LoadedAt
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.d", "data.csv"), []byte("x\ny\n"), 0o644))
	require.Eventually(t, func() bool { return status(t, h, "a").LoadedAt != before }, 10*time.Second, 10*time.Millisecond)

	// Removing a module removes it.
	require.NoError(t, os.Remove(filepath.Join(dir, "b.wasm")))
	require.Eventually(t, func() bool { _, ok := policyNames(h)["b"]; return !ok }, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, abi.Allow, decideOne(t, h, basic("x")).Result)
}

// A slow writer (64 KiB chunks with pauses shorter than the debounce) never
// activates a partial file: the module appears once, complete.
func TestWatchSlowWriter(t *testing.T) {
	wasm, err := os.ReadFile(filepath.Join(buildDir, "policies", "allow-all.wasm"))
	if err != nil {
		wasm, err = os.ReadFile(filepath.Join("testdata", "fixtures", "huge-output.wasm"))
		require.NoError(t, err)
	}
	dir := t.TempDir()
	// Pauses of 5 ms against a 250 ms debounce: wide margins, because a
	// loaded machine stretches sleeps.
	h := watchingWith(t, dir, 250*time.Millisecond)
	f, err := os.Create(filepath.Join(dir, "slow.wasm"))
	require.NoError(t, err)
	var bad atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if s, ok := policyNames(h)["slow"]; ok {
				bad.Store(s)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	for off := 0; off < len(wasm); off += 64 << 10 {
		end := min(off+64<<10, len(wasm))
		_, err := f.Write(wasm[off:end])
		require.NoError(t, err)
		time.Sleep(5 * time.Millisecond)
	}
	lastWrite := time.Now()
	close(stop)
	wg.Wait()
	require.NoError(t, f.Close())
	require.Nil(t, bad.Load(), "a partial file was looked at while it was being written")
	require.Eventually(t, func() bool { return policyNames(h)["slow"] != "" }, 30*time.Second, 10*time.Millisecond)
	active := time.Since(lastWrite)
	st := status(t, h, "slow")
	require.Equal(t, StatusOK, st.Status, st.Message)
	reliability.Record(t, 14, fmt.Sprintf("in-place writer, %d KiB in 64 KiB chunks with 5 ms pauses (debounce 250 ms): partial file looked at; last write to active",
		len(wasm)>>10), "0 times; %.0f ms", float64(active)/float64(time.Millisecond))
}

// A Kubernetes ConfigMap volume updates by swapping the "..data" symlink;
// the module files are symlinks through it.
func TestWatchConfigMapSwap(t *testing.T) {
	dir := t.TempDir()
	v1 := filepath.Join(dir, "..2026_11_22_v1")
	require.NoError(t, os.Mkdir(v1, 0o755))
	copyFixture(t, v1, "m.wasm", "allow-one")
	require.NoError(t, os.Symlink(filepath.Base(v1), filepath.Join(dir, "..data")))
	require.NoError(t, os.Symlink(filepath.Join("..data", "m.wasm"), filepath.Join(dir, "m.wasm")))
	h := watching(t, dir)
	require.Equal(t, abi.Allow, decideOne(t, h, basic("x")).Result)

	v2 := filepath.Join(dir, "..2026_11_22_v2")
	require.NoError(t, os.Mkdir(v2, 0o755))
	copyFixture(t, v2, "m.wasm", "deny-one")
	require.NoError(t, os.Symlink(filepath.Base(v2), filepath.Join(dir, "..data_tmp")))
	require.NoError(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	require.NoError(t, os.RemoveAll(v1))
	require.Eventually(t, func() bool { return decideOne(t, h, basic("x")).Result == abi.Deny },
		10*time.Second, 10*time.Millisecond)
}

// Stopping Watch during its first load is a stop, not a failure: Watch
// returns nil, so `verdict serve` shutting down early does not report that
// the policies failed to load. (A load cancelled just after it activated its
// snapshot used to return "load failed: context canceled".)
func TestWatchCancelledDuringFirstLoadReturnsNil(t *testing.T) {
	h, err := New(context.Background(), testConfig(), nil)
	require.NoError(t, err)
	defer h.Close(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, h.Watch(ctx, fixtureDir(t, "allow-one")))
}

func TestWatchStopsCleanly(t *testing.T) {
	baseline := runtime.NumGoroutine()
	func() {
		t.Run("watch", func(t *testing.T) {
			h := watching(t, fixtureDir(t, "allow-one"))
			decideOne(t, h, basic("x"))
		})
	}()
	// Polled by hand: testify's Eventually runs its condition on goroutines
	// of its own.
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(10 * time.Second); n > baseline && time.Now().Before(deadline); n = runtime.NumGoroutine() {
		time.Sleep(10 * time.Millisecond)
	}
	require.LessOrEqual(t, n, baseline, "goroutines after Watch and Close")
}

// Reloading continuously while requests flow: no request fails and no answer
// mixes two snapshots. Version 1 is two modules that allow, version 2 two
// that deny; both modules of one answer must agree.
func TestReloadHammer(t *testing.T) {
	dir := fixtureDir(t, "a=allow-one", "b=allow-one")
	cfg := testConfig()
	cfg.CallTimeout = 10 * time.Second // a loaded machine must not turn answers into timeouts here
	h, err := New(context.Background(), cfg, nil)
	require.NoError(t, err)
	defer h.Close(context.Background())
	require.NoError(t, h.LoadDir(context.Background(), dir))

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var requests, mixed, failed atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				d, err := h.Decide(context.Background(), user, []Query{basic("x")})
				requests.Add(1)
				if err != nil || len(d.Items) != 1 || len(d.Items[0].Answers) != 2 {
					failed.Add(1)
					continue
				}
				a := d.Items[0].Answers
				version := map[string]bool{"wat says yes": true, "wat says no": true}
				switch {
				case !version[a[0].Reason] || !version[a[1].Reason]:
					failed.Add(1) // not a version's answer at all (a failed call)
				case a[0].Reason != a[1].Reason:
					mixed.Add(1)
				}
			}
		}()
	}
	versions := []string{"allow-one", "deny-one"}
	reloads := 0
	for i := 0; ctx.Err() == nil; i++ {
		v := versions[i%2]
		copyFixture(t, dir, "a.wasm", v)
		copyFixture(t, dir, "b.wasm", v)
		require.NoError(t, h.LoadDir(context.Background(), dir))
		reloads++
	}
	wg.Wait()
	require.Greater(t, reloads, 5)
	require.Greater(t, requests.Load(), int64(100))
	require.Zero(t, failed.Load(), "failed requests")
	require.Zero(t, mixed.Load(), "answers mixing two snapshots")
}
