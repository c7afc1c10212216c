package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestNoHTTP2: Verdict serves HTTP/1.1 only (no TLS, no h2c), so no client
// reaches it over HTTP/2 and every limit (body, header, timeouts) is the
// HTTP/1.1 server's, with net/http's fixes for HTTP/1.1 abuse. A client
// with HTTP/2 prior knowledge is refused; an "Upgrade: h2c" request is
// answered over HTTP/1.1. If HTTP/2 is ever enabled, this test fails and
// the limits must be proven again for it (rapid reset and CONTINUATION
// floods are handled by net/http from Go 1.21.3 and 1.22.2; go.mod
// requires 1.25).
func TestNoHTTP2(t *testing.T) {
	s := startServe(t)

	t.Run("HTTP/2 prior knowledge is refused", func(t *testing.T) {
		var p http.Protocols
		p.SetUnencryptedHTTP2(true)
		client := &http.Client{Transport: &http.Transport{Protocols: &p}, Timeout: 10 * time.Second}
		resp, err := client.Get("http://" + s.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		require.Error(t, err, "the server answered an HTTP/2 request")
	})
	t.Run("h2c upgrade is answered over HTTP/1.1", func(t *testing.T) {
		conn, err := net.DialTimeout("tcp", s.addr, 10*time.Second)
		require.NoError(t, err)
		defer conn.Close()
		require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
		_, err = io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"+
			"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n")
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, "HTTP/1.1", resp.Proto)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.NotEqual(t, "h2c", strings.ToLower(resp.Header.Get("Upgrade")))
	})
}
