// Command allow-list is an example Verdict policy module driven by its
// settings: it allows the permissions listed in the settings file and
// abstains on everything else. It shows verdict_configure at work: the
// settings are checked when the module loads (bad settings keep it from
// loading, with a message) and the claims come from the settings.
//
// Settings (allow-list.json, or the same as YAML, beside allow-list.wasm):
//
//	{"allow": ["catalog.entity.create", "scaffolder.*"]}
//
// Each entry is a permission name, matched exactly, or a prefix followed by
// a single trailing "*", which matches every name that starts with the
// prefix ("scaffolder.*" matches "scaffolder.task.read"). A "*" anywhere
// else is refused, and so are unknown keys, an absent or empty list, and
// entries that are not non-empty strings.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o allow-list.wasm .
package main

import (
	"errors"
	"strconv"
	"strings"

	verdict "github.com/verdictpdp/verdict/sdk/go"
)

// reason is given with every ALLOW.
const reason = "listed in allow-list settings"

// allowList is the configured list.
type allowList struct {
	exact    map[string]bool
	prefixes []string
	claims   []string // the entries as given: they are also valid claims
}

// parse checks settings of the shape {"allow": ["name", "prefix*", ...]}.
func parse(s *verdict.Settings) (*allowList, error) {
	const shape = `settings must look like {"allow": ["catalog.entity.create", "scaffolder.*"]}`
	if s.Raw == nil {
		return nil, errors.New("allow-list needs a settings file: " + shape)
	}
	if s.Value.Kind() != verdict.KindObject {
		return nil, errors.New(shape)
	}
	for _, f := range s.Value.Fields() {
		if f.Key != "allow" {
			return nil, errors.New("unknown setting " + strconv.Quote(f.Key) + ": " + shape)
		}
	}
	allow, ok := s.Value.Get("allow")
	if !ok || allow.Kind() != verdict.KindArray {
		return nil, errors.New(`"allow" must be a list of permission names: ` + shape)
	}
	if allow.Len() == 0 {
		return nil, errors.New(`"allow" is empty: list at least one permission name`)
	}
	a := &allowList{exact: map[string]bool{}}
	for i, v := range allow.Elems() {
		name, ok := v.AsString()
		at := "allow[" + strconv.Itoa(i) + "]"
		switch {
		case !ok:
			return nil, errors.New(at + " is not a string")
		case name == "":
			return nil, errors.New(at + " is empty")
		case strings.Contains(strings.TrimSuffix(name, "*"), "*"):
			return nil, errors.New(at + " " + strconv.Quote(name) + ": only a single trailing * is supported")
		}
		if prefix, ok := strings.CutSuffix(name, "*"); ok {
			a.prefixes = append(a.prefixes, prefix)
		} else {
			a.exact[name] = true
		}
		a.claims = append(a.claims, name)
	}
	return a, nil
}

// allows reports whether name is listed.
func (a *allowList) allows(name string) bool {
	if a.exact[name] {
		return true
	}
	for _, p := range a.prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// policy returns the policy with its own list, so that tests can make as
// many as they like.
func policy() verdict.Policy {
	list := &allowList{}
	return verdict.Policy{
		Name:    "allow-list",
		Version: "1.0.0",
		Configure: func(s *verdict.Settings) error {
			a, err := parse(s)
			if err != nil {
				return err
			}
			*list = *a
			return nil
		},
		ClaimsFunc: func() []string { return list.claims },
		Decide: func(_ *verdict.Principal, it *verdict.Item) verdict.Decision {
			if list.allows(it.Permission.Name) {
				return verdict.Allowed(reason)
			}
			return verdict.Abstained()
		},
	}
}

func init() { verdict.Register(policy()) }

// main is never run in a c-shared (reactor) module.
func main() {}
