package main

import (
	"strconv"
	"strings"
)

// Actions are the permission actions a policy line may name.
var actions = []string{"create", "read", "update", "delete", "use"}

func validAction(a string) bool {
	for _, x := range actions {
		if a == x {
			return true
		}
	}
	return false
}

// rule is one "p" line (or a line of the native form, or a built-in one):
// subject may do (or not) act on obj, a permission name or resource type.
type rule struct {
	subject string
	obj     string
	act     string
	deny    bool
	where   string // "rbac-policy.csv line 3", "roles[0].allow[1]", ...
	text    string // the line as written, for reasons
	reason  string // precomputed reason naming the subject, line and place
	key     string // normalised line, for duplicate detection
}

// binding is one "g" line: member (lowercased) has role.
type binding struct {
	member string
	role   string
	where  string
	key    string
}

// lines is what the CSV sources and the native form contribute.
type lines struct {
	rules    []rule
	bindings []binding
}

// parseCSV reads the plugin's CSV policy format from text (named src in
// messages). Every problem is reported through b.problem (which refuses the
// settings, or in lenient mode skips the line with a warning).
func (b *builder) parseCSV(src, text string) {
	for i, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(strings.TrimSuffix(raw, "\r"))
		if i == 0 {
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		where := src + " line " + strconv.Itoa(i+1)
		fields, err := splitCSV(line)
		if err != "" {
			b.problem(where, err)
			continue
		}
		switch fields[0] {
		case "p":
			if len(fields) != 5 {
				b.problem(where, "a \"p\" line needs 5 fields (p, role, permission, action, effect), found "+strconv.Itoa(len(fields)))
				continue
			}
			r := rule{subject: fields[1], obj: fields[2], act: fields[3], where: where, text: line}
			if msg := b.checkRuleFields(&r, fields[4]); msg != "" {
				b.problem(where, msg)
				continue
			}
			b.addRule(r)
		case "g":
			if len(fields) != 3 {
				b.problem(where, "a \"g\" line needs 3 fields (g, member, role), found "+strconv.Itoa(len(fields)))
				continue
			}
			g := binding{member: strings.ToLower(fields[1]), role: fields[2], where: where}
			if msg := b.checkBinding(&g); msg != "" {
				b.problem(where, msg)
				continue
			}
			b.addBinding(g)
		default:
			b.problem(where, "a line starts with \"p\" (a policy) or \"g\" (a role membership), not "+strconv.Quote(fields[0]))
		}
	}
}

// checkRuleFields validates a policy line's fields and sets its effect.
func (b *builder) checkRuleFields(r *rule, effect string) string {
	if msg := checkRef(r.subject, "role", "user", "group"); msg != "" {
		return "subject " + strconv.Quote(r.subject) + ": " + msg
	}
	if r.obj == "" {
		return "the permission (name or resource type) is empty"
	}
	if strings.Contains(r.obj, "\"") {
		return "the permission " + strconv.Quote(r.obj) + " contains a double quote"
	}
	if !validAction(r.act) {
		return "unknown action " + strconv.Quote(r.act) + " (want create, read, update, delete or use, in lowercase)"
	}
	switch effect {
	case "allow":
	case "deny":
		r.deny = true
	default:
		return "unknown effect " + strconv.Quote(effect) + " (want allow or deny, in lowercase)"
	}
	if msg := b.reserved(r.subject); msg != "" {
		return msg
	}
	r.key = r.subject + "\x00" + r.obj + "\x00" + r.act + "\x00" + effect
	return ""
}

// checkBinding validates a membership line.
func (b *builder) checkBinding(g *binding) string {
	if strings.HasPrefix(g.member, "role:") {
		return "member " + strconv.Quote(g.member) + " is a role: roles do not inherit from roles"
	}
	if msg := checkRef(g.member, "user", "group"); msg != "" {
		return "member " + strconv.Quote(g.member) + ": " + msg
	}
	if strings.HasPrefix(g.role, "group:") || strings.HasPrefix(g.role, "user:") {
		return strconv.Quote(g.role) + " is not a role: users and groups can only be bound to roles"
	}
	if msg := checkRef(g.role, "role"); msg != "" {
		return "role " + strconv.Quote(g.role) + ": " + msg
	}
	if msg := b.reserved(g.role); msg != "" {
		return msg
	}
	g.key = g.member + "\x00" + g.role
	return ""
}

// reserved refuses lines for the roles the configuration owns.
func (b *builder) reserved(role string) string {
	switch {
	case role == adminRole:
		return adminRole + " is defined by admin.users in the settings, not by policy lines"
	case role != "" && role == b.defaultRole:
		return role + " is defaultPermissions.defaultRole: its permissions come from defaultPermissions.basicPermissions"
	}
	return ""
}

// splitCSV splits a CSV line into trimmed fields (double quotes may wrap a
// field; "" inside them is a quote).
func splitCSV(line string) ([]string, string) {
	var fields []string
	for i := 0; ; {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		var f string
		if i < len(line) && line[i] == '"' {
			var sb strings.Builder
			i++
			closed := false
			for i < len(line) {
				if line[i] == '"' {
					if i+1 < len(line) && line[i+1] == '"' {
						sb.WriteByte('"')
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				sb.WriteByte(line[i])
				i++
			}
			if !closed {
				return nil, "unterminated double quote"
			}
			f = sb.String()
			for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
				i++
			}
			if i < len(line) && line[i] != ',' {
				return nil, "text after a closing double quote"
			}
		} else {
			j := strings.IndexByte(line[i:], ',')
			if j < 0 {
				j = len(line) - i
			}
			f = strings.TrimSpace(line[i : i+j])
			if strings.Contains(f, "\"") {
				return nil, "a double quote inside an unquoted field"
			}
			i += j
		}
		fields = append(fields, f)
		if i >= len(line) {
			return fields, ""
		}
		i++ // the comma
	}
}

// checkRef checks an entity ref the way the plugin does: kind:namespace/name
// with one of kinds, a namespace of [a-z0-9-] and a name of [a-zA-Z0-9] runs
// separated by single - _ or ., at most 63 characters.
func checkRef(ref string, kinds ...string) string {
	kind, rest, ok := strings.Cut(ref, ":")
	want := strings.Join(kinds, ":, ") + ":"
	if !ok || !containsKey(kinds, kind) {
		return "want an entity ref starting with " + want
	}
	ns, name, ok := strings.Cut(rest, "/")
	if !ok {
		return "want kind:namespace/name"
	}
	if ns == "" {
		return "empty namespace"
	}
	for i := 0; i < len(ns); i++ {
		if c := ns[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return "namespace " + strconv.Quote(ns) + " may only hold a-z, 0-9 and -"
		}
	}
	if name == "" || len(name) > 63 {
		return "the name must have 1 to 63 characters"
	}
	prevSep := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		sep := c == '-' || c == '_' || c == '.'
		if !alnum && !sep || sep && prevSep {
			return "name " + strconv.Quote(name) + " must be runs of a-z, A-Z, 0-9 separated by single -, _ or ."
		}
		prevSep = sep
	}
	if prevSep {
		return "name " + strconv.Quote(name) + " must not end with -, _ or ."
	}
	return ""
}
