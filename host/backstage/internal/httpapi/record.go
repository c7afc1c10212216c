package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host/backstage/internal/decisionlog"
)

// record reports a decided batch to the metrics (one item per query, with
// its final answer) and to the decision log.
func (s *server) record(b *batch) {
	latency := time.Since(b.start)
	if s.observer != nil {
		for k := range b.answers {
			s.observer.ObserveItem(string(b.endpoint), string(b.answers[k].result))
		}
	}
	if s.decisions != nil {
		s.decisions.Log(b.logEntries(latency))
	}
}

// logEntries are b's decision-log entries: one per query, with its final
// answer (the same as the response's) and every module's answer. Who asked
// is an entity ref or a service subject; tokens never reach it. latency is
// the time from the start of deciding to the answer.
func (b *batch) logEntries(latency time.Duration) []decisionlog.Entry {
	ds := b.decisions.Items
	entries := make([]decisionlog.Entry, 0, len(ds))
	base := decisionlog.Entry{Time: b.start, DecisionID: decisionID(), Endpoint: string(b.endpoint),
		Principal: principalRef(b.principal), Generation: b.decisions.Generation,
		LatencyMicros: latency.Microseconds()}
	if b.principal.Actor != nil {
		base.Actor = b.principal.Actor.Subject
	}
	for first, it := range b.byItem() {
		for k := first; k < first+it.queryCount(); k++ {
			e := base
			e.Index, e.ItemID = k, it.id
			e.Permission, e.ResourceRef = b.queries[k].Permission.Name, b.queries[k].ResourceRef
			e.Result, e.Reason = string(b.answers[k].result), b.answers[k].reason
			e.Modules = make([]decisionlog.Module, len(ds[k].Answers))
			for a, ans := range ds[k].Answers {
				e.Modules[a] = decisionlog.Module{Module: ans.Module, Result: string(ans.Result), Reason: ans.Reason}
			}
			entries = append(entries, e)
		}
	}
	return entries
}

// principalRef names a principal for logs: the user's entity ref, the
// service's subject, or "none".
func principalRef(p abi.Principal) string {
	switch p.Type {
	case abi.PrincipalUser:
		return p.UserEntityRef
	case abi.PrincipalService:
		return "service:" + p.Subject
	}
	return abi.PrincipalNone
}

// decisionID is a random identifier for one request's decisions.
func decisionID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
