package httpapi

import (
	"iter"
	"time"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host"
	"github.com/verdictpdp/verdict/host/backstage/internal/identity"
)

// refKind says how an item gave its resourceRef.
type refKind uint8

const (
	refNone refKind = iota
	refString
	refArray
)

// item is a validated request item.
type item struct {
	id   string
	perm abi.Permission
	kind refKind
	ref  string   // refString
	refs []string // refArray
}

// queryCount is how many queries the item is asked as: one per ref of an
// array resourceRef (never empty: zod refuses that), else one.
func (it *item) queryCount() int {
	if it.kind == refArray {
		return len(it.refs)
	}
	return 1
}

// endpoint names the route a batch came through. It labels the metrics
// and the decision log; the native API's answer also carries the snapshot
// generation.
type endpoint string

const (
	endpointBackstage endpoint = "backstage"
	endpointNative    endpoint = "native"
)

// batch is one authorize request from validation to its answer. newBatch
// builds it once the body is valid: the items in request order and the
// queries they are asked as, in the same order (byItem pairs them up).
// decide adds the host's decisions and settle the final answers, one of
// each per query; the response, the metrics and the decision log only read
// them.
type batch struct {
	endpoint  endpoint
	principal abi.Principal
	// onBehalfOf is whom apply-conditions calls are made for: the
	// caller's credentials on the Backstage endpoint, nil on the native
	// API.
	onBehalfOf *identity.Credentials
	items      []item
	queries    []host.Query
	start      time.Time       // when deciding began
	decisions  *host.Decisions // set by decide
	answers    []answer        // set by settle
}

// newBatch flattens items into their queries: an item without a
// resourceRef or with a string one is one query, an item with an array
// resourceRef one query per ref, in order.
func newBatch(ep endpoint, p abi.Principal, onBehalfOf *identity.Credentials, items []item) batch {
	n := 0
	for i := range items {
		n += items[i].queryCount()
	}
	qs := make([]host.Query, 0, n)
	for i := range items {
		it := &items[i]
		switch it.kind {
		case refNone:
			qs = append(qs, host.Query{Permission: it.perm})
		case refString:
			qs = append(qs, host.Query{Permission: it.perm, ResourceRef: &it.ref})
		case refArray:
			for j := range it.refs {
				qs = append(qs, host.Query{Permission: it.perm, ResourceRef: &it.refs[j]})
			}
		}
	}
	return batch{endpoint: ep, principal: p, onBehalfOf: onBehalfOf, items: items, queries: qs}
}

// byItem yields each item, in order, with the index of its first query:
// its queries are queries[first:first+it.queryCount()].
func (b *batch) byItem() iter.Seq2[int, *item] {
	return func(yield func(int, *item) bool) {
		first := 0
		for i := range b.items {
			it := &b.items[i]
			if !yield(first, it) {
				return
			}
			first += it.queryCount()
		}
	}
}

// of returns the host's decisions for the queries of it, whose first query
// is first, and their final answers, in order.
func (b *batch) of(first int, it *item) ([]host.Decision, []answer) {
	end := first + it.queryCount()
	return b.decisions.Items[first:end], b.answers[first:end]
}
