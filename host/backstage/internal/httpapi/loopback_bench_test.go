package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/verdictpdp/verdict/host"
	"github.com/verdictpdp/verdict/host/backstage/internal/httpapi"
)

// BenchmarkLoopback measures the whole service end to end: a real listener on
// loopback, a keep-alive HTTP client sending from several goroutines, the
// real HTTP adapter and the real host running a module. It reports
// decisions per second of wall time as well as ns per request.
func BenchmarkLoopback(b *testing.B) {
	modules := []struct{ name, path string }{
		{"wat-allow-one", httpapi.FixturePath("allow-one")},
		{"allow-all", "../../../../build/policies/allow-all.wasm"},
	}
	for _, mod := range modules {
		wasm, err := os.ReadFile(mod.path)
		if err != nil {
			b.Logf("skipping %s: %v (run make guests)", mod.name, err)
			continue
		}
		dir := b.TempDir()
		if err := os.WriteFile(filepath.Join(dir, mod.name+".wasm"), wasm, 0o644); err != nil {
			b.Fatal(err)
		}
		h := httpapi.NewTestHost(b, func(c *host.Config) { c.CallTimeout = 10 * time.Second })
		if err := h.LoadDir(context.Background(), dir); err != nil {
			b.Fatal(err)
		}
		cfg := httpapi.DefaultConfig()
		cfg.DevMode = true
		srv := httpapi.ServeTest(b, cfg, h)
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		sizes := []int{1, 100}
		if mod.name == "wat-allow-one" {
			sizes = []int{1}
		}
		for _, n := range sizes {
			body := batch(n)
			b.Run(fmt.Sprintf("%s/batch=%d", mod.name, n), func(b *testing.B) {
				b.SetParallelism(8) // 8 × GOMAXPROCS client goroutines
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						resp, err := client.Post(srv.URL+"/api/permission/authorize", "application/json", bytes.NewReader(body))
						if err != nil {
							b.Error(err)
							return
						}
						out, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusOK || !bytes.Contains(out, []byte(`"ALLOW"`)) {
							b.Errorf("status %d: %s", resp.StatusCode, out)
							return
						}
					}
				})
				secs := b.Elapsed().Seconds()
				b.ReportMetric(float64(b.N*n)/secs, "decisions/s")
			})
		}
		// Closed now rather than when the benchmark ends, so that the next
		// module is measured alone (closing twice is harmless).
		srv.Close()
		_ = h.Close(context.Background())
	}
}

func batch(n int) []byte {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`{"id":"%08d-0000-4000-8000-000000000000","permission":{"type":"basic","name":"catalog.entity.create","attributes":{"action":"create"}}}`, i)
	}
	return []byte(`{"items":[` + strings.Join(parts, ",") + `]}`)
}
