package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host"
	"github.com/verdictpdp/verdict/host/backstage/internal/conditions"
	"github.com/verdictpdp/verdict/host/backstage/internal/identity"
	"github.com/verdictpdp/verdict/host/backstage/internal/upstream"
)

// ConditionResolver resolves CONDITIONAL decisions for concrete resources
// through the owning plugin's apply-conditions endpoint.
// *conditions.Client implements it. It returns one Result per Request; its
// only error is an *upstream.Error (the plugin refused), whose status is
// passed on.
type ConditionResolver interface {
	Resolve(ctx context.Context, pluginID string, onBehalfOf *identity.Credentials, reqs []conditions.Request) ([]conditions.Result, error)
}

var _ ConditionResolver = (*conditions.Client)(nil)

// reasonNoResolver explains a CONDITIONAL decision for an item with a
// resourceRef that became DENY because apply-conditions is not set up.
const reasonNoResolver = "conditional decision for a resourceRef not resolved: apply-conditions is not configured"

// resolution is the apply-conditions answer for one query.
type resolution struct {
	done   bool
	result abi.Result
	reason string
}

// pending is one apply-conditions request and the queries it answers.
type pending struct {
	req     conditions.Request
	queries []int
}

// resolve sends the CONDITIONAL decisions of items that carry a
// resourceRef to their plugins, batched per plugin (plugins in parallel),
// and returns one resolution per query (done only for those). An item with
// an array resourceRef sends one request per distinct decision among its
// refs. The error is an *upstream.Error from the first plugin (by id) that
// refused.
func (s *server) resolve(ctx context.Context, creds *identity.Credentials, items []item, ds []host.Decision) ([]resolution, error) {
	var byPlugin map[string][]*pending
	add := func(d *host.Decision, refs []string, array bool, queries []int) {
		if byPlugin == nil {
			byPlugin = map[string][]*pending{}
		}
		c, err := json.Marshal(d.Conditions)
		if err != nil {
			return // left unresolved: DENY
		}
		byPlugin[d.PluginID] = append(byPlugin[d.PluginID], &pending{
			req:     conditions.Request{Refs: refs, Array: array, ResourceType: d.ResourceType, Conditions: c},
			queries: queries,
		})
	}
	k := 0
	for i := range items {
		it := &items[i]
		switch it.kind {
		case refNone:
			k++
		case refString:
			if d := &ds[k]; resolvable(d) {
				add(d, []string{it.ref}, false, []int{k})
			}
			k++
		case refArray:
			// Group the refs whose decisions are the same conditions.
			type group struct {
				d       *host.Decision
				refs    []string
				queries []int
			}
			var groups []*group
			keys := map[string]*group{}
			for j := range it.refs {
				d := &ds[k+j]
				if !resolvable(d) {
					continue
				}
				c, _ := json.Marshal(d.Conditions)
				key := d.PluginID + "\x00" + d.ResourceType + "\x00" + string(c)
				g := keys[key]
				if g == nil {
					g = &group{d: d}
					keys[key] = g
					groups = append(groups, g)
				}
				g.refs = append(g.refs, it.refs[j])
				g.queries = append(g.queries, k+j)
			}
			for _, g := range groups {
				add(g.d, g.refs, true, g.queries)
			}
			k += len(it.refs)
		}
	}
	if byPlugin == nil {
		return nil, nil
	}
	res := make([]resolution, len(ds))
	if s.conds == nil {
		for _, ps := range byPlugin {
			for _, p := range ps {
				for _, q := range p.queries {
					res[q] = resolution{done: true, result: abi.Deny, reason: reasonNoResolver}
				}
			}
		}
		return res, nil
	}
	plugins := make([]string, 0, len(byPlugin))
	for id := range byPlugin {
		plugins = append(plugins, id)
	}
	slices.Sort(plugins)
	errs := make([]error, len(plugins))
	var wg sync.WaitGroup
	for n, id := range plugins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ps := byPlugin[id]
			reqs := make([]conditions.Request, len(ps))
			for i, p := range ps {
				reqs[i] = p.req
			}
			out, err := s.conds.Resolve(ctx, id, creds, reqs)
			if err == nil && len(out) != len(reqs) {
				err = errors.New("resolver answered the wrong number of results")
			}
			if err != nil {
				errs[n] = err
				return
			}
			// Each goroutine writes only its own queries' slots.
			for i, p := range ps {
				for j, q := range p.queries {
					r := resolution{done: true, result: abi.Deny, reason: out[i].Reason}
					if j < len(out[i].Results) {
						r.result = out[i].Results[j]
					}
					if r.result != abi.Allow {
						r.result = abi.Deny
					}
					res[q] = r
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		var ue *upstream.Error
		if errors.As(err, &ue) {
			return nil, err
		}
	}
	for n, err := range errs {
		if err != nil {
			s.log.Error("apply-conditions resolver failed", "plugin", plugins[n], "err", err)
			for _, p := range byPlugin[plugins[n]] {
				for _, q := range p.queries {
					res[q] = resolution{done: true, result: abi.Deny, reason: "conditional decision not resolved: internal error"}
				}
			}
		}
	}
	return res, nil
}

// resolvable reports whether d is a complete CONDITIONAL decision.
func resolvable(d *host.Decision) bool {
	return d.Result == abi.Conditional && d.PluginID != "" && d.Conditions != nil
}
