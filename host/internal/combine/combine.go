// Package combine merges the answers several modules gave for one item into
// one decision, with the algorithms of DESIGN.md, "Combining algorithms".
package combine

import (
	"fmt"
	"strings"

	"github.com/verdictpdp/verdict/abi"
)

// Algorithm names a combining algorithm. Package host exports it as
// host.Combine, with these constants.
type Algorithm string

// The algorithms, as policies.combine names them.
const (
	// DenyOverrides: any DENY wins; else CONDITIONAL (allOf); else ALLOW.
	DenyOverrides Algorithm = "deny-overrides"
	// PermitOverrides: any ALLOW wins; else CONDITIONAL (anyOf); else DENY.
	PermitOverrides Algorithm = "permit-overrides"
	// FirstApplicable: the first answer that is not ABSTAIN, in file-name
	// order.
	FirstApplicable Algorithm = "first-applicable"
)

// Vote is one module's answer for one item.
type Vote struct {
	Module string
	Answer abi.Answer
}

// Combine merges votes, given in file-name order, into one answer. def is the
// answer (ALLOW or DENY) when there are no votes or all abstain. The result
// never has ID set and its Result is never ABSTAIN.
func Combine(alg Algorithm, votes []Vote, def abi.Result) abi.Answer {
	switch alg {
	case FirstApplicable:
		for _, v := range votes {
			if v.Answer.Result != abi.Abstain {
				out := v.Answer
				out.ID = ""
				out.Reason = reason(v)
				return out
			}
		}
		return fallback(votes, def)
	case PermitOverrides:
		if a, ok := decisive(votes, abi.Allow); ok {
			return a
		}
		if a, ok := conditional(votes, true); ok {
			return a
		}
		if a, ok := decisive(votes, abi.Deny); ok {
			return a
		}
		return fallback(votes, def)
	default: // DenyOverrides, and the safe choice for anything unknown
		if a, ok := decisive(votes, abi.Deny); ok {
			return a
		}
		if a, ok := conditional(votes, false); ok {
			return a
		}
		if a, ok := decisive(votes, abi.Allow); ok {
			return a
		}
		return fallback(votes, def)
	}
}

func reason(v Vote) string {
	if v.Answer.Reason != "" {
		return v.Module + ": " + v.Answer.Reason
	}
	return v.Module + ": " + string(v.Answer.Result)
}

// decisive returns result r with the reasons of every vote that gave it.
func decisive(votes []Vote, r abi.Result) (abi.Answer, bool) {
	var reasons []string
	for _, v := range votes {
		if v.Answer.Result == r {
			reasons = append(reasons, reason(v))
		}
	}
	if reasons == nil {
		return abi.Answer{}, false
	}
	return abi.Answer{Result: r, Reason: strings.Join(reasons, "; ")}, true
}

// conditional merges every CONDITIONAL vote: one passes through, several are
// wrapped in anyOf (permit) or allOf (deny). Votes that disagree on pluginId
// or resourceType give DENY.
func conditional(votes []Vote, anyOf bool) (abi.Answer, bool) {
	var conds []Vote
	for _, v := range votes {
		if v.Answer.Result == abi.Conditional {
			conds = append(conds, v)
		}
	}
	if conds == nil {
		return abi.Answer{}, false
	}
	first := conds[0].Answer
	reasons := make([]string, 0, len(conds))
	criteria := make([]abi.Criteria, 0, len(conds))
	for _, v := range conds {
		if v.Answer.PluginID != first.PluginID || v.Answer.ResourceType != first.ResourceType {
			return abi.Answer{Result: abi.Deny, Reason: fmt.Sprintf(
				"conditional answers disagree: %s gave %s/%s, %s gave %s/%s",
				conds[0].Module, first.PluginID, first.ResourceType,
				v.Module, v.Answer.PluginID, v.Answer.ResourceType)}, true
		}
		reasons = append(reasons, reason(v))
		criteria = append(criteria, *v.Answer.Conditions)
	}
	out := abi.Answer{Result: abi.Conditional, PluginID: first.PluginID,
		ResourceType: first.ResourceType, Reason: strings.Join(reasons, "; ")}
	switch {
	case len(criteria) == 1:
		out.Conditions = &criteria[0]
	case anyOf:
		out.Conditions = &abi.Criteria{AnyOf: criteria}
	default:
		out.Conditions = &abi.Criteria{AllOf: criteria}
	}
	return out, true
}

func fallback(votes []Vote, def abi.Result) abi.Answer {
	if def != abi.Allow {
		def = abi.Deny
	}
	if len(votes) == 0 {
		return abi.Answer{Result: def, Reason: "no module claims this permission; default " + string(def)}
	}
	return abi.Answer{Result: def, Reason: "every module that claims this permission abstained; default " + string(def)}
}
