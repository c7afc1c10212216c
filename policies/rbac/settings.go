package main

import (
	"errors"
	"path"
	"sort"
	"strconv"
	"strings"

	verdict "github.com/verdictpdp/verdict/sdk/go"
)

// adminRole is the role the plugin gives to admin.users.
const adminRole = "role:default/rbac_admin"

// maxProblems caps how many problems one refusal lists.
const maxProblems = 20

// limits are the plugin's validation limits for conditional policies
// (permission.rbac.validation.*), with the plugin's defaults.
type limits struct {
	depth, nodes, items, bytes, docs int
}

func defaultLimits() limits {
	return limits{depth: 12, nodes: 256, items: 64, bytes: 1 << 20, docs: 256}
}

// builder turns settings and files into a policy. It collects every
// problem, so that one refusal names them all (up to maxProblems).
type builder struct {
	files       map[string]string
	used        map[string]bool
	lenient     bool
	problems    []string
	warnings    []string
	defaultRole string
	limits      limits
	lines       lines
	condDocs    []condDoc
	out         *policy
}

// problem records a problem at where. In lenient mode it is a warning and
// the line or document is skipped, as the plugin does.
func (b *builder) problem(where, msg string) {
	s := where + ": " + msg
	if b.lenient {
		b.warnings = append(b.warnings, s)
		return
	}
	b.problems = append(b.problems, s)
}

// fatal records a problem that lenient mode does not excuse (a settings
// error rather than a policy line).
func (b *builder) fatal(where, msg string) {
	if where != "" {
		msg = where + ": " + msg
	}
	b.problems = append(b.problems, msg)
}

func (b *builder) addRule(r rule)       { b.lines.rules = append(b.lines.rules, r) }
func (b *builder) addBinding(g binding) { b.lines.bindings = append(b.lines.bindings, g) }

// The settings keys, each with what Verdict does with it.
var settingKeys = map[string]string{
	"policies-csv-file":        "file",
	"conditionalPoliciesFile":  "file",
	"admin":                    "",
	"defaultPermissions":       "",
	"policyDecisionPrecedence": "",
	"useOwnershipEntityRefs":   "",
	"policyFileReload":         "ignored: Verdict reloads when rbac.yaml or a file in rbac.d changes",
	"pluginsWithPermission":    "ignored: it feeds the plugin's UI",
	"conditionalMetadataRetry": "ignored: Verdict reads no plugin metadata",
	"validation":               "",
	"maxDepth":                 "refused",
	"policies-csv":             "",
	"conditionalPolicies":      "",
	"roles":                    "",
	"onNoMatch":                "",
	"lenient":                  "",
}

// configure builds the policy from the settings and files the host gave.
func configure(s *verdict.Settings) (*policy, error) {
	const shape = "rbac.yaml holds what sits under permission.rbac in the plugin's app-config (policies-csv-file, conditionalPoliciesFile, admin, ...)"
	if s.Raw == nil {
		return nil, errors.New("rbac needs settings: put rbac.yaml beside rbac.wasm (" + shape + ")")
	}
	root := fromValue(s.Value)
	if root.kind != kMap {
		return nil, errors.New("rbac.yaml must be a map: " + shape)
	}
	b := &builder{files: s.Files, used: map[string]bool{}, limits: defaultLimits(), out: newPolicy()}
	if v := root.get("lenient"); v != nil {
		b.lenient = b.boolean("lenient", v)
	}
	for i, k := range root.keys {
		what, ok := settingKeys[k]
		switch {
		case !ok:
			b.fatal("", unknownKey("", k, settingKeys, shape))
		case k == "maxDepth":
			b.fatal("maxDepth", "refused: it bounds the plugin's walk up the catalog's group hierarchy, and a Verdict module sees no catalog. "+
				"Roles bind through the principal's userEntityRef and ownershipEntityRefs (direct refs only); remove maxDepth, "+
				"and put the parent groups into the sign-in resolver's ownership refs if roles should follow them")
		case strings.HasPrefix(what, "ignored"):
			verdict.LogInfo("rbac: " + k + " " + what)
			_ = root.vals[i]
		}
	}
	b.settings(root)
	for _, w := range b.warnings {
		verdict.LogWarn("rbac: skipped (lenient): " + w)
	}
	if len(b.problems) > 0 {
		ps := b.problems
		more := ""
		if len(ps) > maxProblems {
			more = "; and " + strconv.Itoa(len(ps)-maxProblems) + " more"
			ps = ps[:maxProblems]
		}
		return nil, errors.New("rbac: " + strings.Join(ps, "; ") + more)
	}
	var unused []string
	for name := range s.Files {
		if !b.used[name] {
			unused = append(unused, name)
		}
	}
	sort.Strings(unused)
	for _, name := range unused {
		verdict.LogWarn("rbac: rbac.d/" + name + " is not named by policies-csv-file or conditionalPoliciesFile; ignored")
	}
	return b.out, nil
}

// unknownKey explains an unknown key and lists the known ones.
func unknownKey(at, k string, known map[string]string, hint string) string {
	names := make([]string, 0, len(known))
	for n := range known {
		names = append(names, n)
	}
	sort.Strings(names)
	msg := "unknown key " + strconv.Quote(at+k) + " (known: " + strings.Join(names, ", ") + ")"
	if hint != "" {
		msg += "; " + hint
	}
	return msg
}

// settings reads every key in dependency order: the default role first
// (CSV lines for it are refused), then the lines, then the conditional
// policies (they need to know which roles exist).
func (b *builder) settings(root *node) {
	p := b.out
	if v := root.get("onNoMatch"); v != nil {
		switch s := b.str("onNoMatch", v); s {
		case "deny":
		case "abstain":
			p.abstain = true
		default:
			b.fatal("onNoMatch", strconv.Quote(s)+" is not deny or abstain")
		}
	}
	if v := root.get("policyDecisionPrecedence"); v != nil {
		switch s := b.str("policyDecisionPrecedence", v); s {
		case "conditional":
		case "basic":
			p.basicFirst = true
		default:
			b.fatal("policyDecisionPrecedence", strconv.Quote(s)+" is not conditional or basic")
		}
	}
	if v := root.get("useOwnershipEntityRefs"); v != nil {
		if !b.boolean("useOwnershipEntityRefs", v) {
			verdict.LogInfo("rbac: useOwnershipEntityRefs is false, but a Verdict module sees no catalog: roles always bind through the principal's ownershipEntityRefs")
		}
	}
	for _, k := range []string{"policyFileReload"} {
		if v := root.get(k); v != nil {
			b.boolean(k, v)
		}
	}
	if v := root.get("pluginsWithPermission"); v != nil {
		b.strList("pluginsWithPermission", v)
	}
	if v := root.get("conditionalMetadataRetry"); v != nil {
		b.intMap("conditionalMetadataRetry", v, map[string]*int{"maxAttempts": new(int), "baseDelayMs": new(int), "maxDelayMs": new(int)})
	}
	if v := root.get("validation"); v != nil {
		b.validation(v)
	}
	if v := root.get("defaultPermissions"); v != nil {
		b.defaultPermissions(v)
	}
	if v := root.get("admin"); v != nil {
		b.admin(v)
	}
	if v := root.get("policies-csv-file"); v != nil {
		if name, text, ok := b.file("policies-csv-file", v); ok {
			b.parseCSV(name, text)
		}
	}
	if v := root.get("policies-csv"); v != nil {
		b.parseCSV("policies-csv", b.str("policies-csv", v))
	}
	if v := root.get("roles"); v != nil {
		b.nativeRoles(v)
	}
	b.checkLines()
	b.index()
	if v := root.get("conditionalPoliciesFile"); v != nil {
		if name, text, ok := b.file("conditionalPoliciesFile", v); ok {
			b.conditionalFile(name, text)
		}
	}
	if v := root.get("conditionalPolicies"); v != nil {
		if v.kind != kList {
			b.fatal("conditionalPolicies", "want a list of conditional policies, found "+v.kind.String())
		} else {
			docs := make([]condSource, len(v.items))
			for i, d := range v.items {
				docs[i] = condSource{where: "conditionalPolicies[" + strconv.Itoa(i) + "]", n: d}
			}
			b.conditionalDocs(docs, false)
		}
	}
	b.roleDocs()
}

// file resolves a file setting to a file of rbac.d by its base name.
func (b *builder) file(key string, v *node) (name, text string, ok bool) {
	p := b.str(key, v)
	if p == "" {
		if v.kind == kString {
			b.fatal(key, "empty file name")
		}
		return "", "", false
	}
	name = path.Base(strings.ReplaceAll(p, "\\", "/"))
	text, ok = b.files[name]
	if !ok {
		have := make([]string, 0, len(b.files))
		for n := range b.files {
			have = append(have, n)
		}
		sort.Strings(have)
		b.fatal(key, strconv.Quote(p)+": no file "+strconv.Quote(name)+" in rbac.d/ (files are looked up by base name beside rbac.wasm; rbac.d holds: "+strings.Join(have, ", ")+")")
		return "", "", false
	}
	b.used[name] = true
	return name, text, true
}

func (b *builder) str(at string, v *node) string {
	if v.kind != kString {
		b.fatal(at, "want a string, found "+v.kind.String())
		return ""
	}
	return v.s
}

func (b *builder) boolean(at string, v *node) bool {
	if v.kind != kBool {
		b.fatal(at, "want true or false, found "+v.kind.String())
		return false
	}
	return v.s == "true"
}

func (b *builder) strList(at string, v *node) []string {
	if v.kind != kList {
		b.fatal(at, "want a list of strings, found "+v.kind.String())
		return nil
	}
	out := make([]string, 0, len(v.items))
	for i, it := range v.items {
		out = append(out, b.str(at+"["+strconv.Itoa(i)+"]", it))
	}
	return out
}

// intMap reads a map of positive integers with known keys.
func (b *builder) intMap(at string, v *node, dst map[string]*int) {
	if v.kind != kMap {
		b.fatal(at, "want a map, found "+v.kind.String())
		return
	}
	known := map[string]string{}
	for k := range dst {
		known[k] = ""
	}
	for i, k := range v.keys {
		d, ok := dst[k]
		if !ok {
			b.fatal(at, unknownKey(at+".", k, known, ""))
			continue
		}
		n, err := strconv.Atoi(v.vals[i].s)
		if v.vals[i].kind != kNumber || err != nil || n <= 0 {
			b.fatal(at+"."+k, "want a positive integer")
			continue
		}
		*d = n
	}
}

func (b *builder) validation(v *node) {
	if v.kind != kMap {
		b.fatal("validation", "want a map, found "+v.kind.String())
		return
	}
	known := map[string]string{"conditionalPolicies": "", "conditionalPoliciesFile": ""}
	for i, k := range v.keys {
		switch k {
		case "conditionalPolicies":
			b.intMap("validation.conditionalPolicies", v.vals[i], map[string]*int{
				"maxConditionDepth": &b.limits.depth, "maxConditionNodeCount": &b.limits.nodes, "maxCriteriaItems": &b.limits.items})
		case "conditionalPoliciesFile":
			b.intMap("validation.conditionalPoliciesFile", v.vals[i], map[string]*int{
				"maxBytes": &b.limits.bytes, "maxDocuments": &b.limits.docs})
		default:
			b.fatal("validation", unknownKey("validation.", k, known, ""))
		}
	}
}

// names reads a list of {name: ref} entries (admin.users, admin.superUsers).
func (b *builder) names(at string, v *node) []string {
	if v.kind != kList {
		b.fatal(at, "want a list of \"- name: user:default/alice\" entries, found "+v.kind.String())
		return nil
	}
	var out []string
	for i, it := range v.items {
		w := at + "[" + strconv.Itoa(i) + "]"
		if it.kind != kMap || it.get("name") == nil {
			b.fatal(w, "want \"name: user:default/alice\" (or a group:default/... ref)")
			continue
		}
		for _, k := range it.keys {
			if k != "name" {
				b.fatal(w, unknownKey(w+".", k, map[string]string{"name": ""}, ""))
			}
		}
		name := b.str(w+".name", it.get("name"))
		if name == "" {
			continue
		}
		if msg := checkRef(strings.ToLower(name), "user", "group"); msg != "" {
			b.fatal(w+".name", strconv.Quote(name)+": "+msg)
			continue
		}
		out = append(out, name)
	}
	return out
}

func (b *builder) admin(v *node) {
	if v.kind != kMap {
		b.fatal("admin", "want a map with users and superUsers, found "+v.kind.String())
		return
	}
	for i, k := range v.keys {
		switch k {
		case "users":
			for j, name := range b.names("admin.users", v.vals[i]) {
				// The plugin lowercases admin users (not super users).
				b.addBinding(binding{member: strings.ToLower(name), role: adminRole,
					where: "admin.users[" + strconv.Itoa(j) + "]", key: "admin\x00" + strings.ToLower(name)})
			}
		case "superUsers":
			for j, name := range b.names("admin.superUsers", v.vals[i]) {
				b.out.superUsers[name] = "admin.superUsers[" + strconv.Itoa(j) + "]"
			}
		default:
			b.fatal("admin", unknownKey("admin.", k, map[string]string{"users": "", "superUsers": ""}, ""))
		}
	}
	// The permissions the plugin gives rbac_admin, whoever its members.
	for _, pa := range [][2]string{{"policy-entity", "read"}, {"policy-entity", "update"}, {"policy-entity", "delete"},
		{"policy.entity.create", "create"}, {"catalog-entity", "read"}} {
		b.addRule(rule{subject: adminRole, obj: pa[0], act: pa[1], where: "admin.users (built-in rbac_admin permissions)",
			text: "p, " + adminRole + ", " + pa[0] + ", " + pa[1] + ", allow", key: "admin\x00" + pa[0] + "\x00" + pa[1]})
	}
}

func (b *builder) defaultPermissions(v *node) {
	if v.kind != kMap {
		b.fatal("defaultPermissions", "want a map with defaultRole and basicPermissions, found "+v.kind.String())
		return
	}
	for _, k := range v.keys {
		if k != "defaultRole" && k != "basicPermissions" {
			b.fatal("defaultPermissions", unknownKey("defaultPermissions.", k, map[string]string{"defaultRole": "", "basicPermissions": ""}, ""))
		}
	}
	rv := v.get("defaultRole")
	if rv == nil {
		b.fatal("defaultPermissions", "defaultRole is required")
		return
	}
	role := b.str("defaultPermissions.defaultRole", rv)
	if msg := checkRef(role, "role"); msg != "" {
		b.fatal("defaultPermissions.defaultRole", strconv.Quote(role)+": "+msg)
		return
	}
	b.defaultRole = role
	bp := v.get("basicPermissions")
	if bp == nil || bp.kind != kList || len(bp.items) == 0 {
		b.fatal("defaultPermissions.basicPermissions", "must list at least one {permission, action} when defaultRole is set")
		return
	}
	for i, it := range bp.items {
		w := "defaultPermissions.basicPermissions[" + strconv.Itoa(i) + "]"
		if it.kind != kMap {
			b.fatal(w, "want {permission: NAME, action: ACTION}")
			continue
		}
		for _, k := range it.keys {
			if k != "permission" && k != "action" {
				b.fatal(w, unknownKey(w+".", k, map[string]string{"permission": "", "action": ""}, ""))
			}
		}
		r := rule{subject: role, where: w}
		if pv := it.get("permission"); pv != nil {
			r.obj = b.str(w+".permission", pv)
		}
		r.act = "use"
		if av := it.get("action"); av != nil {
			r.act = b.str(w+".action", av)
		}
		r.text = "p, " + role + ", " + r.obj + ", " + r.act + ", allow"
		switch {
		case r.obj == "" || strings.Contains(r.obj, "\""):
			b.fatal(w+".permission", "want a permission name or resource type without double quotes")
		case !validAction(r.act):
			b.fatal(w+".action", "unknown action "+strconv.Quote(r.act)+" (want create, read, update, delete or use)")
		default:
			r.key = "default\x00" + r.obj + "\x00" + r.act
			b.addRule(r)
		}
	}
}

// checkLines drops (or refuses) what the plugin drops: both lines of an
// allow/deny conflict within one subject, and both copies of a duplicate.
func (b *builder) checkLines() {
	type pa struct{ subject, obj, act string }
	first := map[string]int{}
	dup := map[int]bool{}
	effects := map[pa][]int{}
	for i, r := range b.lines.rules {
		if j, ok := first[r.key]; ok {
			b.problem(r.where, "duplicates "+b.lines.rules[j].where+" (the plugin drops both copies)")
			dup[i], dup[j] = true, true
			continue
		}
		first[r.key] = i
		k := pa{r.subject, r.obj, r.act}
		effects[k] = append(effects[k], i)
	}
	for _, is := range effects {
		if len(is) < 2 {
			continue
		}
		a, d := b.lines.rules[is[0]], b.lines.rules[is[1]]
		b.problem(d.where, d.subject+" both allows and denies "+d.obj+" "+d.act+" (with "+a.where+"; the plugin drops both lines)")
		dup[is[0]], dup[is[1]] = true, true
	}
	kept := b.lines.rules[:0]
	for i, r := range b.lines.rules {
		if !dup[i] {
			kept = append(kept, r)
		}
	}
	b.lines.rules = kept
	seen := map[string]string{}
	keptB := b.lines.bindings[:0]
	dupB := map[string]bool{}
	for _, g := range b.lines.bindings {
		if w, ok := seen[g.key]; ok {
			b.problem(g.where, "duplicates "+w+" (the plugin drops both copies)")
			dupB[g.key] = true
			continue
		}
		seen[g.key] = g.where
	}
	for _, g := range b.lines.bindings {
		if !dupB[g.key] {
			keptB = append(keptB, g)
		}
	}
	b.lines.bindings = keptB
}
