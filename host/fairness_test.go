package host

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host/reliability"
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
	if change != nil {
		change(&cfg)
	}
	h, err := New(context.Background(), cfg, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close(context.Background()) })
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
	// 1,000 items of 1,000-byte names: a 1 MiB body.
	var qs []Query
	for i := 0; i < 1000; i++ {
		qs = append(qs, read(fmt.Sprintf("catalog.entity.%04d.", i)+strings.Repeat("r", 980), nil))
	}
	out["1,000 items, 1,000-byte names"] = qs
	// One item, a 900 KB name, 10,000 refs: 10,000 items of 900 KB each.
	qs = nil
	name := "catalog.entity." + strings.Repeat("r", 900_000)
	for i := 0; i < 10_000; i++ {
		ref := fmt.Sprintf("c:%d", i)
		qs = append(qs, read(name, &ref))
	}
	out["10,000 refs of a 900 KB name"] = qs
	// 10 items of 100 KB names, 1,000 refs each.
	qs = nil
	for k := 0; k < 10; k++ {
		name := fmt.Sprintf("catalog.entity.%d.", k) + strings.Repeat("r", 100_000)
		for i := 0; i < 1000; i++ {
			ref := fmt.Sprintf("c:%d", i)
			qs = append(qs, read(name, &ref))
		}
	}
	out["10 items of 100 KB names × 1,000 refs"] = qs
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

// decideWithin is Decide with the HTTP layer's default request deadline.
func decideWithin(t testing.TB, h *Host, p abi.Principal, qs []Query) *Decisions {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
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
			reliability.Record(t, 19, fmt.Sprintf("%d × %s (Go RBAC, 1 s deadline): mallory's items ALLOW; module; other users' answers", n, name),
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
	heavy := heavyRequests()["1,000 items, 1,000-byte names"]
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !closed(stop) {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				_, _ = h.Decide(ctx, mallory, heavy)
				cancel()
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	rounds := reliability.Scale(20, 200)
	for i := 0; i < rounds; i++ {
		for k, c := range lightCases {
			d := decideWithin(t, h, c.who, []Query{c.q}).Items[0]
			require.Equal(t, want[k], string(d.Result)+" "+d.Reason, "light request %d of %s while heavy ones run", i, c.who.UserEntityRef)
		}
	}
	require.Equal(t, StatusOK, status(t, h, "rbac").Status)
	reliability.Record(t, 19, "2 goroutines hammering 1,000-item 1 MiB batches while other users ask: light answers changed",
		"0 of %d", rounds*len(lightCases))
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
