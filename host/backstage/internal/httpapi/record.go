package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host"
	"github.com/verdictpdp/verdict/host/backstage/internal/decisionlog"
)

// record reports a decided request to the metrics and the decision log:
// one entry per query, with its final answer (the same as the response's)
// and every module's answer. Who asked is an entity ref or a service
// subject; tokens never reach it.
func (s *server) record(start time.Time, p abi.Principal, native bool, items []item, ds *host.Decisions, rs []resolution) {
	endpoint := "backstage"
	if native {
		endpoint = "native"
	}
	var entries []decisionlog.Entry
	var id string
	if s.decisions != nil {
		entries = make([]decisionlog.Entry, 0, len(ds.Items))
		id = decisionID()
	}
	latency := time.Since(start).Microseconds()
	k := 0
	for i := range items {
		it := &items[i]
		m := 1
		if it.kind == refArray {
			m = len(it.refs)
		}
		for j := 0; j < m; j++ {
			d := &ds.Items[k]
			var r resolution
			if rs != nil {
				r = rs[k]
			}
			res, extra := outcome(it.kind, d, r)
			if s.observer != nil {
				s.observer.ObserveItem(endpoint, string(res))
			}
			if entries != nil {
				e := decisionlog.Entry{Time: start, DecisionID: id, Index: k, ItemID: it.id, Endpoint: endpoint,
					Principal: principalRef(p), Permission: it.perm.Name, Result: string(res),
					Reason: joinReason(extra, d.Reason), Generation: ds.Generation, LatencyMicros: latency,
					Modules: make([]decisionlog.Module, len(d.Answers))}
				if p.Actor != nil {
					e.Actor = p.Actor.Subject
				}
				switch it.kind {
				case refString:
					e.ResourceRef = &it.ref
				case refArray:
					e.ResourceRef = &it.refs[j]
				}
				for a, ans := range d.Answers {
					e.Modules[a] = decisionlog.Module{Module: ans.Module, Result: string(ans.Result), Reason: ans.Reason}
				}
				entries = append(entries, e)
			}
			k++
		}
	}
	if entries != nil {
		s.decisions.Log(entries)
	}
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
