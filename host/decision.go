package host

import (
	"context"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host/internal/claims"
	"github.com/verdictpdp/verdict/host/internal/combine"
)

// Query is one question put to the host: a permission and, optionally, the
// resource it is about. A Backstage item whose resourceRef is an array is
// asked as one Query per ref.
type Query struct {
	Permission  abi.Permission
	ResourceRef *string
}

// Decision is the host's final answer for one Query: ALLOW, DENY, or
// CONDITIONAL with PluginID, ResourceType and Conditions. Reason explains it;
// Answers lists each module's contribution in file-name order.
type Decision struct {
	Result       abi.Result
	PluginID     string
	ResourceType string
	Conditions   *abi.Criteria
	Reason       string
	Answers      []ModuleAnswer
}

// ModuleAnswer is what one module answered for one item.
type ModuleAnswer struct {
	Module string     `json:"module"`
	Result abi.Result `json:"result"`
	Reason string     `json:"reason,omitempty"`
}

// Decisions is the answer to a batch: one Decision per Query, in order, and
// the generation of the snapshot that decided them.
type Decisions struct {
	Generation uint64
	Items      []Decision
}

// Decide answers a batch for principal p. It fails only with ErrNoSnapshot
// or ErrClosed; every module failure becomes a DENY with a reason.
func (h *Host) Decide(ctx context.Context, p abi.Principal, qs []Query) (*Decisions, error) {
	s, err := h.acquire()
	if err != nil {
		return nil, err
	}
	defer s.release()
	votes := make([][]combine.Vote, len(qs)) // on the stack for small batches
	h.vote(ctx, s, p, qs, votes)
	out := &Decisions{Generation: s.gen, Items: make([]Decision, len(qs))}
	for i := range qs {
		out.Items[i] = h.settle(votes[i])
	}
	return out, nil
}

// vote asks each module of s about the queries it claims, in calls of at
// most ItemsPerCall items (see callEnd), and appends to votes[i] the votes
// for qs[i], in file-name order.
func (h *Host) vote(ctx context.Context, s *snapshot, p abi.Principal, qs []Query, votes [][]combine.Vote) {
	idx := make([]int, 0, len(qs))
	items := make([]abi.Item, 0, len(qs))
	for _, hd := range s.modules {
		m := hd.m
		idx, items = claimed(m.Claims(), qs, idx[:0], items[:0])
		for start, end := 0, 0; start < len(items); start = end {
			end = h.callEnd(items, start)
			answers := m.Evaluate(ctx, p, items[start:end])
			for k, i := range idx[start:end] {
				votes[i] = append(votes[i], combine.Vote{Module: m.Name(), Answer: answers[k]})
			}
		}
	}
}

// claimed appends to idx and items the index and the item of each query
// that set claims.
func claimed(set claims.Set, qs []Query, idx []int, items []abi.Item) ([]int, []abi.Item) {
	for i := range qs {
		if set.Match(qs[i].Permission.Name) {
			idx = append(idx, i)
			items = append(items, abi.Item{Permission: qs[i].Permission, ResourceRef: qs[i].ResourceRef})
		}
	}
	return idx, items
}

// settle combines one query's votes into its decision, with each module's
// answer.
func (h *Host) settle(votes []combine.Vote) Decision {
	a := combine.Combine(h.cfg.Combine, votes, h.cfg.Default)
	d := Decision{Result: a.Result, PluginID: a.PluginID, ResourceType: a.ResourceType,
		Conditions: a.Conditions, Reason: a.Reason}
	if len(votes) > 0 {
		d.Answers = make([]ModuleAnswer, len(votes))
		for k, v := range votes {
			d.Answers[k] = ModuleAnswer{Module: v.Module, Result: v.Answer.Result, Reason: v.Answer.Reason}
		}
	}
	return d
}

// callEnd returns the end of the call that starts at items[start]: at most
// ItemsPerCall items and, but for a single larger item, about
// InputBytesPerCall bytes of input (estimated from the item's strings; JSON
// escapes can make the input larger, and the call's budget then grows with
// it, up to MaxCallFuel).
func (h *Host) callEnd(items []abi.Item, start int) int {
	end, size := start, 0
	for end < len(items) && end-start < h.cfg.ItemsPerCall {
		it := &items[end]
		n := 96 + len(it.Permission.Name) + len(it.Permission.ResourceType) + len(it.Permission.Attributes.Action)
		if it.ResourceRef != nil {
			n += len(*it.ResourceRef)
		}
		if end > start && size+n > h.cfg.InputBytesPerCall {
			break
		}
		size += n
		end++
	}
	return end
}
