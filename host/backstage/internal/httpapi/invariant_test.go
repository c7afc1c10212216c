package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host"
	"github.com/verdictpdp/verdict/host/backstage/internal/decisionlog"
	"github.com/verdictpdp/verdict/host/backstage/internal/httpapi"
	"github.com/verdictpdp/verdict/internal/testing/reliability"
	"github.com/verdictpdp/verdict/internal/testing/stall"
)

// The fail-closed invariant (DESIGN.md, "Failure semantics"): no path
// yields ALLOW unless a loaded, healthy module returned a valid ALLOW for
// exactly that item id.
//
// TestFailClosedInvariant walks every failure path the host has, over real
// HTTP against a real host, on both authorize endpoints. In every case the
// directory holds three modules, in file-name order:
//
//   - fail: the module (or, for apply-conditions, the decision) whose path
//     fails, claiming the "fail.*" permissions (catalog.entity.read for the
//     apply-conditions cases);
//   - ok: allow-one, claiming "ok.*": the healthy neighbour, whose item must
//     keep its ALLOW in the same batch;
//   - shadow: allow-one, also claiming "fail.*". It ALLOWs the failing item,
//     so under deny-overrides only the failing module's DENY keeps that item
//     closed: a failure that lost the module's vote (or the module) would
//     show as ALLOW. The controls prove the test can see that ALLOW.
//
// Each case sends a single item, a pair with the neighbour, and a batch of
// three (two failing items), and asserts: no ALLOW for a failing item, the
// status of DESIGN.md's table "What each failure answers", and the
// neighbour's ALLOW when the status is 200.

// invariantModule is one module file: NAME.wasm from FIXTURE, with claims.
type invariantModule struct {
	name, fixture string
	claims        []string
}

// invariantEnv is one case's running world.
type invariantEnv struct {
	t      *testing.T
	dir    string
	url    string
	h      *host.Host
	client *http.Client
	sink   *decisionlog.Logger
}

type invariantCase struct {
	name    string
	fail    string // the fixture in the fail slot ("" for none)
	noLoad  bool   // never load a snapshot
	cond    bool   // the failing items are resource permissions resolved through apply-conditions
	plugin  pluginMode
	hostCfg func(*host.Config)
	apiCfg  func(*httpapi.Config)
	sink    io.Writer // a decision-log sink (nil: none)
	prepare func(e *invariantEnv)
	// during runs while the requests are sent, until stop is closed.
	during func(e *invariantEnv, stop <-chan struct{})
	repeat int // how often the request set is sent (default 1)
	// slow cases (seconds per failing call) send only the pair, to the
	// Backstage endpoint, to keep make test short.
	slow   bool
	status int    // the expected status (default 200)
	errNm  string // the envelope's error name when status is not 200
	reason string // in the reason of every failing item
	allow  bool   // a control: the first failing item is ALLOW
	// neighbourFirst names the neighbour so that it runs before the fail
	// module: modules run one after another within the request deadline,
	// so once it has passed, every module after it fails closed too.
	neighbourFirst bool
	check          func(e *invariantEnv)
}

func TestFailClosedInvariant(t *testing.T) {
	cases := []invariantCase{
		{name: "control: healthy module", fail: "allow-one", allow: true},
		{name: "control: healthy plugin", cond: true, plugin: pluginAllow, allow: true},

		// Traps: each trap fixture, the instance discarded every time.
		{name: "trap unreachable", fail: "trap-unreachable", reason: "module fail failed: trap"},
		{name: "trap divide by zero", fail: "trap-div0", reason: "module fail failed: trap"},
		{name: "trap out of bounds", fail: "trap-oob", reason: "module fail failed: trap"},
		{name: "trap indirect call type", fail: "trap-indirect", reason: "module fail failed: trap"},
		{name: "trap proc_exit(1)", fail: "trap-exit", reason: "module fail failed: trap"},
		// A stack overflow and a grow-bomb take seconds to trap with
		// wazero's compiler (DESIGN.md, "Sandbox").
		{name: "trap stack overflow", fail: "recurse", reason: "module fail failed: trap", slow: true},
		{name: "trap grow-bomb", fail: "grow-bomb", reason: "module fail failed: trap", slow: true,
			hostCfg: func(c *host.Config) { c.MemoryMiB = 4 }},

		// Timeouts by fuel: a loop, and loop-free recursion.
		{name: "fuel: loop", fail: "loop", reason: "module fail failed: timeout: fuel exhausted"},
		{name: "fuel: loop-free recursion", fail: "fib", reason: "module fail failed: timeout: fuel exhausted"},

		// The wall-clock backstop: the call is abandoned with fuel left; with
		// one instance, later calls find the slot held by the stuck call.
		{name: "wall-clock backstop", fail: "slow-recursion", reason: "module fail failed: ", slow: true,
			hostCfg: func(c *host.Config) { c.Fuel = 1 << 62; c.CallTimeout = 50 * time.Millisecond; c.Instances = 1 },
			apiCfg:  func(c *httpapi.Config) { c.Limits.RequestTimeout = 300 * time.Millisecond },
			check: func(e *invariantEnv) {
				require.NotZero(e.t, policy(e.h, "fail").Counters.Timeouts)
				require.NotEqual(e.t, host.StatusQuarantined, policy(e.h, "fail").Status, "the backstop does not count toward quarantine")
				// Let the abandoned calls finish before the host closes.
				require.Eventually(e.t, func() bool { return e.h.Ready() == nil }, 60*time.Second, 20*time.Millisecond)
			}},

		// The request deadline passes during the call: the call is
		// abandoned, later ones find the slot held by it.
		{name: "request deadline", fail: "slow-recursion", reason: "module fail failed: ", slow: true, neighbourFirst: true,
			hostCfg: func(c *host.Config) { c.Fuel = 1 << 62; c.Instances = 1 },
			apiCfg:  func(c *httpapi.Config) { c.Limits.RequestTimeout = 100 * time.Millisecond },
			check: func(e *invariantEnv) {
				require.Eventually(e.t, func() bool { return e.h.Ready() == nil }, 2*time.Minute, 20*time.Millisecond)
			}},

		// Bad output, each kind, and oversized output.
		{name: "bad output: not JSON", fail: "garbage", reason: "module fail failed: bad output: output is not a valid response"},
		{name: "bad output: packed 0", fail: "zero", reason: "module fail failed: bad output: the guest returned 0"},
		{name: "bad output: outside memory", fail: "out-of-range", reason: "is outside the guest's"},
		{name: "bad output: error envelope", fail: "error-envelope", reason: "module fail failed: guest error"},
		{name: "bad output: input echoed", fail: "echo", reason: "module fail: invalid answer"},
		{name: "bad output: duplicate, missing, unknown ids", fail: "bad-answers", reason: "module fail: "},
		{name: "bad output: CONDITIONAL for a basic permission", fail: "cond-everything", reason: "CONDITIONAL for basic permission"},
		{name: "oversized output", fail: "huge-output", reason: "over the cap"},

		// Quarantine: three traps, then DENY without running the module.
		{name: "quarantine", fail: "trap-unreachable", reason: "module fail failed: quarantined since",
			hostCfg: func(c *host.Config) { c.QuarantineFailures = 3 },
			prepare: func(e *invariantEnv) {
				q := []host.Query{{Permission: abi.Permission{Type: abi.PermissionBasic, Name: "fail.q"}}}
				for i := 0; i < 3; i++ {
					_, err := e.h.Decide(context.Background(), abiNone, q)
					require.NoError(e.t, err)
				}
				require.Equal(e.t, host.StatusQuarantined, policy(e.h, "fail").Status)
			},
			check: func(e *invariantEnv) {
				require.Equal(e.t, uint64(3), policy(e.h, "fail").Counters.Calls, "a quarantined module does not run")
			}},

		// No module claims the permission: only the neighbour and the shadow
		// are loaded, and the shadow claims nothing that is asked.
		{name: "no module claims", reason: "no module claims",
			hostCfg: func(c *host.Config) { c.Claims["shadow"] = []string{"other.*"} },
			check: func(e *invariantEnv) {
				require.Zero(e.t, policy(e.h, "shadow").Counters.Calls, "no guest call for an unclaimed permission")
			}},

		// No snapshot yet, or the host shut down: the whole request is 503.
		{name: "no snapshot yet", fail: "allow-one", noLoad: true, status: http.StatusServiceUnavailable, errNm: "ServiceUnavailableError"},
		{name: "host closed", fail: "allow-one", status: http.StatusServiceUnavailable, errNm: "ServiceUnavailableError",
			prepare: func(e *invariantEnv) { require.NoError(e.t, e.h.Close(context.Background())) }},

		// Broken replacements of the fail module (a deny-one) activated
		// while requests run: the previous version keeps serving.
		{name: "reload failure", fail: "deny-one", reason: "fail: wat says no", repeat: 10,
			during: func(e *invariantEnv, stop <-chan struct{}) {
				broken := []string{"bad-import", "init-trap", "not-wasm", "bigmin", "missing-evaluate", "describe-garbage"}
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					httpapi.CopyFixture(e.t, e.dir, "fail.wasm", broken[i%len(broken)])
					if err := e.h.LoadDir(context.Background(), e.dir); err != nil {
						e.t.Error(err)
						return
					}
				}
			},
			check: func(e *invariantEnv) {
				require.NotZero(e.t, e.h.Status().LoadFailures)
				require.Equal(e.t, host.StatusError, policy(e.h, "fail").Status)
			}},

		// apply-conditions: the module answers CONDITIONAL for the
		// resourceRef and the plugin, when healthy, would ALLOW it.
		{name: "apply-conditions: plugin answers 500", cond: true, plugin: plugin500,
			status: http.StatusInternalServerError, errNm: "ResponseError"},
		{name: "apply-conditions: plugin times out", cond: true, plugin: pluginHang, reason: "cannot resolve conditions"},
		{name: "apply-conditions: plugin answers too many items", cond: true, plugin: pluginExtraItem, reason: "malformed answer"},
		{name: "apply-conditions: plugin answers other ids", cond: true, plugin: pluginWrongIDs, reason: "where \"0\" was sent"},
		{name: "apply-conditions: plugin answers MAYBE", cond: true, plugin: pluginBadResult, reason: "answered result \"MAYBE\""},
		{name: "apply-conditions: plugin answers lists of the wrong length", cond: true, plugin: pluginWrongShape, reason: "cannot resolve conditions: plugin catalog answered"},
		{name: "apply-conditions: plugin unreachable", cond: true, plugin: pluginUnreachable, reason: "could not be reached"},

		// The decision log failing: decisions are unchanged.
		{name: "decision log: sink blocks", fail: "deny-one", reason: "fail: wat says no", sink: &blockingWriter{release: make(chan struct{})},
			check: func(e *invariantEnv) {
				require.NotZero(e.t, e.sink.Dropped(), "entries dropped, not queued without bound")
			}},
		{name: "decision log: sink fails", fail: "deny-one", reason: "fail: wat says no", sink: failingWriter{},
			check: func(e *invariantEnv) {
				require.Eventually(e.t, func() bool { return e.sink.WriteErrors() > 0 }, 10*time.Second, 5*time.Millisecond)
			}},
	}
	var answers atomic.Int64
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.slow {
				stall.WithoutGC(t)
			}
			e := startInvariant(t, tc)
			if tc.prepare != nil {
				tc.prepare(e)
			}
			if tc.during != nil {
				stop := make(chan struct{})
				var wg sync.WaitGroup
				wg.Add(1)
				go func() { defer wg.Done(); tc.during(e, stop) }()
				defer wg.Wait() // also when an assertion ends the test early
				defer close(stop)
			}
			for r := 0; r < max(tc.repeat, 1); r++ {
				batches := invariantBatches(tc.cond)
				if tc.slow {
					batches = batches[1:2]
				}
				for _, items := range batches {
					for _, native := range []bool{false, true}[:endpoints(tc.slow)] {
						answers.Add(int64(e.check(tc, items, native)))
					}
				}
			}
			if tc.check != nil {
				tc.check(e)
			}
		})
	}
	reliability.Record(t, 0, "failure paths walked (single and batched, both endpoints): answers checked, wrongful ALLOW",
		"%d paths, %d answers, 0 wrongful ALLOW", len(cases)-2, answers.Load())
}

// endpoints is how many endpoints a case asks: both, or the Backstage one
// alone for slow cases.
func endpoints(slow bool) int {
	if slow {
		return 1
	}
	return 2
}

// invariantItem is one request item: failing (the fail slot decides it)
// or the healthy neighbour.
type invariantItem struct {
	id, json string
	failing  bool
}

const readResource = `{"type":"resource","name":"catalog.entity.read","attributes":{"action":"read"},"resourceType":"catalog-entity"}`

// invariantBatches is the request set: one failing item, a failing item and
// the neighbour, and two failing items around the neighbour (for
// apply-conditions, the neighbour and an item with an array resourceRef).
func invariantBatches(cond bool) [][]invariantItem {
	failing := func(id string, array bool) invariantItem {
		if !cond {
			return invariantItem{id: id, failing: true,
				json: `{"id":"` + id + `","permission":{"type":"basic","name":"fail.` + id + `","attributes":{}}}`}
		}
		ref := `"component:default/x-` + id + `"`
		if array {
			ref = `["component:default/x-` + id + `","component:default/y-` + id + `"]`
		}
		return invariantItem{id: id, failing: true, json: `{"id":"` + id + `","permission":` + readResource + `,"resourceRef":` + ref + `}`}
	}
	ok := invariantItem{id: "n", json: `{"id":"n","permission":{"type":"basic","name":"ok.n","attributes":{}}}`}
	third := []invariantItem{failing("a", false), ok, failing("c", false)}
	if cond {
		// The module answers CONDITIONAL for its first item only, so the
		// array is asked alone.
		third = []invariantItem{ok, failing("c", true)}
	}
	return [][]invariantItem{{failing("a", false)}, {failing("a", false), ok}, third}
}

// startInvariant builds the case's directory, plugin, host and server.
func startInvariant(t *testing.T, tc invariantCase) *invariantEnv {
	t.Helper()
	e := &invariantEnv{t: t, dir: t.TempDir()}
	ok := "ok"
	if tc.neighbourFirst {
		ok = "0-ok"
	}
	mods := []invariantModule{{ok, "allow-one", []string{"ok.*"}}}
	switch {
	case tc.cond:
		mods = append(mods, invariantModule{"fail", "cond-everything", []string{"catalog.entity.read"}})
	case tc.fail != "":
		mods = append(mods, invariantModule{"fail", tc.fail, []string{"fail.*"}},
			invariantModule{"shadow", "allow-one", []string{"fail.*"}})
	default:
		mods = append(mods, invariantModule{"shadow", "allow-one", []string{"fail.*"}})
	}
	claims := map[string][]string{}
	for _, m := range mods {
		httpapi.CopyFixture(t, e.dir, m.name+".wasm", m.fixture)
		claims[m.name] = m.claims
	}
	h := httpapi.NewTestHost(t, func(c *host.Config) {
		c.CallTimeout = 2 * time.Minute // fuel or the trap, not this backstop, ends the call
		c.QuarantineFailures = 1 << 30  // every request walks the path itself
		c.Claims = claims
		if tc.hostCfg != nil {
			tc.hostCfg(c)
		}
	})
	e.h = h
	if !tc.noLoad {
		require.NoError(t, h.LoadDir(context.Background(), e.dir))
	}

	cfg := httpapi.DefaultConfig()
	cfg.DevMode = true
	// Long, so that a loaded machine cannot turn a case's path into the
	// request-deadline path (which has cases of its own).
	cfg.Limits.RequestTimeout = 2 * time.Minute
	if tc.apiCfg != nil {
		tc.apiCfg(&cfg)
	}
	var opts []httpapi.Option
	if tc.cond {
		opts = append(opts, httpapi.WithConditions(invariantPlugin(t, tc.plugin)))
	}
	if tc.sink != nil {
		e.sink = decisionlog.New(tc.sink, 1)
		if b, ok := tc.sink.(*blockingWriter); ok {
			t.Cleanup(func() { close(b.release); e.sink.Close() })
		} else {
			t.Cleanup(e.sink.Close)
		}
		opts = append(opts, httpapi.WithDecisionLog(e.sink))
	}
	srv := httpapi.ServeTest(t, cfg, h, opts...)
	e.url, e.client = srv.URL, srv.Client()
	e.client.Timeout = 60 * time.Second
	return e
}

// check sends items to one endpoint and asserts the invariant on the answer;
// it returns how many item answers it checked.
func (e *invariantEnv) check(tc invariantCase, items []invariantItem, native bool) int {
	t := e.t
	t.Helper()
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = it.json
	}
	path, body := "/api/permission/authorize", `{"items":[`+strings.Join(parts, ",")+`]}`
	if native {
		path = "/v1/authorize"
		body = `{"principal":{"type":"user","userEntityRef":"user:default/alice","ownershipEntityRefs":["user:default/alice"]},` +
			body[1:]
	}
	resp, err := e.client.Post(e.url+path, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	where := fmt.Sprintf("%s %s", path, body)
	want := tc.status
	if want == 0 {
		want = http.StatusOK
	}
	require.Equal(t, want, resp.StatusCode, "%s\n%s", where, raw)
	if want != http.StatusOK {
		require.NotContains(t, string(raw), "ALLOW", where)
		var env struct {
			Error struct{ Name string } `json:"error"`
		}
		require.NoError(t, json.Unmarshal(raw, &env), string(raw))
		require.Equal(t, tc.errNm, env.Error.Name, string(raw))
		return len(items)
	}
	var out struct {
		Items []struct {
			ID     string          `json:"id"`
			Result json.RawMessage `json:"result"`
			Reason string          `json:"reason"`
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal(raw, &out), string(raw))
	require.Len(t, out.Items, len(items), where)
	firstFailing := true
	for i, it := range items {
		got := out.Items[i]
		require.Equal(t, it.id, got.ID, "answers in request order")
		results := resultList(t, got.Result)
		switch {
		case !it.failing:
			require.Equal(t, []string{"ALLOW"}, results, "the healthy neighbour keeps its answer: %s\n%s", where, raw)
		case tc.allow && firstFailing:
			require.Equal(t, "ALLOW", results[0], "control: %s\n%s", where, raw)
		default:
			for _, r := range results {
				require.Equal(t, "DENY", r, "item %q: %s\n%s", it.id, where, raw)
			}
			if firstFailing { // later ones may be missing from fixed-answer fixtures
				require.Contains(t, got.Reason, tc.reason, "item %q: %s\n%s", it.id, where, raw)
			}
		}
		if it.failing {
			firstFailing = false
		}
	}
	return len(items)
}

// resultList reads a result that is a string or an array of strings.
func resultList(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	require.NoError(t, json.Unmarshal(raw, &many), string(raw))
	require.NotEmpty(t, many)
	return many
}

func policy(h *host.Host, name string) host.PolicyStatus {
	for _, p := range h.Status().Policies {
		if p.Name == name {
			return p
		}
	}
	return host.PolicyStatus{}
}

// blockingWriter is a decision-log sink whose writes block until release
// is closed.
type blockingWriter struct{ release chan struct{} }

func (b *blockingWriter) Write(p []byte) (int, error) {
	<-b.release
	return len(p), nil
}

// failingWriter is a decision-log sink whose every write fails.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }
