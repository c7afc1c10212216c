package abi_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
)

func TestPermissionValidate(t *testing.T) {
	tests := []struct {
		name    string
		p       abi.Permission
		wantErr string
	}{
		{"basic", abi.Permission{Type: "basic", Name: "x"}, ""},
		{"basic with action", abi.Permission{Type: "basic", Name: "x", Attributes: abi.Attributes{Action: "create"}}, ""},
		{"resource", abi.Permission{Type: "resource", Name: "x", ResourceType: "catalog-entity"}, ""},
		{"resource read", abi.Permission{Type: "resource", Name: "x", ResourceType: "t", Attributes: abi.Attributes{Action: "read"}}, ""},
		{"update", abi.Permission{Type: "basic", Name: "x", Attributes: abi.Attributes{Action: "update"}}, ""},
		{"delete", abi.Permission{Type: "basic", Name: "x", Attributes: abi.Attributes{Action: "delete"}}, ""},
		{"basic with resourceType", abi.Permission{Type: "basic", Name: "x", ResourceType: "t"}, "has no resourceType"},
		{"resource without resourceType", abi.Permission{Type: "resource", Name: "x"}, "needs a resourceType"},
		{"empty type", abi.Permission{Name: "x"}, `permission type "" is neither basic nor resource`},
		{"unknown type", abi.Permission{Type: "Basic", Name: "x"}, `permission type "Basic"`},
		{"unknown action", abi.Permission{Type: "basic", Name: "x", Attributes: abi.Attributes{Action: "write"}}, `action "write"`},
		{"action case", abi.Permission{Type: "basic", Name: "x", Attributes: abi.Attributes{Action: "READ"}}, `action "READ"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestCheckAnswer(t *testing.T) {
	resource := abi.Permission{Type: "resource", Name: "catalog.entity.read", ResourceType: "catalog-entity"}
	basic := abi.Permission{Type: "basic", Name: "catalog.entity.create"}
	owner := func(rt string) *abi.Criteria {
		return &abi.Criteria{Rule: "IS_ENTITY_OWNER", ResourceType: rt,
			Params: map[string]json.RawMessage{"claims": json.RawMessage(`[]`)}}
	}
	cond := func(c *abi.Criteria) abi.Answer {
		return abi.Answer{ID: "0", Result: abi.Conditional, PluginID: "catalog", ResourceType: "catalog-entity", Conditions: c}
	}
	deep := &abi.Criteria{Rule: "R", ResourceType: "catalog-entity"}
	for i := 0; i < 32; i++ {
		deep = &abi.Criteria{Not: deep}
	}
	tests := []struct {
		name    string
		a       abi.Answer
		p       abi.Permission
		wantErr string
	}{
		{"allow", abi.Answer{ID: "0", Result: abi.Allow}, basic, ""},
		{"deny with reason", abi.Answer{ID: "0", Result: abi.Deny, Reason: "no"}, resource, ""},
		{"abstain", abi.Answer{ID: "0", Result: abi.Abstain}, resource, ""},
		{"conditional", cond(owner("catalog-entity")), resource, ""},
		{"conditional with reason", func() abi.Answer { a := cond(owner("catalog-entity")); a.Reason = "r"; return a }(), resource, ""},
		{"empty result", abi.Answer{ID: "0"}, basic, `result ""`},
		{"unknown result", abi.Answer{ID: "0", Result: "MAYBE"}, basic, `result "MAYBE"`},
		{"lower-case result", abi.Answer{ID: "0", Result: "allow"}, basic, `result "allow"`},
		{"allow with pluginId", abi.Answer{ID: "0", Result: abi.Allow, PluginID: "catalog"}, basic, "ALLOW with conditional fields"},
		{"deny with resourceType", abi.Answer{ID: "0", Result: abi.Deny, ResourceType: "catalog-entity"}, resource, "DENY with conditional fields"},
		{"abstain with conditions", abi.Answer{ID: "0", Result: abi.Abstain, Conditions: owner("catalog-entity")}, resource, "ABSTAIN with conditional fields"},
		{"conditional for basic", cond(owner("catalog-entity")), basic, "CONDITIONAL for basic permission"},
		{"conditional without pluginId", func() abi.Answer { a := cond(owner("catalog-entity")); a.PluginID = ""; return a }(), resource, "without pluginId"},
		{"conditional with other resourceType", func() abi.Answer { a := cond(owner("catalog-entity")); a.ResourceType = "x"; return a }(), resource, "does not match"},
		{"conditional without resourceType", func() abi.Answer { a := cond(owner("catalog-entity")); a.ResourceType = ""; return a }(), resource, "does not match"},
		{"conditional without conditions", cond(nil), resource, "without conditions"},
		{"leaf with other resourceType", cond(owner("scaffolder-template")), resource, "has resourceType"},
		{"conditions too deep", cond(deep), resource, "deeper than 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := abi.CheckAnswer(&tt.a, tt.p, abi.DefaultCriteriaDepth, abi.DefaultCriteriaNodes)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, abi.ErrInvalidAnswer)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestCheckAnswerFromJSON(t *testing.T) {
	// An answer decoded from guest output: invalid conditions fail decoding
	// already, so the host must treat a decode error of one answer as DENY.
	var resp abi.Response
	err := json.Unmarshal([]byte(`{"items":[{"id":"0","result":"CONDITIONAL","pluginId":"p","resourceType":"t","conditions":{"allOf":[]}}]}`), &resp)
	require.ErrorIs(t, err, abi.ErrInvalidCriteria)

	require.NoError(t, json.Unmarshal([]byte(`{"items":[{"id":"0","result":"CONDITIONAL","pluginId":"p","resourceType":"t","conditions":{"rule":"R","resourceType":"t"}}]}`), &resp))
	require.NoError(t, abi.CheckAnswer(&resp.Items[0], abi.Permission{Type: "resource", Name: "n", ResourceType: "t"}, 32, 1000))
}
