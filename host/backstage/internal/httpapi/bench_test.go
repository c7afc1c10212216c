package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host"
)

// constDecider answers ALLOW for everything from a preallocated slice, so
// that benchmarks measure the HTTP layer alone.
type constDecider struct{ ds host.Decisions }

func (c *constDecider) Decide(_ context.Context, _ abi.Principal, qs []host.Query) (*host.Decisions, error) {
	return &host.Decisions{Generation: 1, Items: c.ds.Items[:len(qs)]}, nil
}
func (c *constDecider) Status() host.Status { return host.Status{} }
func (c *constDecider) Ready() error        { return nil }

func benchAuthorize(b *testing.B, items int) {
	d := &constDecider{ds: host.Decisions{Items: make([]host.Decision, items)}}
	for i := range d.ds.Items {
		d.ds.Items[i].Result = abi.Allow
	}
	h, err := New(testConfig(true), d, nil)
	if err != nil {
		b.Fatal(err)
	}
	parts := make([]string, items)
	for i := range parts {
		parts[i] = `{"id":"5f1c3b2a-0000-4000-8000-00000000000` + string(rune('0'+i%10)) + `","permission":{"type":"resource","name":"catalog.entity.read","attributes":{"action":"read"},"resourceType":"catalog-entity"},"resourceRef":"component:default/service-x"}`
	}
	body := `{"items":[` + strings.Join(parts, ",") + `]}`
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, authorizePath, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code, w.Body.String())
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*items), "ns/item")
}

func BenchmarkAuthorize1(b *testing.B)   { benchAuthorize(b, 1) }
func BenchmarkAuthorize100(b *testing.B) { benchAuthorize(b, 100) }
