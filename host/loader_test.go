package host

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
)

// Tests of what the loader reads (README "Policy directory", "What is
// read"): regular files only, symlinks only inside the directory, nothing
// that blocks, reads bounded, and a load that hangs anyway never holds
// reloads up.

// hangLimit is how long a load may take in these tests before it counts as
// hung. It is not a timing assertion: the loads here take milliseconds, and
// before the loader checked file types they never returned at all.
const hangLimit = 30 * time.Second

// within runs f and fails the test if it does not return within d: for
// code that used to block forever.
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not return within %s: it hangs", what, d)
	}
}

// outsideDir is a directory beside the policy directory holding what must
// never reach a module: a valid module that allows, a settings file and a
// secret text file.
func outsideDir(t *testing.T) string {
	t.Helper()
	out := t.TempDir()
	copyFixture(t, out, "allow.wasm", "allow-one")
	require.NoError(t, os.WriteFile(filepath.Join(out, "secret.yaml"), []byte("secret: outside\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(out, "secret.txt"), []byte("outside secret\n"), 0o644))
	return out
}

// rel is the path of target relative to dir, for a symlink in dir.
func rel(t *testing.T, dir, target string) string {
	t.Helper()
	r, err := filepath.Rel(dir, target)
	require.NoError(t, err)
	return r
}

// listenUnix creates a unix socket at path, closed at the end of the test.
func listenUnix(t *testing.T, path string) {
	t.Helper()
	ln, err := net.Listen("unix", path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
}

// mknodZero creates a character device like /dev/zero at path, or skips
// when the test may not create devices.
func mknodZero(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mknod(path, syscall.S_IFCHR|0o644, 1<<8|5); err != nil {
		t.Skipf("cannot create a device node here: %v", err)
	}
}

func TestLoaderRefusesWhatItMustNotRead(t *testing.T) {
	tests := []struct {
		name string
		// fixture is the module m's fixture; prepare adds the hostile file.
		fixture string
		prepare func(t *testing.T, dir, out string)
		// file is the file the message must name, relative to dir; want
		// the problem it must state.
		file, want string
	}{
		{"module is a FIFO", "", func(t *testing.T, dir, _ string) {
			require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "m.wasm"), 0o644))
		}, "m.wasm", "a FIFO"},
		{"module is a directory", "", func(t *testing.T, dir, _ string) {
			require.NoError(t, os.Mkdir(filepath.Join(dir, "m.wasm"), 0o755))
		}, "m.wasm", "it is a directory"},
		{"module is a unix socket", "", func(t *testing.T, dir, _ string) {
			listenUnix(t, filepath.Join(dir, "m.wasm"))
		}, "m.wasm", "refused"},
		{"module is a device", "", func(t *testing.T, dir, _ string) {
			mknodZero(t, filepath.Join(dir, "m.wasm"))
		}, "m.wasm", "a character device"},
		{"module symlink to /dev/zero", "", func(t *testing.T, dir, _ string) {
			require.NoError(t, os.Symlink("/dev/zero", filepath.Join(dir, "m.wasm")))
		}, "m.wasm", "refused"},
		{"module relative symlink to /dev/urandom", "", func(t *testing.T, dir, _ string) {
			require.NoError(t, os.Symlink(rel(t, dir, "/dev/urandom"), filepath.Join(dir, "m.wasm")))
		}, "m.wasm", "refused"},
		{"module symlink to a module outside", "", func(t *testing.T, dir, out string) {
			require.NoError(t, os.Symlink(rel(t, dir, filepath.Join(out, "allow.wasm")), filepath.Join(dir, "m.wasm")))
		}, "m.wasm", "refused"},
		{"module symlink to a FIFO inside", "", func(t *testing.T, dir, _ string) {
			require.NoError(t, syscall.Mkfifo(filepath.Join(dir, ".pipe"), 0o644))
			require.NoError(t, os.Symlink(".pipe", filepath.Join(dir, "m.wasm")))
		}, "m.wasm", "a FIFO"},
		{"settings is a FIFO", "configure-ok", func(t *testing.T, dir, _ string) {
			require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "m.yaml"), 0o644))
		}, "m.yaml", "a FIFO"},
		{"settings symlink to /etc/passwd", "configure-ok", func(t *testing.T, dir, _ string) {
			require.NoError(t, os.Symlink("/etc/passwd", filepath.Join(dir, "m.yaml")))
		}, "m.yaml", "refused"},
		{"settings relative symlink outside", "configure-ok", func(t *testing.T, dir, out string) {
			require.NoError(t, os.Symlink(rel(t, dir, filepath.Join(out, "secret.yaml")), filepath.Join(dir, "m.yaml")))
		}, "m.yaml", "refused"},
		{"settings is a directory", "configure-ok", func(t *testing.T, dir, _ string) {
			require.NoError(t, os.Mkdir(filepath.Join(dir, "m.json"), 0o755))
		}, "m.json", "it is a directory"},
		{"sidecar file symlink to /proc/self/environ", "configure-ok", func(t *testing.T, dir, _ string) {
			require.NoError(t, os.Mkdir(filepath.Join(dir, "m.d"), 0o755))
			require.NoError(t, os.Symlink("/proc/self/environ", filepath.Join(dir, "m.d", "env")))
		}, "m.d/env", "refused"},
		{"sidecar file relative symlink to /proc/self/environ", "configure-ok", func(t *testing.T, dir, _ string) {
			require.NoError(t, os.Mkdir(filepath.Join(dir, "m.d"), 0o755))
			require.NoError(t, os.Symlink(rel(t, filepath.Join(dir, "m.d"), "/proc/self/environ"), filepath.Join(dir, "m.d", "env")))
		}, "m.d/env", "refused"},
		{"sidecar file symlink outside", "configure-ok", func(t *testing.T, dir, out string) {
			require.NoError(t, os.Mkdir(filepath.Join(dir, "m.d"), 0o755))
			require.NoError(t, os.Symlink(rel(t, filepath.Join(dir, "m.d"), filepath.Join(out, "secret.txt")), filepath.Join(dir, "m.d", "s.txt")))
		}, "m.d/s.txt", "refused"},
		{"sidecar directory symlink outside", "configure-ok", func(t *testing.T, dir, out string) {
			require.NoError(t, os.Symlink(rel(t, dir, out), filepath.Join(dir, "m.d")))
		}, "m.d", "refused"},
		{"sidecar file is a FIFO", "configure-ok", func(t *testing.T, dir, _ string) {
			require.NoError(t, os.Mkdir(filepath.Join(dir, "m.d"), 0o755))
			require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "m.d", "pipe"), 0o644))
		}, "m.d/pipe", "a FIFO"},
		{"sidecar file is a unix socket", "configure-ok", func(t *testing.T, dir, _ string) {
			require.NoError(t, os.Mkdir(filepath.Join(dir, "m.d"), 0o755))
			listenUnix(t, filepath.Join(dir, "m.d", "s"))
		}, "m.d/s", "refused"},
		{"sidecar file symlink to /dev/zero", "configure-ok", func(t *testing.T, dir, _ string) {
			require.NoError(t, os.Mkdir(filepath.Join(dir, "m.d"), 0o755))
			require.NoError(t, os.Symlink("/dev/zero", filepath.Join(dir, "m.d", "zero")))
		}, "m.d/zero", "refused"},
		{"sidecar file is a device", "configure-ok", func(t *testing.T, dir, _ string) {
			require.NoError(t, os.Mkdir(filepath.Join(dir, "m.d"), 0o755))
			mknodZero(t, filepath.Join(dir, "m.d", "zero"))
		}, "m.d/zero", "a character device"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var dir string
			if tt.fixture == "" {
				dir = t.TempDir()
			} else {
				dir = fixtureDir(t, "m="+tt.fixture)
			}
			tt.prepare(t, dir, outsideDir(t))
			h, err := New(context.Background(), testConfig(), nil)
			require.NoError(t, err)
			defer h.Close(context.Background())
			within(t, hangLimit, "LoadDir", func() { err = h.LoadDir(context.Background(), dir) })
			require.NoError(t, err)
			st := status(t, h, "m")
			require.Equal(t, StatusError, st.Status, "the module must not load")
			require.Contains(t, st.Message, filepath.Join(dir, tt.file), "the message names the file")
			require.Contains(t, st.Message, tt.want)
			require.NotContains(t, st.Message, "outside secret")
			// Nothing serves for m: the default answers.
			require.Equal(t, abi.Deny, decideOne(t, h, basic("x")).Result)
		})
	}
}

// The loader gives nothing from outside the directory to a module: checked
// on the configure input itself, where a symlink would have put the file's
// contents.
func TestReadSourceKeepsOutsideContentsOut(t *testing.T) {
	dir := fixtureDir(t, "m=configure-ok")
	out := outsideDir(t)
	require.NoError(t, os.Mkdir(filepath.Join(dir, "m.d"), 0o755))
	require.NoError(t, os.Symlink(rel(t, filepath.Join(dir, "m.d"), filepath.Join(out, "secret.txt")), filepath.Join(dir, "m.d", "s.txt")))
	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	defer root.Close()
	_, configure, err := readSource(root, dir, entry{name: "m", file: filepath.Join(dir, "m.wasm")})
	require.ErrorIs(t, err, ErrRefusedFile)
	require.NotContains(t, string(configure), "outside secret")
}

// A Kubernetes ConfigMap volume: every file a relative symlink through
// "..data", itself a symlink to a timestamped directory, all inside the
// policy directory; an update swaps "..data" atomically. Module, settings
// and sidecar all load through it, before and after the swap.
func TestConfigMapLayoutLoads(t *testing.T) {
	allowList := guest(t, "examples/allow-list.wasm")
	wasm, err := os.ReadFile(allowList)
	require.NoError(t, err)
	dir := t.TempDir()
	version := func(ts, allow string) {
		v := filepath.Join(dir, ts)
		require.NoError(t, os.MkdirAll(filepath.Join(v, "list.d"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(v, "list.wasm"), wasm, 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(v, "list.json"), []byte(`{"allow":["`+allow+`"]}`), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(v, "list.d", "note.txt"), []byte(allow), 0o644))
		require.NoError(t, os.Symlink(ts, filepath.Join(dir, "..data_tmp")))
		require.NoError(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	}
	version("..2026_12_07_10_00_00.000000001", "a.read")
	for _, f := range []string{"list.wasm", "list.json", "list.d"} {
		require.NoError(t, os.Symlink(filepath.Join("..data", f), filepath.Join(dir, f)))
	}
	h, err := New(context.Background(), testConfig(), nil)
	require.NoError(t, err)
	defer h.Close(context.Background())
	require.NoError(t, h.LoadDir(context.Background(), dir))
	st := status(t, h, "list")
	require.Equal(t, StatusOK, st.Status, st.Message)
	require.Equal(t, abi.Allow, decideOne(t, h, basic("a.read")).Result)
	require.Equal(t, abi.Deny, decideOne(t, h, basic("b.read")).Result)

	version("..2026_12_07_11_00_00.000000002", "b.read")
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "..2026_12_07_10_00_00.000000001")))
	require.NoError(t, h.LoadDir(context.Background(), dir))
	st = status(t, h, "list")
	require.Equal(t, StatusOK, st.Status, st.Message)
	require.Equal(t, abi.Deny, decideOne(t, h, basic("a.read")).Result)
	require.Equal(t, abi.Allow, decideOne(t, h, basic("b.read")).Result)
}

// A load that hangs (here a read that blocks, standing for a hung network
// file system) gives up at LoadDirTimeout; later reloads are not queued
// behind it but take over, up to maxStuckLoads, then get ErrLoadStuck; the
// previous snapshot serves throughout; an abandoned load that returns late
// never replaces a newer snapshot.
func TestHungLoadNeverHoldsReloads(t *testing.T) {
	dir := fixtureDir(t, "a=allow-one")
	cfg := testConfig()
	cfg.LoadDirTimeout = 200 * time.Millisecond
	h, err := New(context.Background(), cfg, nil)
	require.NoError(t, err)
	defer h.Close(context.Background())
	require.NoError(t, h.LoadDir(context.Background(), dir))

	var block atomic.Bool
	release := make(chan struct{})
	hook := func(path string) {
		if block.Load() && strings.HasSuffix(path, "a.wasm") {
			<-release
		}
	}
	testHookRead.Store(&hook)
	defer testHookRead.Store(nil)
	block.Store(true)
	copyFixture(t, dir, "a.wasm", "deny-one")

	// The first reload, and every later one up to maxStuckLoads, times out;
	// the next is refused at once.
	for i := 0; i <= maxStuckLoads; i++ {
		within(t, hangLimit, "Reload", func() { err = h.Reload(context.Background()) })
		require.ErrorIs(t, err, ErrLoadTimeout, "reload %d", i)
		require.Equal(t, abi.Allow, decideOne(t, h, basic("x")).Result, "the previous snapshot serves")
	}
	within(t, hangLimit, "Reload", func() { err = h.Reload(context.Background()) })
	require.ErrorIs(t, err, ErrLoadStuck)
	require.Contains(t, err.Error(), "previous snapshot keeps serving")
	within(t, hangLimit, "Status", func() { require.Equal(t, StatusOK, status(t, h, "a").Status) })

	// The file system recovers: the stuck loads return, and reloads work.
	block.Store(false)
	close(release)
	require.Eventually(t, func() bool {
		h.loadMu.Lock()
		defer h.loadMu.Unlock()
		return !h.loading && h.stuckLoads == 0
	}, hangLimit, time.Millisecond, "the stuck loads return")
	within(t, hangLimit, "Reload", func() { err = h.Reload(context.Background()) })
	require.NoError(t, err)
	require.Equal(t, abi.Deny, decideOne(t, h, basic("x")).Result)
	gen := h.Status().Generation
	within(t, hangLimit, "Reload", func() { err = h.Reload(context.Background()) })
	require.NoError(t, err)
	require.Equal(t, abi.Deny, decideOne(t, h, basic("x")).Result)
	require.Greater(t, h.Status().Generation, gen)
	within(t, hangLimit, "Close", func() { require.NoError(t, h.Close(context.Background())) })
}

// Close does not wait for a load that hangs beyond its context.
func TestCloseDuringHungLoad(t *testing.T) {
	dir := fixtureDir(t, "a=allow-one")
	cfg := testConfig()
	cfg.LoadDirTimeout = time.Hour
	h, err := New(context.Background(), cfg, nil)
	require.NoError(t, err)
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{}, 1)
	hook := func(string) {
		select {
		case started <- struct{}{}:
		default:
		}
		<-release
	}
	testHookRead.Store(&hook)
	defer testHookRead.Store(nil)
	loadErr := make(chan error, 1)
	go func() { loadErr <- h.LoadDir(context.Background(), dir) }()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	within(t, hangLimit, "Close", func() { _ = h.Close(ctx) })
	_, err = h.Decide(context.Background(), user, []Query{basic("x")})
	require.True(t, errors.Is(err, ErrClosed) || errors.Is(err, ErrNoSnapshot), "%v", err)
}
