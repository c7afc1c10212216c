package wire

import "github.com/verdictpdp/verdict/abi"

// ResponseView is a guest's verdict_evaluate output split by ParseResponse:
// the error envelope, or the raw answers to decode one by one with
// DecodeAnswer (so that a bad answer fails only its own item).
type ResponseView struct {
	// Items holds each element of "items", exactly its bytes (sub-slices of
	// the parsed output, which they alias). It is nil when "items" is absent
	// or null, and empty but not nil for [].
	Items [][]byte
	// Error is the error envelope, or nil when "error" is absent or null. A
	// host gives it precedence over Items.
	Error *abi.GuestError
}

// ParseResponse validates a guest's whole verdict_evaluate output as JSON,
// nested at most maxDepth levels (DefaultJSONDepth when maxDepth ≤ 0), and
// splits it into answers or an error envelope without decoding the answers.
// It fails when the output is not valid JSON, is neither an object nor null,
// has "items" that is not an array, or "error" that is not an object of
// strings. Keys are exact and a duplicate "items", "error", "code" or
// "message" is an error (the package documentation says how that differs
// from encoding/json).
func ParseResponse(data []byte, maxDepth int) (ResponseView, error) {
	d := newDecoder(data, maxDepth)
	var v ResponseView
	if d.null() {
		return v, d.end()
	}
	var seen uint8
	err := d.object(func(key []byte) error {
		switch string(key) {
		case "items":
			if err := d.once(&seen, 1, key); err != nil {
				return err
			}
			return d.items(&v)
		case "error":
			if err := d.once(&seen, 2, key); err != nil {
				return err
			}
			if d.null() {
				v.Error = nil
				return nil
			}
			v.Error = &abi.GuestError{}
			return d.guestError(v.Error)
		}
		return d.skip()
	})
	if err == nil {
		err = d.end()
	}
	if err != nil {
		return ResponseView{}, err
	}
	return v, nil
}

func (d *decoder) items(v *ResponseView) error {
	if d.null() {
		v.Items = nil
		return nil
	}
	v.Items = [][]byte{}
	return d.array(func() error {
		start := d.pos
		if err := d.skip(); err != nil {
			return err
		}
		v.Items = append(v.Items, d.data[start:d.pos:d.pos])
		return nil
	})
}

func (d *decoder) guestError(g *abi.GuestError) error {
	var seen uint8
	return d.object(func(key []byte) error {
		switch string(key) {
		case "code":
			if err := d.once(&seen, 1, key); err != nil {
				return err
			}
			return d.stringField(&g.Code)
		case "message":
			if err := d.once(&seen, 2, key); err != nil {
				return err
			}
			return d.stringField(&g.Message)
		}
		return d.skip()
	})
}
