package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/host"
	"github.com/verdictpdp/verdict/host/backstage/internal/httpapi"
	"github.com/verdictpdp/verdict/internal/testing/reliability"
)

// Tests for README, "Reliability", rows 6, 7 and 8, over HTTP against a
// real host: each asserts the row's behaviour and
// records the figures the report quotes. Sizes grow with
// VERDICT_RELIABILITY=full.

// rowWorld is a real host serving a directory of modules over HTTP in dev
// mode.
type rowWorld struct {
	dir    string
	url    string
	client *http.Client
	h      *host.Host
}

// newRowWorld loads mods into a host configured by hostCfg and serves it.
func newRowWorld(t testing.TB, hostCfg func(*host.Config), opts []httpapi.Option, mods ...invariantModule) *rowWorld {
	t.Helper()
	w := &rowWorld{dir: t.TempDir()}
	claims := map[string][]string{}
	for _, m := range mods {
		httpapi.CopyFixture(t, w.dir, m.name+".wasm", m.fixture)
		if m.claims != nil {
			claims[m.name] = m.claims
		}
	}
	h := httpapi.NewTestHost(t, func(c *host.Config) {
		// Fuel stops runaways; the wall-clock backstop is set far out so
		// that a loaded test machine does not turn healthy calls into
		// timeouts.
		c.CallTimeout = time.Minute
		c.Claims = claims
		if hostCfg != nil {
			hostCfg(c)
		}
	})
	require.NoError(t, h.LoadDir(context.Background(), w.dir))
	cfg := httpapi.DefaultConfig()
	cfg.DevMode = true
	// A loaded test machine must not turn slow answers into deadline
	// failures: the module-level limits are what these tests exercise.
	cfg.Limits.RequestTimeout = 30 * time.Second
	srv := httpapi.ServeTest(t, cfg, h, opts...)
	w.url, w.client, w.h = srv.URL, srv.Client(), h
	w.client.Timeout = 60 * time.Second
	return w
}

// rowAnswer is one answered item.
type rowAnswer struct {
	ID     string `json:"id"`
	Result string `json:"result"`
	Reason string `json:"reason"`
}

// rowReply is one HTTP answer.
type rowReply struct {
	status     int
	items      []rowAnswer
	generation uint64
	took       time.Duration
	err        error
}

// authorize posts body (a JSON items array) to the Backstage endpoint, or
// the native one with a user principal, and reads the answer. It does not
// fail the test, so that it can run on any goroutine.
func (w *rowWorld) authorize(native bool, items string) rowReply {
	path, body := "/api/permission/authorize", `{"items":`+items+`}`
	if native {
		path = "/v1/authorize"
		body = `{"principal":{"type":"user","userEntityRef":"user:default/alice","ownershipEntityRefs":[]},"items":` + items + `}`
	}
	start := time.Now()
	resp, err := w.client.Post(w.url+path, "application/json", strings.NewReader(body))
	if err != nil {
		return rowReply{err: err}
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	r := rowReply{status: resp.StatusCode, took: time.Since(start), err: err}
	if err == nil && resp.StatusCode == http.StatusOK {
		var out struct {
			Generation uint64      `json:"generation"`
			Items      []rowAnswer `json:"items"`
		}
		if r.err = json.Unmarshal(raw, &out); r.err == nil {
			r.items, r.generation = out.Items, out.Generation
		}
	}
	if r.err == nil && resp.StatusCode != http.StatusOK {
		r.err = fmt.Errorf("status %d: %s", resp.StatusCode, raw)
	}
	return r
}

// get times one GET.
func (w *rowWorld) get(path string) (int, time.Duration, error) {
	start := time.Now()
	resp, err := w.client.Get(w.url + path)
	if err != nil {
		return 0, 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(start), nil
}

func basicItem(id, name string) string {
	return `{"id":"` + id + `","permission":{"type":"basic","name":"` + name + `","attributes":{}}}`
}

// goroutinesBack polls until at most want goroutines run, for up to 10 s,
// and returns the last count.
func goroutinesBack(want int) int {
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(10 * time.Second); n > want && time.Now().Before(deadline); n = runtime.NumGoroutine() {
		time.Sleep(10 * time.Millisecond)
	}
	return n
}

// Row 6: a valid permission no module claims is DENY without any guest
// call; an unknown permission type is 400 for the whole batch, also
// without a guest call.
func TestUnclaimedPermissionsAndUnknownTypes(t *testing.T) {
	w := newRowWorld(t, nil, nil, invariantModule{"ok", "allow-one", []string{"ok.*"}})
	n := reliability.Scale(20, 1000)
	var lat []time.Duration
	for i := 0; i < n; i++ {
		r := w.authorize(i%2 == 1, `[`+basicItem("1", "catalog.entity.delete")+`]`)
		require.NoError(t, r.err)
		require.Len(t, r.items, 1)
		require.Equal(t, "DENY", r.items[0].Result)
		require.Contains(t, r.items[0].Reason, "no module claims")
		lat = append(lat, r.took)
	}
	require.Zero(t, policy(w.h, "ok").Counters.Calls, "no guest call for an unclaimed permission")
	reliability.Record(t, 6, fmt.Sprintf("valid permission no module claims (%d requests): guest calls; p99", n),
		"DENY, 0 guest calls; %.2f ms", reliability.QuantileMS(lat, 0.99))

	for _, native := range []bool{false, true} {
		path := "/api/permission/authorize"
		body := `{"items":[` + basicItem("0", "ok.x") + `,{"id":"1","permission":{"type":"admin","name":"ok.y","attributes":{}}}]}`
		if native {
			path = "/v1/authorize"
			body = `{"principal":{"type":"user","userEntityRef":"user:default/alice"},` + body[1:]
		}
		resp, err := w.client.Post(w.url+path, "application/json", strings.NewReader(body))
		require.NoError(t, err)
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, string(raw))
		require.Contains(t, string(raw), `"name":"InputError"`)
		require.NotContains(t, string(raw), "ALLOW")
	}
	require.Zero(t, policy(w.h, "ok").Counters.Calls, "no guest call for a batch refused as a whole")
	reliability.Record(t, 6, `type "admin" beside a valid item, both endpoints`, "400 InputError for the whole batch, 0 guest calls")
}

// Row 7: every trap kind, many times: each request is DENY with 200, the
// instance is thrown away every time, nothing stays stuck, goroutines come
// back to their baseline, and a healthy neighbour's latency is measured
// with and without the trapping traffic.
func TestTrapsAtVolume(t *testing.T) {
	traps := []string{"trap-unreachable", "trap-div0", "trap-oob", "trap-indirect", "trap-exit"}
	if reliability.Full() {
		traps = append(traps, "recurse") // seconds per stack overflow: full size only
	}
	mods := []invariantModule{{"ok", "allow-one", []string{"ok.*"}}}
	for _, f := range traps {
		mods = append(mods, invariantModule{f, f, []string{f + ".*"}})
	}
	w := newRowWorld(t, func(c *host.Config) {
		c.QuarantineFailures = 1 << 30 // keep them running
	}, nil, mods...)
	okItems := `[` + basicItem("n", "ok.n") + `]`
	probe := func(n int) []time.Duration {
		var lat []time.Duration
		for i := 0; i < n; i++ {
			r := w.authorize(false, okItems)
			require.NoError(t, r.err)
			require.Equal(t, "ALLOW", r.items[0].Result)
			lat = append(lat, r.took)
		}
		return lat
	}
	probe(10) // warm up
	idleOK := policy(w.h, "ok").Counters.Instances
	w.client.CloseIdleConnections()
	baseline := runtime.NumGoroutine()
	quiet := probe(reliability.Scale(50, 1000))

	n := reliability.Scale(25, 1000)
	const workers = 4
	for _, f := range traps {
		count := n
		if f == "recurse" {
			count = 10
		}
		var wg sync.WaitGroup
		var next, allow, non200, denied atomic.Int64
		var firstErr atomic.Value
		for g := 0; g < workers; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(count) {
					r := w.authorize(g%2 == 1, `[`+basicItem("t", f+".x")+`]`)
					switch {
					case r.status != http.StatusOK || r.err != nil:
						non200.Add(1)
						firstErr.CompareAndSwap(nil, fmt.Sprint(r.status, r.err))
					case r.items[0].Result == "ALLOW":
						allow.Add(1)
					case r.items[0].Result == "DENY" && strings.Contains(r.items[0].Reason, "module "+f+" failed: trap"):
						denied.Add(1)
					default:
						firstErr.CompareAndSwap(nil, fmt.Sprintf("%+v", r.items[0]))
					}
				}
			}()
		}
		var during []time.Duration
		if f == traps[0] {
			during = probe(reliability.Scale(50, 1000)) // the neighbour while traps run
		}
		wg.Wait()
		require.Nil(t, firstErr.Load(), f)
		require.Zero(t, allow.Load(), f)
		require.Zero(t, non200.Load(), f)
		require.Equal(t, int64(count), denied.Load(), f)
		c := policy(w.h, f).Counters
		require.Equal(t, uint64(count), c.Traps, f)
		require.Equal(t, uint64(count), c.Discarded, "%s: every trapped instance is thrown away", f)
		require.Zero(t, c.Stuck, f)
		reliability.Record(t, 7, fmt.Sprintf("%s × %d requests (%d clients)", f, count, workers), "%d DENY, 0 ALLOW, 0 non-200", denied.Load())
		if during != nil {
			reliability.Record(t, 7, "healthy neighbour p99 without / with "+f+" traffic", "%.2f ms / %.2f ms",
				reliability.QuantileMS(quiet, 0.99), reliability.QuantileMS(during, 0.99))
		}
	}
	require.NoError(t, w.h.Ready())
	require.Equal(t, idleOK, policy(w.h, "ok").Counters.Instances, "the neighbour's pool is back to its size")
	w.client.CloseIdleConnections()
	got := goroutinesBack(baseline + 2)
	require.LessOrEqual(t, got, baseline+2, "goroutines after the trapping traffic")
	reliability.Record(t, 7, "after the traffic: neighbour's idle instances; stuck calls; goroutines vs baseline",
		"%d of %d; 0; %d vs %d", policy(w.h, "ok").Counters.Instances, idleOK, got, baseline)
}

// Row 8: a looping module is stopped by fuel (DENY); with 4×GOMAXPROCS
// looping requests in flight /healthz and a healthy module keep answering;
// after three timeouts the module is quarantined and answers DENY without
// running.
func TestLoopsStopAtFuel(t *testing.T) {
	mods := []invariantModule{{"ok", "allow-one", []string{"ok.*"}}, {"loop", "loop", []string{"loop.*"}}}
	w := newRowWorld(t, func(c *host.Config) {
		c.QuarantineFailures = 1 << 30
	}, nil, mods...)
	loopItems := `[` + basicItem("l", "loop.x") + `]`
	n := reliability.Scale(5, 100)
	var toDeny []time.Duration
	for i := 0; i < n; i++ {
		r := w.authorize(false, loopItems)
		require.NoError(t, r.err)
		require.Equal(t, "DENY", r.items[0].Result)
		require.Contains(t, r.items[0].Reason, "module loop failed: timeout: fuel exhausted")
		toDeny = append(toDeny, r.took)
	}
	reliability.Record(t, 8, fmt.Sprintf("looping module stopped by fuel (%d requests): time to DENY p50 / p99", n),
		"%.0f ms / %.0f ms", reliability.QuantileMS(toDeny, 0.5), reliability.QuantileMS(toDeny, 0.99))

	for _, instances := range []int{runtime.GOMAXPROCS(0), max(1, runtime.GOMAXPROCS(0)-1)} {
		loopsInFlight(t, mods, instances)
	}

	// Quarantine: the third timeout within the window quarantines.
	q := newRowWorld(t, nil, nil, mods...)
	for i := 0; i < 3; i++ {
		r := q.authorize(false, loopItems)
		require.NoError(t, r.err)
		require.Contains(t, r.items[0].Reason, "fuel exhausted")
	}
	require.Equal(t, host.StatusQuarantined, policy(q.h, "loop").Status)
	m := reliability.Scale(20, 1000)
	var quarantined []time.Duration
	for i := 0; i < m; i++ {
		r := q.authorize(false, loopItems)
		require.NoError(t, r.err)
		require.Equal(t, "DENY", r.items[0].Result)
		require.Contains(t, r.items[0].Reason, "module loop failed: quarantined since")
		quarantined = append(quarantined, r.took)
	}
	require.Equal(t, uint64(3), policy(q.h, "loop").Counters.Calls, "a quarantined module does not run")
	reliability.Record(t, 8, fmt.Sprintf("quarantined after 3 fuel timeouts; then %d requests: DENY latency p50 / p99", m),
		"%.2f ms / %.2f ms", reliability.QuantileMS(quarantined, 0.5), reliability.QuantileMS(quarantined, 0.99))
}

// loopsInFlight keeps 4×GOMAXPROCS looping requests in flight against a
// host running at most instances calls per module, and measures /healthz
// and a healthy module meanwhile. Guests run native code that the Go
// scheduler cannot preempt, so the calls that run hold their Ps until
// their fuel runs out.
func loopsInFlight(t *testing.T, mods []invariantModule, instances int) {
	w := newRowWorld(t, func(c *host.Config) {
		c.QuarantineFailures = 1 << 30
		c.Instances = instances
	}, nil, mods...)
	loopItems := `[` + basicItem("l", "loop.x") + `]`
	probes := func(stop <-chan struct{}, min int) (health, ok []time.Duration) {
		for i := 0; i < min || !closed(stop); i++ {
			code, d, err := w.get("/healthz")
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, code)
			health = append(health, d)
			r := w.authorize(false, `[`+basicItem("n", "ok.n")+`]`)
			require.NoError(t, r.err)
			require.Equal(t, "ALLOW", r.items[0].Result)
			ok = append(ok, r.took)
		}
		return health, ok
	}
	quietHealth, quietOK := probes(nil, 50)

	inFlight := 4 * runtime.GOMAXPROCS(0)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var loops, bad atomic.Int64
	for g := 0; g < inFlight; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !closed(stop) {
				r := w.authorize(false, loopItems)
				if r.err != nil || r.items[0].Result != "DENY" {
					bad.Add(1)
				}
				loops.Add(1)
			}
		}()
	}
	timer := time.AfterFunc(time.Duration(reliability.Scale(1, 10))*time.Second, func() { close(stop) })
	defer timer.Stop()
	health, ok := probes(stop, 20)
	wg.Wait()
	require.Zero(t, bad.Load(), "every looping request is DENY")
	what := fmt.Sprintf("%d looping requests in flight, instances %d (of GOMAXPROCS %d), %d loops run",
		inFlight, instances, runtime.GOMAXPROCS(0), loops.Load())
	reliability.Record(t, 8, "/healthz p99 without / with "+what, "%.2f ms / %.2f ms", reliability.QuantileMS(quietHealth, 0.99), reliability.QuantileMS(health, 0.99))
	reliability.Record(t, 8, "healthy module p99 without / with "+what, "%.2f ms / %.2f ms", reliability.QuantileMS(quietOK, 0.99), reliability.QuantileMS(ok, 0.99))
}

// closed reports whether c is closed; a nil c never is.
func closed(c <-chan struct{}) bool {
	if c == nil {
		return true
	}
	select {
	case <-c:
		return true
	default:
		return false
	}
}
