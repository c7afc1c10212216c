package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host"
	"github.com/verdictpdp/verdict/internal/wire"
)

const contentTypeJSON = "application/json; charset=utf-8"

// writeJSON writes body with status and the JSON content type.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = []string{contentTypeJSON}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// appendString appends s as a JSON string the way JavaScript's
// JSON.stringify writes it: only '"', '\\' and control characters are
// escaped (no HTML escaping), so echoed values read as Backstage would echo
// them. Invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte { return wire.AppendJSString(b, s) }

// response is the answer to b: {"items":[...]} with one answer per item in
// request order, preceded on the native API by the snapshot generation.
func (b *batch) response() ([]byte, error) {
	out := make([]byte, 0, b.responseSize())
	if b.endpoint == endpointNative {
		out = append(out, `{"generation":`...)
		out = strconv.AppendUint(out, b.decisions.Generation, 10)
		out = append(out, `,"items":[`...)
	} else {
		out = append(out, `{"items":[`...)
	}
	for first, it := range b.byItem() {
		if first > 0 {
			out = append(out, ',')
		}
		ds, as := b.of(first, it)
		var err error
		if out, err = appendItem(out, it, ds, as); err != nil {
			return nil, fmt.Errorf("encode answer: %w", err)
		}
	}
	return append(out, "]}"...), nil
}

// responseSize is about the length of b's response, so that it is
// written into one buffer: each item's id and keys, each query's result
// and reason. (Only CONDITIONAL criteria, which are not counted, and
// strings that need escaping make it grow.)
func (b *batch) responseSize() int {
	n := 32
	for i := range b.items {
		n += len(b.items[i].id) + len(`{"id":"","result":},`)
	}
	for k := range b.answers {
		n += len(b.answers[k].result) + len(`"",`)
		if r := b.answers[k].reason; r != "" {
			n += len(r) + len(`,"reason":""`)
		}
	}
	return n
}

// appendItem appends the answer for it, whose queries were decided as ds
// and settled as as, as {"id","result",...}.
func appendItem(b []byte, it *item, ds []host.Decision, as []answer) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = appendString(b, it.id)
	b = append(b, `,"result":`...)
	if it.kind == refArray {
		b = appendResults(b, ds, as)
		return append(b, '}'), nil
	}
	b, err := appendResult(b, &ds[0], &as[0])
	return append(b, '}'), err
}

// appendResult appends the result of an item asked as one query, decided
// as d and settled as a: a CONDITIONAL answer carries d's plugin, resource
// type and criteria.
func appendResult(b []byte, d *host.Decision, a *answer) ([]byte, error) {
	b = appendString(b, string(a.result))
	if a.result == abi.Conditional {
		b = append(b, `,"pluginId":`...)
		b = appendString(b, d.PluginID)
		b = append(b, `,"resourceType":`...)
		b = appendString(b, d.ResourceType)
		c, err := json.Marshal(d.Conditions)
		if err != nil {
			return b, err
		}
		b = append(b, `,"conditions":`...)
		b = append(b, c...)
	}
	if a.reason != "" {
		b = append(b, `,"reason":`...)
		b = appendString(b, a.reason)
	}
	return b, nil
}

// appendResults appends the result of an item with an array resourceRef.
// Backstage answers a scalar when the policy's decision was definitive (its
// policies never see refs) and an array, one result per ref, when it was
// resolved through apply-conditions. Verdict's modules may answer each ref
// differently, so: a scalar when no ref needed apply-conditions and all
// agree, else an array, with every distinct reason once.
func appendResults(b []byte, ds []host.Decision, as []answer) []byte {
	if single, ok := sameDefinitive(ds); ok {
		b = appendString(b, string(single.Result))
		if single.Reason != "" {
			b = append(b, `,"reason":`...)
			b = appendString(b, single.Reason)
		}
		return b
	}
	var reasons []string
	addReason := func(r string) {
		if r != "" && !slices.Contains(reasons, r) {
			reasons = append(reasons, r)
		}
	}
	b = append(b, '[')
	for i := range as {
		if i > 0 {
			b = append(b, ',')
		}
		addReason(as[i].note)
		addReason(ds[i].Reason)
		b = appendString(b, string(as[i].result))
	}
	b = append(b, ']')
	if len(reasons) > 0 {
		b = append(b, `,"reason":`...)
		b = appendString(b, strings.Join(reasons, "; "))
	}
	return b
}

// sameDefinitive reports whether every decision is the same ALLOW or DENY
// (with the same reason), and returns it.
func sameDefinitive(ds []host.Decision) (*host.Decision, bool) {
	first := &ds[0]
	if first.Result != abi.Allow && first.Result != abi.Deny {
		return nil, false
	}
	for i := range ds[1:] {
		d := &ds[i+1]
		if d.Result != first.Result || d.Reason != first.Reason {
			return nil, false
		}
	}
	return first, true
}
