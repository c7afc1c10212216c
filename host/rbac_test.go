package host

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/internal/testing/rbactable"
)

// The RBAC decision table lives with the policy, in
// policies/rbac/testdata/cases.json (its README says where each plugin file
// comes from); these tests run it through the whole host: the drop-in
// directory (rbac.wasm, rbac.json, rbac.d/), verdict_configure, routing,
// the guest call and combining.
const rbacTestdata = "../policies/rbac/testdata"

// rbacDir makes a policy directory: rbac.wasm, rbac.json (unless settings
// is null) and rbac.d/ with the files ("=text" literal, else a testdata
// file).
func rbacDir(t testing.TB, settings json.RawMessage, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	wasm, err := os.ReadFile(guest(t, "policies/rbac.wasm"))
	require.NoError(t, err)
	rbactable.WriteDir(t, dir, wasm, rbacTestdata, settings, files)
	return dir
}

func rbacHost(t testing.TB, dir string) *Host {
	t.Helper()
	cfg := testConfig()
	cfg.CallTimeout = 10 * time.Second // answers, not speed; a cold Go guest is slow under -race
	cfg.LoadTimeout = 60 * time.Second
	h, err := New(context.Background(), cfg, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	require.NoError(t, h.LoadDir(context.Background(), dir))
	return h
}

// rbacPrincipal is the principal of case c.
func rbacPrincipal(t testing.TB, c *rbactable.Case) abi.Principal {
	if c.User != "" {
		return abi.Principal{Type: abi.PrincipalUser, UserEntityRef: c.User, OwnershipEntityRefs: c.Owners()}
	}
	var p abi.Principal
	require.NoError(t, json.Unmarshal(c.Principal, &p))
	return p
}

// rbacQuery is the query of case c.
func rbacQuery(c *rbactable.Case) Query {
	p := abi.Permission{Type: abi.PermissionBasic, Name: c.Perm, Attributes: abi.Attributes{Action: c.Action}}
	if c.RT != "" {
		p.Type, p.ResourceType = abi.PermissionResource, c.RT
	}
	return Query{Permission: p}
}

// TestRBACDecisionTable: every case of the table, through the host. ABSTAIN
// becomes the host's default, DENY.
func TestRBACDecisionTable(t *testing.T) {
	tb := rbactable.Load(t, rbacTestdata)
	hosts := map[string]*Host{}
	for name, s := range tb.Setups {
		h := rbacHost(t, rbacDir(t, s.Settings, s.Files))
		st := status(t, h, "rbac")
		require.Equal(t, StatusOK, st.Status, "setup %s: %s", name, st.Message)
		hosts[name] = h
	}
	for _, c := range tb.Cases {
		t.Run(c.Name, func(t *testing.T) {
			ds, err := hosts[c.Setup].Decide(context.Background(), rbacPrincipal(t, &c), []Query{rbacQuery(&c)})
			require.NoError(t, err)
			require.Len(t, ds.Items, 1)
			d := ds.Items[0]
			if c.Result != "ABSTAIN" {
				require.Contains(t, d.Reason, c.Reason)
			}
			require.Equal(t, c.HostResult(), string(d.Result), d.Reason)
			require.Equal(t, c.PluginID, d.PluginID)
			if c.Conditions != nil {
				b, err := json.Marshal(d.Conditions)
				require.NoError(t, err)
				require.JSONEq(t, string(c.Conditions), string(b))
				require.Equal(t, c.RT, d.ResourceType)
			}
		})
	}
	for _, c := range tb.Refusals {
		t.Run("refuses/"+c.Name, func(t *testing.T) {
			h := rbacHost(t, rbacDir(t, c.Settings, c.Files))
			st := status(t, h, "rbac")
			require.Equal(t, StatusError, st.Status)
			require.Contains(t, st.Message, c.Error)
		})
	}
}

// TestRBACReadsYAMLSettings: rbac.yaml (the plugin's permission.rbac block,
// pasted) is converted to JSON by the host.
func TestRBACReadsYAMLSettings(t *testing.T) {
	dir := rbacDir(t, nil, map[string]string{"rbac-policy.csv": "readme-rbac-policy.csv"})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "rbac.yaml"), []byte(
		"policies-csv-file: /some/path/rbac-policy.csv\npolicyFileReload: true\nadmin:\n  users:\n    - name: user:default/alice\n    - name: group:default/admins\n"+
			"  superUsers:\n    - name: user:default/mike\n"), 0o644))
	h := rbacHost(t, dir)
	require.Equal(t, StatusOK, status(t, h, "rbac").Status, status(t, h, "rbac").Message)
	bob := abi.Principal{Type: abi.PrincipalUser, UserEntityRef: "user:default/bob", OwnershipEntityRefs: []string{"user:default/bob"}}
	q := resource("catalog.entity.read", "catalog-entity", nil)
	q.Permission.Attributes.Action = "read"
	ds, err := h.Decide(context.Background(), bob, []Query{q})
	require.NoError(t, err)
	require.Equal(t, abi.Deny, ds.Items[0].Result)
	require.Contains(t, ds.Items[0].Reason, "rbac-policy.csv line 1")
}

// BenchmarkRBAC: 1,000 users in 100 groups and 50 roles
// (policies/rbac/testdata/bench), 50-item batches, through the host; the
// allow-all module on the same inputs is the floor (the host and the Go
// guest's call path), so the difference is what RBAC's decisions cost.
func BenchmarkRBAC(b *testing.B) {
	users, items := benchInputs()
	for _, mod := range []string{"rbac", "allow-all"} {
		b.Run(mod, func(b *testing.B) {
			var h *Host
			if mod == "rbac" {
				h = rbacHost(b, rbacDir(b, json.RawMessage(`{"policies-csv-file":"bench.csv","conditionalPoliciesFile":"bench-conditions.yaml"}`),
					map[string]string{"bench.csv": "bench/bench.csv", "bench-conditions.yaml": "bench/bench-conditions.yaml"}))
			} else {
				dir := b.TempDir()
				wasm, err := os.ReadFile(guest(b, "policies/allow-all.wasm"))
				require.NoError(b, err)
				require.NoError(b, os.WriteFile(filepath.Join(dir, "allow-all.wasm"), wasm, 0o644))
				h = rbacHost(b, dir)
			}
			require.Equal(b, StatusOK, status(b, h, mod).Status, status(b, h, mod).Message)
			for _, u := range users[:10] { // warm the instances
				_, err := h.Decide(context.Background(), u, items)
				require.NoError(b, err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := h.Decide(context.Background(), users[i%len(users)], items); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(items)), "ns/decision")
		})
	}
}

// benchInputs mirrors policies/rbac's benchmark: users u0..u999, user i in
// groups g(i%100) and g((i*7)%100); 50 permissions over names and types.
func benchInputs() ([]abi.Principal, []Query) {
	var users []abi.Principal
	for i := 0; i < 1000; i++ {
		u := "user:default/u" + itoa(i)
		users = append(users, abi.Principal{Type: abi.PrincipalUser, UserEntityRef: u,
			OwnershipEntityRefs: []string{u, "group:default/g" + itoa(i%100), "group:default/g" + itoa((i*7)%100)}})
	}
	acts := []string{"read", "update", "delete", "create", ""}
	var qs []Query
	for i := 0; i < 50; i++ {
		a := acts[i%len(acts)]
		if i%2 == 0 {
			qs = append(qs, Query{Permission: abi.Permission{Type: abi.PermissionResource, Name: "plugin" + itoa(i%10) + ".entity." + itoa(i),
				ResourceType: "type-" + itoa((i/2)%10), Attributes: abi.Attributes{Action: a}}})
		} else {
			qs = append(qs, Query{Permission: abi.Permission{Type: abi.PermissionBasic, Name: "perm." + itoa(i%25),
				Attributes: abi.Attributes{Action: a}}})
		}
	}
	return users, qs
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}
