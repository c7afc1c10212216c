package host

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/internal/testing/stall"
)

// testCacheDir is one compilation cache shared by every test package, so
// that modules compile once per machine (DESIGN.md, "One compilation cache
// for every test package").
func testCacheDir() string { return filepath.Join(os.TempDir(), "verdict-test-cache") }

func testConfig() Config {
	cfg := DefaultConfig()
	cfg.CacheDir = testCacheDir()
	cfg.LoadTimeout = 2 * time.Second
	cfg.CallTimeout = 200 * time.Millisecond
	cfg.Instances = 2
	return cfg
}

// fixtureDir copies fixtures into a new policy directory. Each argument is
// "FIXTURE" or "NAME=FIXTURE" (the module is then NAME.wasm).
func fixtureDir(t testing.TB, fixtures ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range fixtures {
		name, src, ok := strings.Cut(f, "=")
		if !ok {
			src = name
		}
		b, err := os.ReadFile(filepath.Join("testdata", "fixtures", src+".wasm"))
		require.NoError(t, err)
		if !strings.HasSuffix(name, ".tmp") {
			name += ".wasm"
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
	}
	return dir
}

func newHost(t testing.TB, cfg Config, fixtures ...string) *Host {
	t.Helper()
	h, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	require.NoError(t, h.LoadDir(context.Background(), fixtureDir(t, fixtures...)))
	return h
}

func basic(name string) Query {
	return Query{Permission: abi.Permission{Type: abi.PermissionBasic, Name: name}}
}

func resource(name, rt string, ref *string) Query {
	return Query{Permission: abi.Permission{Type: abi.PermissionResource, Name: name, ResourceType: rt}, ResourceRef: ref}
}

var user = abi.Principal{Type: abi.PrincipalUser, UserEntityRef: "user:default/alice",
	OwnershipEntityRefs: []string{"user:default/alice", "group:default/team-a"}}

func decideOne(t testing.TB, h *Host, q Query) Decision {
	t.Helper()
	d, err := h.Decide(context.Background(), user, []Query{q})
	require.NoError(t, err)
	require.Len(t, d.Items, 1)
	return d.Items[0]
}

func status(t testing.TB, h *Host, name string) PolicyStatus {
	t.Helper()
	for _, p := range h.Status().Policies {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no module %q in status", name)
	return PolicyStatus{}
}

func TestNoSnapshot(t *testing.T) {
	h, err := New(context.Background(), testConfig(), nil)
	require.NoError(t, err)
	defer h.Close(context.Background())
	_, err = h.Decide(context.Background(), user, []Query{basic("x")})
	require.ErrorIs(t, err, ErrNoSnapshot)
	require.ErrorIs(t, h.Ready(), ErrNoSnapshot)
	require.Empty(t, h.Status().Policies)
}

func TestEmptyDirectoryGivesDefault(t *testing.T) {
	for _, def := range []abi.Result{abi.Deny, abi.Allow} {
		t.Run(string(def), func(t *testing.T) {
			cfg := testConfig()
			cfg.Default = def
			h := newHost(t, cfg)
			require.NoError(t, h.Ready())
			d := decideOne(t, h, basic("catalog.entity.create"))
			require.Equal(t, def, d.Result)
			require.Contains(t, d.Reason, "no module claims")
			require.Equal(t, uint64(1), h.Status().Generation)
		})
	}
}

func TestLoadFailures(t *testing.T) {
	tests := []struct {
		fixture string
		message string
	}{
		{"missing-marker", `missing export "verdict_abi_v1": not an ABI v1 module`},
		{"missing-evaluate", "missing exports verdict_evaluate"},
		{"missing-describe", "missing exports verdict_describe"},
		{"wrong-signature", `export "verdict_evaluate" has signature (i32) -> (i32), want (i32, i32) -> (i64)`},
		{"bad-import", `import "env"."abort" is not allowed`},
		{"init-loop", "_initialize: timeout"},
		{"init-trap", "_initialize: trap"},
		{"bigmin", "not a valid WebAssembly module"},
		{"describe-garbage", "verdict_describe: output is not a description"},
		{"describe-abi2", `verdict_describe: abi "2.0" is not supported`},
		{"configure-error", "verdict_configure: guest error: the module refused its settings: bad-settings: setting x is required"},
		{"configure-zero", "verdict_configure: bad output: the guest returned 0"},
		{"not-wasm", "not a valid WebAssembly module"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			cfg := testConfig()
			cfg.LoadTimeout = 300 * time.Millisecond
			h := newHost(t, cfg, tt.fixture, "zz-allow=allow-one")
			st := status(t, h, tt.fixture)
			require.Equal(t, StatusError, st.Status)
			require.Contains(t, st.Message, tt.fixture+".wasm", "the message names the file")
			require.Contains(t, st.Message, tt.message)
			// The broken module is left out; the rest of the directory serves.
			require.Equal(t, StatusOK, status(t, h, "zz-allow").Status)
			d := decideOne(t, h, basic("catalog.entity.create"))
			require.Equal(t, abi.Allow, d.Result)
			require.Len(t, d.Answers, 1)
			require.Equal(t, "zz-allow", d.Answers[0].Module)
		})
	}
}

func TestRuntimeFailuresDeny(t *testing.T) {
	tests := []struct {
		fixture string
		reason  string
		counter func(Counters) uint64
	}{
		{"loop", "timeout: fuel exhausted", func(c Counters) uint64 { return c.Timeouts }},
		{"fib", "timeout: fuel exhausted", func(c Counters) uint64 { return c.Timeouts }}, // loop-free recursion
		{"recurse", "trap: ", func(c Counters) uint64 { return c.Traps }},                 // stack overflow before the fuel runs out
		{"trap-unreachable", "trap: ", func(c Counters) uint64 { return c.Traps }},
		{"trap-div0", "trap: ", func(c Counters) uint64 { return c.Traps }},
		{"trap-oob", "trap: ", func(c Counters) uint64 { return c.Traps }},
		{"trap-indirect", "trap: ", func(c Counters) uint64 { return c.Traps }},
		{"garbage", "bad output: output is not a valid response", func(c Counters) uint64 { return c.BadOutput }},
		{"zero", "bad output: the guest returned 0", func(c Counters) uint64 { return c.BadOutput }},
		{"out-of-range", "is outside the guest's", func(c Counters) uint64 { return c.BadOutput }},
		{"huge-output", "over the cap", func(c Counters) uint64 { return c.BadOutput }},
		{"error-envelope", "guest error: boom: policy exploded", func(c Counters) uint64 { return c.BadOutput }},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			cfg := testConfig()
			// Long enough that fuel, not the wall-clock backstop, stops runaways.
			cfg.CallTimeout = 30 * time.Second
			h := newHost(t, cfg, tt.fixture)
			for i := 1; i <= 3; i++ {
				d := decideOne(t, h, basic("catalog.entity.create"))
				require.Equal(t, abi.Deny, d.Result)
				require.Contains(t, d.Reason, "module "+tt.fixture+" failed")
				require.Contains(t, d.Reason, tt.reason)
				c := status(t, h, tt.fixture).Counters
				require.Equal(t, uint64(i), tt.counter(c), "failure counted")
				require.Equal(t, uint64(i), c.Discarded, "instance discarded after every failure")
			}
			// The host keeps serving: abandoned calls return and free their
			// slots (soon, but not at once on a loaded machine).
			require.Eventually(t, func() bool { return h.Ready() == nil }, 30*time.Second, 10*time.Millisecond)
		})
	}
}

func TestGrowBombDenies(t *testing.T) {
	cfg := testConfig()
	cfg.MemoryMiB = 4
	cfg.CallTimeout = 2 * time.Second
	h := newHost(t, cfg, "grow-bomb")
	d := decideOne(t, h, basic("x"))
	require.Equal(t, abi.Deny, d.Result)
	require.Contains(t, d.Reason, "module grow-bomb failed: trap")
	require.Equal(t, uint64(1), status(t, h, "grow-bomb").Counters.Discarded)
}

func TestPerItemValidation(t *testing.T) {
	h := newHost(t, testConfig(), "bad-answers")
	qs := make([]Query, 5)
	for i := range qs {
		qs[i] = basic(fmt.Sprintf("test.p%d", i))
	}
	d, err := h.Decide(context.Background(), user, qs)
	require.NoError(t, err)
	want := []struct {
		result abi.Result
		reason string
	}{
		{abi.Deny, "item answered more than once"},
		{abi.Deny, "no answer for this item"},
		{abi.Deny, `invalid answer: result "MAYBE"`},
		{abi.Allow, "bad-answers: ALLOW"},
		{abi.Deny, "no answer for this item"},
	}
	for i, w := range want {
		require.Equal(t, w.result, d.Items[i].Result, "item %d", i)
		require.Contains(t, d.Items[i].Reason, w.reason, "item %d", i)
	}
	require.Equal(t, uint64(0), status(t, h, "bad-answers").Counters.Discarded)
}

func TestEchoedInputIsNotAnAnswer(t *testing.T) {
	// echo returns the request itself: items with ids but no result.
	h := newHost(t, testConfig(), "echo")
	d := decideOne(t, h, basic("x"))
	require.Equal(t, abi.Deny, d.Result)
	require.Contains(t, d.Reason, `module echo: invalid answer: result ""`)
}

func TestConditionalChecks(t *testing.T) {
	ref := "component:default/x"
	tests := []struct {
		name   string
		query  Query
		result abi.Result
		reason string
	}{
		{"basic permission", basic("catalog.entity.create"), abi.Deny, "CONDITIONAL for basic permission"},
		{"other resource type", resource("scaffolder.template.read", "scaffolder-template", nil), abi.Deny, "does not match permission"},
		{"matching resource", resource("catalog.entity.read", "catalog-entity", nil), abi.Conditional, ""},
		{"matching resource with ref", resource("catalog.entity.read", "catalog-entity", &ref), abi.Conditional, ""},
	}
	h := newHost(t, testConfig(), "cond-everything")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decideOne(t, h, tt.query)
			require.Equal(t, tt.result, d.Result)
			require.Contains(t, d.Reason, tt.reason)
			if tt.result == abi.Conditional {
				require.Equal(t, "catalog", d.PluginID)
				require.Equal(t, "catalog-entity", d.ResourceType)
				require.Equal(t, "IS_ENTITY_OWNER", d.Conditions.Rule)
			}
		})
	}
}

func TestCombiningAcrossModules(t *testing.T) {
	tests := []struct {
		combine  Combine
		fixtures []string
		want     abi.Result
		modules  []string
	}{
		{DenyOverrides, []string{"10-a=allow-one", "20-d=deny-one"}, abi.Deny, []string{"10-a", "20-d"}},
		{PermitOverrides, []string{"10-a=allow-one", "20-d=deny-one"}, abi.Allow, []string{"10-a", "20-d"}},
		{FirstApplicable, []string{"10-d=deny-one", "20-a=allow-one"}, abi.Deny, []string{"10-d", "20-a"}},
		{FirstApplicable, []string{"10-x=abstain-one", "20-a=allow-one"}, abi.Allow, []string{"10-x", "20-a"}},
		{DenyOverrides, []string{"10-x=abstain-one", "20-y=abstain-one"}, abi.Deny, []string{"10-x", "20-y"}},
		{DenyOverrides, []string{"10-a=allow-one", "20-t=trap-unreachable"}, abi.Deny, []string{"10-a", "20-t"}},
		{PermitOverrides, []string{"10-t=trap-unreachable", "20-x=abstain-one"}, abi.Deny, []string{"10-t", "20-x"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.combine)+" "+strings.Join(tt.fixtures, ","), func(t *testing.T) {
			cfg := testConfig()
			cfg.Combine = tt.combine
			h := newHost(t, cfg, tt.fixtures...)
			d := decideOne(t, h, basic("catalog.entity.create"))
			require.Equal(t, tt.want, d.Result, d.Reason)
			var got []string
			for _, a := range d.Answers {
				got = append(got, a.Module)
			}
			require.Equal(t, tt.modules, got, "every claiming module answers, in file-name order")
		})
	}
}

func TestGuestLogAndOutputAreBounded(t *testing.T) {
	h := newHost(t, testConfig(), "log", "stdout-spam")
	cfg := DefaultConfig()
	d := decideOne(t, h, basic("x"))
	require.Equal(t, abi.Allow, d.Result)
	require.Equal(t, uint64(100<<10-cfg.LogBytes), status(t, h, "log").Counters.LogDrops)
	require.Equal(t, uint64(0), status(t, h, "stdout-spam").Counters.Discarded)
}

func TestStuckCallsTurnReadinessRed(t *testing.T) {
	stall.WithoutGC(t)
	cfg := testConfig()
	cfg.Instances = 1
	cfg.Fuel = 1 << 62 // so that only the wall-clock backstop stops it
	// Long enough that the call is surely running when its deadline passes,
	// well short of the 1.7 s it needs.
	cfg.CallTimeout = 200 * time.Millisecond
	h := newHost(t, cfg, "slow-recursion")
	d := decideOne(t, h, basic("x"))
	require.Equal(t, abi.Deny, d.Result)
	require.Contains(t, d.Reason, "timeout")
	st := status(t, h, "slow-recursion")
	require.Equal(t, int64(1), st.Counters.Stuck)
	require.ErrorContains(t, h.Ready(), "stuck call")
	// While the only slot is held, the next call fails closed: usually
	// "busy", but a guest running native code delays Go timers on its P, so
	// the deadline may only be noticed after the stuck call has returned.
	d = decideOne(t, h, basic("x"))
	require.Equal(t, abi.Deny, d.Result)
	require.Contains(t, d.Reason, "module slow-recursion failed")
	// The abandoned call finishes on its own, frees its slot, and readiness returns.
	require.Eventually(t, func() bool { return h.Ready() == nil }, 60*time.Second, 20*time.Millisecond)
	require.Equal(t, int64(0), status(t, h, "slow-recursion").Counters.Stuck)
}

func TestPoolHammer(t *testing.T) {
	cfg := testConfig()
	cfg.Instances = 3
	cfg.QuarantineFailures = 1 << 30 // keep the trapping module running
	// Traps, not the wall-clock backstop, are under test: on a loaded
	// machine a trapping call could outlive 200 ms and count as a timeout.
	cfg.CallTimeout = time.Minute
	h := newHost(t, cfg, "10-allow=allow-one", "20-trap=trap-unreachable")
	const goroutines, iterations = 12, 100
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < iterations; i++ {
				d, err := h.Decide(context.Background(), user, []Query{basic("x")})
				if err != nil {
					errs <- err
					return
				}
				if d.Items[0].Result != abi.Deny || len(d.Items[0].Answers) != 2 ||
					d.Items[0].Answers[0].Result != abi.Allow {
					errs <- fmt.Errorf("unexpected decision %+v", d.Items[0])
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	allow := status(t, h, "10-allow").Counters
	trap := status(t, h, "20-trap").Counters
	require.Equal(t, uint64(goroutines*iterations), allow.Calls)
	require.Equal(t, uint64(0), allow.Discarded)
	require.Equal(t, uint64(goroutines*iterations), trap.Traps)
	require.Equal(t, uint64(goroutines*iterations), trap.Discarded)
}

func TestSettingsReachTheModule(t *testing.T) {
	dir := fixtureDir(t, "configure-ok")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "configure-ok.yaml"), []byte("a: 1\n"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "configure-ok.d"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "configure-ok.d", "policy.csv"), []byte("p, x\n"), 0o644))
	h, err := New(context.Background(), testConfig(), nil)
	require.NoError(t, err)
	defer h.Close(context.Background())
	require.NoError(t, h.LoadDir(context.Background(), dir))
	require.Equal(t, StatusOK, status(t, h, "configure-ok").Status)
	require.Equal(t, abi.Allow, decideOne(t, h, basic("x")).Result)
}

func TestSettingsErrors(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(dir string) error
		message string
	}{
		{"two settings files", func(dir string) error {
			_ = os.WriteFile(filepath.Join(dir, "m.yaml"), []byte("a: 1"), 0o644)
			return os.WriteFile(filepath.Join(dir, "m.json"), []byte(`{"a":1}`), 0o644)
		}, "more than one settings file"},
		{"bad yaml", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "m.yaml"), []byte("a: [1"), 0o644)
		}, "m.yaml"},
		{"bad json", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "m.json"), []byte(`{"a":`), 0o644)
		}, "not valid JSON"},
		{"subdirectory in sidecar", func(dir string) error {
			return os.MkdirAll(filepath.Join(dir, "m.d", "sub"), 0o755)
		}, "subdirectories are not allowed"},
		{"binary file in sidecar", func(dir string) error {
			_ = os.Mkdir(filepath.Join(dir, "m.d"), 0o755)
			return os.WriteFile(filepath.Join(dir, "m.d", "blob"), []byte{0xff, 0xfe}, 0o644)
		}, "not UTF-8 text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := fixtureDir(t, "m=configure-ok")
			require.NoError(t, tt.prepare(dir))
			h, err := New(context.Background(), testConfig(), nil)
			require.NoError(t, err)
			defer h.Close(context.Background())
			require.NoError(t, h.LoadDir(context.Background(), dir))
			st := status(t, h, "m")
			require.Equal(t, StatusError, st.Status)
			require.Contains(t, st.Message, tt.message)
		})
	}
}

func TestIgnoredFiles(t *testing.T) {
	dir := fixtureDir(t, "allow-one", ".hidden=deny-one", "x.wasm.tmp=deny-one")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hi"), 0o644))
	h, err := New(context.Background(), testConfig(), nil)
	require.NoError(t, err)
	defer h.Close(context.Background())
	require.NoError(t, h.LoadDir(context.Background(), dir))
	st := h.Status()
	require.Len(t, st.Policies, 1)
	require.Equal(t, "allow-one", st.Policies[0].Name)
}

func TestReloadSwapsSnapshot(t *testing.T) {
	h := newHost(t, testConfig(), "deny-one")
	require.Equal(t, abi.Deny, decideOne(t, h, basic("x")).Result)
	require.NoError(t, h.LoadDir(context.Background(), fixtureDir(t, "allow-one")))
	d, err := h.Decide(context.Background(), user, []Query{basic("x")})
	require.NoError(t, err)
	require.Equal(t, abi.Allow, d.Items[0].Result)
	require.Equal(t, uint64(2), d.Generation)
}

func TestConfigValidate(t *testing.T) {
	require.NoError(t, DefaultConfig().Validate())
	bad := DefaultConfig()
	bad.Combine = "majority"
	bad.Default = abi.Conditional
	bad.CallTimeout = 0
	bad.MemoryMiB = 0
	bad.Instances = -1
	err := bad.Validate()
	require.ErrorContains(t, err, `combine: "majority"`)
	require.ErrorContains(t, err, `default: "CONDITIONAL"`)
	require.ErrorContains(t, err, "callTimeout: must be positive")
	require.ErrorContains(t, err, "memoryMiB: must be positive")
	require.ErrorContains(t, err, "instances: must be positive, got -1")
	_, err = New(context.Background(), bad, nil)
	require.Error(t, err)
}
