package module

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
)

func TestDecode(t *testing.T) {
	resource := abi.Permission{Type: abi.PermissionResource, Name: "catalog.entity.read", ResourceType: "catalog-entity"}
	basic := abi.Permission{Type: abi.PermissionBasic, Name: "catalog.entity.create"}
	leaf := `{"rule":"IS_ENTITY_OWNER","resourceType":"catalog-entity","params":{"claims":["user:default/a"]}}`
	nest := func(wrapper string, n int) string {
		s := leaf
		for i := 0; i < n; i++ {
			s = strings.Replace(wrapper, "X", s, 1)
		}
		return s
	}
	cond := func(id, criteria string) string {
		return `{"id":"` + id + `","result":"CONDITIONAL","pluginId":"catalog","resourceType":"catalog-entity","conditions":` + criteria + `}`
	}
	tests := []struct {
		name  string
		perms []abi.Permission
		out   string
		want  []abi.Result
		err   string
	}{
		{"valid", []abi.Permission{basic, resource},
			`{"items":[{"id":"1","result":"ABSTAIN"},{"id":"0","result":"ALLOW"}]}`,
			[]abi.Result{abi.Allow, abi.Abstain}, ""},
		{"31 nested allOf levels are valid", []abi.Permission{resource},
			`{"items":[` + cond("0", nest(`{"allOf":[X]}`, 31)) + `]}`, []abi.Result{abi.Conditional}, ""},
		{"31 nested not levels are valid", []abi.Permission{resource},
			`{"items":[` + cond("0", nest(`{"not":X}`, 31)) + `]}`, []abi.Result{abi.Conditional}, ""},
		{"criteria deeper than the limit deny that item only", []abi.Permission{resource, basic},
			`{"items":[` + cond("0", nest(`{"not":X}`, 33)) + `,{"id":"1","result":"ALLOW"}]}`,
			[]abi.Result{abi.Deny, abi.Allow}, ""},
		{"malformed criteria deny that item only", []abi.Permission{resource, basic},
			`{"items":[` + cond("0", `{"allOf":[]}`) + `,{"id":"1","result":"ALLOW"}]}`,
			[]abi.Result{abi.Deny, abi.Allow}, ""},
		{"an answer that is not an object is ignored", []abi.Permission{basic},
			`{"items":[7,{"id":"0","result":"ALLOW"}]}`, []abi.Result{abi.Allow}, ""},
		{"ids are canonical decimal", []abi.Permission{basic},
			`{"items":[{"id":"00","result":"ALLOW"},{"id":"+0","result":"ALLOW"}]}`, []abi.Result{abi.Deny}, ""},
		{"neither items nor error", []abi.Permission{basic}, `{}`, nil, "neither items nor error"},
		{"error envelope", []abi.Permission{basic}, `{"error":{"code":"x","message":"y"}}`, nil, "guest error: x: y"},
		{"depth bomb", []abi.Permission{basic}, `{"items":[` + strings.Repeat("[", 100) + `]}`, nil, "nested too deeply"},
		{"not JSON", []abi.Permission{basic}, `nope`, nil, "not a valid response"},
	}
	m := &Module{name: "t", opts: Options{Log: slog.New(slog.DiscardHandler)}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items := make([]abi.Item, len(tt.perms))
			for i, p := range tt.perms {
				items[i] = abi.Item{Permission: p}
			}
			answers := make([]abi.Answer, len(items))
			err := m.decode([]byte(tt.out), items, answers)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			for i, w := range tt.want {
				require.Equal(t, w, answers[i].Result, "item %d: %s", i, answers[i].Reason)
			}
		})
	}
}
