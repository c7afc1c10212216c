// Package conformance is the Go SDK's implementation of ABI v1's reference
// conformance policy (abi/conformance in the Verdict repository, described
// in abi/SPEC.md). Its answer is a pure function of the permission name and,
// for the owner condition and the echoed reason, of the inputs; the shared
// corpus in abi/testdata/conformance checks that the SDK decodes the host's
// input and encodes its answers exactly as the reference does.
//
// The module is built from ./cmd:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o conformance.wasm ./conformance/cmd
package conformance

import (
	"strings"

	verdict "github.com/verdictpdp/verdict/sdk/go"
)

// PluginID is the pluginId of every CONDITIONAL answer of the policy.
const PluginID = "conf"

// Policy returns the conformance policy: name "conformance", claims
// ["conf.*"].
func Policy() verdict.Policy {
	return verdict.Policy{
		Name:    "conformance",
		Version: verdict.SDKVersion,
		Claims:  []string{"conf.*"},
		Decide:  Decide,
	}
}

// Decide is the conformance policy:
//
//	conf.allow, conf.deny, conf.abstain   ALLOW, DENY, ABSTAIN
//	conf.allow.reason, conf.deny.reason   the same with a fixed reason
//	conf.reason                           ALLOW with Echo as the reason
//	conf.cond.*                           CONDITIONAL (pluginId "conf") with
//	                                      the criteria named by the suffix;
//	                                      DENY for a basic permission;
//	                                      ABSTAIN for an unknown suffix
//	anything else                         ABSTAIN
func Decide(p *verdict.Principal, it *verdict.Item) verdict.Decision {
	name := it.Permission.Name
	switch name {
	case "conf.allow":
		return verdict.Decision{Result: verdict.Allow}
	case "conf.deny":
		return verdict.Decision{Result: verdict.Deny}
	case "conf.abstain":
		return verdict.Decision{Result: verdict.Abstain}
	case "conf.allow.reason":
		return verdict.Allowed("allowed by conformance policy")
	case "conf.deny.reason":
		return verdict.Denied("denied by conformance policy")
	case "conf.reason":
		return verdict.Allowed(Echo(p, it))
	}
	if !strings.HasPrefix(name, "conf.cond.") {
		return verdict.Abstained()
	}
	if !it.Permission.IsResource() {
		return verdict.Denied("conditional needs a resource permission")
	}
	c, ok := conditions(name, p, it.Permission.ResourceType)
	if !ok {
		return verdict.Abstained()
	}
	return verdict.Decision{
		Result:       verdict.Conditional,
		PluginID:     PluginID,
		ResourceType: it.Permission.ResourceType,
		Conditions:   c,
	}
}

// Echo is the reason given for conf.reason: the decoded inputs, space
// separated, "-" for absent values.
func Echo(p *verdict.Principal, it *verdict.Item) string {
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	ref := "-"
	if it.HasResourceRef {
		ref = it.ResourceRef
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

// conditions returns the criteria for a conf.cond.* name, or false for an
// unknown one.
func conditions(name string, p *verdict.Principal, rt string) (verdict.Criteria, bool) {
	owner := verdict.Condition("IS_OWNER", rt,
		verdict.Param("claims", verdict.Strings(p.OwnershipEntityRefs...)))
	public := verdict.Condition("IS_PUBLIC", rt)
	kind := verdict.Condition("IS_KIND", rt,
		verdict.Param("kinds", verdict.Strings("Group", "User")))
	switch name {
	case "conf.cond.owner":
		return owner, true
	case "conf.cond.noparams":
		return public, true
	case "conf.cond.params":
		return verdict.Condition("HAS_VALUES", rt,
			verdict.Param("s", verdict.String("text \"quoted\" \\ ünïcødé ✓")),
			verdict.Param("n", verdict.Int(42)),
			verdict.Param("f", verdict.Float(-1.5)),
			verdict.Param("t", verdict.Bool(true)),
			verdict.Param("no", verdict.Bool(false)),
			verdict.Param("z", verdict.Null()),
			verdict.Param("list", verdict.Array(
				verdict.String("a"), verdict.Int(1), verdict.Bool(true), verdict.Null()))), true
	case "conf.cond.not":
		return verdict.Not(kind), true
	case "conf.cond.allof":
		return verdict.AllOf(owner, public), true
	case "conf.cond.anyof":
		return verdict.AnyOf(owner, verdict.Not(kind)), true
	case "conf.cond.nested":
		return verdict.AnyOf(
			verdict.AllOf(owner, verdict.Not(verdict.AnyOf(kind, public))),
			verdict.Not(verdict.Not(public)),
		), true
	}
	return verdict.Criteria{}, false
}
