// Command allow-all is a Verdict policy module that allows every permission.
// It is meant for development and for tests of the host; never load it next
// to real policies under deny-overrides unless you mean it.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o allow-all.wasm .
package main

import verdict "github.com/verdictpdp/verdict/sdk/go"

// policy returns the policy; init registers it and tests run it natively.
func policy() verdict.Policy {
	return verdict.Policy{
		Name:    "allow-all",
		Version: "1.0.0",
		Claims:  []string{"*"},
		Decide: func(*verdict.Principal, *verdict.Item) verdict.Decision {
			return verdict.Allowed("allow-all policy")
		},
	}
}

func init() { verdict.Register(policy()) }

// main is never run in a c-shared (reactor) module.
func main() {}
