package httpapi_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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

// Helpers of the hostile-client tests (README, "Reliability", rows 3 to
// 5): a
// real host behind the real handler on a loopback listener that counts the
// bytes the server reads from each connection, and raw TCP clients that
// stream bodies as slowly and as long as a hostile client would.

// countingListener records, per client address, how many bytes the server
// read from the connection.
type countingListener struct {
	net.Listener
	mu    sync.Mutex
	conns map[string]*countingConn
}

type countingConn struct {
	net.Conn
	read atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// CloseWrite lets net/http half-close the connection after refusing a body
// (it sends FIN, then waits before closing), as on a plain TCP listener.
func (c *countingConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cc := &countingConn{Conn: c}
	l.mu.Lock()
	l.conns[c.RemoteAddr().String()] = cc
	l.mu.Unlock()
	return cc, nil
}

// bytesRead is what the server has read from the client whose local
// address is client.
func (l *countingListener) bytesRead(client string) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c, ok := l.conns[client]; ok {
		return c.read.Load()
	}
	return -1
}

// limitsServer is the handler in dev mode (no token needed) over a real
// host whose directory holds the named modules, served on loopback.
type limitsServer struct {
	*httptest.Server
	ln  *countingListener
	cfg httpapi.Config
}

// newLimitsServer loads modules ("fixture:NAME" from host/testdata/fixtures,
// "policy:NAME" from build/policies, skipped when not built) and serves
// them with cfg (DevMode forced on).
func newLimitsServer(t *testing.T, cfg httpapi.Config, modules ...string) *limitsServer {
	return newLimitsServerWith(t, cfg, nil, modules...)
}

// nopObserver is a RequestObserver that records nothing: with it the
// handler wraps its ResponseWriter, as `verdict serve` does.
type nopObserver struct{}

func (nopObserver) ObserveRequest(string, int, time.Duration) {}
func (nopObserver) ObserveItem(string, string)                {}

// newLimitsServerWith is newLimitsServer with handler options.
func newLimitsServerWith(t *testing.T, cfg httpapi.Config, opts []httpapi.Option, modules ...string) *limitsServer {
	t.Helper()
	dir := t.TempDir()
	for _, m := range modules {
		kind, name, _ := strings.Cut(m, ":")
		src := httpapi.FixturePath(name)
		if kind == "policy" {
			src = filepath.Join("..", "..", "..", "..", "build", "policies", name+".wasm")
		}
		b, err := os.ReadFile(src)
		if err != nil && kind == "policy" && os.Getenv("VERDICT_REQUIRE_GUESTS") == "" {
			t.Skipf("%s is not built (run `make guests`)", src)
		}
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name+".wasm"), b, 0o644))
	}
	h := httpapi.NewTestHost(t, func(c *host.Config) {
		c.CallTimeout = 10 * time.Second // the race detector slows guests; deadlines are not under test here
		c.LoadTimeout = 60 * time.Second
	})
	require.NoError(t, h.LoadDir(context.Background(), dir))
	httpapi.RequireLoaded(t, h)
	cfg.DevMode = true
	// The race detector slows guests: a default deadline is raised (one a
	// test sets itself is kept).
	if cfg.Limits.RequestTimeout == httpapi.DefaultConfig().Limits.RequestTimeout {
		cfg.Limits.RequestTimeout = 30 * time.Second
	}
	handler, err := httpapi.New(cfg, h, nil, opts...)
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(handler)
	ln := &countingListener{Listener: srv.Listener, conns: map[string]*countingConn{}}
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return &limitsServer{Server: srv, ln: ln, cfg: cfg}
}

// rawBody describes a body a raw client streams.
type rawBody struct {
	size    int64         // bytes the client is willing to send
	chunked bool          // Transfer-Encoding: chunked, else Content-Length: size
	chunk   int           // bytes per write
	pause   time.Duration // between writes: a slow client
	raw     string        // when set, the body itself (Content-Length; size and chunked ignored)
}

// rawResult is what a raw client saw.
type rawResult struct {
	status  int
	body    string
	sent    int64         // body bytes the client managed to write
	latency time.Duration // from the first byte sent to the response's headers
	read    int64         // bytes the server read from the connection, once it closed it
	closed  bool          // the server closed the connection after answering
}

// rawPost streams b to path as a JSON object padded with "x" until the
// server answers, then waits for the server to close the connection. It
// runs in any goroutine: it returns errors rather than failing the test.
func (s *limitsServer) rawPost(path string, b rawBody) (rawResult, error) {
	conn, err := net.Dial("tcp", s.Listener.Addr().String())
	if err != nil {
		return rawResult{}, err
	}
	defer conn.Close()
	// A hung server fails the test instead of hanging it.
	if err := conn.SetDeadline(time.Now().Add(2 * time.Minute)); err != nil {
		return rawResult{}, err
	}
	head := "POST " + path + " HTTP/1.1\r\nHost: verdict\r\nContent-Type: application/json\r\n"
	if b.raw != "" {
		b.size, b.chunked = int64(len(b.raw)), false
	}
	if b.chunked {
		head += "Transfer-Encoding: chunked\r\n\r\n"
	} else {
		head += fmt.Sprintf("Content-Length: %d\r\n\r\n", b.size)
	}
	answered := make(chan struct{})
	var sent atomic.Int64
	start := time.Now()
	go func() {
		w := bufio.NewWriterSize(conn, b.chunk+64)
		w.WriteString(head)
		prefix := `{"items":[],"pad":"`
		buf := []byte(prefix + strings.Repeat("x", b.chunk))
		if b.raw != "" {
			buf, prefix = []byte(b.raw), ""
		}
		for n := int64(0); n < b.size; {
			part := buf[:min(int64(b.chunk), b.size-n)]
			if b.chunked {
				fmt.Fprintf(w, "%x\r\n", len(part))
			}
			w.Write(part)
			if b.chunked {
				w.WriteString("\r\n")
			}
			if err := w.Flush(); err != nil {
				return
			}
			n += int64(len(part))
			sent.Store(n)
			if b.raw != "" {
				buf = buf[len(part):]
			} else {
				buf = buf[len(prefix):]
				prefix = ""
			}
			select {
			case <-answered:
				return
			case <-time.After(b.pause): // pacing a slow client, not synchronisation
			}
		}
		if b.chunked {
			w.WriteString("0\r\n\r\n")
			w.Flush()
		}
	}()
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	latency := time.Since(start)
	close(answered)
	if err != nil {
		return rawResult{}, fmt.Errorf("read response: %w", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return rawResult{}, fmt.Errorf("read response body: %w", err)
	}
	// The server closes a connection whose body it did not read to the
	// end; once it has, its byte count is final.
	_, err = io.Copy(io.Discard, br)
	return rawResult{status: resp.StatusCode, body: string(body), sent: sent.Load(), latency: latency,
		read: s.ln.bytesRead(conn.LocalAddr().String()), closed: err == nil || isReset(err)}, nil
}

func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe"))
}

// latencies collects durations from several goroutines.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

// p99 is the 99th percentile, in milliseconds.
func (l *latencies) p99() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return reliability.QuantileMS(l.d, 0.99)
}

// heapPeak samples HeapInuse until stop is called and returns the largest
// growth over the baseline taken (after a GC) when it started.
func heapPeak() (stop func() uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	done := make(chan struct{})
	peak := make(chan uint64)
	go func() {
		var top uint64
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			top = max(top, ms.HeapInuse)
			select {
			case <-done:
				peak <- top
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		top := <-peak
		if top < base {
			return 0
		}
		return top - base
	}
}

// poll GETs url every interval until stop is called, recording each
// latency and failing on anything but 200.
func poll(t *testing.T, url string, interval time.Duration) (stop func() *latencies) {
	t.Helper()
	l := &latencies{}
	done := make(chan struct{})
	finished := make(chan struct{})
	client := &http.Client{Timeout: time.Minute}
	var failures atomic.Int64
	go func() {
		defer close(finished)
		for {
			start := time.Now()
			resp, err := client.Get(url)
			if err != nil {
				failures.Add(1)
			} else {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failures.Add(1)
				}
				l.add(time.Since(start))
			}
			select {
			case <-done:
				return
			case <-time.After(interval):
			}
		}
	}()
	return func() *latencies {
		close(done)
		<-finished
		require.Zero(t, failures.Load(), "%s failed during the attack", url)
		return l
	}
}
