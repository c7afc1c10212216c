package httpapi

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, err := w.Write(b)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func deflated(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	_, err := w.Write(b)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

// bomb is a valid gzip stream of a JSON body that inflates to n bytes.
func bomb(t testing.TB, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	require.NoError(t, err)
	_, err = io.WriteString(w, `{"items":[],"x":"`)
	require.NoError(t, err)
	chunk := bytes.Repeat([]byte("a"), 64<<10)
	for written := 0; written < n; written += len(chunk) {
		_, err = w.Write(chunk)
		require.NoError(t, err)
	}
	_, err = io.WriteString(w, `"}`)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

// TestBodiesBackstageAccepts: bodies that Backstage's express.json()
// accepts are accepted (gzip and deflate inflated, a BOM dropped, numbers
// past float64's range in fields nobody reads), within Verdict's limits
// (inflated bytes count against bodyBytes: a decompression bomb is 413),
// and refusals are worded as body-parser and JSON.parse word them. Over
// real HTTP, in dev mode.
func TestBodiesBackstageAccepts(t *testing.T) {
	valid := []byte(`{"items":[` + basicAllow + `]}`)
	const wantItems = `{"items":[{"id":"a","result":"ALLOW"}]}`
	bom := append([]byte{0xef, 0xbb, 0xbf}, valid...)
	tests := []struct {
		name     string
		encoding []string // Content-Encoding headers
		body     []byte
		status   int
		errNm    string
		msg      string
	}{
		{name: "gzip", encoding: []string{"gzip"}, body: gzipped(t, valid), status: 200},
		{name: "deflate", encoding: []string{"deflate"}, body: deflated(t, valid), status: 200},
		{name: "encoding names are case-insensitive", encoding: []string{"GZip"}, body: gzipped(t, valid), status: 200},
		{name: "identity", encoding: []string{"identity"}, body: valid, status: 200},
		{name: "gzip of a body with a BOM", encoding: []string{"gzip"}, body: gzipped(t, bom), status: 200},
		{name: "BOM", body: bom, status: 200},
		{name: "number past float64 in an attribute", body: []byte(`{"items":[{"id":"a","permission":{"type":"basic","name":"x.allow","attributes":{"n":1e400}}}]}`), status: 200},
		{name: "number past float64 beside items", body: []byte(`{"items":[` + basicAllow + `],"n":-1e999}`), status: 200},
		{name: "number past float64 as the id", body: []byte(`{"items":[{"id":1e400,"permission":{"type":"basic","name":"x.allow","attributes":{}}}]}`),
			status: 400, errNm: "InputError", msg: `"message": "Expected string, received number"`},
		{name: "unknown encoding", encoding: []string{"br"}, body: valid, status: 415, errNm: "UnsupportedMediaTypeError", msg: `unsupported content encoding "br"`},
		{name: "two encodings", encoding: []string{"gzip", "gzip"}, body: gzipped(t, gzipped(t, valid)), status: 415, errNm: "UnsupportedMediaTypeError",
			msg: `unsupported content encoding "gzip, gzip"`},
		{name: "gzip header on plain JSON", encoding: []string{"gzip"}, body: valid, status: 400, errNm: "Error", msg: "incorrect header check"},
		{name: "truncated gzip", encoding: []string{"gzip"}, body: gzipped(t, valid)[:20], status: 400, errNm: "Error", msg: "unexpected end of file"},
		{name: "deflate header on gzip", encoding: []string{"deflate"}, body: gzipped(t, valid), status: 400, errNm: "Error", msg: "incorrect header check"},
		{name: "decompression bomb", encoding: []string{"gzip"}, body: bomb(t, 64<<20), status: 413, errNm: "PayloadTooLargeError", msg: "request entity too large"},
		{name: "blank body", body: []byte(" \n "), status: 400, errNm: "SyntaxError", msg: "Unexpected end of JSON input"},
		{name: "malformed JSON", body: []byte(`{"items":[}`), status: 400, errNm: "SyntaxError", msg: `Unexpected token '}', "{"items":[}" is not valid JSON`},
		{name: "malformed gzipped JSON, positions after the BOM", encoding: []string{"gzip"}, body: gzipped(t, []byte("\xef\xbb\xbf{\"items\" []}")),
			status: 400, errNm: "SyntaxError", msg: `Expected ':' after property name in JSON at position 9`},
		{name: "top-level string", body: []byte(`"items"`), status: 400, errNm: "SyntaxError", msg: `Unexpected token '"', ""items"" is not valid JSON`},
	}
	cfg := testConfig(true)
	cfg.Limits.BodyBytes = 256 << 10
	h, _ := newTestServer(t, cfg)
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rq, err := http.NewRequest(http.MethodPost, srv.URL+authorizePath, bytes.NewReader(tc.body))
			require.NoError(t, err)
			rq.Header.Set("Content-Type", "application/json")
			for _, e := range tc.encoding {
				rq.Header.Add("Content-Encoding", e)
			}
			res, err := srv.Client().Do(rq)
			require.NoError(t, err)
			defer res.Body.Close()
			b, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			if tc.errNm == "" {
				require.Equal(t, tc.status, res.StatusCode, "%s", b)
				require.JSONEq(t, wantItems, string(b))
				return
			}
			e := requireEnvelope(t, resp{status: res.StatusCode, header: res.Header, body: string(b)}, tc.status, tc.errNm, "/authorize")
			if tc.errNm == "InputError" {
				require.Contains(t, e.Error.Message, tc.msg, "zod's issues")
			} else {
				require.Equal(t, tc.msg, e.Error.Message)
			}
			if tc.status == 413 {
				require.Equal(t, cfg.Limits.BodyBytes, e.Error.Limit)
			}
		})
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestInflateBounded: a compressed body is inflated no further than the
// limit plus one byte (a bomb stops early, its compressed rest unread),
// and the inflated bytes go through the body budget like any body's.
func TestInflateBounded(t *testing.T) {
	const limit = 256 << 10
	t.Run("a bomb stops at the limit", func(t *testing.T) {
		z := bomb(t, 256<<20)
		src := &countingReader{r: bytes.NewReader(z)}
		r := &inflater{gzip: true, src: src, left: limit}
		n, err := io.Copy(io.Discard, r)
		require.ErrorIs(t, err, errInflatedTooLarge)
		require.LessOrEqual(t, n, int64(limit))
		require.Less(t, src.n, len(z)/10, "most of the compressed stream is never read")
	})
	t.Run("inflated bytes take body budget", func(t *testing.T) {
		body := []byte(`{"items":[],"x":"` + strings.Repeat("a", 200<<10) + `"}`)
		budget := newBodyBudget(limit)
		r := &inflater{gzip: true, src: bytes.NewReader(gzipped(t, body)), left: limit}
		b, err := readBody(context.Background(), r, -1, limit, budget, time.Second)
		require.NoError(t, err)
		require.Equal(t, body, b.data)
		require.Equal(t, int64(limit/bodyChunk), budget.inUse(), "a body of unknown inflated size reserves up to the limit")
		b.release()
		require.Zero(t, budget.inUse())

		// With the budget held, the next inflating body past one chunk waits, then fails.
		require.NoError(t, budget.acquire(context.Background(), budget.size, 0))
		r = &inflater{gzip: true, src: bytes.NewReader(gzipped(t, body)), left: limit}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err = readBody(ctx, r, -1, limit, budget, time.Second)
		require.ErrorIs(t, err, errBodyBudget)
	})
}

// TestBodyValuesPastFloat64: a number past float64's range reads as
// JSON.parse reads it (±Inf), and zod words it as a number.
func TestBodyValuesPastFloat64(t *testing.T) {
	v, err := parseBody([]byte(`{"a":[1e400,-1e400,1.5]}`), 8)
	require.NoError(t, err)
	b, err := json.Marshal(v.(map[string]any)["a"].([]any)[2])
	require.NoError(t, err)
	require.Equal(t, "1.5", string(b))
	require.Equal(t, "number", parsedType(v.(map[string]any)["a"].([]any)[0], true))
}
