package httpapi

import (
	"encoding/json"
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

// reasonConditionalRef explains why a CONDITIONAL decision for an item
// with a resourceRef is DENY when it was not resolved (an incomplete
// decision, which the host never gives).
const reasonConditionalRef = "conditional decision for a resourceRef could not be resolved"

// appendItem appends the answer for it, whose queries were decided as ds
// (one Decision per query, in order) and, for CONDITIONAL decisions of
// items with a resourceRef, resolved as rs (nil when nothing was
// resolved), as {"id","result",...}. Only a plugin's ALLOW from
// apply-conditions turns CONDITIONAL into ALLOW; an unexpected result
// becomes DENY with a reason.
func appendItem(b []byte, it *item, ds []host.Decision, rs []resolution) ([]byte, error) {
	resolved := func(i int) resolution {
		if rs == nil {
			return resolution{}
		}
		return rs[i]
	}
	b = append(b, `{"id":`...)
	b = appendString(b, it.id)
	b = append(b, `,"result":`...)
	if it.kind != refArray {
		d := &ds[0]
		res, extra := outcome(it.kind, d, resolved(0))
		reason := joinReason(extra, d.Reason)
		b = appendString(b, string(res))
		if res == abi.Conditional {
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
		if reason != "" {
			b = append(b, `,"reason":`...)
			b = appendString(b, reason)
		}
		return append(b, '}'), nil
	}
	// An array resourceRef. Backstage answers a scalar when the policy's
	// decision was definitive (its policies never see refs) and an array,
	// one result per ref, when it was resolved through apply-conditions.
	// Verdict's modules may answer each ref differently, so: a scalar when no
	// ref needed apply-conditions and all agree, else an array.
	if single, ok := sameDefinitive(ds); ok {
		b = appendString(b, string(single.Result))
		if single.Reason != "" {
			b = append(b, `,"reason":`...)
			b = appendString(b, single.Reason)
		}
		return append(b, '}'), nil
	}
	var reasons []string
	addReason := func(r string) {
		if r == "" || slices.Contains(reasons, r) {
			return
		}
		reasons = append(reasons, r)
	}
	b = append(b, '[')
	for i := range ds {
		if i > 0 {
			b = append(b, ',')
		}
		res, extra := outcome(it.kind, &ds[i], resolved(i))
		addReason(extra)
		addReason(ds[i].Reason)
		b = appendString(b, string(res))
	}
	b = append(b, ']')
	if len(reasons) > 0 {
		b = append(b, `,"reason":`...)
		b = appendString(b, strings.Join(reasons, "; "))
	}
	return append(b, '}'), nil
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

// outcome is the final answer for one query of an item with ref kind
// kind: the host's decision d, unless it is CONDITIONAL for a resource
// (then the plugin's answer r, or DENY when r is not done) or incomplete
// or unexpected (DENY). extra explains what changed the host's answer,
// and goes before d.Reason.
func outcome(kind refKind, d *host.Decision, r resolution) (res abi.Result, extra string) {
	switch d.Result {
	case abi.Allow, abi.Deny:
		return d.Result, ""
	case abi.Conditional:
		switch {
		case kind != refNone && r.done:
			return r.result, r.reason
		case kind != refNone:
			return abi.Deny, reasonConditionalRef
		case d.Conditions == nil || d.PluginID == "":
			return abi.Deny, "host returned an incomplete CONDITIONAL decision"
		}
		return abi.Conditional, ""
	}
	return abi.Deny, "host returned an unexpected result " + string(d.Result)
}

func joinReason(a, b string) string {
	if b == "" {
		return a
	}
	if a == "" {
		return b
	}
	return a + "; " + b
}
