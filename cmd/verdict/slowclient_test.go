package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/internal/testing/reliability"
)

// Row 16 of README.md's "Reliability" table: slowloris headers, slow bodies and idle
// keep-alive connections against the server `verdict serve` builds (the
// real serve function, its timeouts shortened by configuration). Every
// hostile connection must be closed by the server's timeout while
// legitimate requests keep being answered.

// attackKind is what a hostile connection does.
type attackKind int

const (
	slowHeaders   attackKind = iota // one header byte per interval, never the blank line
	slowBody                        // complete headers, then one body byte per interval
	idleKeepAlive                   // one request, then silence on the kept-alive connection
)

// hostileConn is what happened to one hostile connection.
type hostileConn struct {
	closedAfter time.Duration // from dial (from the answer, for idleKeepAlive) to the server's close
	byServer    bool          // closed by the server, not by the client's safety deadline
	status      int           // status of an answer the server sent, 0 if none
	err         error         // how the read ended (nil: EOF)
}

// clientDeadline ends a hostile connection the server never closes, so
// that the test fails instead of hanging.
const clientDeadline = 30 * time.Second

// hostile opens one hostile connection and returns once the server has
// closed it.
func (s *liveServer) hostile(kind attackKind, interval time.Duration) (hostileConn, error) {
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		return hostileConn{}, err
	}
	defer conn.Close()
	start := time.Now()
	if err := conn.SetReadDeadline(start.Add(clientDeadline)); err != nil {
		return hostileConn{}, err
	}
	var head, drip string
	switch kind {
	case slowHeaders:
		head, drip = "GET /healthz HTTP/1.1\r\nHost: verdict\r\nX-Slow: ", "a"
	case slowBody:
		head, drip = "POST /api/permission/authorize HTTP/1.1\r\nHost: verdict\r\nContent-Type: application/json\r\n"+
			"Content-Length: 1048576\r\n\r\n{", " "
	case idleKeepAlive:
		head = "GET /healthz HTTP/1.1\r\nHost: verdict\r\n\r\n"
	}
	if _, err := io.WriteString(conn, head); err != nil {
		return hostileConn{}, err
	}
	var out hostileConn
	br := bufio.NewReader(conn)
	if kind == idleKeepAlive {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return hostileConn{}, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Close {
			return hostileConn{}, errors.New("the keep-alive request was not answered 200 with the connection kept")
		}
		start = time.Now()
	}
	closed := make(chan struct{})
	if drip != "" {
		go func() {
			tick := time.NewTicker(interval) // pacing a slow client, not synchronisation
			defer tick.Stop()
			for {
				select {
				case <-closed:
					return
				case <-tick.C:
					if _, err := io.WriteString(conn, drip); err != nil {
						return
					}
				}
			}
		}()
	}
	rest, err := io.ReadAll(br)
	out.closedAfter = time.Since(start)
	out.err = err
	close(closed)
	var ne net.Error
	out.byServer = err == nil || !(errors.As(err, &ne) && ne.Timeout())
	if line, _, ok := strings.Cut(string(rest), "\r\n"); ok && strings.HasPrefix(line, "HTTP/1.1 ") && len(line) >= 12 {
		out.status, _ = strconv.Atoi(line[9:12])
	}
	return out, nil
}

// attack keeps n hostile connections of kind open until stop is closed,
// opening a new one whenever the server closes one. dialed is done once
// each of the n has opened its first connection. It returns every
// connection's fate.
func (s *liveServer) attack(kind attackKind, n int, interval time.Duration, dialed *sync.WaitGroup, stop <-chan struct{}) ([]hostileConn, []error) {
	var mu sync.Mutex
	var conns []hostileConn
	var errs []error
	var wg sync.WaitGroup
	dialed.Add(n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			for {
				if first {
					dialed.Done()
					first = false
				}
				c, err := s.hostile(kind, interval)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					conns = append(conns, c)
				}
				mu.Unlock()
				select {
				case <-stop:
					return
				default:
				}
				if err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	return conns, errs
}

// openFDs counts the process's open file descriptors (-1 where /proc is
// missing). Client and server share the process: each loopback connection
// counts twice.
func openFDs() int {
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(es)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func TestSlowClients(t *testing.T) {
	// Short enough for `make test`, long enough that a legitimate client
	// starved of CPU by the attack still sends its headers in time.
	const readHeader, read, idle = time.Second, 2 * time.Second, time.Second
	s := startServe(t,
		"VERDICT_SERVER__TIMEOUTS__READHEADER="+readHeader.String(),
		"VERDICT_SERVER__TIMEOUTS__READ="+read.String(),
		"VERDICT_SERVER__TIMEOUTS__WRITE=10s",
		"VERDICT_SERVER__TIMEOUTS__IDLE="+idle.String())
	n := reliability.Scale(50, 500)
	m := reliability.Scale(30, 300) // legitimate requests per measurement
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Minute}
	legitRun := func(t *testing.T) []time.Duration {
		lat := make([]time.Duration, 0, m)
		for range m {
			d, err := s.legit(client)
			require.NoError(t, err, "a legitimate request failed")
			lat = append(lat, d)
		}
		return lat
	}
	legitRun(t) // warm up
	baseline := legitRun(t)
	fdBase := openFDs()

	for _, tc := range []struct {
		name    string
		kind    attackKind
		timeout time.Duration
		knob    string
	}{
		{name: "slowloris headers", kind: slowHeaders, timeout: readHeader, knob: "ReadHeaderTimeout"},
		{name: "slow bodies", kind: slowBody, timeout: read, knob: "ReadTimeout"},
		{name: "idle keep-alive", kind: idleKeepAlive, timeout: idle, knob: "IdleTimeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stop := make(chan struct{})
			var dialed sync.WaitGroup
			fdPeak := make(chan int, 1)
			sampling := make(chan struct{})
			go func() {
				top := 0
				tick := time.NewTicker(10 * time.Millisecond)
				defer tick.Stop()
				for {
					top = max(top, openFDs())
					select {
					case <-sampling:
						fdPeak <- top
						return
					case <-tick.C:
					}
				}
			}()
			var conns []hostileConn
			var errs []error
			attacked := make(chan struct{})
			go func() {
				defer close(attacked)
				conns, errs = s.attack(tc.kind, n, 100*time.Millisecond, &dialed, stop)
			}()
			dialed.Wait()
			during := legitRun(t)
			close(stop)
			<-attacked
			close(sampling)
			peak := <-fdPeak
			after := openFDs()

			require.Empty(t, errs)
			require.GreaterOrEqual(t, len(conns), n)
			var closeTimes []time.Duration
			for i, c := range conns {
				// The client never finishes its request (or, kept alive,
				// never sends another): only the server's timeout closes it.
				require.True(t, c.byServer, "connection %d was never closed by the server: %v", i, c.err)
				if tc.kind == slowBody && c.status != 0 {
					require.GreaterOrEqual(t, c.status, 400, "a body never sent in full was answered %d", c.status)
				}
				closeTimes = append(closeTimes, c.closedAfter)
			}
			slowest := slicesMax(closeTimes)
			what := strings.Join([]string{tc.name, strconv.Itoa(n), "at a time,", tc.knob, tc.timeout.String()}, " ")
			reliability.Record(t, 16, what+": connections closed by the server", "%d of %d", len(conns), len(conns))
			reliability.Record(t, 16, what+": time to close p99 (max)", "%.0f ms (%.0f ms)", reliability.QuantileMS(closeTimes, 0.99), ms(slowest))
			reliability.Record(t, 16, what+": legitimate p99 during vs baseline", "%.1f ms vs %.1f ms", reliability.QuantileMS(during, 0.99), reliability.QuantileMS(baseline, 0.99))
			if fdBase >= 0 {
				reliability.Record(t, 16, what+": open FDs, client and server sides (baseline, peak, after)", "%d, %d, %d", fdBase, peak, after)
			}
		})
	}
}

func slicesMax(d []time.Duration) time.Duration {
	var top time.Duration
	for _, x := range d {
		top = max(top, x)
	}
	return top
}

// A header block over server.maxHeaderBytes is refused with 431.
func TestMaxHeaderBytes(t *testing.T) {
	s := startServe(t, "VERDICT_SERVER__MAXHEADERBYTES=8192")
	req, err := http.NewRequest(http.MethodGet, "http://"+s.addr+"/healthz", nil)
	require.NoError(t, err)
	req.Header.Set("X-Big", strings.Repeat("a", 64<<10))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
	d, err := s.legit(http.DefaultClient)
	require.NoError(t, err)
	require.Positive(t, d)
}
