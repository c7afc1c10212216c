package conformance_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/abi/conformance"
)

func writeFile(dir, name, body string) error {
	return os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644)
}

func TestEcho(t *testing.T) {
	ref := "component:default/x"
	empty := ""
	tests := []struct {
		name string
		p    abi.Principal
		it   abi.Item
		want string
	}{
		{"none basic", abi.Principal{Type: abi.PrincipalNone},
			abi.Item{ID: "0", Permission: abi.Permission{Type: "basic", Name: "conf.reason"}},
			"name=conf.reason type=basic action=- resourceType=- ref=- principal=none user=- subject=- actor=- owners="},
		{"user full", abi.Principal{Type: abi.PrincipalUser, UserEntityRef: "user:default/a",
			OwnershipEntityRefs: []string{"g1", "g2"}, Actor: &abi.Actor{Type: "service", Subject: "plugin:x"}},
			abi.Item{ID: "0", Permission: abi.Permission{Type: "resource", Name: "conf.reason",
				Attributes: abi.Attributes{Action: "read"}, ResourceType: "catalog-entity"}, ResourceRef: &ref},
			"name=conf.reason type=resource action=read resourceType=catalog-entity ref=component:default/x principal=user user=user:default/a subject=- actor=plugin:x owners=g1,g2"},
		{"empty ref and actor without subject", abi.Principal{Type: abi.PrincipalUser, Actor: &abi.Actor{Type: "service"}},
			abi.Item{ID: "0", Permission: abi.Permission{Type: "basic", Name: "n"}, ResourceRef: &empty},
			"name=n type=basic action=- resourceType=- ref= principal=user user=- subject=- actor=- owners="},
		{"service", abi.Principal{Type: abi.PrincipalService, Subject: "external:bot"},
			abi.Item{ID: "0", Permission: abi.Permission{Type: "basic", Name: "conf.reason", Attributes: abi.Attributes{Action: "delete"}}},
			"name=conf.reason type=basic action=delete resourceType=- ref=- principal=service user=- subject=external:bot actor=- owners="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, conformance.Echo(tt.p, tt.it))
		})
	}
}

func TestDecideConditionsAreValid(t *testing.T) {
	p := abi.Principal{Type: abi.PrincipalUser, UserEntityRef: "user:default/a", OwnershipEntityRefs: []string{"g"}}
	for _, name := range []string{"conf.cond.owner", "conf.cond.noparams", "conf.cond.params", "conf.cond.not",
		"conf.cond.allof", "conf.cond.anyof", "conf.cond.nested"} {
		t.Run(name, func(t *testing.T) {
			perm := abi.Permission{Type: abi.PermissionResource, Name: name, ResourceType: "catalog-entity"}
			a := conformance.Decide(p, abi.Item{ID: "0", Permission: perm})
			require.Equal(t, abi.Conditional, a.Result)
			require.Equal(t, conformance.PluginID, a.PluginID)
			require.NoError(t, abi.CheckAnswer(&a, perm, abi.DefaultCriteriaDepth, abi.DefaultCriteriaNodes))
		})
	}
}
