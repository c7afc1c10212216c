package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/host/backstage/internal/conditions"
	"github.com/verdictpdp/verdict/host/backstage/internal/discovery"
)

// The fake catalog plugin of TestFailClosedInvariant's apply-conditions
// cases: healthy, it ALLOWs every ref, so that only the failure it is told
// to show keeps the items closed.

// pluginMode is how the fake apply-conditions plugin answers.
type pluginMode int

const (
	pluginAllow       pluginMode = iota // ALLOW for every ref (healthy)
	plugin500                           // 500 with an envelope
	pluginHang                          // no answer until the call gives up
	pluginExtraItem                     // one item more than sent, all ALLOW
	pluginWrongIDs                      // as many items as sent, ids shifted, all ALLOW
	pluginBadResult                     // "MAYBE"
	pluginWrongShape                    // an array one ref short, a list for a single ref; all ALLOW
	pluginUnreachable                   // nothing listens at the plugin's address
)

// invariantPlugin serves a catalog plugin's apply-conditions answering as
// mode says, and returns a resolver that finds it.
func invariantPlugin(t *testing.T, mode pluginMode) *conditions.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Items []struct {
				ID          string          `json:"id"`
				ResourceRef json.RawMessage `json:"resourceRef"`
			} `json:"items"`
		}
		if r.URL.Path != "/api/catalog"+conditions.Path || json.NewDecoder(r.Body).Decode(&in) != nil {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		if mode == pluginHang {
			<-r.Context().Done()
			return
		}
		if mode == plugin500 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"error":{"name":"Error","message":"boom"},"response":{"statusCode":500}}`)
			return
		}
		type item struct {
			ID     string `json:"id"`
			Result any    `json:"result"`
		}
		var out []item
		for i, it := range in.Items {
			var refs []string
			array := json.Unmarshal(it.ResourceRef, &refs) == nil
			var res any = "ALLOW"
			if array {
				all := make([]string, len(refs))
				for j := range all {
					all[j] = "ALLOW"
				}
				if mode == pluginWrongShape {
					all = all[:len(all)-1]
				}
				res = all
			} else if mode == pluginWrongShape {
				res = []string{"ALLOW"}
			}
			id := it.ID
			switch mode {
			case pluginWrongIDs:
				id = fmt.Sprint(i + 1)
			case pluginBadResult:
				res = "MAYBE"
			}
			out = append(out, item{ID: id, Result: res})
		}
		if mode == pluginExtraItem {
			out = append(out, item{ID: fmt.Sprint(len(out)), Result: "ALLOW"})
		}
		b, _ := json.Marshal(map[string]any{"items": out})
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	base := srv.URL
	if mode == pluginUnreachable {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		base = "http://" + l.Addr().String()
		require.NoError(t, l.Close())
	}
	disc, err := discovery.New(discovery.Config{BaseURL: base})
	require.NoError(t, err)
	ccfg := conditions.DefaultConfig()
	ccfg.Token = "outbound-static-token"
	ccfg.Timeout = 200 * time.Millisecond
	c, err := conditions.New(ccfg, disc, nil, nil, nil)
	require.NoError(t, err)
	return c
}
