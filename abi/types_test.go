package abi_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
)

func TestPrincipalMarshalJSON(t *testing.T) {
	tests := []struct {
		name string
		p    abi.Principal
		want string
	}{
		{"user with refs", abi.Principal{Type: "user", UserEntityRef: "user:default/a", OwnershipEntityRefs: []string{"user:default/a", "group:default/g"}},
			`{"type":"user","userEntityRef":"user:default/a","ownershipEntityRefs":["user:default/a","group:default/g"]}`},
		{"user with nil refs", abi.Principal{Type: "user", UserEntityRef: "user:default/a"},
			`{"type":"user","userEntityRef":"user:default/a","ownershipEntityRefs":[]}`},
		{"user with empty refs", abi.Principal{Type: "user", UserEntityRef: "user:default/a", OwnershipEntityRefs: []string{}},
			`{"type":"user","userEntityRef":"user:default/a","ownershipEntityRefs":[]}`},
		{"user with actor", abi.Principal{Type: "user", UserEntityRef: "user:default/a", Actor: &abi.Actor{Type: "service", Subject: "plugin:catalog"}},
			`{"type":"user","userEntityRef":"user:default/a","ownershipEntityRefs":[],"actor":{"type":"service","subject":"plugin:catalog"}}`},
		{"user drops subject", abi.Principal{Type: "user", UserEntityRef: "user:default/a", Subject: "x"},
			`{"type":"user","userEntityRef":"user:default/a","ownershipEntityRefs":[]}`},
		{"service", abi.Principal{Type: "service", Subject: "external:bot"}, `{"type":"service","subject":"external:bot"}`},
		{"service drops refs", abi.Principal{Type: "service", Subject: "s", OwnershipEntityRefs: []string{"g"}}, `{"type":"service","subject":"s"}`},
		{"none", abi.Principal{Type: "none"}, `{"type":"none"}`},
		{"none drops refs", abi.Principal{Type: "none", OwnershipEntityRefs: []string{}}, `{"type":"none"}`},
		{"service drops user fields", abi.Principal{Type: "service", Subject: "s", UserEntityRef: "user:default/a",
			Actor: &abi.Actor{Type: "service", Subject: "x"}}, `{"type":"service","subject":"s"}`},
		{"none drops everything", abi.Principal{Type: "none", Subject: "s", UserEntityRef: "user:default/a"}, `{"type":"none"}`},
		{"user drops subject", abi.Principal{Type: "user", UserEntityRef: "user:default/a", Subject: "s"},
			`{"type":"user","userEntityRef":"user:default/a","ownershipEntityRefs":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.p)
			require.NoError(t, err)
			require.Equal(t, tt.want, string(got))
		})
	}
}

func TestRequestMarshalJSON(t *testing.T) {
	ref := "component:default/web"
	req := abi.Request{ABI: abi.Version, Principal: abi.Principal{Type: "none"}, Items: []abi.Item{
		{ID: "0", Permission: abi.Permission{Type: "basic", Name: "x"}},
		{ID: "1", Permission: abi.Permission{Type: "resource", Name: "y", ResourceType: "t", Attributes: abi.Attributes{Action: "read"}}, ResourceRef: &ref},
	}}
	got, err := json.Marshal(req)
	require.NoError(t, err)
	require.Equal(t, `{"abi":1,"principal":{"type":"none"},"items":[`+
		`{"id":"0","permission":{"type":"basic","name":"x","attributes":{}}},`+
		`{"id":"1","permission":{"type":"resource","name":"y","attributes":{"action":"read"},"resourceType":"t"},"resourceRef":"component:default/web"}]}`,
		string(got))
}

func TestConfigureInputMarshalJSON(t *testing.T) {
	tests := []struct {
		name string
		in   abi.ConfigureInput
		want string
	}{
		{"zero", abi.ConfigureInput{}, `{"settings":null,"files":{}}`},
		{"settings only", abi.ConfigureInput{Settings: json.RawMessage(`{"allow": ["a"]}`)}, `{"settings":{"allow":["a"]},"files":{}}`},
		{"explicit null", abi.ConfigureInput{Settings: json.RawMessage(`null`), Files: map[string]string{}}, `{"settings":null,"files":{}}`},
		{"files", abi.ConfigureInput{Files: map[string]string{"policy.csv": "p, role:a, x\n", "a.txt": "é"}},
			`{"settings":null,"files":{"a.txt":"é","policy.csv":"p, role:a, x\n"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.in)
			require.NoError(t, err)
			require.Equal(t, tt.want, string(got))
		})
	}
	t.Run("invalid settings", func(t *testing.T) {
		_, err := json.Marshal(abi.ConfigureInput{Settings: json.RawMessage(`{`)})
		require.Error(t, err)
	})
}

func TestResponseMarshalJSON(t *testing.T) {
	tests := []struct {
		name string
		r    abi.Response
		want string
	}{
		{"zero", abi.Response{}, `{"items":[]}`},
		{"empty items", abi.Response{Items: []abi.Answer{}}, `{"items":[]}`},
		{"items", abi.Response{Items: []abi.Answer{{ID: "0", Result: abi.Allow}, {ID: "1", Result: abi.Deny, Reason: "r"}}},
			`{"items":[{"id":"0","result":"ALLOW"},{"id":"1","result":"DENY","reason":"r"}]}`},
		{"conditional", abi.Response{Items: []abi.Answer{{ID: "0", Result: abi.Conditional, PluginID: "catalog", ResourceType: "t",
			Conditions: &abi.Criteria{Rule: "R", ResourceType: "t", Params: map[string]json.RawMessage{"k": json.RawMessage(`[1]`)}}}}},
			`{"items":[{"id":"0","result":"CONDITIONAL","pluginId":"catalog","resourceType":"t","conditions":{"rule":"R","resourceType":"t","params":{"k":[1]}}}]}`},
		{"error wins over items", abi.Response{Items: []abi.Answer{{ID: "0", Result: abi.Allow}}, Error: &abi.GuestError{Code: "boom", Message: "policy exploded"}},
			`{"error":{"code":"boom","message":"policy exploded"}}`},
		{"empty id kept", abi.Response{Items: []abi.Answer{{ID: "", Result: abi.Abstain}}}, `{"items":[{"id":"","result":"ABSTAIN"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.r)
			require.NoError(t, err)
			require.Equal(t, tt.want, string(got))
		})
	}
}

func TestResultValid(t *testing.T) {
	for _, r := range []abi.Result{abi.Allow, abi.Deny, abi.Conditional, abi.Abstain} {
		require.True(t, r.Valid(), r)
	}
	for _, r := range []abi.Result{"", "allow", "MAYBE", "ALLOW "} {
		require.False(t, r.Valid(), r)
	}
}
