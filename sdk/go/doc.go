// Package verdict is the Go SDK for Verdict policy modules: WebAssembly
// modules that answer "may this principal have this permission?" for the
// Verdict authorization service, through its policy ABI v1.
//
// A policy is a main package that registers a Policy from an init function
// and is built as a WASI reactor:
//
//	package main
//
//	import verdict "github.com/verdictpdp/verdict/sdk/go"
//
//	func init() {
//		verdict.Register(verdict.Policy{
//			Name:    "allow-reads",
//			Version: "1.0.0",
//			Claims:  []string{"catalog.*"},
//			Decide: func(p *verdict.Principal, it *verdict.Item) verdict.Decision {
//				if it.Permission.Attributes.Action == "read" {
//					return verdict.Allowed("reads are open")
//				}
//				return verdict.Abstained()
//			},
//		})
//	}
//
//	func main() {}
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o allow-reads.wasm .
//
// # Design
//
// Registration from init. A c-shared Wasm module runs package initialisation
// in _initialize and never runs main, so init is the only place a policy can
// make itself known. Register may be called once; a missing or invalid
// registration makes the module fail to load with a message, never serve.
//
// No reflection on the hot path. The host gives the guest canonical JSON and
// the SDK decodes it with a small hand-written scanner into reused structs,
// and writes answers with a hand-written encoder into a reused buffer. The
// research behind the ABI measured encoding/json at 36-39 µs per call in a
// Go guest; the scanner follows encoding/json's rules (checked by a fuzz test
// against it) except that keys match case-sensitively. The package does not
// import encoding/json or fmt, which also keeps modules small.
//
// Fail closed. A panic in the policy becomes an error envelope (the host
// denies the whole batch and discards the instance); an answer that the host
// would reject (a CONDITIONAL for a basic permission, empty allOf, a zero
// Result, ...) becomes DENY with a reason that says what was wrong.
//
// Native tests. Everything but the Wasm exports and the log import compiles
// natively, so policies are tested with plain go test: NewRunner runs a
// Policy through exactly the bytes the host exchanges with the module.
package verdict
