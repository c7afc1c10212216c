package abi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/internal/wire"
)

func TestCriteriaDecodeValid(t *testing.T) {
	tests := []struct {
		name string
		in   string
		// out is the canonical re-encoding; empty means the same as in.
		out string
	}{
		{"leaf with params", `{"rule":"IS_OWNER","resourceType":"catalog-entity","params":{"claims":["group:default/a"]}}`, ""},
		{"leaf without params", `{"rule":"IS_PUBLIC","resourceType":"catalog-entity"}`, ""},
		{"leaf with every value kind", `{"rule":"R","resourceType":"t","params":{"f":-1.5,"list":["a",1,true,null],"n":42,"no":false,"o":{"k":"v"},"s":"x","t":true,"z":null}}`, ""},
		{"leaf with empty params", `{"rule":"R","resourceType":"t","params":{}}`, `{"rule":"R","resourceType":"t","params":{}}`},
		{"not", `{"not":{"rule":"R","resourceType":"t"}}`, ""},
		{"allOf", `{"allOf":[{"rule":"A","resourceType":"t"},{"rule":"B","resourceType":"t"}]}`, ""},
		{"anyOf of one", `{"anyOf":[{"rule":"A","resourceType":"t"}]}`, ""},
		{"nested", `{"anyOf":[{"allOf":[{"rule":"A","resourceType":"t"},{"not":{"anyOf":[{"rule":"B","resourceType":"t"}]}}]},{"not":{"not":{"rule":"C","resourceType":"t"}}}]}`, ""},
		{"key order and whitespace", "{ \"params\" : {\"k\":1},\n\t\"resourceType\":\"t\", \"rule\":\"R\" }", `{"rule":"R","resourceType":"t","params":{"k":1}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c abi.Criteria
			require.NoError(t, json.Unmarshal([]byte(tt.in), &c))
			got, err := json.Marshal(c)
			require.NoError(t, err)
			want := tt.out
			if want == "" {
				want = tt.in
			}
			require.JSONEq(t, want, string(got))
		})
	}
}

func TestCriteriaDecodeShape(t *testing.T) {
	var c abi.Criteria
	require.NoError(t, json.Unmarshal([]byte(`{"allOf":[{"rule":"A","resourceType":"t"},{"not":{"rule":"B","resourceType":"t","params":{}}}]}`), &c))
	require.False(t, c.Leaf())
	require.Len(t, c.AllOf, 2)
	require.True(t, c.AllOf[0].Leaf())
	require.Equal(t, "A", c.AllOf[0].Rule)
	require.Nil(t, c.AllOf[0].Params)
	require.NotNil(t, c.AllOf[1].Not)
	require.NotNil(t, c.AllOf[1].Not.Params, "params {} decodes to an empty, non-nil map")
	require.Empty(t, c.AllOf[1].Not.Params)
}

func TestCriteriaDecodeInvalid(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
	}{
		{"null", `null`, "must be an object"},
		{"array", `[{"rule":"A","resourceType":"t"}]`, "must be an object"},
		{"string", `"IS_OWNER"`, "must be an object"},
		{"empty object", `{}`, `needs "rule"`},
		{"empty allOf", `{"allOf":[]}`, "non-empty array"},
		{"empty anyOf", `{"anyOf":[]}`, "non-empty array"},
		{"null allOf", `{"allOf":null}`, "non-empty array"},
		{"allOf as object", `{"allOf":{"rule":"A","resourceType":"t"}}`, "allOf"},
		{"anyOf with null child", `{"anyOf":[null]}`, "must be an object"},
		{"anyOf with invalid child", `{"anyOf":[{"rule":"A"}]}`, `needs "resourceType"`},
		{"not as array", `{"not":[{"rule":"A","resourceType":"t"}]}`, "not must be a single criteria object"},
		{"not null", `{"not":null}`, "not must be a single criteria object"},
		{"not with invalid child", `{"not":{"rule":"","resourceType":"t"}}`, "rule must not be empty"},
		{"leaf without rule", `{"resourceType":"t","params":{}}`, `needs "rule"`},
		{"leaf without resourceType", `{"rule":"A","params":{}}`, `needs "resourceType"`},
		{"leaf with empty rule", `{"rule":"","resourceType":"t"}`, "rule must not be empty"},
		{"leaf with empty resourceType", `{"rule":"A","resourceType":""}`, "resourceType must not be empty"},
		{"rule not a string", `{"rule":1,"resourceType":"t"}`, "rule must be a string"},
		{"resourceType null", `{"rule":"A","resourceType":null}`, "resourceType must not be empty"},
		{"params as array", `{"rule":"A","resourceType":"t","params":[1]}`, "params must be an object"},
		{"params null", `{"rule":"A","resourceType":"t","params":null}`, "params must be an object"},
		{"params string", `{"rule":"A","resourceType":"t","params":"x"}`, "params must be an object"},
		{"allOf and anyOf", `{"allOf":[{"rule":"A","resourceType":"t"}],"anyOf":[{"rule":"A","resourceType":"t"}]}`, "unexpected key"},
		{"allOf and rule", `{"allOf":[{"rule":"A","resourceType":"t"}],"rule":"A"}`, "unexpected key"},
		{"not and rule", `{"not":{"rule":"A","resourceType":"t"},"rule":"A","resourceType":"t"}`, "unexpected key"},
		{"anyOf and not", `{"anyOf":[{"rule":"A","resourceType":"t"}],"not":{"rule":"A","resourceType":"t"}}`, "unexpected key"},
		{"unknown key on leaf", `{"rule":"A","resourceType":"t","extra":1}`, `unexpected key "extra"`},
		{"unknown key on allOf", `{"allOf":[{"rule":"A","resourceType":"t"}],"x":1}`, `unexpected key "x"`},
		{"wrong case key", `{"AllOf":[{"rule":"A","resourceType":"t"}]}`, `unexpected key "AllOf"`},
		{"deep unknown key", `{"anyOf":[{"not":{"rule":"A","resourceType":"t","Params":{}}}]}`, `unexpected key "Params"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c abi.Criteria
			err := json.Unmarshal([]byte(tt.in), &c)
			require.ErrorIs(t, err, abi.ErrInvalidCriteria)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

// chain builds a criteria tree depth levels deep: depth-1 nested nots over a leaf.
func chain(depth int, rt string) *abi.Criteria {
	c := &abi.Criteria{Rule: "R", ResourceType: rt}
	for i := 1; i < depth; i++ {
		c = &abi.Criteria{Not: c}
	}
	return c
}

// wide builds an anyOf of n leaves: n+1 nodes.
func wide(n int, rt string) *abi.Criteria {
	children := make([]abi.Criteria, n)
	for i := range children {
		children[i] = abi.Criteria{Rule: "R", ResourceType: rt}
	}
	return &abi.Criteria{AnyOf: children}
}

func TestCriteriaValidate(t *testing.T) {
	mixed := &abi.Criteria{AllOf: []abi.Criteria{
		{Rule: "A", ResourceType: "catalog-entity"},
		{Not: &abi.Criteria{Rule: "B", ResourceType: "other"}},
	}}
	tests := []struct {
		name    string
		c       *abi.Criteria
		rt      string
		wantErr string
	}{
		{"leaf", chain(1, "t"), "t", ""},
		{"depth at the limit", chain(32, "t"), "t", ""},
		{"depth over the limit", chain(33, "t"), "t", "deeper than 32 levels"},
		{"nodes at the limit", wide(999, "t"), "t", ""},
		{"nodes over the limit", wide(1000, "t"), "t", "more than 1000 nodes"},
		{"resourceType mismatch in a deep leaf", mixed, "catalog-entity", `condition "B" has resourceType "other", want "catalog-entity"`},
		{"no resourceType to compare", mixed, "", ""},
		{"empty allOf built in Go", &abi.Criteria{AllOf: []abi.Criteria{}}, "t", "must be non-empty"},
		{"empty anyOf built in Go", &abi.Criteria{AnyOf: []abi.Criteria{}}, "t", "must be non-empty"},
		{"leaf without rule built in Go", &abi.Criteria{ResourceType: "t"}, "t", "needs rule and resourceType"},
		{"two shapes built in Go", &abi.Criteria{AllOf: []abi.Criteria{*chain(1, "t")}, Not: chain(1, "t")}, "t", "exactly one of"},
		{"shape with leaf fields built in Go", &abi.Criteria{Not: chain(1, "t"), Rule: "X"}, "t", "exactly one of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Validate(tt.rt, abi.DefaultCriteriaDepth, abi.DefaultCriteriaNodes)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, abi.ErrInvalidCriteria)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestCriteriaDecodeDeepChainThenValidate(t *testing.T) {
	in := strings.Repeat(`{"not":`, 40) + `{"rule":"R","resourceType":"t"}` + strings.Repeat(`}`, 40)
	var c abi.Criteria
	require.NoError(t, json.Unmarshal([]byte(in), &c), "decoding does not limit depth; Validate and CheckDepth do")
	require.ErrorIs(t, c.Validate("t", abi.DefaultCriteriaDepth, abi.DefaultCriteriaNodes), abi.ErrInvalidCriteria)
	require.ErrorIs(t, wire.CheckDepth([]byte(in), abi.DefaultCriteriaDepth), wire.ErrTooDeep)
}
