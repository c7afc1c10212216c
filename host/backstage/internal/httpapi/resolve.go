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

// pending is one apply-conditions request and the queries it answers, one
// per ref, in order.
type pending struct {
	plugin  string
	req     conditions.Request
	queries []int
}

// pluginCalls are a batch's apply-conditions requests by plugin id.
type pluginCalls map[string][]*pending

func (c *pluginCalls) add(p *pending) {
	if *c == nil {
		*c = pluginCalls{}
	}
	(*c)[p.plugin] = append((*c)[p.plugin], p)
}

// deny settles every query of plugin id's requests as DENY, because of
// note.
func (c pluginCalls) deny(id string, answers []answer, note string) {
	for _, p := range c[id] {
		for _, q := range p.queries {
			answers[q] = answer{result: abi.Deny, note: note}
		}
	}
}

// applyConditions sends the CONDITIONAL decisions of items that carry a
// resourceRef to their plugins, batched per plugin (plugins in parallel),
// and settles those queries with the plugins' answers. Without a resolver
// they are DENY, with reasonNoResolver.
func (s *server) applyConditions(ctx context.Context, b *batch) error {
	calls := conditionRequests(b)
	if calls == nil {
		return nil
	}
	if s.conds == nil {
		for id := range calls {
			calls.deny(id, b.answers, reasonNoResolver)
		}
		return nil
	}
	return s.callPlugins(ctx, b, calls)
}

// callPlugins calls every plugin of calls at once, waits for all and
// settles their queries: ALLOW where the plugin answered ALLOW for the
// ref, else DENY, with the plugin's reason. The error is an
// *upstream.Error from the first plugin (by id) that refused; a plugin
// that could not be asked otherwise is logged, and its queries are DENY.
func (s *server) callPlugins(ctx context.Context, b *batch, calls pluginCalls) error {
	plugins := make([]string, 0, len(calls))
	for id := range calls {
		plugins = append(plugins, id)
	}
	slices.Sort(plugins)
	outs := make([][]conditions.Result, len(plugins))
	errs := make([]error, len(plugins))
	obo := b.onBehalfOf
	var wg sync.WaitGroup
	for n, id := range plugins {
		wg.Go(func() { outs[n], errs[n] = s.callPlugin(ctx, obo, id, calls[id]) })
	}
	wg.Wait()
	for _, err := range errs {
		var ue *upstream.Error
		if errors.As(err, &ue) {
			return err
		}
	}
	for n, id := range plugins {
		if errs[n] != nil {
			s.log.Error("apply-conditions resolver failed", "plugin", id, "err", errs[n])
			calls.deny(id, b.answers, reasonResolverFailed)
			continue
		}
		for i, p := range calls[id] {
			p.settle(b.answers, outs[n][i])
		}
	}
	return nil
}

// callPlugin sends plugin id the requests ps on behalf of obo: one Result
// per request, or an error.
func (s *server) callPlugin(ctx context.Context, obo *identity.Credentials, id string, ps []*pending) ([]conditions.Result, error) {
	reqs := make([]conditions.Request, len(ps))
	for i, p := range ps {
		reqs[i] = p.req
	}
	out, err := s.conds.Resolve(ctx, id, obo, reqs)
	if err == nil && len(out) != len(reqs) {
		err = errors.New("resolver answered the wrong number of results")
	}
	return out, err
}

// settle gives p's queries the plugin's answer res: ALLOW where it
// answered ALLOW for the query's ref, else DENY, with its reason.
func (p *pending) settle(answers []answer, res conditions.Result) {
	for j, q := range p.queries {
		a := answer{result: abi.Deny, note: res.Reason}
		if j < len(res.Results) && res.Results[j] == abi.Allow {
			a.result = abi.Allow
		}
		answers[q] = a
	}
}

// conditionRequests are the apply-conditions requests of b: one per item
// with a string resourceRef whose decision is resolvable, and one per
// distinct decision among the resolvable refs of an item with an array
// resourceRef. A decision whose criteria cannot be encoded is left out
// (DENY). nil when there are none.
func conditionRequests(b *batch) pluginCalls {
	var calls pluginCalls
	ds := b.decisions.Items
	for first, it := range b.byItem() {
		switch it.kind {
		case refString:
			d := &ds[first]
			if !resolvable(d) {
				continue
			}
			c, err := json.Marshal(d.Conditions)
			if err != nil {
				continue
			}
			calls.add(&pending{plugin: d.PluginID, queries: []int{first},
				req: conditions.Request{Refs: []string{it.ref}, ResourceType: d.ResourceType, Conditions: c}})
		case refArray:
			for _, p := range groupRefs(it, first, ds) {
				calls.add(p)
			}
		}
	}
	return calls
}

// groupRefs is one request per distinct decision (plugin, resource type
// and criteria) among the resolvable decisions of the refs of it, an item
// with an array resourceRef whose first query is first, in the order of
// their first ref. Each decision's criteria are encoded once, for the
// grouping key and the request alike.
func groupRefs(it *item, first int, ds []host.Decision) []*pending {
	var groups []*pending
	var byKey map[string]*pending
	for j, ref := range it.refs {
		k := first + j
		d := &ds[k]
		if !resolvable(d) {
			continue
		}
		c, err := json.Marshal(d.Conditions)
		if err != nil {
			continue
		}
		key := d.PluginID + "\x00" + d.ResourceType + "\x00" + string(c)
		g := byKey[key]
		if g == nil {
			g = &pending{plugin: d.PluginID,
				req: conditions.Request{Array: true, ResourceType: d.ResourceType, Conditions: c}}
			if byKey == nil {
				byKey = map[string]*pending{}
			}
			byKey[key] = g
			groups = append(groups, g)
		}
		g.req.Refs = append(g.req.Refs, ref)
		g.queries = append(g.queries, k)
	}
	return groups
}

// resolvable reports whether d is a complete CONDITIONAL decision.
func resolvable(d *host.Decision) bool {
	return d.Result == abi.Conditional && d.PluginID != "" && d.Conditions != nil
}
