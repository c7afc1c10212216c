package decisionlog

import (
	"strconv"
	"time"

	"github.com/verdictpdp/verdict/internal/wire"
)

// Module is one module's answer in an Entry.
type Module struct {
	// Module is the module's name.
	Module string `json:"module"`
	// Result is its answer (ALLOW, DENY, CONDITIONAL or ABSTAIN); Reason
	// says why, when it said.
	Result string `json:"result"`
	Reason string `json:"reason,omitempty"`
}

// Entry is one decided item.
type Entry struct {
	// Time is when the request arrived.
	Time time.Time `json:"time"`
	// DecisionID identifies the request; Index the item's query within it.
	DecisionID string `json:"decisionId"`
	Index      int    `json:"index"`
	// ItemID is the client's id for the item (not unique: Backstage allows
	// repeats).
	ItemID string `json:"itemId"`
	// Endpoint is the API that was asked: "backstage" or "native".
	Endpoint string `json:"endpoint"`
	// Principal is who asked: a user's entity ref, a service's subject or
	// "none"; Actor the service acting for the user, if any.
	Principal string `json:"principal"`
	Actor     string `json:"actor,omitempty"`
	// Permission is the permission's name; ResourceRef the resource, for
	// a resource permission that named one.
	Permission  string  `json:"permission"`
	ResourceRef *string `json:"resourceRef,omitempty"`
	// Result is the final answer sent to the caller; Reason explains it.
	Result string `json:"result"`
	Reason string `json:"reason,omitempty"`
	// Modules are every module's answers, in order.
	Modules []Module `json:"modules"`
	// Generation is the policy snapshot that decided.
	Generation uint64 `json:"generation"`
	// LatencyMicros is the time from the request's arrival to its answer.
	LatencyMicros int64 `json:"latencyMicros"`
}

// AppendJSON appends e as encoding/json would encode it (the same bytes,
// without the newline), without reflection: the log keeps up with
// hundreds of thousands of decisions per second.
func AppendJSON(b []byte, e *Entry) []byte {
	b = append(b, `{"time":"`...)
	b = e.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	b = appendField(b, `,"decisionId":`, e.DecisionID)
	b = append(b, `,"index":`...)
	b = strconv.AppendInt(b, int64(e.Index), 10)
	b = appendField(b, `,"itemId":`, e.ItemID)
	b = appendField(b, `,"endpoint":`, e.Endpoint)
	b = appendField(b, `,"principal":`, e.Principal)
	b = appendOmitEmpty(b, `,"actor":`, e.Actor)
	b = appendField(b, `,"permission":`, e.Permission)
	if e.ResourceRef != nil {
		b = appendField(b, `,"resourceRef":`, *e.ResourceRef)
	}
	b = appendField(b, `,"result":`, e.Result)
	b = appendOmitEmpty(b, `,"reason":`, e.Reason)
	b = appendModules(b, e.Modules)
	b = append(b, `,"generation":`...)
	b = strconv.AppendUint(b, e.Generation, 10)
	b = append(b, `,"latencyMicros":`...)
	b = strconv.AppendInt(b, e.LatencyMicros, 10)
	return append(b, '}')
}

// appendModules appends the "modules" member: null for nil, as
// encoding/json writes a nil slice.
func appendModules(b []byte, ms []Module) []byte {
	if ms == nil {
		return append(b, `,"modules":null`...)
	}
	b = append(b, `,"modules":[`...)
	for i := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		m := &ms[i]
		b = appendField(b, `{"module":`, m.Module)
		b = appendField(b, `,"result":`, m.Result)
		b = appendOmitEmpty(b, `,"reason":`, m.Reason)
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendField appends key (the member's name with its punctuation) and v
// as a JSON string, escaped as encoding/json escapes it.
func appendField(b []byte, key, v string) []byte {
	b = append(b, key...)
	return wire.AppendString(b, v)
}

// appendOmitEmpty is appendField for a member tagged omitempty: nothing
// when v is empty.
func appendOmitEmpty(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	return appendField(b, key, v)
}
