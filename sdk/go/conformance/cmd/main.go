// Command conformance is the Go SDK's conformance policy as a Verdict policy
// module. Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o conformance.wasm .
package main

import (
	verdict "github.com/verdictpdp/verdict/sdk/go"
	"github.com/verdictpdp/verdict/sdk/go/conformance"
)

func init() { verdict.Register(conformance.Policy()) }

// main is not run in a c-shared (reactor) module; it exists because a
// module must be a main package.
func main() {}
