// Command deny-all is a Verdict policy module that denies every permission.
// Under deny-overrides it closes everything; it is useful as a kill switch
// and in tests of the host.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o deny-all.wasm .
package main

import verdict "github.com/verdictpdp/verdict/sdk/go"

// policy returns the policy; init registers it and tests run it natively.
func policy() verdict.Policy {
	return verdict.Policy{
		Name:    "deny-all",
		Version: "1.0.0",
		Claims:  []string{"*"},
		Decide: func(*verdict.Principal, *verdict.Item) verdict.Decision {
			return verdict.Denied("deny-all policy")
		},
	}
}

func init() { verdict.Register(policy()) }

// main is never run in a c-shared (reactor) module.
func main() {}
