package httpapi_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/host/backstage/internal/httpapi"
	"github.com/verdictpdp/verdict/internal/testing/reliability"
)

// guestInput finds, in an answer's reason, the hex-echo fixture's dump of
// the bytes the host gave it.
var guestInput = regexp.MustCompile(`hex-echo: ([0-9a-f]+)`)

// TestParserDifferentials sends every body of testdata/differential over
// real HTTP to the real server and host, whose only module (hex-echo)
// answers with the exact bytes it was given (README, "Reliability", row
// 2).
// NAME.want says what must happen to NAME.json: "400" (Backstage's error
// envelope, status 400), or the bytes the guest must receive, which are the
// canonical encoding of the body's one meaning, written out by hand. No
// body is read two ways: what differs between JSON parsers (a repeated key,
// invalid UTF-8, a lone surrogate) is refused, and everything else reaches
// the guest re-encoded, never as the client's bytes.
func TestParserDifferentials(t *testing.T) {
	// The real server in dev mode over a real host whose only module is
	// the hex-echo fixture.
	srv := newLimitsServer(t, httpapi.DefaultConfig(), "fixture:hex-echo")
	files, err := filepath.Glob(filepath.Join("testdata", "differential", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	refused, canonical := 0, 0
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(file)
			require.NoError(t, err)
			want, err := os.ReadFile(strings.TrimSuffix(file, ".json") + ".want")
			require.NoError(t, err)
			want = bytes.TrimSuffix(want, []byte("\n"))
			status, out := post(t, srv.URL+"/api/permission/authorize", body)
			if string(want) == "400" {
				require.Equal(t, http.StatusBadRequest, status, "%s", out)
				var env struct {
					Error    struct{ Name, Message string }
					Response struct{ StatusCode int }
					Items    json.RawMessage
				}
				require.NoError(t, json.Unmarshal(out, &env), "%s", out)
				require.NotEmpty(t, env.Error.Name)
				require.NotEmpty(t, env.Error.Message)
				require.Equal(t, http.StatusBadRequest, env.Response.StatusCode)
				require.Nil(t, env.Items)
				refused++
				return
			}
			require.Equal(t, http.StatusOK, status, "%s", out)
			var ans struct {
				Items []struct {
					ID     string `json:"id"`
					Result any    `json:"result"`
					Reason string `json:"reason"`
				} `json:"items"`
			}
			require.NoError(t, json.Unmarshal(out, &ans), "%s", out)
			require.NotEmpty(t, ans.Items)
			m := guestInput.FindStringSubmatch(ans.Items[0].Reason)
			require.NotNil(t, m, "no guest input in the reason %q", ans.Items[0].Reason)
			got, err := hex.DecodeString(m[1])
			require.NoError(t, err)
			require.Equal(t, string(want), string(got), "the guest's input is the canonical encoding")
			require.NotEqual(t, string(body), string(got), "the guest never gets the client's bytes")
			canonical++
		})
	}
	reliability.Record(t, 2, "differential corpus over HTTP (duplicate, case-variant and escaped keys, invalid UTF-8, lone surrogates, BOM, \\u0000, big numbers)",
		"%d inputs: %d → 400 with the envelope, %d → the guest got byte-identical canonical JSON, 0 read two ways",
		len(files), refused, canonical)
}

func post(t *testing.T, url string, body []byte) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, out
}
