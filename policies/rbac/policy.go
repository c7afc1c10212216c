package main

import ()

// objAct keys a role's lines: a permission name or resource type and an
// action.
type objAct struct {
	obj, act string
}

// grant is what one subject's lines say about one (obj, act): the allow
// line and the deny line, either possibly nil.
type grant struct {
	allow, deny *rule
}

// role is one role with its lines and conditional policies, indexed.
type role struct {
	name  string
	perms map[objAct]*grant
	// conds maps (resourceType, action) to the role's conditional policy
	// for them (at most one: overlaps are refused).
	conds map[objAct]*condPolicy
	// hasMembers: a "g" line (or native members, or admin.users) binds
	// someone to it. Conditional policies are only accepted for such roles.
	hasMembers bool
}

// policy is the configured, indexed RBAC policy. It is built once by
// configure and only read by decide.
type policy struct {
	roles      []*role
	roleIDs    map[string]int32
	members    map[string][]int32 // lowercased member ref -> roles
	direct     map[string]map[objAct]*grant
	superUsers map[string]string // name -> where
	defaultID  int32             // -1 when there is no default role
	basicFirst bool              // policyDecisionPrecedence: basic
	abstain    bool              // onNoMatch: abstain

	// scratch, reused across calls (a Wasm instance is single threaded).
	mark    []uint32
	stamp   uint32
	roleBuf []int32
}

func newPolicy() *policy {
	return &policy{roleIDs: map[string]int32{}, members: map[string][]int32{},
		direct: map[string]map[objAct]*grant{}, superUsers: map[string]string{}, defaultID: -1}
}

// roleID returns name's role, creating it.
func (p *policy) roleID(name string) int32 {
	if id, ok := p.roleIDs[name]; ok {
		return id
	}
	id := int32(len(p.roles))
	p.roles = append(p.roles, &role{name: name, perms: map[objAct]*grant{}, conds: map[objAct]*condPolicy{}})
	p.roleIDs[name] = id
	return id
}

// index builds the lookup tables from the checked lines.
func (b *builder) index() {
	p := b.out
	for i := range b.lines.bindings {
		g := &b.lines.bindings[i]
		id := p.roleID(g.role)
		p.roles[id].hasMembers = true
		ids := p.members[g.member]
		dup := false
		for _, x := range ids {
			dup = dup || x == id
		}
		if !dup {
			p.members[g.member] = append(ids, id)
		}
	}
	if b.defaultRole != "" {
		p.defaultID = p.roleID(b.defaultRole)
	}
	for i := range b.lines.rules {
		r := &b.lines.rules[i]
		verb := " allows "
		if r.deny {
			verb = " denies "
		}
		r.reason = r.subject + verb + r.obj + " " + r.act + ": \"" + r.text + "\" (" + r.where + ")"
		var perms map[objAct]*grant
		if id, ok := p.roleIDs[r.subject]; ok || isRole(r.subject) {
			if !ok {
				id = p.roleID(r.subject)
			}
			perms = p.roles[id].perms
		} else {
			perms = p.direct[r.subject]
			if perms == nil {
				perms = map[objAct]*grant{}
				p.direct[r.subject] = perms
			}
		}
		k := objAct{r.obj, r.act}
		g := perms[k]
		if g == nil {
			g = &grant{}
			perms[k] = g
		}
		if r.deny {
			if g.deny == nil {
				g.deny = r
			}
		} else if g.allow == nil {
			g.allow = r
		}
	}
	p.mark = make([]uint32, len(p.roles))
}

func isRole(ref string) bool { return len(ref) > 5 && ref[:5] == "role:" }

// claims: the module answers for every permission; with onNoMatch: abstain
// it gives ABSTAIN where no line or conditional policy applies.
func (p *policy) claims() []string { return []string{"*"} }
