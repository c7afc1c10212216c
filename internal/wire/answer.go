package wire

import (
	"fmt"

	"github.com/verdictpdp/verdict/abi"
)

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
// abi.ErrInvalidCriteria and nesting errors ErrTooDeep. When raw is a valid
// JSON object with more than one "id" key (compared after unescaping), the
// error wraps ErrRepeatedID: which item such an answer is for is ambiguous
// (readers that keep the last key, encoding/json and JSON.parse, would take
// it for the last id's).
//
// Decoded strings share one copy of raw and params values share another, so
// an Answer keeps up to twice len(raw) alive; raw itself is not retained.
func DecodeAnswer(raw []byte, maxDepth int) (abi.Answer, error) {
	d := newDecoder(raw, maxDepth)
	d.share = true
	a, err := d.answer()
	if err == nil {
		err = d.end()
	}
	if err != nil {
		id, ids := answerID(raw)
		if ids > 1 {
			return abi.Answer{}, fmt.Errorf("%w: %w", ErrRepeatedID, err)
		}
		return abi.Answer{ID: id}, err
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

func (d *decoder) answer() (abi.Answer, error) {
	var a abi.Answer
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
			a.Result = abi.Result(s)
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
			a.Conditions = &abi.Criteria{}
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

// answerID reads the "id" keys of raw, an answer object. It returns the id
// when raw is a valid JSON object with exactly one "id" whose value is a
// string ("" otherwise), and how many "id" keys raw has (0 when it is not a
// valid JSON object).
func answerID(raw []byte) (id string, ids int) {
	d := newDecoder(raw, int(^uint(0)>>1)) // only the ids matter here
	err := d.object(func(key []byte) error {
		if string(key) != "id" {
			return d.skip()
		}
		ids++
		if ids > 1 || d.peek() != '"' {
			return d.skip()
		}
		return d.stringField(&id)
	})
	switch {
	case err != nil || d.end() != nil:
		return "", 0
	case ids > 1:
		return "", ids
	}
	return id, ids
}
