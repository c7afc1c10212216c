package host

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/internal/testing/reliability"
)

// Property: no caller can change what other callers get (README
// "Reliability", row 19). The heaviest requests the HTTP layer accepts
// (1 MiB bodies, 1,000 items, 10,000 resourceRefs) are given to the real Go
// RBAC module of examples/rbac; whatever they get themselves, they must not
// quarantine it or otherwise change another user's answers.

// rbacExampleDir is a policy directory with the Go RBAC module and the
// settings and files of examples/rbac.
func rbacExampleDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "rbac.wasm"), mustRead(t, guest(t, "policies/rbac.wasm")), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "rbac.yaml"), mustRead(t, "../examples/rbac/rbac.yaml"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "rbac.d"), 0o755))
	for _, f := range []string{"conditional-policies.yaml", "rbac-policy.csv"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "rbac.d", f), mustRead(t, "../examples/rbac/rbac.d/"+f), 0o644))
	}
	return dir
}

// fairHost is a host with the default limits serving examples/rbac.
func fairHost(t testing.TB, change func(*Config)) *Host {
	t.Helper()
	cfg := DefaultConfig()
	cfg.CacheDir = testCacheDir()
	cfg.LoadTimeout = time.Minute // a cold Go guest under -race
	// Answers, not speed: under -race on a shared 2-core machine a call can
	// outlive the 100 ms backstop without anyone's doing.
	cfg.CallTimeout = 10 * time.Second
	if change != nil {
		change(&cfg)
	}
	h, err := New(context.Background(), cfg, nil)
	require.NoError(t, err)
	t.Cleanup(func() {
		// Calls abandoned at mallory's request deadline run on until
		// they return; closing the module under them is not under test.
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if h.Status().Policies[0].Counters.Stuck == 0 {
				break
			}
		}
		_ = h.Close(context.Background())
	})
	require.NoError(t, h.LoadDir(context.Background(), rbacExampleDir(t)))
	require.Equal(t, StatusOK, status(t, h, "rbac").Status)
	return h
}

func person(name, group string) abi.Principal {
	return abi.Principal{Type: abi.PrincipalUser, UserEntityRef: "user:default/" + name,
		OwnershipEntityRefs: []string{"user:default/" + name, "group:default/" + group}}
}

// heavyRequests are the heaviest batches within the HTTP layer's default
// limits (a resourceRef array becomes one item per ref, as the HTTP layer
// makes them), each sent by mallory.
func heavyRequests() map[string][]Query {
	read := func(name string, ref *string) Query {
		return Query{Permission: abi.Permission{Type: abi.PermissionResource, Name: name, ResourceType: "catalog-entity",
			Attributes: abi.Attributes{Action: "read"}}, ResourceRef: ref}
	}
	out := map[string][]Query{}
	// 1,000 items of 900-byte names: a 1,025 KB body.
	var qs []Query
	for i := 0; i < 1000; i++ {
		qs = append(qs, read(fmt.Sprintf("catalog.entity.%04d.", i)+strings.Repeat("r", 880), nil))
	}
	out["1,000 items, 900-byte names"] = qs
	// One item, a 900 KB name, 10,000 refs: 10,000 items of 900 KB each.
	qs = nil
	name := "catalog.entity." + strings.Repeat("r", 900_000)
	for i := 0; i < 10_000; i++ {
		ref := fmt.Sprintf("c:%d", i)
		qs = append(qs, read(name, &ref))
	}
	out["10,000 refs of a 900 KB name"] = qs
	// 9 items of 100 KB names, 1,000 refs each: a 980 KB body.
	qs = nil
	for k := 0; k < 9; k++ {
		name := fmt.Sprintf("catalog.entity.%d.", k) + strings.Repeat("r", 100_000)
		for i := 0; i < 1000; i++ {
			ref := fmt.Sprintf("c:%d", i)
			qs = append(qs, read(name, &ref))
		}
	}
	out["9 items of 100 KB names × 1,000 refs"] = qs
	return out
}

var mallory = person("mallory", "team-payments")

// lightCases are other users' requests and the answers they get on an idle
// host.
var lightCases = []struct {
	who abi.Principal
	q   Query
}{
	{person("jane", "team-payments"), Query{Permission: abi.Permission{Type: abi.PermissionResource, Name: "catalog.entity.read",
		ResourceType: "catalog-entity", Attributes: abi.Attributes{Action: "read"}}}},
	{person("maria", "team-search"), basic("scaffolder.task.cancel")},
	{abi.Principal{Type: abi.PrincipalUser, UserEntityRef: "user:default/root-admin"}, basic("anything.at.all")},
}

// decideWithin is Decide with the HTTP layer's default request deadline
// (mallory's requests), or a generous one (answers, not speed).
func decideWithin(t testing.TB, h *Host, p abi.Principal, qs []Query) *Decisions {
	t.Helper()
	deadline := 30 * time.Second
	if p.UserEntityRef == mallory.UserEntityRef {
		deadline = time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	d, err := h.Decide(ctx, p, qs)
	require.NoError(t, err)
	return d
}

func lightAnswers(t testing.TB, h *Host) []string {
	t.Helper()
	var out []string
	for _, c := range lightCases {
		d := decideWithin(t, h, c.who, []Query{c.q}).Items[0]
		out = append(out, string(d.Result)+" "+d.Reason)
	}
	return out
}

// TestHeavyRequestsDoNotQuarantine: repeated heaviest valid requests from
// one user leave the module serving, and another user's answers unchanged.
func TestHeavyRequestsDoNotQuarantine(t *testing.T) {
	for name, qs := range heavyRequests() {
		t.Run(name, func(t *testing.T) {
			h := fairHost(t, nil)
			want := lightAnswers(t, h)
			require.True(t, strings.HasPrefix(want[0], "ALLOW"), want[0])
			n := 2 * DefaultConfig().QuarantineFailures
			var allowed int
			start := time.Now()
			for i := 0; i < n; i++ {
				for _, d := range decideWithin(t, h, mallory, qs).Items {
					if d.Result == abi.Allow {
						allowed++
					}
				}
			}
			took := time.Since(start)
			st := status(t, h, "rbac")
			require.Equal(t, StatusOK, st.Status, st.Message)
			require.Equal(t, want, lightAnswers(t, h), "other users' answers after mallory's requests")
			reliability.Record(t, 22, fmt.Sprintf("%d × %s (Go RBAC, 1 s deadline): mallory's items ALLOW; module; other users' answers", n, name),
				"%d of %d in %.1f s; OK; unchanged", allowed, n*len(qs), took.Seconds())
		})
	}
}

// TestHeavyHammerLeavesLightAnswersAlone: heaviest requests in parallel
// with light ones from other users; every light answer is the one it gets
// on an idle host.
func TestHeavyHammerLeavesLightAnswersAlone(t *testing.T) {
	h := fairHost(t, nil)
	want := lightAnswers(t, h)
	heavy := heavyRequests()["9 items of 100 KB names × 1,000 refs"]
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var heavies atomic.Int64
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !closed(stop) {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				_, _ = h.Decide(ctx, mallory, heavy)
				cancel()
				heavies.Add(1)
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	// At least twice as many heavy requests as would quarantine the
	// module if each failed, and as many light rounds.
	minHeavy := int64(2 * DefaultConfig().QuarantineFailures)
	rounds := 0
	for ; rounds < reliability.Scale(20, 200) || heavies.Load() < minHeavy; rounds++ {
		i := rounds
		for k, c := range lightCases {
			d := decideWithin(t, h, c.who, []Query{c.q}).Items[0]
			require.Equal(t, want[k], string(d.Result)+" "+d.Reason, "light request %d of %s while heavy ones run", i, c.who.UserEntityRef)
		}
	}
	require.Equal(t, StatusOK, status(t, h, "rbac").Status)
	reliability.Record(t, 22, fmt.Sprintf("2 goroutines hammering 9 × 100 KB names × 1,000 refs (%d sent) while other users ask: light answers changed",
		heavies.Load()), "0 of %d", rounds*len(lightCases))
}

// closed reports whether c is closed.
func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// bigItem is a basic permission whose name is n bytes long.
func bigItem(n int) Query { return basic("x." + strings.Repeat("n", n)) }

// TestSizedFailuresDoNotQuarantine: a runaway module is quarantined by its
// failures on small calls as before, but failures of calls whose size earned
// more than the base fuel (a request's size explains them) are DENY for that
// request only.
func TestSizedFailuresDoNotQuarantine(t *testing.T) {
	for _, fixture := range []string{"loop", "fib"} {
		t.Run(fixture, func(t *testing.T) {
			cfg := testConfig()
			cfg.CallTimeout = time.Minute // fuel, not the backstop, stops them
			cfg.QuarantineFailures = 1
			h := newHost(t, cfg, fixture)
			// 100 KB of name earns 30 million fuel, over the base.
			for i := 0; i < 3; i++ {
				d := decideOne(t, h, bigItem(100_000))
				require.Equal(t, abi.Deny, d.Result)
				require.Contains(t, d.Reason, "fuel exhausted")
			}
			require.Equal(t, StatusOK, status(t, h, fixture).Status, "failures the request's size explains")
			d := decideOne(t, h, basic("x"))
			require.Contains(t, d.Reason, "fuel exhausted")
			require.Equal(t, StatusQuarantined, status(t, h, fixture).Status, "a runaway on a small input")
		})
	}
}

// TestCallBudget: what a call gets for its size, and when its size explains
// a failure.
func TestCallBudget(t *testing.T) {
	cfg := DefaultConfig()
	require.Equal(t, int64(20_000_000+1000*50_000+300*(256<<10)), cfg.MaxCallFuel())
	for _, c := range []struct {
		name         string
		items, bytes int
		fuel         int64
		sized        bool
	}{
		{"one small item", 1, 300, 20_000_000 + 50_000 + 90_000, false},
		{"size earns exactly the base", 100, 50_000, 40_000_000, false},
		{"size earns more than the base", 100, 50_001, 40_000_300, true},
		{"one huge item: capped", 1, 1 << 20, cfg.MaxCallFuel(), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := cfg.callBudget(c.items, c.bytes)
			require.Equal(t, c.fuel, b.Fuel)
			require.Equal(t, c.sized, b.Sized)
			require.InDelta(t, float64(cfg.CallTimeout)*float64(c.fuel)/float64(cfg.Fuel), float64(b.Timeout), 1000)
		})
	}
	t.Run("no overflow", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.Fuel, cfg.FuelPerItem, cfg.FuelPerInputByte = 1<<62, 1<<62, 1<<62
		require.Equal(t, int64(math.MaxInt64), cfg.MaxCallFuel())
		b := cfg.callBudget(1000, 1<<30)
		require.Equal(t, int64(math.MaxInt64), b.Fuel)
		require.Positive(t, b.Timeout)
	})
}

// TestCallsSplitByInputBytes: a module's share of a batch is split by
// input bytes as well as by items; an item over the limit goes alone; every
// item is answered once, in order.
func TestCallsSplitByInputBytes(t *testing.T) {
	cfg := testConfig()
	cfg.InputBytesPerCall = 4096
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "allow-all.wasm"), mustRead(t, guest(t, "policies/allow-all.wasm")), 0o644))
	h, err := New(context.Background(), cfg, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	require.NoError(t, h.LoadDir(context.Background(), dir))
	qs := []Query{bigItem(1000), bigItem(1000), bigItem(1000), bigItem(1000), bigItem(10_000), basic("x"), bigItem(3000), bigItem(3000)}
	d, err := h.Decide(context.Background(), user, qs)
	require.NoError(t, err)
	for i, it := range d.Items {
		require.Equal(t, abi.Allow, it.Result, "item %d: %s", i, it.Reason)
	}
	// With their envelope, three 1,000-byte names fill 4 KiB: [3 × 1000]
	// [1000] [10,000] [x, 3000] [3000].
	require.Equal(t, uint64(5), status(t, h, "allow-all").Counters.Calls)
}

// TestConcurrentCallsCap: with policies.limits.concurrentCalls 1, a call
// running in one module makes another module's call wait; one that finds no
// slot before its request's deadline is DENY busy, not counted toward
// quarantine, and the module answers once the slot is free.
func TestConcurrentCallsCap(t *testing.T) {
	cfg := testConfig()
	cfg.ConcurrentCalls = 1
	cfg.Fuel = 1 << 62
	cfg.CallTimeout = time.Minute // slow-recursion runs about 1.7 s
	cfg.QuarantineFailures = 1
	cfg.Claims = map[string][]string{"a-slow": {"slow.*"}, "b-ok": {"ok.*"}}
	h := newHost(t, cfg, "a-slow=slow-recursion", "b-ok=allow-one")
	slow := make(chan Decision, 1)
	go func() {
		d, err := h.Decide(context.Background(), user, []Query{basic("slow.x")})
		if err != nil {
			slow <- Decision{Reason: err.Error()}
			return
		}
		slow <- d.Items[0]
	}()
	// Until the slow call has the slot, a light request may still get it.
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		d, err := h.Decide(ctx, user, []Query{basic("ok.x")})
		require.NoError(t, err)
		return d.Items[0].Result == abi.Deny &&
			strings.Contains(d.Items[0].Reason, "busy: no free guest-call slot (policies.limits.concurrentCalls) before the request deadline")
	}, time.Minute, time.Millisecond)
	require.Equal(t, StatusOK, status(t, h, "b-ok").Status, "busy is not counted toward quarantine")
	<-slow
	require.Equal(t, abi.Allow, decideOne(t, h, basic("ok.x")).Result)
}

// TestConfigValidateNewLimits: the budget and cap settings are refused when
// not positive.
func TestConfigValidateNewLimits(t *testing.T) {
	for _, c := range []struct {
		name string
		set  func(*Config)
		err  string
	}{
		{"fuelPerItem", func(c *Config) { c.FuelPerItem = 0 }, "fuelPerItem: must be positive, got 0"},
		{"fuelPerInputByte", func(c *Config) { c.FuelPerInputByte = -1 }, "fuelPerInputByte: must be positive, got -1"},
		{"inputBytesPerCall", func(c *Config) { c.InputBytesPerCall = 0 }, "inputBytesPerCall: must be positive, got 0"},
		{"concurrentCalls", func(c *Config) { c.ConcurrentCalls = 0 }, "concurrentCalls: must be positive, got 0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			c.set(&cfg)
			require.ErrorContains(t, cfg.Validate(), c.err)
		})
	}
	require.Equal(t, max(1, runtime.GOMAXPROCS(0)-1), DefaultConfig().ConcurrentCalls)
}
