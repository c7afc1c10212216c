package module

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/internal/wire"
)

// decode parses a guest's output into answers for items; answers for items
// the output gets wrong are DENY with a reason. A whole-batch failure (not
// JSON, an error envelope) is returned as an error.
func (m *Module) decode(out []byte, items []abi.Item, answers []abi.Answer) error {
	view, err := parseOutput(out)
	if err != nil {
		return err
	}
	seen := make([]uint8, len(items)) // 0 missing, 1 answered, 2 answered twice
	bad := 0
	for _, raw := range view.Items {
		known, err := m.place(raw, items, answers, seen)
		if err != nil {
			return err
		}
		if !known {
			bad++
		}
	}
	m.denyUnanswered(answers, seen, bad)
	return nil
}

// parseOutput makes one strict pass over the whole output (depth bounded:
// each criteria level is two JSON levels, plus the wrapper; the criteria
// limits proper are checked by abi.CheckAnswer); decode then reads each
// answer on its own, so that a malformed answer is DENY for its own item
// only. It fails for output that is not a response with items: not UTF-8
// (abi/SPEC.md §7 and §11; the decoder alone would read U+FFFD, as
// encoding/json), not a valid response, an error envelope, or neither.
func parseOutput(out []byte) (wire.ResponseView, error) {
	if !utf8.Valid(out) {
		return wire.ResponseView{}, callErr(KindBadOutput, "output is not valid UTF-8")
	}
	view, err := wire.ParseResponse(out, wire.DefaultJSONDepth)
	if err != nil {
		return view, callErr(KindBadOutput, "output is not a valid response: %w", err)
	}
	if view.Error != nil {
		return view, callErr(KindGuestError, "%s: %s", view.Error.Code, view.Error.Message)
	}
	if view.Items == nil {
		return view, callErr(KindBadOutput, "output has neither items nor error")
	}
	return view, nil
}

// place decodes raw, one answer of the output, and puts it in answers at
// the index its id names, marking it in seen; a malformed or invalid answer
// to a known id is DENY. It reports false when the id is unknown or
// malformed, and fails the whole output when the answer repeats its "id"
// key.
func (m *Module) place(raw []byte, items []abi.Item, answers []abi.Answer, seen []uint8) (bool, error) {
	a, decodeErr := wire.DecodeAnswer(raw, wire.DefaultJSONDepth)
	if errors.Is(decodeErr, wire.ErrRepeatedID) {
		// The decoder cannot say which item such an answer is for, while a
		// reader that keeps the last key (encoding/json, JSON.parse) would
		// take it for the last id's: rather than read the output one way,
		// the host refuses it whole (found by FuzzGuestOutput).
		return false, callErr(KindBadOutput, `an answer repeats its "id" key, so which item it answers is ambiguous`)
	}
	i, err := strconv.Atoi(a.ID)
	if err != nil || i < 0 || i >= len(items) || strconv.Itoa(i) != a.ID {
		return false, nil
	}
	if seen[i] > 0 {
		seen[i] = 2
		return true, nil
	}
	seen[i] = 1
	if decodeErr != nil {
		answers[i] = m.deny(i, fmt.Sprintf("%v: %v", abi.ErrInvalidAnswer, decodeErr))
		return true, nil
	}
	if err := abi.CheckAnswer(&a, items[i].Permission, abi.DefaultCriteriaDepth, abi.DefaultCriteriaNodes); err != nil {
		answers[i] = m.deny(i, err.Error())
		return true, nil
	}
	answers[i] = a
	return true, nil
}

// denyUnanswered denies the items seen says were not answered, or answered
// more than once; bad is how many answers had unknown or malformed ids.
func (m *Module) denyUnanswered(answers []abi.Answer, seen []uint8, bad int) {
	for i, s := range seen {
		switch s {
		case 0:
			if bad > 0 {
				answers[i] = m.deny(i, fmt.Sprintf("no answer for this item (the output answered %d unknown or malformed ids)", bad))
				continue
			}
			answers[i] = m.deny(i, "no answer for this item")
		case 2:
			answers[i] = m.deny(i, "item answered more than once")
		}
	}
	if bad > 0 {
		m.count.badOutput.Add(1)
		m.opts.Log.Warn("module answered unknown ids", "module", m.name, "count", bad)
	}
}

func (m *Module) deny(i int, why string) abi.Answer {
	m.count.denied.Add(1)
	return abi.Answer{ID: strconv.Itoa(i), Result: abi.Deny, Reason: fmt.Sprintf("module %s: %s", m.name, why)}
}
