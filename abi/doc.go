// Package abi holds the contract between the Verdict host and policy modules:
// the names of the exports and imports of ABI v1, the JSON wire types that
// cross the boundary, and their validation.
//
// The normative description is SPEC.md in this directory. This package uses
// the standard library only, so that tools and SDK test harnesses can import it
// without pulling in the host.
package abi
