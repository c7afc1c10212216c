package abi

// The decoder half of the codec (see codec.go): splitting a guest's output
// into answers and decoding each answer and its criteria.

import (
	"encoding/json"
	"fmt"
)

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
	Error *GuestError
}

// ParseResponse validates a guest's whole verdict_evaluate output as JSON,
// nested at most maxDepth levels (DefaultJSONDepth when maxDepth ≤ 0), and
// splits it into answers or an error envelope without decoding the answers.
// It fails when the output is not valid JSON, is neither an object nor null,
// has "items" that is not an array, or "error" that is not an object of
// strings. Keys are exact and a duplicate "items", "error", "code" or
// "message" is an error (see the file comment for how that differs from
// encoding/json).
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
			v.Error = &GuestError{}
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

func (d *decoder) guestError(g *GuestError) error {
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

// DecodeAnswer decodes one answer object (an element of ResponseView.Items)
// into an Answer, its conditions built directly by a strict criteria parser
// with the rules of Criteria.UnmarshalJSON. The text must be one valid JSON
// value nested at most maxDepth levels (DefaultJSONDepth when maxDepth ≤ 0).
// It checks shapes only: results, limits and resource types are for
// CheckAnswer.
//
// When decoding fails, the returned Answer holds only the ID, if raw is a
// valid JSON object with exactly one "id" that is a string, so that a host can
// deny that item alone; otherwise it is zero. Criteria errors wrap
// ErrInvalidCriteria and nesting errors ErrTooDeep.
//
// Decoded strings share one copy of raw and params values share another, so
// an Answer keeps up to twice len(raw) alive; raw itself is not retained.
func DecodeAnswer(raw []byte, maxDepth int) (Answer, error) {
	d := newDecoder(raw, maxDepth)
	d.share = true
	a, err := d.answer()
	if err == nil {
		err = d.end()
	}
	if err != nil {
		return Answer{ID: recoverID(raw)}, err
	}
	return a, nil
}

// Answer keys, as bits of the set of keys seen.
const (
	keyID uint8 = 1 << iota
	keyResult
	keyPluginID
	keyResourceType
	keyConditions
	keyReason
)

func (d *decoder) answer() (Answer, error) {
	var a Answer
	if d.null() {
		return a, nil
	}
	var seen uint8
	err := d.object(func(key []byte) error {
		switch string(key) {
		case "id":
			if err := d.once(&seen, keyID, key); err != nil {
				return err
			}
			return d.stringField(&a.ID)
		case "result":
			if err := d.once(&seen, keyResult, key); err != nil {
				return err
			}
			var s string
			err := d.stringField(&s)
			a.Result = Result(s)
			return err
		case "pluginId":
			if err := d.once(&seen, keyPluginID, key); err != nil {
				return err
			}
			return d.stringField(&a.PluginID)
		case "resourceType":
			if err := d.once(&seen, keyResourceType, key); err != nil {
				return err
			}
			return d.stringField(&a.ResourceType)
		case "conditions":
			if err := d.once(&seen, keyConditions, key); err != nil {
				return err
			}
			if d.null() {
				return nil
			}
			a.Conditions = &Criteria{}
			return d.criteria(a.Conditions)
		case "reason":
			if err := d.once(&seen, keyReason, key); err != nil {
				return err
			}
			return d.stringField(&a.Reason)
		}
		return d.skip()
	})
	return a, err
}

// recoverID returns the id of a syntactically valid answer object with
// exactly one "id" whose value is a string, and "" otherwise.
func recoverID(raw []byte) string {
	d := newDecoder(raw, int(^uint(0)>>1)) // only the id matters here
	var id string
	var seen uint8
	err := d.object(func(key []byte) error {
		if string(key) == "id" {
			if err := d.once(&seen, keyID, key); err != nil {
				return err
			}
			return d.stringField(&id)
		}
		return d.skip()
	})
	if err != nil || d.end() != nil {
		return ""
	}
	return id
}

// Criteria node keys, as bits of the set of keys seen.
const (
	keyAllOf uint8 = 1 << iota
	keyAnyOf
	keyNot
	keyRule
	keyLeafType
	keyParams
)

// criteria decodes one criteria node with Criteria.UnmarshalJSON's rules.
func (d *decoder) criteria(c *Criteria) error {
	if d.peek() != '{' {
		return fmt.Errorf("%w: a criteria node must be an object", ErrInvalidCriteria)
	}
	var seen uint8
	err := d.object(func(key []byte) error {
		var bit uint8
		switch string(key) {
		case "allOf":
			bit = keyAllOf
		case "anyOf":
			bit = keyAnyOf
		case "not":
			bit = keyNot
		case "rule":
			bit = keyRule
		case "resourceType":
			bit = keyLeafType
		case "params":
			bit = keyParams
		default:
			return fmt.Errorf("%w: unexpected key %q", ErrInvalidCriteria, key)
		}
		if seen&bit != 0 {
			return fmt.Errorf("%w: duplicate key %q", ErrInvalidCriteria, key)
		}
		seen |= bit
		if bit <= keyNot && seen != bit || bit > keyNot && seen&(keyAllOf|keyAnyOf|keyNot) != 0 {
			return fmt.Errorf("%w: a node is exactly one of allOf, anyOf, not or a leaf", ErrInvalidCriteria)
		}
		switch bit {
		case keyAllOf:
			return d.criteriaList(&c.AllOf, "allOf")
		case keyAnyOf:
			return d.criteriaList(&c.AnyOf, "anyOf")
		case keyNot:
			if d.peek() != '{' {
				return fmt.Errorf("%w: not must be a single criteria object", ErrInvalidCriteria)
			}
			c.Not = &Criteria{}
			return d.criteria(c.Not)
		case keyRule:
			return d.leafString(&c.Rule, "rule")
		case keyLeafType:
			return d.leafString(&c.ResourceType, "resourceType")
		}
		return d.params(c)
	})
	if err != nil {
		return err
	}
	if seen&(keyAllOf|keyAnyOf|keyNot) == 0 {
		if seen&keyRule == 0 {
			return fmt.Errorf("%w: a leaf condition needs %q", ErrInvalidCriteria, "rule")
		}
		if seen&keyLeafType == 0 {
			return fmt.Errorf("%w: a leaf condition needs %q", ErrInvalidCriteria, "resourceType")
		}
	}
	return nil
}

func (d *decoder) criteriaList(dst *[]Criteria, key string) error {
	if d.peek() != '[' {
		if d.null() {
			return fmt.Errorf("%w: %s must be a non-empty array", ErrInvalidCriteria, key)
		}
		return fmt.Errorf("%w: %s must be an array", ErrInvalidCriteria, key)
	}
	list := make([]Criteria, 0, 2)
	err := d.array(func() error {
		list = append(list, Criteria{})
		return d.criteria(&list[len(list)-1])
	})
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return fmt.Errorf("%w: %s must be a non-empty array", ErrInvalidCriteria, key)
	}
	*dst = list
	return nil
}

func (d *decoder) leafString(dst *string, key string) error {
	if err := d.stringField(dst); err != nil {
		return fmt.Errorf("%w: %s must be a string", ErrInvalidCriteria, key)
	}
	if *dst == "" {
		return fmt.Errorf("%w: %s must not be empty", ErrInvalidCriteria, key)
	}
	return nil
}

func (d *decoder) params(c *Criteria) error {
	if d.peek() != '{' {
		return fmt.Errorf("%w: params must be an object", ErrInvalidCriteria)
	}
	params := map[string]json.RawMessage{}
	err := d.object(func(key []byte) error {
		k := d.keyString()
		if _, dup := params[k]; dup {
			return fmt.Errorf("%w: params: duplicate key %q", ErrInvalidCriteria, k)
		}
		start := d.pos
		if err := d.skip(); err != nil {
			return err
		}
		params[k] = d.rawCopy(start, d.pos)
		return nil
	})
	if err != nil {
		return err
	}
	c.Params = params
	return nil
}
