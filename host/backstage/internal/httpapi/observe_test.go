package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/host"
	"github.com/verdictpdp/verdict/host/backstage/internal/decisionlog"
	"github.com/verdictpdp/verdict/host/backstage/internal/httpapi"
	"github.com/verdictpdp/verdict/host/backstage/internal/metrics"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// observed starts the real server over a real host with metrics and a
// decision log writing to sink.
func observed(t *testing.T, sink io.Writer, buffer int, fixtures ...string) (*httptest.Server, *decisionlog.Logger) {
	t.Helper()
	dir := t.TempDir()
	for _, f := range fixtures {
		name, fixture, _ := strings.Cut(f, "=")
		httpapi.CopyFixture(t, dir, name+".wasm", fixture)
	}
	dl := decisionlog.New(sink, buffer)
	var h *host.Host
	m := metrics.New(statusFunc(func() host.Status { return h.Status() }), dl.Dropped)
	h = httpapi.NewTestHost(t, func(c *host.Config) {
		c.CallTimeout = time.Minute // what is recorded is under test, not deadlines
	}, host.WithCallObserver(m))
	require.NoError(t, h.LoadDir(context.Background(), dir))
	cfg := httpapi.DefaultConfig()
	cfg.DevMode = true
	srv := httpapi.ServeTest(t, cfg, h, httpapi.WithMetrics(m, m.Handler()), httpapi.WithDecisionLog(dl))
	return srv, dl
}

type statusFunc func() host.Status

func (f statusFunc) Status() host.Status { return f() }

func authorizeOnce(t *testing.T, srv *httptest.Server, body string) string {
	t.Helper()
	resp, err := http.Post(srv.URL+"/api/permission/authorize", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	return string(b)
}

const twoItems = `{"items":[{"id":"a","permission":{"type":"basic","name":"catalog.entity.create","attributes":{}}},
 {"id":"b","permission":{"type":"resource","name":"catalog.entity.read","attributes":{},"resourceType":"catalog-entity"},"resourceRef":["component:default/x","component:default/y"]}]}`

func TestDecisionLogAndMetrics(t *testing.T) {
	sink := &lockedBuffer{}
	srv, dl := observed(t, sink, 64, "10-allow=allow-one", "20-trap=trap-unreachable")
	authorizeOnce(t, srv, twoItems)
	dl.Close()

	lines := strings.Split(strings.TrimSpace(sink.String()), "\n")
	require.Len(t, lines, 3, "one entry per query: a, and b's two refs")
	var e decisionlog.Entry
	require.NoError(t, json.Unmarshal([]byte(lines[2]), &e))
	require.Equal(t, "b", e.ItemID)
	require.Equal(t, "component:default/y", *e.ResourceRef)
	require.Equal(t, "DENY", e.Result)
	require.Equal(t, "none", e.Principal)
	require.Equal(t, "backstage", e.Endpoint)
	require.Equal(t, uint64(1), e.Generation)
	require.Len(t, e.Modules, 2)
	require.Equal(t, "10-allow", e.Modules[0].Module)
	require.Contains(t, e.Modules[1].Reason, "module 20-trap failed: trap")
	require.NotEmpty(t, e.DecisionID)

	resp, err := http.Get(srv.URL + "/metrics")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	for _, want := range []string{
		`verdict_http_requests_total{code="200",route="/authorize"} 1`,
		`verdict_decisions_total{endpoint="backstage",result="DENY"} 3`,
		`verdict_module_call_duration_seconds_count{module="20-trap",outcome="trap"} 1`,
		`verdict_module_call_duration_seconds_count{module="10-allow",outcome="ok"} 1`,
		`verdict_module_denied_by_failure_total{module="10-allow"} 2`, // it answers one of the three items
		`verdict_module_traps_total{module="20-trap"} 1`,
		`verdict_snapshot_generation 1`,
		`verdict_module_status{module="10-allow",status="OK"} 1`,
		`verdict_decision_log_dropped_total 0`,
		`verdict_module_idle_instances{module="10-allow"}`,
		`verdict_module_stuck_calls{module="20-trap"} 0`,
	} {
		require.Contains(t, text, want)
	}
}

// blockingSink blocks every write until released.
type blockingSink struct{ release chan struct{} }

func (b *blockingSink) Write(p []byte) (int, error) { <-b.release; return len(p), nil }

func TestBlockedDecisionLogDoesNotHoldUpDecisions(t *testing.T) {
	sink := &blockingSink{release: make(chan struct{})}
	srv, dl := observed(t, sink, 1, "allow=allow-one")
	one := `{"items":[{"id":"a","permission":{"type":"basic","name":"x","attributes":{}}}]}`
	// Requests run on another goroutine (which must not call t.FailNow);
	// this one checks each answer and gives up after a minute.
	type answer struct {
		code int
		body string
		err  error
	}
	answers := make(chan answer, 50)
	go func() {
		for i := 0; i < 50; i++ {
			resp, err := http.Post(srv.URL+"/api/permission/authorize", "application/json", strings.NewReader(one))
			if err != nil {
				answers <- answer{err: err}
				continue
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			answers <- answer{code: resp.StatusCode, body: string(b), err: err}
		}
	}()
	timeout := time.After(60 * time.Second)
	for n := 0; n < 50; n++ {
		select {
		case a := <-answers:
			require.NoError(t, a.err, "decision %d", n)
			require.Equal(t, http.StatusOK, a.code, a.body)
			require.Contains(t, a.body, `"ALLOW"`, "decision %d", n)
		case <-timeout:
			t.Fatalf("decisions were held up by a blocked decision-log sink: %d of 50 answered", n)
		}
	}
	require.Greater(t, dl.Dropped(), uint64(40), "entries are dropped, not waited for")
	close(sink.release)
	dl.Close()
}

// BenchmarkDecisionLog measures a 100-item request with the decision log
// off, writing to io.Discard, and stuck on a sink that never returns: a
// blocked sink must cost no more than a working one.
func BenchmarkDecisionLog(b *testing.B) {
	items := make([]string, 100)
	for i := range items {
		items[i] = `{"id":"` + strings.Repeat("i", 8) + `","permission":{"type":"basic","name":"x","attributes":{}}}`
	}
	body := `{"items":[` + strings.Join(items, ",") + `]}`
	// Each run gets its own sink: with -count, b.Run runs a case again,
	// and a blocking sink is released (closed) at the end of each run.
	for _, tc := range []struct {
		name    string
		newSink func() io.Writer
	}{
		{"off", func() io.Writer { return nil }},
		{"discard", func() io.Writer { return io.Discard }},
		{"blocked", func() io.Writer { return &blockingSink{release: make(chan struct{})} }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			sink := tc.newSink()
			dir := b.TempDir()
			httpapi.CopyFixture(b, dir, "m.wasm", "abstain-one")
			h := httpapi.NewTestHost(b, nil)
			require.NoError(b, h.LoadDir(context.Background(), dir))
			cfg := httpapi.DefaultConfig()
			cfg.DevMode = true
			var opts []httpapi.Option
			var dl *decisionlog.Logger
			if sink != nil {
				dl = decisionlog.New(sink, 64)
				opts = append(opts, httpapi.WithDecisionLog(dl))
			}
			srv := httpapi.ServeTest(b, cfg, h, opts...)
			b.ResetTimer()
			for b.Loop() {
				resp, err := http.Post(srv.URL+"/api/permission/authorize", "application/json", strings.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			b.StopTimer()
			if dl != nil {
				b.ReportMetric(float64(dl.Dropped())/float64(b.N), "dropped/op")
				if bs, ok := sink.(*blockingSink); ok {
					close(bs.release)
				}
				dl.Close()
			}
		})
	}
}
