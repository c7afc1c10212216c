package abi

import "errors"

// Sentinel errors of this package; wrapped errors carry the detail.
var (
	// ErrInvalidCriteria: a criteria tree breaks Backstage's rules or a limit.
	ErrInvalidCriteria = errors.New("invalid criteria")
	// ErrInvalidAnswer: a module's answer for an item is not acceptable.
	ErrInvalidAnswer = errors.New("invalid answer")
	// ErrTooDeep: JSON nests deeper than allowed.
	ErrTooDeep = errors.New("JSON nested too deeply")
)
