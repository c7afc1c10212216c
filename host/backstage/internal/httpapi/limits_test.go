package httpapi_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/host/backstage/internal/httpapi"
	"github.com/verdictpdp/verdict/internal/testing/reliability"
)

// README, "Reliability", rows 3 (huge bodies), 4 (huge batches) and 5
// (deeply nested JSON), over real TCP against the real handler and a real
// host.

const authorizeURL = "/api/permission/authorize"

// limitsEnvelope is the part of Backstage's error envelope these tests read.
type limitsEnvelope struct {
	Error struct {
		Name    string `json:"name"`
		Message string `json:"message"`
		Limit   int64  `json:"limit"`
	} `json:"error"`
	Response struct {
		StatusCode int `json:"statusCode"`
	} `json:"response"`
}

func requireLimitsEnvelope(t *testing.T, status int, body string, wantStatus int, name string) limitsEnvelope {
	t.Helper()
	require.Equal(t, wantStatus, status, body)
	var e limitsEnvelope
	require.NoError(t, json.Unmarshal([]byte(body), &e), body)
	require.Equal(t, name, e.Error.Name, body)
	require.Equal(t, wantStatus, e.Response.StatusCode)
	require.NotContains(t, body, "ALLOW")
	return e
}

// readSlack is how far past the body limit the server may read (row 3):
// its buffered reader and the client's last chunk in flight.
const readSlack = 64 << 10

// TestBodyOverLimit: a body one byte over the limit is 413 with the
// envelope, whether declared (Content-Length) or streamed (chunked), and
// the server reads at most limit + 64 KiB of it, also from a client that
// keeps sending slowly after the limit (with metrics on, as in `verdict
// serve`, the handler's writer is wrapped).
func TestBodyOverLimit(t *testing.T) {
	plain := newLimitsServer(t, httpapi.DefaultConfig(), "fixture:allow-one")
	metered := newLimitsServerWith(t, httpapi.DefaultConfig(),
		[]httpapi.Option{httpapi.WithMetrics(nopObserver{}, http.NotFoundHandler())}, "fixture:allow-one")
	limit := plain.cfg.Limits.BodyBytes
	for _, tc := range []struct {
		name    string
		s       *limitsServer
		size    int64
		chunked bool
		pause   time.Duration
	}{
		{name: "1 MiB + 1 B, Content-Length", s: plain, size: limit + 1},
		{name: "1 MiB + 1 B, chunked", s: plain, size: limit + 1, chunked: true},
		{name: "4 MiB chunked, trickled, metrics on", s: metered, size: 4 * limit, chunked: true, pause: time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.s
			var lat []time.Duration
			for i := 0; i < reliability.Scale(3, 30); i++ {
				r, err := s.rawPost(authorizeURL, rawBody{size: tc.size, chunked: tc.chunked, chunk: 32 << 10, pause: tc.pause})
				require.NoError(t, err)
				e := requireLimitsEnvelope(t, r.status, r.body, http.StatusRequestEntityTooLarge, "PayloadTooLargeError")
				require.Equal(t, limit, e.Error.Limit)
				require.True(t, r.closed, "the server closes a connection whose body it refused")
				require.LessOrEqual(t, r.read, limit+readSlack, "bytes the server read")
				lat = append(lat, r.latency)
				if i == 0 {
					reliability.Record(t, 3, tc.name+": bytes the server read", "%d B for a %d B limit", r.read, limit)
				}
			}
			reliability.Record(t, 3, tc.name+": 413 latency p99, from the first byte sent", "%.1f ms", reliability.QuantileMS(lat, 0.99))
		})
	}
}

// TestManySlowHugeBodies: many clients at once stream huge bodies slowly
// (half declared, half chunked). Every one gets 413, the server reads
// about the limit from each, its heap growth stays within the body budget
// (server.limits.bodyBytesInFlight) plus each client's first 64 KiB, never
// with what they send, and /healthz keeps answering.
func TestManySlowHugeBodies(t *testing.T) {
	s := newLimitsServer(t, httpapi.DefaultConfig(), "fixture:allow-one")
	limit := s.cfg.Limits.BodyBytes
	clients := reliability.Scale(8, 64)
	size := int64(reliability.Scale(16<<20, 1<<30))
	baseline := &latencies{}
	for range 50 {
		start := time.Now()
		code, _ := getStatus(t, s.URL+"/healthz")
		require.Equal(t, http.StatusOK, code)
		baseline.add(time.Since(start))
	}

	stopHeap := heapPeak()
	healthz := poll(t, s.URL+"/healthz", 5*time.Millisecond)
	results := make([]rawResult, clients)
	errs := make([]error, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = s.rawPost(authorizeURL, rawBody{size: size, chunked: i%2 == 1, chunk: 16 << 10, pause: 2 * time.Millisecond})
		}()
	}
	wg.Wait()
	during := healthz()
	growth := stopHeap()

	var maxRead, sent int64
	for i, r := range results {
		require.NoError(t, errs[i], "client %d", i)
		requireLimitsEnvelope(t, r.status, r.body, http.StatusRequestEntityTooLarge, "PayloadTooLargeError")
		require.LessOrEqual(t, r.read, limit+readSlack, "client %d: bytes the server read", i)
		maxRead = max(maxRead, r.read)
		sent += r.sent
	}
	// Bounded by the body budget, not by the clients or the bytes they
	// offer: each holds its first 64 KiB (grown by doubling) outside the
	// budget; 16 MiB of slack for everything else the test allocates.
	inFlight := uint64(s.cfg.Limits.BodyBytesInFlight)
	require.Less(t, growth, inFlight+uint64(clients)*2*64<<10+16<<20, "HeapInuse growth")
	what := fmt.Sprintf("%d slow clients offering %d MiB each", clients, size>>20)
	reliability.Record(t, 3, what+": all 413", "%d/%d", clients, clients)
	reliability.Record(t, 3, what+": HeapInuse growth", "%.1f MiB", float64(growth)/(1<<20))
	reliability.Record(t, 3, what+": most bytes read from one client", "limit + %d B", maxRead-limit)
	reliability.Record(t, 3, what+": body bytes the clients managed to send", "%.1f MiB", float64(sent)/(1<<20))
	reliability.Record(t, 3, what+": /healthz p99 during (baseline)", "%.1f ms (%.1f ms)", during.p99(), baseline.p99())
}

// TestBodyBudget: bodies past their first 64 KiB share
// server.limits.bodyBytesInFlight. While one client holds all of it (a
// body declared at the limit, sent but for its last bytes), a bigger
// body waits for budget until the request timeout and gets 503 with the
// envelope (the connection closed), a small body is answered as usual, and
// once the first body completes the budget is free again.
func TestBodyBudget(t *testing.T) {
	cfg := httpapi.DefaultConfig()
	cfg.Limits.BodyBytesInFlight = cfg.Limits.BodyBytes
	cfg.Limits.RequestTimeout = 300 * time.Millisecond
	s := newLimitsServer(t, cfg, "fixture:allow-one")
	limit := cfg.Limits.BodyBytes

	// The holder: a valid body of exactly the limit, all but 10 bytes
	// sent, then a pause.
	holderBody := `{"items":[],"pad":"` + strings.Repeat("x", int(limit)-len(`{"items":[],"pad":""}`)) + `"}`
	conn, err := net.Dial("tcp", s.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(time.Minute)))
	_, err = fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: verdict\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		authorizeURL, len(holderBody), holderBody[:len(holderBody)-10])
	require.NoError(t, err)
	// Wait until the server has read what was sent (past its first chunk
	// it reserved its declared length: the whole budget).
	require.Eventually(t, func() bool { return s.ln.bytesRead(conn.LocalAddr().String()) >= limit-10 },
		10*time.Second, 5*time.Millisecond, "the server reads the holder's body")

	big := allowAllItems(3000) // about 280 KB: four chunks past the first
	require.Greater(t, len(big), 4*64<<10)
	r, err := s.rawPost(authorizeURL, rawBody{raw: big, chunk: 32 << 10})
	require.NoError(t, err)
	e := requireLimitsEnvelope(t, r.status, r.body, http.StatusServiceUnavailable, "ServiceUnavailableError")
	require.Contains(t, e.Error.Message, "bodyBytesInFlight")
	require.True(t, r.closed, "the server closes a connection whose body it did not read")

	code, body := postJSON(t, s.Client(), s.URL+authorizeURL, allowAllItems(10))
	require.Equal(t, http.StatusOK, code, "a small body needs no budget: %s", body)

	_, err = io.WriteString(conn, holderBody[len(holderBody)-10:])
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the holder's body completes")

	// Budget free again: the big body is read and decided (3,000 items is
	// over batchItems, so the answer is the 400 that comes after reading).
	code, body = postJSON(t, s.Client(), s.URL+authorizeURL, big)
	require.Equal(t, http.StatusBadRequest, code, body)
	require.Contains(t, body, "InputError")
}

// allowAllItems is a batch of n basic items with ids "i0".."i<n-1>".
func allowAllItems(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = `{"id":"i` + strconv.Itoa(i) + `","permission":{"type":"basic","name":"catalog.entity.create","attributes":{}}}`
	}
	return `{"items":[` + strings.Join(parts, ",") + `]}`
}

// refsBody is a batch of resource items whose resourceRefs are arrays of
// counts[i] refs.
func refsBody(counts ...int) string {
	items := make([]string, len(counts))
	for i, n := range counts {
		refs := make([]string, n)
		for j := range refs {
			refs[j] = `"component:default/c` + strconv.Itoa(j) + `"`
		}
		items[i] = `{"id":"r` + strconv.Itoa(i) + `","resourceRef":[` + strings.Join(refs, ",") +
			`],"permission":{"type":"resource","name":"catalog.entity.read","attributes":{"action":"read"},"resourceType":"catalog-entity"}}`
	}
	return `{"items":[` + strings.Join(items, ",") + `]}`
}

type limitsAnswer struct {
	Items []struct {
		ID     string          `json:"id"`
		Result json.RawMessage `json:"result"`
	} `json:"items"`
}

func getStatus(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func postJSON(t testing.TB, client *http.Client, url, body string) (int, string) {
	t.Helper()
	resp, err := client.Post(url, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// TestHugeBatches: the batch and resourceRef limits hold exactly at their
// boundaries, with a trivial policy (allow-all) deciding.
func TestHugeBatches(t *testing.T) {
	s := newLimitsServer(t, httpapi.DefaultConfig(), "policy:allow-all")
	lim := s.cfg.Limits
	client := &http.Client{Timeout: 2 * time.Minute}

	t.Run("at the item limit: every id once, in request order", func(t *testing.T) {
		start := time.Now()
		code, body := postJSON(t, client, s.URL+authorizeURL, allowAllItems(lim.BatchItems))
		reliability.Record(t, 4, "1,000-item batch (allow-all): time", "%.1f ms", float64(time.Since(start))/float64(time.Millisecond))
		require.Equal(t, http.StatusOK, code, body)
		var got limitsAnswer
		require.NoError(t, json.Unmarshal([]byte(body), &got))
		require.Len(t, got.Items, lim.BatchItems)
		for i, it := range got.Items {
			require.Equal(t, "i"+strconv.Itoa(i), it.ID)
			require.JSONEq(t, `"ALLOW"`, string(it.Result))
		}
	})
	t.Run("at the resourceRef limit: one answer, never a failure", func(t *testing.T) {
		start := time.Now()
		code, body := postJSON(t, client, s.URL+authorizeURL, refsBody(lim.ResourceRefs))
		took := time.Since(start)
		require.Equal(t, http.StatusOK, code, body)
		var got struct {
			Items []struct{ ID, Result, Reason string } `json:"items"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &got), body)
		require.Len(t, got.Items, 1)
		// One scalar for the array: every ref decided alike, and decided:
		// the host gives the guest the 10,000 items in calls of
		// policies.limits.itemsPerCall, each with its own fuel (one call
		// of 10,000 ran out of fuel and was DENY).
		require.Equal(t, "ALLOW", got.Items[0].Result, got.Items[0].Reason)
		why, _, _ := strings.Cut(got.Items[0].Reason, "\n")
		reliability.Record(t, 4, "10,000 resourceRefs in one request (allow-all): answer, time",
			"%s %s, %.0f ms", got.Items[0].Result, why, float64(took)/float64(time.Millisecond))
	})
	for _, tc := range []struct {
		name, body, msg string
	}{
		{name: "one item over", body: allowAllItems(lim.BatchItems + 1), msg: "too many items: 1001 (the limit is 1000)"},
		{name: "one resourceRef over", body: refsBody(lim.ResourceRefs + 1), msg: "too many resourceRefs: 10001 (the limit is 10000)"},
		{name: "resourceRefs over across items", body: refsBody(lim.ResourceRefs/2, lim.ResourceRefs/2+1),
			msg: "too many resourceRefs: 10001 (the limit is 10000)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := postJSON(t, client, s.URL+authorizeURL, tc.body)
			e := requireLimitsEnvelope(t, code, body, http.StatusBadRequest, "InputError")
			require.Equal(t, tc.msg, e.Error.Message)
		})
	}

	t.Run("50-item batches", func(t *testing.T) {
		req := allowAllItems(50)
		for range 10 { // warm the instance pool
			code, _ := postJSON(t, client, s.URL+authorizeURL, req)
			require.Equal(t, http.StatusOK, code)
		}
		n := reliability.Scale(100, 2000)
		lat := make([]time.Duration, 0, n)
		for range n {
			start := time.Now()
			code, body := postJSON(t, client, s.URL+authorizeURL, req)
			lat = append(lat, time.Since(start))
			require.Equal(t, http.StatusOK, code, body)
			require.Equal(t, 50, strings.Count(body, `"ALLOW"`))
		}
		reliability.Record(t, 4, fmt.Sprintf("50-item batch, allow-all, %d sequential requests: p99", n), "%.2f ms", reliability.QuantileMS(lat, 0.99))
	})
}

// nested is a body whose items array holds depth-1 more nested arrays
// (depth counts every object and array, the outer object included).
func nested(depth int) string {
	n := depth - 2
	return `{"items":[` + strings.Repeat("[", n) + strings.Repeat("]", n) + `]}`
}

// TestDepthBombs: one level past the depth limit is 400 before any
// decoding, a bomb inside the size limit too, and one past the size limit
// is 413 without the depth being looked at.
func TestDepthBombs(t *testing.T) {
	s := newLimitsServer(t, httpapi.DefaultConfig(), "fixture:allow-one")
	lim := s.cfg.Limits
	client := &http.Client{Timeout: time.Minute}
	deepest := int(lim.BodyBytes/2) - 16 // as deep as fits in the body limit
	for _, tc := range []struct {
		name   string
		depth  int
		status int
		errNm  string
		msg    string
		record string
	}{
		{name: "at the limit", depth: lim.JSONDepth, status: 400, errNm: "InputError", msg: "invalid_"},
		{name: "one level over", depth: lim.JSONDepth + 1, status: 400, errNm: "InputError",
			msg: "request body is nested more than 32 levels deep", record: "depth 33 → 400 latency p99"},
		{name: "as deep as the body limit allows", depth: deepest, status: 400, errNm: "InputError",
			msg: "request body is nested more than 32 levels deep", record: fmt.Sprintf("depth %d (1 MiB) → 400 latency p99", deepest)},
		{name: "a million levels", depth: 1_000_000, status: 413, errNm: "PayloadTooLargeError",
			msg: "request entity too large", record: "depth 10⁶ (2 MB) → 413 latency p99"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := nested(tc.depth)
			var lat []time.Duration
			for range reliability.Scale(5, 200) {
				start := time.Now()
				code, got := postJSON(t, client, s.URL+authorizeURL, body)
				lat = append(lat, time.Since(start))
				e := requireLimitsEnvelope(t, code, got, tc.status, tc.errNm)
				require.Contains(t, e.Error.Message, tc.msg)
			}
			if tc.record != "" {
				reliability.Record(t, 5, tc.record, "%.2f ms", reliability.QuantileMS(lat, 0.99))
			}
		})
	}
}

// The limits are exact at the boundary for the native endpoint too.
func TestNativeLimits(t *testing.T) {
	s := newLimitsServer(t, httpapi.DefaultConfig(), "fixture:allow-one")
	client := &http.Client{Timeout: time.Minute}
	withPrincipal := func(b string) string { return `{"principal":{"type":"none"},` + b[1:] }
	for _, tc := range []struct {
		name, body string
		status     int
		errNm      string
	}{
		{name: "resourceRefs over", body: withPrincipal(refsBody(10_001)), status: 400, errNm: "InputError"},
		{name: "items over", body: withPrincipal(allowAllItems(1001)), status: 400, errNm: "InputError"},
		{name: "depth over", body: withPrincipal(nested(33)), status: 400, errNm: "InputError"},
		{name: "body over", body: withPrincipal(`{"pad":"` + string(bytes.Repeat([]byte("x"), 1<<20)) + `"}`), status: 413, errNm: "PayloadTooLargeError"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := postJSON(t, client, s.URL+"/v1/authorize", tc.body)
			requireLimitsEnvelope(t, code, body, tc.status, tc.errNm)
		})
	}
}
