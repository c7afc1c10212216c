package main

import (
	"strings"

	verdict "github.com/verdictpdp/verdict/sdk/go"
)

// decideBatch answers a batch for one principal: the principal's roles are
// resolved once, then each item is a few map lookups.
func (p *policy) decideBatch(pr *verdict.Principal, items []verdict.Item, out []verdict.Decision) {
	if pr.Type != verdict.PrincipalUser || pr.UserEntityRef == "" {
		why := "principal type \"" + pr.Type + "\" is not a user: the RBAC plugin grants nothing to callers without a user identity"
		for i := range out {
			out[i] = p.noMatch(why)
		}
		return
	}
	if who, where := p.superUser(pr); where != "" {
		why := "super user: " + who + " is listed in " + where
		for i := range out {
			out[i] = verdict.Allowed(why)
		}
		return
	}
	roles := p.resolve(pr)
	for i := range items {
		out[i] = p.decide(pr, roles, &items[i].Permission)
	}
}

// superUser finds the principal's ref (its own or one of its ownership
// refs, compared exactly) in admin.superUsers.
func (p *policy) superUser(pr *verdict.Principal) (string, string) {
	if len(p.superUsers) == 0 {
		return "", ""
	}
	if w, ok := p.superUsers[pr.UserEntityRef]; ok {
		return pr.UserEntityRef, w
	}
	for _, r := range pr.OwnershipEntityRefs {
		if w, ok := p.superUsers[r]; ok {
			return r, w
		}
	}
	return "", ""
}

// resolve returns the principal's roles, each once: roles bound to its
// userEntityRef or to any of its ownershipEntityRefs (exact strings), and
// the default role. The slice is reused by the next call.
func (p *policy) resolve(pr *verdict.Principal) []int32 {
	p.stamp++
	if p.stamp == 0 {
		clear(p.mark)
		p.stamp = 1
	}
	roles := p.roleBuf[:0]
	add := func(ref string) {
		for _, id := range p.members[ref] {
			if p.mark[id] != p.stamp {
				p.mark[id] = p.stamp
				roles = append(roles, id)
			}
		}
	}
	add(pr.UserEntityRef)
	for _, r := range pr.OwnershipEntityRefs {
		add(r)
	}
	if p.defaultID >= 0 && p.mark[p.defaultID] != p.stamp {
		p.mark[p.defaultID] = p.stamp
		roles = append(roles, p.defaultID)
	}
	p.roleBuf = roles
	return roles
}

// decide answers one item; the numbers are the rules of
// policies/rbac/SEMANTICS.md.
func (p *policy) decide(pr *verdict.Principal, roles []int32, perm *verdict.Permission) verdict.Decision {
	act := perm.Attributes.Action // rule 3
	if act == "" {
		act = "use"
	}
	name := perm.Name
	named := p.anyLine(roles, name, act) // rule 5
	isRes, rt := perm.IsResource(), perm.ResourceType
	if name == "policy.entity.create" && !named { // rule 12
		isRes, rt = true, "policy-entity"
	}
	if !isRes { // rule 6
		return p.enforce(pr, roles, name, act)
	}
	obj := rt
	if named {
		obj = name
	}
	if p.basicFirst && (named || p.anyLine(roles, rt, act)) { // rule 8, precedence basic
		return p.enforce(pr, roles, obj, act)
	}
	if perm.IsResource() {
		if d, ok := p.conditional(pr, roles, rt, act, name); ok { // rule 8
			return d
		}
	}
	return p.enforce(pr, roles, obj, act)
}

// anyLine reports whether any role has a line for (obj, act), whatever its
// effect.
func (p *policy) anyLine(roles []int32, obj, act string) bool {
	k := objAct{obj, act}
	for _, id := range roles {
		if _, ok := p.roles[id].perms[k]; ok {
			return true
		}
	}
	return false
}

// enforce applies the lines for (obj, act): some allow and no deny (rule
// 7). Without roles, lines naming the user or one of its refs directly
// apply (rule 13).
func (p *policy) enforce(pr *verdict.Principal, roles []int32, obj, act string) verdict.Decision {
	k := objAct{obj, act}
	var allow, deny *rule
	pick := func(g *grant) {
		if g == nil {
			return
		}
		if deny == nil {
			deny = g.deny
		}
		if allow == nil {
			allow = g.allow
		}
	}
	if len(roles) > 0 {
		for _, id := range roles {
			pick(p.roles[id].perms[k])
		}
	} else if len(p.direct) > 0 {
		pick(p.direct[pr.UserEntityRef][k])
		for _, r := range pr.OwnershipEntityRefs {
			pick(p.direct[r][k])
		}
	}
	switch {
	case deny != nil:
		return verdict.Denied(deny.reason)
	case allow != nil:
		return verdict.Allowed(allow.reason)
	}
	var b strings.Builder
	b.WriteString("no line allows ")
	b.WriteString(obj)
	b.WriteByte(' ')
	b.WriteString(act)
	if len(roles) == 0 {
		b.WriteString(": ")
		b.WriteString(pr.UserEntityRef)
		b.WriteString(" has no role (its ownership refs match no member)")
	} else {
		b.WriteString(" for the roles of ")
		b.WriteString(pr.UserEntityRef)
		b.WriteString(": ")
		for i, id := range roles {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(p.roles[id].name)
		}
	}
	return p.noMatch(b.String())
}

// conditional merges the conditional policies of the roles for (rt, act)
// and the permission name with anyOf, resolving aliases (rule 8).
func (p *policy) conditional(pr *verdict.Principal, roles []int32, rt, act, name string) (verdict.Decision, bool) {
	k := objAct{rt, act}
	var kids []verdict.Criteria
	var reasons []string
	pluginID := ""
	for _, id := range roles {
		c := p.roles[id].conds[k]
		if c == nil || (c.name != "" && c.name != name) {
			continue
		}
		if c.aliased {
			kids = append(kids, c.crit.build(pr))
		} else {
			kids = append(kids, c.fixed)
		}
		reasons = append(reasons, c.reason)
		pluginID = c.pluginID
	}
	if len(kids) == 0 {
		return verdict.Decision{}, false
	}
	d := verdict.Conditionally(pluginID, verdict.AnyOf(kids...))
	d.Reason = strings.Join(reasons, "; ")
	return d, true
}

// noMatch is the answer when nothing grants: DENY, or ABSTAIN with
// onNoMatch: abstain.
func (p *policy) noMatch(why string) verdict.Decision {
	if p.abstain {
		return verdict.Decision{Result: verdict.Abstain, Reason: why}
	}
	return verdict.Denied(why)
}
