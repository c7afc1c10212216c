// Package module loads one policy module with wazero and runs it: compile
// once, check the ABI v1 exports and imports, run the load lifecycle
// (_initialize, verdict_configure, verdict_describe), then serve calls from a
// pool of instances that are never shared between goroutines and are thrown
// away after any error.
//
// Every failure of a call (trap, timeout, zero return, output out of range,
// over the cap or invalid, an error envelope) turns into DENY answers with a
// reason; per item, a missing, duplicated or unknown id, or an invalid answer,
// is DENY. Nothing here can produce ALLOW except a valid ALLOW from the guest.
package module
