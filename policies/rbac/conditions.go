package main

import (
	"strconv"
	"strings"

	verdict "github.com/verdictpdp/verdict/sdk/go"
)

// condSource is one conditional-policy document still to be checked.
type condSource struct {
	where string // "conditions.yaml document 2 (line 14)", "conditionalPolicies[0]"
	file  string // the file, when it came from one (for line numbers)
	n     *node
	group int // documents of one source; lenient mode drops a group's tail at an overlap
	role  string
}

// condDoc is a checked document.
type condDoc struct {
	src      condSource
	role     string
	pluginID string
	rt       string
	mapping  []objAct // (permission name or "" for any, action)
	crit     *cnode
}

// condPolicy is a role's conditional policy for one (resourceType, action).
type condPolicy struct {
	name     string // the permission name it is limited to; "" for any
	pluginID string
	crit     *cnode
	fixed    verdict.Criteria // crit built once, when it uses no alias
	aliased  bool
	reason   string
}

// cnode is a criteria tree as configured, aliases unresolved.
type cnode struct {
	op     byte // 'R' rule, 'A' allOf, 'O' anyOf, 'N' not
	rule   string
	rt     string
	params []cparam
	kids   []*cnode
}

// cparam is a rule parameter. alias says how it changes per principal:
// 0 never, 's' a scalar "$currentUser", 'a' an array with alias elements.
type cparam struct {
	key   string
	v     verdict.Value
	alias byte
}

const (
	aliasUser   = "$currentUser"
	aliasOwners = "$ownerRefs"
)

// at names a place in a document: its line when known, else its path.
func (s *condSource) at(n *node, path string) string {
	w := s.where
	if s.file != "" && n != nil && n.line > 0 {
		w = s.file + " line " + strconv.Itoa(n.line) + " (" + strings.TrimPrefix(s.where, s.file+" ") + ")"
	}
	if path != "" {
		w += ": " + path
	}
	return w
}

// conditionalFile reads a conditional-policies file: YAML documents
// separated by ---, each a policy or a list of policies (JSON works too).
func (b *builder) conditionalFile(name, text string) {
	if len(text) > b.limits.bytes {
		b.fatal(name, "the file has "+strconv.Itoa(len(text))+" bytes, more than validation.conditionalPoliciesFile.maxBytes ("+strconv.Itoa(b.limits.bytes)+")")
		return
	}
	docs, err := parseYAML(text)
	if err != nil {
		b.fileProblem(name, name+" "+err.Error())
		return
	}
	var srcs []condSource
	for i, d := range docs {
		where := name + " document " + strconv.Itoa(i+1) + " (line " + strconv.Itoa(d.line) + ")"
		if d.n.kind == kList {
			for j, it := range d.n.items {
				srcs = append(srcs, condSource{where: where + " item " + strconv.Itoa(j+1), file: name, n: it})
			}
			continue
		}
		srcs = append(srcs, condSource{where: where, file: name, n: d.n})
	}
	if len(srcs) > b.limits.docs {
		b.fatal(name, strconv.Itoa(len(srcs))+" documents, more than validation.conditionalPoliciesFile.maxDocuments ("+strconv.Itoa(b.limits.docs)+")")
		return
	}
	b.conditionalDocs(srcs, true)
}

// fileProblem reports a problem that makes the plugin drop a whole
// conditional file: refused, or in lenient mode skipped with a warning.
func (b *builder) fileProblem(where, msg string) {
	if b.lenient {
		b.warnings = append(b.warnings, msg+" (the whole file is ignored, as the plugin does)")
		return
	}
	b.problems = append(b.problems, msg)
}

var docKeys = map[string]string{"result": "", "roleEntityRef": "", "pluginId": "", "resourceType": "",
	"permissionMapping": "", "conditions": ""}

// conditionalDocs checks documents; wholeFile: one bad document drops them
// all in lenient mode (the plugin validates a file before storing any).
func (b *builder) conditionalDocs(srcs []condSource, wholeFile bool) {
	group := len(b.condDocs) + 1
	var docs []condDoc
	var bad []string
	for _, s := range srcs {
		s.group = group
		d, msgs := b.checkDoc(s, true)
		if len(msgs) > 0 {
			bad = append(bad, msgs...)
			continue
		}
		docs = append(docs, d)
	}
	if len(bad) > 0 {
		if !b.lenient {
			b.problems = append(b.problems, bad...)
			return
		}
		if wholeFile {
			b.warnings = append(b.warnings, strings.Join(bad, "; ")+" (the whole file is ignored, as the plugin does)")
			return
		}
		b.warnings = append(b.warnings, bad...)
	}
	b.condDocs = append(b.condDocs, docs...)
}

// checkDoc checks one conditional policy. withRole: the document names its
// role (the plugin's form); the native form gives it from its role.
func (b *builder) checkDoc(s condSource, withRole bool) (condDoc, []string) {
	var msgs []string
	bad := func(n *node, path, msg string) { msgs = append(msgs, s.at(n, path)+": "+msg) }
	n := s.n
	d := condDoc{src: s, role: s.role}
	if n.kind != kMap {
		bad(n, "", "want a conditional policy (a map with result, roleEntityRef, pluginId, resourceType, permissionMapping, conditions), found "+n.kind.String())
		return d, msgs
	}
	known := docKeys
	if !withRole {
		known = map[string]string{"pluginId": "", "resourceType": "", "permissionMapping": "", "conditions": ""}
	}
	for i, k := range n.keys {
		if _, ok := known[k]; !ok {
			bad(n.vals[i], "", unknownKey("", k, known, ""))
		}
	}
	str := func(key string) string {
		v := n.get(key)
		switch {
		case v == nil:
			bad(n, "", key+" is required")
		case v.kind != kString || v.s == "":
			bad(v, key, "want a non-empty string, found "+v.kind.String())
		default:
			return v.s
		}
		return ""
	}
	if withRole {
		str("result") // present, as the plugin requires; its value is not checked
		d.role = str("roleEntityRef")
	}
	d.pluginID = str("pluginId")
	d.rt = str("resourceType")
	pm := n.get("permissionMapping")
	switch {
	case pm == nil:
		bad(n, "", "permissionMapping is required")
	case pm.kind != kList || len(pm.items) == 0:
		bad(pm, "permissionMapping", "want a non-empty list of actions (read, update, ...) or of {name, action}")
	default:
		seen := map[string]bool{}
		named := pm.items[0].kind == kMap
		for i, it := range pm.items {
			path := "permissionMapping[" + strconv.Itoa(i) + "]"
			var oa objAct
			switch {
			case named && it.kind == kMap:
				for _, k := range it.keys {
					if k != "name" && k != "action" {
						bad(it, path, unknownKey("", k, map[string]string{"name": "", "action": ""}, ""))
					}
				}
				nm, ac := it.get("name"), it.get("action")
				if nm == nil || nm.kind != kString || nm.s == "" || ac == nil || ac.kind != kString {
					bad(it, path, "want {name: PERMISSION, action: ACTION}")
					continue
				}
				oa = objAct{nm.s, ac.s}
			case !named && it.kind == kString:
				oa = objAct{"", it.s}
			default:
				bad(it, path, "permissionMapping must be all actions or all {name, action} entries")
				continue
			}
			switch {
			case !validAction(oa.act):
				bad(it, path, "unknown action "+strconv.Quote(oa.act)+" (want create, read, update, delete or use)")
			case seen[oa.act]:
				bad(it, path, "action "+oa.act+" is listed twice")
			case d.rt == "policy-entity" && oa.act == "create":
				bad(it, path, "policy-entity create cannot be conditional")
			}
			seen[oa.act] = true
			d.mapping = append(d.mapping, oa)
		}
	}
	c := n.get("conditions")
	if c == nil {
		bad(n, "", "conditions is required")
	} else {
		count := 0
		d.crit = b.criteria(&s, c, "conditions", 1, &count, d.rt, &msgs)
	}
	return d, msgs
}

// criteria checks a criteria tree: at each level exactly one of allOf,
// anyOf and not, or a rule with its resourceType (and optional params).
func (b *builder) criteria(s *condSource, n *node, path string, depth int, count *int, rt string, msgs *[]string) *cnode {
	bad := func(msg string) *cnode { *msgs = append(*msgs, s.at(n, path)+": "+msg); return nil }
	*count++
	if depth > b.limits.depth {
		return bad("deeper than validation.conditionalPolicies.maxConditionDepth (" + strconv.Itoa(b.limits.depth) + ")")
	}
	if *count > b.limits.nodes {
		return bad("more than validation.conditionalPolicies.maxConditionNodeCount (" + strconv.Itoa(b.limits.nodes) + ") nodes")
	}
	if n.kind != kMap {
		return bad("want a condition (rule, resourceType, params) or one of allOf, anyOf, not; found " + n.kind.String())
	}
	var ops []string
	for _, k := range n.keys {
		if k == "allOf" || k == "anyOf" || k == "not" {
			ops = append(ops, k)
		}
	}
	if len(ops) > 1 {
		return bad("has " + strings.Join(ops, " and ") + ": exactly one criteria per level (nest them instead)")
	}
	if len(ops) == 1 {
		if len(n.keys) != 1 {
			return bad(ops[0] + " cannot be combined with other keys (" + strings.Join(n.keys, ", ") + ")")
		}
		v := n.vals[0]
		if ops[0] == "not" {
			kid := b.criteria(s, v, path+".not", depth+1, count, rt, msgs)
			if kid == nil {
				return nil
			}
			return &cnode{op: 'N', kids: []*cnode{kid}}
		}
		if v.kind != kList || len(v.items) == 0 {
			return bad(ops[0] + " wants a non-empty list")
		}
		if len(v.items) > b.limits.items {
			return bad(ops[0] + " has more than validation.conditionalPolicies.maxCriteriaItems (" + strconv.Itoa(b.limits.items) + ") entries")
		}
		c := &cnode{op: 'A'}
		if ops[0] == "anyOf" {
			c.op = 'O'
		}
		for i, it := range v.items {
			kid := b.criteria(s, it, path+"."+ops[0]+"["+strconv.Itoa(i)+"]", depth+1, count, rt, msgs)
			if kid == nil {
				return nil
			}
			c.kids = append(c.kids, kid)
		}
		return c
	}
	for _, k := range n.keys {
		if k != "rule" && k != "resourceType" && k != "params" {
			return bad(unknownKey("", k, map[string]string{"rule": "", "resourceType": "", "params": "", "allOf": "", "anyOf": "", "not": ""}, ""))
		}
	}
	r, t := n.get("rule"), n.get("resourceType")
	if r == nil || r.kind != kString || r.s == "" {
		return bad("a condition needs a rule (a string)")
	}
	if t == nil || t.kind != kString || t.s == "" {
		return bad("a condition needs a resourceType (a string)")
	}
	if rt != "" && t.s != rt {
		return bad("resourceType " + strconv.Quote(t.s) + " differs from the policy's " + strconv.Quote(rt))
	}
	c := &cnode{op: 'R', rule: r.s, rt: t.s}
	if pv := n.get("params"); pv != nil && pv.kind != kNull {
		if pv.kind != kMap {
			return bad("params wants a map, found " + pv.kind.String())
		}
		for i, k := range pv.keys {
			v := pv.vals[i]
			cp := cparam{key: k, v: v.value()}
			switch {
			case v.kind == kString && v.s == aliasUser:
				cp.alias = 's'
			case v.kind == kList:
				for _, e := range v.items {
					if e.kind == kString && (e.s == aliasUser || e.s == aliasOwners) {
						cp.alias = 'a'
					}
				}
			}
			c.params = append(c.params, cp)
		}
	}
	return c
}

// aliased reports whether c uses an alias anywhere.
func (c *cnode) aliased() bool {
	for _, p := range c.params {
		if p.alias != 0 {
			return true
		}
	}
	for _, k := range c.kids {
		if k.aliased() {
			return true
		}
	}
	return false
}

// build returns c as criteria, aliases resolved for principal p (nil: none
// to resolve).
func (c *cnode) build(p *verdict.Principal) verdict.Criteria {
	switch c.op {
	case 'R':
		fs := make([]verdict.Field, len(c.params))
		for i, cp := range c.params {
			v := cp.v
			if p != nil {
				switch cp.alias {
				case 's':
					v = verdict.String(p.UserEntityRef)
				case 'a':
					v = expand(cp.v, p)
				}
			}
			fs[i] = verdict.Param(cp.key, v)
		}
		return verdict.Condition(c.rule, c.rt, fs...)
	case 'N':
		return verdict.Not(c.kids[0].build(p))
	}
	kids := make([]verdict.Criteria, len(c.kids))
	for i, k := range c.kids {
		kids[i] = k.build(p)
	}
	if c.op == 'A' {
		return verdict.AllOf(kids...)
	}
	return verdict.AnyOf(kids...)
}

// expand resolves the aliases of an array parameter: "$currentUser"
// becomes the user's ref and "$ownerRefs" is replaced in place by all the
// ownership refs (duplicates kept), as the plugin does.
func expand(v verdict.Value, p *verdict.Principal) verdict.Value {
	out := make([]verdict.Value, 0, v.Len()+len(p.OwnershipEntityRefs))
	for _, e := range v.Elems() {
		s, ok := e.AsString()
		switch {
		case ok && s == aliasUser:
			out = append(out, verdict.String(p.UserEntityRef))
		case ok && s == aliasOwners:
			for _, r := range p.OwnershipEntityRefs {
				out = append(out, verdict.String(r))
			}
		default:
			out = append(out, e)
		}
	}
	return verdict.Array(out...)
}

// roleDocs attaches the checked documents to their roles: only roles that
// have members (the plugin's "roles created by the CSV file"), and at most
// one policy per (role, resourceType, action).
func (b *builder) roleDocs() {
	p := b.out
	dropGroup := map[int]bool{}
	type key struct{ role, rt, act string }
	seen := map[key]string{}
	for _, d := range b.condDocs {
		if dropGroup[d.src.group] {
			b.warnings = append(b.warnings, d.src.where+": dropped after an earlier overlap in the same source (as the plugin does)")
			continue
		}
		id, ok := p.roleIDs[d.role]
		if !ok || !p.roles[id].hasMembers || d.role == adminRole || id == p.defaultID {
			why := "roleEntityRef " + strconv.Quote(d.role) + " is not a role with members in the policy lines (the plugin ignores conditional policies for other roles"
			if d.role == adminRole || (ok && id == p.defaultID) {
				why = "roleEntityRef " + strconv.Quote(d.role) + " is defined by the configuration (the plugin ignores conditional policies for it"
			}
			b.problem(d.src.at(d.src.n.get("roleEntityRef"), "roleEntityRef"), why+")")
			continue
		}
		overlap := false
		for _, m := range d.mapping {
			k := key{d.role, d.rt, m.act}
			if w, dup := seen[k]; dup {
				b.problem(d.src.where, d.role+" already has a conditional policy for "+d.rt+" "+m.act+" ("+w+")")
				overlap = true
				break
			}
		}
		if overlap {
			dropGroup[d.src.group] = true
			continue
		}
		r := p.roles[id]
		cp := &condPolicy{pluginID: d.pluginID, crit: d.crit, aliased: d.crit.aliased(),
			reason: d.role + " has a conditional policy for " + d.rt + " (" + d.src.where + ")"}
		if !cp.aliased {
			cp.fixed = d.crit.build(nil)
		}
		for _, m := range d.mapping {
			seen[key{d.role, d.rt, m.act}] = d.src.where
			c := *cp
			c.name = m.obj
			r.conds[objAct{d.rt, m.act}] = &c
		}
	}
}
