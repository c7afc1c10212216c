// Package abi holds the contract between the Verdict host and policy modules:
// the names of the exports and imports of ABI v1, the JSON wire types that
// cross the boundary, their validation, and the seal a module file may carry.
//
// The normative description is SPEC.md in this directory. This package uses
// the standard library only (and internal/wasmbin, the module's Wasm section
// reader, itself standard library only), so that tools and SDK test harnesses
// can import it without pulling in the host. The host's own encoder and decoder for these
// types (internal/wire) are machinery, not contract: they write the bytes
// encoding/json writes and read what it reads, stricter only where that
// package's documentation says.
package abi
