package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/abi/conformance"
	"github.com/verdictpdp/verdict/internal/wire"
)

// fuzzLimits are small, so that random bodies reach every limit.
var fuzzLimits = Limits{BodyBytes: 4096, BodyBytesInFlight: 4096, BatchItems: 5, ResourceRefs: 6, JSONDepth: 8, RequestTimeout: 1}

// FuzzDecodeRequest gives bytes to the request decoder as the handlers use
// it (readJSON with its size and depth limits, the unambiguity check, then
// the zod-faithful validation of the Backstage body, or of the native body
// with its principal when native is set). Invariants (DESIGN.md, "Fuzzing
// invariants"):
//   - no panic; a refusal is an apiError (it becomes a 4xx envelope);
//   - an accepted body is within the size, depth, batch and resourceRef
//     limits;
//   - re-encoding the decoded request canonically and decoding that again
//     gives the same request, and the same bytes when encoded once more (a
//     fixed point).
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range decodeSeeds(f) {
		f.Add(s, false)
		f.Add(s, true)
	}
	s := &server{cfg: Config{Limits: fuzzLimits}, bodies: newBodyBudget(fuzzLimits.BodyBytesInFlight)}
	f.Fuzz(func(t *testing.T, body []byte, native bool) {
		p, items, err := decodeBody(s, body, native)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				t.Fatalf("refusal %v is not an apiError", err)
			}
			if status, _ := classify(err); status < 400 || status >= 500 {
				t.Fatalf("refusal %v maps to %d", err, status)
			}
			return
		}
		if int64(len(body)) > fuzzLimits.BodyBytes {
			t.Fatalf("accepted %d bytes", len(body))
		}
		if wire.CheckDepth(body, fuzzLimits.JSONDepth) != nil {
			t.Fatalf("accepted a body nested deeper than %d: %q", fuzzLimits.JSONDepth, body)
		}
		if len(items) > fuzzLimits.BatchItems {
			t.Fatalf("accepted %d items", len(items))
		}
		refs := 0
		for _, it := range items {
			switch it.kind {
			case refString:
				refs++
			case refArray:
				refs += len(it.refs)
			}
		}
		if refs > fuzzLimits.ResourceRefs {
			t.Fatalf("accepted %d resourceRefs", refs)
		}
		canon := encodeBody(p, items, native)
		p2, items2, err := decodeBody(s, canon, native)
		if err != nil {
			t.Fatalf("the canonical encoding %s of %q is refused: %v", canon, body, err)
		}
		if !reflect.DeepEqual(items, items2) {
			t.Fatalf("items changed through %s:\n%+v\n%+v", canon, items, items2)
		}
		if again := encodeBody(p2, items2, native); !bytes.Equal(canon, again) {
			t.Fatalf("not a fixed point:\n%s\n%s", canon, again)
		}
	})
}

// decodeBody runs body through the decoding steps of the authorize
// handlers, in their order.
func decodeBody(s *server, body []byte, native bool) (abi.Principal, []item, error) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, authorizePath, bytes.NewReader(body))
	v, err := s.readJSON(w, r)
	if err != nil {
		return abi.Principal{}, nil, err
	}
	if native {
		return zNativeRequest(v, s.cfg.Limits)
	}
	items, err := zRequest(v, s.cfg.Limits)
	return abi.Principal{}, items, err
}

// encodeBody writes the canonical body for a decoded request: fixed key
// order, no unknown keys, encoding/json's string escaping.
func encodeBody(p abi.Principal, items []item, native bool) []byte {
	b := []byte(`{`)
	if native {
		pj, _ := json.Marshal(p)
		b = append(b, `"principal":`...)
		b = append(b, pj...)
		b = append(b, ',')
	}
	b = append(b, `"items":[`...)
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = wire.AppendString(b, it.id)
		b = append(b, `,"permission":{"type":`...)
		b = wire.AppendString(b, it.perm.Type)
		b = append(b, `,"name":`...)
		b = wire.AppendString(b, it.perm.Name)
		b = append(b, `,"attributes":{`...)
		if it.perm.Attributes.Action != "" {
			b = append(b, `"action":`...)
			b = wire.AppendString(b, it.perm.Attributes.Action)
		}
		b = append(b, '}')
		if it.perm.IsResource() {
			b = append(b, `,"resourceType":`...)
			b = wire.AppendString(b, it.perm.ResourceType)
		}
		b = append(b, '}')
		switch it.kind {
		case refString:
			b = append(b, `,"resourceRef":`...)
			b = wire.AppendString(b, it.ref)
		case refArray:
			b = append(b, `,"resourceRef":[`...)
			for j, ref := range it.refs {
				if j > 0 {
					b = append(b, ',')
				}
				b = wire.AppendString(b, ref)
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// decodeSeeds are /authorize bodies captured from a real Backstage
// backend, the inputs of the conformance corpus
// (native bodies: a principal and items), the differential corpus, and
// bodies at each limit.
func decodeSeeds(tb testing.TB) [][]byte {
	seeds := [][]byte{
		[]byte(`{"items":[{"id":"fd91","permission":{"type":"basic","name":"catalog.entity.create","attributes":{"action":"create"}}},{"id":"7191","permission":{"type":"basic","name":"test.basic.deny","attributes":{}}},{"id":"69f5","permission":{"type":"resource","name":"catalog.entity.read","attributes":{"action":"read"},"resourceType":"catalog-entity"},"resourceRef":"component:default/owned"}]}`),
		[]byte(`{"items":[{"id":"5760","permission":{"type":"resource","name":"catalog.entity.read","attributes":{"action":"read"},"resourceType":"catalog-entity"}},{"id":"da31","permission":{"type":"resource","name":"catalog.entity.delete","attributes":{"action":"delete"},"resourceType":"catalog-entity"}}]}`),
		[]byte(`{"items":[{"permission":{"type":"basic","name":"catalog.entity.create","attributes":{"action":"create"}},"id":"dd6e"},{"permission":{"type":"resource","name":"catalog.entity.read","attributes":{"action":"read"},"resourceType":"catalog-entity"},"resourceRef":["component:default/owned","user:default/bob","group:default/other-team"],"id":"9bea"}]}`),
		[]byte(`{"principal":{"type":"user","userEntityRef":"user:default/a","ownershipEntityRefs":["group:default/b"],"actor":{"type":"service","subject":"plugin:catalog"}},"items":[{"id":"a","permission":{"type":"basic","name":"x","attributes":{}}}]}`),
		[]byte(`{"principal":{"type":"service","subject":"s"},"items":[]}`),
		[]byte(`{"items":[{"id":"a","permission":{"type":"resource","name":"x","attributes":{},"resourceType":"t"},"resourceRef":["1","2","3","4","5","6"]}]}`),
		[]byte(`{"items":[{"id":"a","permission":{"type":"resource","name":"x","attributes":{},"resourceType":"t"},"resourceRef":["1","2","3","4","5","6","7"]}]}`),
		[]byte(`{"items":[{},{},{},{},{}]}`), []byte(`{"items":[{},{},{},{},{},{}]}`),
		[]byte(`{"items":[[[[[[]]]]]]}`), []byte(`{"items":[[[[[[[]]]]]]]}`),
		[]byte(`{"items":[],"x":"` + strings.Repeat("y", 4080) + `"}`),
		[]byte(``), []byte(`{}`), []byte(`[]`), []byte(`null`),
	}
	cases, err := conformance.Load(filepath.Join("..", "..", "..", "..", "abi", "testdata", "conformance"))
	require.NoError(tb, err)
	for _, c := range cases {
		if c.Input == nil {
			continue // an inputText case: its input is raw text, not a JSON value
		}
		var compact bytes.Buffer
		require.NoError(tb, json.Compact(&compact, c.Input))
		if compact.Len() <= int(fuzzLimits.BodyBytes) {
			seeds = append(seeds, compact.Bytes())
		}
	}
	diff, err := filepath.Glob(filepath.Join("testdata", "differential", "*.json"))
	require.NoError(tb, err)
	for _, p := range diff {
		b, err := os.ReadFile(p)
		require.NoError(tb, err)
		seeds = append(seeds, b)
	}
	return seeds
}
