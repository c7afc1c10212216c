package module

import (
	"bytes"
	"encoding/json"
)

// repeatsID reports whether raw, one answer of a guest's output, is an
// object with more than one "id" key (compared after unescaping). The abi
// decoder refuses such an answer and cannot say which item it was for,
// while a reader that keeps the last key (encoding/json, JSON.parse) would
// attribute it to the last id: rather than read the output one way, the
// host refuses it whole (found by FuzzGuestOutput).
func repeatsID(raw []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	ids := 0
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if tok == "id" {
			ids++
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return false
		}
	}
	return ids > 1
}
