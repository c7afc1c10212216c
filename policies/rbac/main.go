// Command rbac is Verdict's role-based access control policy: a drop-in
// replacement for the Backstage community RBAC plugin
// (@backstage-community/plugin-rbac-backend 8.1.3) that reads the plugin's
// own policy files. See README.md for the settings and the rules.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o rbac.wasm .
//
// Everything is parsed, checked and indexed once, in Configure; a decision
// resolves the principal's roles once per batch, then costs a few map
// lookups per item.
package main

import verdict "github.com/verdictpdp/verdict/sdk/go"

// version is the module's version, reported by verdict_describe.
const version = "0.1.0"

// newPolicy returns the policy with its own state, so that tests can make
// as many as they like.
func rbacPolicy() verdict.Policy {
	var cur *policy
	return verdict.Policy{
		Name:    "rbac",
		Version: version,
		Configure: func(s *verdict.Settings) error {
			p, err := configure(s)
			if err != nil {
				return err
			}
			cur = p
			return nil
		},
		ClaimsFunc: func() []string { return cur.claims() },
		DecideBatch: func(pr *verdict.Principal, items []verdict.Item, out []verdict.Decision) {
			cur.decideBatch(pr, items, out)
		},
	}
}

func init() { verdict.Register(rbacPolicy()) }

// main is never run in a c-shared (reactor) module.
func main() {}
