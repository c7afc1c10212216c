package combine

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
)

func cond(plugin, rt, rule string) abi.Answer {
	return abi.Answer{Result: abi.Conditional, PluginID: plugin, ResourceType: rt,
		Conditions: &abi.Criteria{Rule: rule, ResourceType: rt}}
}

func vote(m string, a abi.Answer) Vote { return Vote{Module: m, Answer: a} }

var (
	allow   = abi.Answer{Result: abi.Allow}
	deny    = abi.Answer{Result: abi.Deny, Reason: "no"}
	abstain = abi.Answer{Result: abi.Abstain}
)

func TestCombine(t *testing.T) {
	c1 := cond("catalog", "catalog-entity", "IS_OWNER")
	c2 := cond("catalog", "catalog-entity", "IS_PUBLIC")
	other := cond("scaffolder", "scaffolder-template", "HAS_TAG")
	tests := []struct {
		name       string
		alg        Algorithm
		votes      []Vote
		def        abi.Result
		want       abi.Result
		reason     string
		conditions string
	}{
		{"no votes, default deny", DenyOverrides, nil, abi.Deny, abi.Deny, "no module claims this permission; default DENY", ""},
		{"no votes, default allow", DenyOverrides, nil, abi.Allow, abi.Allow, "no module claims this permission; default ALLOW", ""},
		{"all abstain", DenyOverrides, []Vote{vote("a", abstain), vote("b", abstain)}, abi.Deny, abi.Deny,
			"every module that claims this permission abstained; default DENY", ""},
		{"invalid default falls back to deny", DenyOverrides, nil, abi.Conditional, abi.Deny, "no module claims this permission; default DENY", ""},
		{"deny overrides allow", DenyOverrides, []Vote{vote("a", allow), vote("b", deny)}, abi.Allow, abi.Deny, "b: no", ""},
		{"deny overrides conditional", DenyOverrides, []Vote{vote("a", c1), vote("b", deny)}, abi.Allow, abi.Deny, "b: no", ""},
		{"conditional over allow", DenyOverrides, []Vote{vote("a", allow), vote("b", c1)}, abi.Deny, abi.Conditional, "b: CONDITIONAL",
			`{"rule":"IS_OWNER","resourceType":"catalog-entity"}`},
		{"two conditionals allOf in order", DenyOverrides, []Vote{vote("a", c1), vote("b", c2)}, abi.Deny, abi.Conditional, "a: CONDITIONAL; b: CONDITIONAL",
			`{"allOf":[{"rule":"IS_OWNER","resourceType":"catalog-entity"},{"rule":"IS_PUBLIC","resourceType":"catalog-entity"}]}`},
		{"conditionals disagree", DenyOverrides, []Vote{vote("a", c1), vote("b", other)}, abi.Allow, abi.Deny,
			"conditional answers disagree: a gave catalog/catalog-entity, b gave scaffolder/scaffolder-template", ""},
		{"allow with abstain", DenyOverrides, []Vote{vote("a", abstain), vote("b", allow)}, abi.Deny, abi.Allow, "b: ALLOW", ""},
		{"reasons joined", DenyOverrides, []Vote{vote("a", deny), vote("b", deny)}, abi.Deny, abi.Deny, "a: no; b: no", ""},
		{"permit overrides deny", PermitOverrides, []Vote{vote("a", deny), vote("b", allow)}, abi.Deny, abi.Allow, "b: ALLOW", ""},
		{"permit: conditional over deny", PermitOverrides, []Vote{vote("a", deny), vote("b", c1)}, abi.Deny, abi.Conditional, "b: CONDITIONAL",
			`{"rule":"IS_OWNER","resourceType":"catalog-entity"}`},
		{"permit: two conditionals anyOf", PermitOverrides, []Vote{vote("a", c1), vote("b", c2)}, abi.Deny, abi.Conditional, "a: CONDITIONAL; b: CONDITIONAL",
			`{"anyOf":[{"rule":"IS_OWNER","resourceType":"catalog-entity"},{"rule":"IS_PUBLIC","resourceType":"catalog-entity"}]}`},
		{"permit: deny when nothing better", PermitOverrides, []Vote{vote("a", abstain), vote("b", deny)}, abi.Allow, abi.Deny, "b: no", ""},
		{"permit: all abstain", PermitOverrides, []Vote{vote("a", abstain)}, abi.Deny, abi.Deny,
			"every module that claims this permission abstained; default DENY", ""},
		{"first applicable skips abstain", FirstApplicable, []Vote{vote("a", abstain), vote("b", allow), vote("c", deny)}, abi.Deny, abi.Allow, "b: ALLOW", ""},
		{"first applicable takes deny first", FirstApplicable, []Vote{vote("a", deny), vote("b", allow)}, abi.Allow, abi.Deny, "a: no", ""},
		{"first applicable conditional", FirstApplicable, []Vote{vote("a", c1), vote("b", deny)}, abi.Deny, abi.Conditional, "a: CONDITIONAL",
			`{"rule":"IS_OWNER","resourceType":"catalog-entity"}`},
		{"first applicable all abstain", FirstApplicable, []Vote{vote("a", abstain)}, abi.Allow, abi.Allow,
			"every module that claims this permission abstained; default ALLOW", ""},
		{"unknown algorithm behaves as deny-overrides", Algorithm("bogus"), []Vote{vote("a", allow), vote("b", deny)}, abi.Allow, abi.Deny, "b: no", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Combine(tt.alg, tt.votes, tt.def)
			require.Equal(t, tt.want, got.Result)
			require.Equal(t, tt.reason, got.Reason)
			require.Empty(t, got.ID)
			if tt.conditions == "" {
				require.Nil(t, got.Conditions)
				return
			}
			b, err := json.Marshal(got.Conditions)
			require.NoError(t, err)
			require.JSONEq(t, tt.conditions, string(b))
			require.Equal(t, "catalog", got.PluginID)
			require.Equal(t, "catalog-entity", got.ResourceType)
		})
	}
}
