package main

import (
	"strconv"
	"strings"
)

var nativeRoleKeys = map[string]string{"name": "", "members": "", "allow": "", "deny": "", "conditional": ""}

// nativeRoles reads Verdict's own form: a list of roles, each with its
// members and rules.
//
//	roles:
//	  - name: role:default/developer
//	    members: [group:default/team-a, user:default/alice]
//	    allow:
//	      - permission: catalog-entity        # a permission name or resource type
//	        actions: [read]
//	    deny:
//	      - permission: catalog.entity.delete
//	        actions: [delete]
//	    conditional:
//	      - pluginId: catalog
//	        resourceType: catalog-entity
//	        permissionMapping: [update, delete]
//	        conditions: {rule: IS_ENTITY_OWNER, resourceType: catalog-entity, params: {claims: [$ownerRefs]}}
func (b *builder) nativeRoles(v *node) {
	if v.kind != kList {
		b.fatal("roles", "want a list of roles ({name, members, allow, deny, conditional}), found "+v.kind.String())
		return
	}
	for i, rn := range v.items {
		at := "roles[" + strconv.Itoa(i) + "]"
		if rn.kind != kMap {
			b.fatal(at, "want a role ({name, members, allow, deny, conditional}), found "+rn.kind.String())
			continue
		}
		for _, k := range rn.keys {
			if _, ok := nativeRoleKeys[k]; !ok {
				b.fatal(at, unknownKey(at+".", k, nativeRoleKeys, ""))
			}
		}
		nv := rn.get("name")
		if nv == nil {
			b.fatal(at, "name is required (role:default/NAME)")
			continue
		}
		name := b.str(at+".name", nv)
		if msg := checkRef(name, "role"); msg != "" {
			b.fatal(at+".name", strconv.Quote(name)+": "+msg)
			continue
		}
		if msg := b.reserved(name); msg != "" {
			b.fatal(at+".name", msg)
			continue
		}
		if mv := rn.get("members"); mv != nil {
			for j, m := range b.strList(at+".members", mv) {
				w := at + ".members[" + strconv.Itoa(j) + "]"
				g := binding{member: strings.ToLower(m), role: name, where: "rbac.yaml " + w}
				if msg := b.checkBinding(&g); msg != "" {
					b.fatal(w, msg)
					continue
				}
				b.addBinding(g)
			}
		}
		for _, eff := range []string{"allow", "deny"} {
			ev := rn.get(eff)
			if ev == nil {
				continue
			}
			if ev.kind != kList {
				b.fatal(at+"."+eff, "want a list of {permission, actions}, found "+ev.kind.String())
				continue
			}
			for j, e := range ev.items {
				w := at + "." + eff + "[" + strconv.Itoa(j) + "]"
				b.nativeRule(name, eff, w, e)
			}
		}
		if cv := rn.get("conditional"); cv != nil {
			if cv.kind != kList {
				b.fatal(at+".conditional", "want a list of {pluginId, resourceType, permissionMapping, conditions}, found "+cv.kind.String())
				continue
			}
			for j, c := range cv.items {
				w := "rbac.yaml " + at + ".conditional[" + strconv.Itoa(j) + "]"
				d, msgs := b.checkDoc(condSource{where: w, n: c, role: name, group: -1}, false)
				b.problems = append(b.problems, msgs...)
				if len(msgs) == 0 {
					b.condDocs = append(b.condDocs, d)
				}
			}
		}
	}
}

// nativeRule reads {permission: NAME, actions: [ACTION...]} (or action:).
func (b *builder) nativeRule(role, eff, at string, e *node) {
	if e.kind != kMap {
		b.fatal(at, "want {permission: NAME or RESOURCE-TYPE, actions: [read, ...]}, found "+e.kind.String())
		return
	}
	for _, k := range e.keys {
		if k != "permission" && k != "actions" && k != "action" {
			b.fatal(at, unknownKey(at+".", k, map[string]string{"permission": "", "actions": "", "action": ""}, ""))
		}
	}
	pv := e.get("permission")
	if pv == nil {
		b.fatal(at, "permission is required")
		return
	}
	obj := b.str(at+".permission", pv)
	var acts []string
	if av := e.get("actions"); av != nil {
		acts = b.strList(at+".actions", av)
	}
	if av := e.get("action"); av != nil {
		acts = append(acts, b.str(at+".action", av))
	}
	if len(acts) == 0 {
		acts = []string{"use"}
	}
	for _, a := range acts {
		r := rule{subject: role, obj: obj, act: a, where: "rbac.yaml " + at,
			text: eff + " " + obj + " " + a}
		if msg := b.checkRuleFields(&r, eff); msg != "" {
			b.fatal(at, msg)
			continue
		}
		b.addRule(r)
	}
}
