package wire

import "errors"

// Sentinel errors of this package; wrapped errors carry the detail.
var (
	// ErrTooDeep: JSON nests deeper than allowed.
	ErrTooDeep = errors.New("JSON nested too deeply")
	// ErrAmbiguous is returned by DecodeValue for JSON text that parsers read
	// in different ways: a key repeated in one object, bytes that are not
	// UTF-8, or a \u escape of an unpaired UTF-16 surrogate.
	ErrAmbiguous = errors.New("ambiguous JSON")
	// ErrRepeatedID is wrapped by DecodeAnswer's error for an answer object
	// with more than one "id" key.
	ErrRepeatedID = errors.New(`an answer repeats its "id" key`)
)
