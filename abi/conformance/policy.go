// Package conformance holds ABI v1's reference conformance policy and the
// runner that checks a module against the language-neutral corpus in
// abi/testdata/conformance.
//
// The conformance policy's answer is a pure function of the permission name
// (and, for the owner condition and the echoed reason, of the inputs). Every
// SDK implements it once; the corpus then proves that every SDK decodes the
// same input and encodes the same answers.
package conformance

import (
	"encoding/json"
	"strings"

	"github.com/verdictpdp/verdict/abi"
)

// PluginID is the pluginId of every CONDITIONAL answer of the policy.
const PluginID = "conf"

// Claims are the claims the conformance policy describes.
var Claims = []string{"conf.*"}

// Decide is the reference conformance policy. See abi/SPEC.md, section
// "Conformance policy", for the table it implements.
func Decide(p abi.Principal, it abi.Item) abi.Answer {
	a := abi.Answer{ID: it.ID}
	name := it.Permission.Name
	switch name {
	case "conf.allow":
		a.Result = abi.Allow
	case "conf.deny":
		a.Result = abi.Deny
	case "conf.abstain":
		a.Result = abi.Abstain
	case "conf.allow.reason":
		a.Result, a.Reason = abi.Allow, "allowed by conformance policy"
	case "conf.deny.reason":
		a.Result, a.Reason = abi.Deny, "denied by conformance policy"
	case "conf.reason":
		a.Result, a.Reason = abi.Allow, Echo(p, it)
	default:
		if !strings.HasPrefix(name, "conf.cond.") {
			a.Result = abi.Abstain
			return a
		}
		if !it.Permission.IsResource() {
			a.Result, a.Reason = abi.Deny, "conditional needs a resource permission"
			return a
		}
		c := conditions(name, p, it.Permission.ResourceType)
		if c == nil {
			a.Result = abi.Abstain
			return a
		}
		a.Result = abi.Conditional
		a.PluginID = PluginID
		a.ResourceType = it.Permission.ResourceType
		a.Conditions = c
	}
	return a
}

// Echo is the reason given for conf.reason: the decoded inputs, space
// separated, "-" for absent values.
func Echo(p abi.Principal, it abi.Item) string {
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	ref := "-"
	if it.ResourceRef != nil {
		ref = *it.ResourceRef
	}
	actor := "-"
	if p.Actor != nil {
		actor = dash(p.Actor.Subject)
	}
	return "name=" + it.Permission.Name +
		" type=" + it.Permission.Type +
		" action=" + dash(it.Permission.Attributes.Action) +
		" resourceType=" + dash(it.Permission.ResourceType) +
		" ref=" + ref +
		" principal=" + p.Type +
		" user=" + dash(p.UserEntityRef) +
		" subject=" + dash(p.Subject) +
		" actor=" + actor +
		" owners=" + strings.Join(p.OwnershipEntityRefs, ",")
}

func leaf(rule, rt string, params map[string]any) abi.Criteria {
	c := abi.Criteria{Rule: rule, ResourceType: rt}
	if params != nil {
		c.Params = map[string]json.RawMessage{}
		for k, v := range params {
			b, _ := json.Marshal(v)
			c.Params[k] = b
		}
	}
	return c
}

func conditions(name string, p abi.Principal, rt string) *abi.Criteria {
	claims := p.OwnershipEntityRefs
	if claims == nil {
		claims = []string{}
	}
	owner := leaf("IS_OWNER", rt, map[string]any{"claims": claims})
	public := leaf("IS_PUBLIC", rt, nil)
	kind := leaf("IS_KIND", rt, map[string]any{"kinds": []string{"Group", "User"}})
	var c abi.Criteria
	switch name {
	case "conf.cond.owner":
		c = owner
	case "conf.cond.noparams":
		c = public
	case "conf.cond.params":
		c = leaf("HAS_VALUES", rt, map[string]any{
			"s": "text \"quoted\" \\ ünïcødé ✓", "n": 42, "f": -1.5,
			"t": true, "no": false, "z": nil, "list": []any{"a", 1, true, nil},
		})
	case "conf.cond.not":
		c = abi.Criteria{Not: &kind}
	case "conf.cond.allof":
		c = abi.Criteria{AllOf: []abi.Criteria{owner, public}}
	case "conf.cond.anyof":
		c = abi.Criteria{AnyOf: []abi.Criteria{owner, {Not: &kind}}}
	case "conf.cond.nested":
		inner := abi.Criteria{AnyOf: []abi.Criteria{kind, public}}
		notPublic := abi.Criteria{Not: &public}
		c = abi.Criteria{AnyOf: []abi.Criteria{
			{AllOf: []abi.Criteria{owner, {Not: &inner}}},
			{Not: &notPublic},
		}}
	default:
		return nil
	}
	return &c
}
