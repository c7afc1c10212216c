package module

import (
	"context"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/internal/testing/reliability"
)

// packedInput is the input that makes the packed fixture return
// ptr<<32|n.
func packedInput(ptr, n uint32) []byte {
	return binary.LittleEndian.AppendUint64(nil, abi.Pack(ptr, n))
}

// TestGarbageOutputDenies has one case per class of garbage output of
// README.md, "Reliability", row 11, each through the real call path (guest
// memory, pointer and length checks, cap, copy-out, decoding): the echo
// fixture returns the case's bytes as its output, and the packed fixture
// returns the case's pointer and length. Every case is DENY with its own
// reason; a failure of the whole output throws the instance away, a bad
// answer for one item does not (abi/SPEC.md §11).
func TestGarbageOutputDenies(t *testing.T) {
	const answerAt, answerLen = 4096, 39 // packed.wat's valid 1-item answer
	opts := testOptions(t)
	opts.OutputBytes, opts.OutputBytesPerItem = 1024, 256
	echo := loadFixture(t, "echo", opts)
	packed := loadFixture(t, "packed", opts)
	memSize := uint32(4 << 16)
	basic1 := guestItems(1, basicPerm)
	tests := []struct {
		name   string
		m      *Module
		input  string
		items  []abi.Item
		reason string // in every DENY
		// whole: the output as a whole was refused (every item DENY, the
		// instance thrown away); else only the items in deny are DENY.
		whole bool
		deny  []int
	}{
		{"not JSON", echo, `not json at all`, basic1, "output is not a valid response", true, nil},
		{"truncated", echo, `{"items":[{"id":"0","result":"ALLOW"}`, basic1, "output is not a valid response", true, nil},
		{"trailing data", echo, `{"items":[{"id":"0","result":"ALLOW"}]}{}`, basic1, "data after the value", true, nil},
		{"NaN", echo, `{"items":[{"id":"0","result":"ALLOW","n":NaN}]}`, basic1, "want a value at offset 41", true, nil},
		{"Infinity", echo, `{"items":[{"id":"0","result":Infinity}]}`, basic1, "want a value at offset 29", true, nil},
		{"huge number for the id", echo, `{"items":[{"id":1e999,"result":"ALLOW"}]}`, basic1, "no answer for this item (the output answered 1 unknown", false, []int{0}},
		{"huge number for the result", echo, `{"items":[{"id":"0","result":-1e999}]}`, basic1, "invalid answer", false, []int{0}},
		{"invalid UTF-8", echo, "{\"items\":[{\"id\":\"0\",\"result\":\"ALLOW\xff\"}]}", basic1, "output is not valid UTF-8", true, nil},
		{"result MAYBE", echo, `{"items":[{"id":"0","result":"MAYBE"}]}`, basic1, `invalid answer: result "MAYBE"`, false, []int{0}},
		{"result in lower case", echo, `{"items":[{"id":"0","result":"allow"}]}`, basic1, `invalid answer: result "allow"`, false, []int{0}},
		{"keys in another case", echo, `{"items":[{"ID":"0","Result":"ALLOW"}]}`, basic1, "no answer for this item (the output answered 1 unknown", false, []int{0}},
		{"result key repeated", echo, `{"items":[{"id":"0","result":"DENY","result":"ALLOW"}]}`, basic1, `duplicate key "result"`, false, []int{0}},
		{"ALLOW for an unknown id", echo, `{"items":[{"id":"1","result":"ALLOW"}]}`, basic1, "no answer for this item (the output answered 1 unknown", false, []int{0}},
		{"ALLOW for a non-canonical id", echo, `{"items":[{"id":"00","result":"ALLOW"}]}`, basic1, "no answer for this item (the output answered 1 unknown", false, []int{0}},
		{"duplicate ids", echo, `{"items":[{"id":"0","result":"ALLOW"},{"id":"0","result":"ALLOW"}]}`, basic1, "item answered more than once", false, []int{0}},
		// Found by FuzzGuestOutput: the second answer is for item 0 to a
		// reader that keeps the last key, and for no item to the host's decoder.
		{"an answer repeats its id key", echo, `{"items":[{"id":"0","result":"ALLOW"},{"id":"5","id":"0","result":"DENY"}]}`,
			basic1, `an answer repeats its "id" key`, true, nil},
		{"missing id", echo, `{"items":[{"id":"0","result":"ALLOW"}]}`, guestItems(2, basicPerm), "no answer for this item", false, []int{1}},
		{"no items", echo, `{}`, basic1, "neither items nor error", true, nil},
		{"items not an array", echo, `{"items":{"id":"0","result":"ALLOW"}}`, basic1, "output is not a valid response", true, nil},
		{"error envelope", echo, `{"error":{"code":"boom","message":"no"}}`, basic1, "guest error: boom: no", true, nil},
		{"CONDITIONAL for a basic permission", echo,
			`{"items":[{"id":"0","result":"CONDITIONAL","pluginId":"catalog","resourceType":"catalog-entity","conditions":{"rule":"IS_ENTITY_OWNER","resourceType":"catalog-entity","params":{}}}]}`,
			basic1, "CONDITIONAL for basic permission", false, []int{0}},
		{"mismatched resourceType", echo,
			`{"items":[{"id":"0","result":"CONDITIONAL","pluginId":"scaffolder","resourceType":"scaffolder-template","conditions":{"rule":"HAS_TAG","resourceType":"scaffolder-template","params":{}}}]}`,
			guestItems(1, resourcePerm), "does not match permission", false, []int{0}},
		{"ALLOW carrying conditions", echo,
			`{"items":[{"id":"0","result":"ALLOW","pluginId":"catalog","resourceType":"catalog-entity","conditions":{"rule":"IS_ENTITY_OWNER","resourceType":"catalog-entity","params":{}}}]}`,
			guestItems(1, resourcePerm), "ALLOW", false, []int{0}},
		{"criteria too deep", echo,
			`{"items":[{"id":"0","result":"CONDITIONAL","pluginId":"catalog","resourceType":"catalog-entity","conditions":` +
				strings.Repeat(`{"not":`, 40) + `{"rule":"R","resourceType":"catalog-entity","params":{}}` + strings.Repeat(`}`, 40) + `}]}`,
			guestItems(1, resourcePerm), "invalid criteria: deeper than 32 levels", false, []int{0}},
		{"depth bomb", echo, `{"items":[` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `]}`, basic1, "nested too deeply", true, nil},
		{"len over the cap", echo, `{"items":[{"id":"0","result":"ALLOW","reason":"` + strings.Repeat("x", 2000) + `"}]}`,
			basic1, "over the cap", true, nil},
		{"ptr+len past the end of memory", packed, string(packedInput(memSize-8, 64)), basic1, "is outside the guest's", true, nil},
		{"ptr+len wraps around 2^32", packed, string(packedInput(0xffffffff, 16)), basic1, "is outside the guest's", true, nil},
		{"ptr out of memory", packed, string(packedInput(0x80000000, answerLen)), basic1, "is outside the guest's", true, nil},
		{"len larger than memory", packed, string(packedInput(answerAt, 0xfffffff0)), basic1, "over the cap", true, nil},
		{"ptr = 0 with a length", packed, string(packedInput(0, answerLen)), basic1, "output is not a valid response", true, nil},
		{"packed 0", packed, string(packedInput(0, 0)), basic1, "the guest returned 0", true, nil},
		{"a valid answer cut short", packed, string(packedInput(answerAt, answerLen-1)), basic1, "output is not a valid response", true, nil},
	}
	reasons := map[string]bool{}
	wholes := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.m.Counters()
			answers := answerWith(tt.m, []byte(tt.input), tt.items)
			after := tt.m.Counters()
			require.Len(t, answers, len(tt.items))
			deny := map[int]bool{}
			for _, i := range tt.deny {
				deny[i] = true
			}
			for i, a := range answers {
				if !tt.whole && !deny[i] {
					require.Equal(t, abi.Allow, a.Result, "item %d: %s", i, a.Reason)
					continue
				}
				require.Equal(t, abi.Deny, a.Result, "item %d", i)
				require.Contains(t, a.Reason, tt.reason, "item %d", i)
				reasons[a.Reason] = true
			}
			if tt.whole {
				require.Contains(t, answers[0].Reason, "module "+tt.m.Name()+" failed")
				require.Equal(t, before.Discarded+1, after.Discarded, "instance thrown away")
				wholes++
			} else {
				require.Equal(t, before.Discarded, after.Discarded, "instance kept")
			}
		})
	}
	// The control: the packed fixture's valid answer, read in full, is ALLOW.
	ok := answerWith(packed, packedInput(answerAt, answerLen), basic1)
	require.Equal(t, abi.Allow, ok[0].Result, ok[0].Reason)
	reliability.Record(t, 11, "garbage-output classes through the real ABI path (echo and packed fixtures)",
		"%d of %d classes → DENY, %d distinct reasons, 0 ALLOW; the instance was thrown away after each of the %d whole-output failures",
		len(tests), len(tests), len(reasons), wholes)
}

// TestBadOutputRebuildsBounded: a module whose every call returns garbage
// fails each call, and each failure throws its instance away, so the next
// call first builds a new one: the start function, _initialize and
// verdict_configure, each on ten calls' worth of fuel, run again inside
// that request, work no call budget covers. Bad output does not count
// toward quarantine, so before, a module returning garbage made every
// request pay for a new instance forever (garbage-init: 24-40 ms of
// uninterruptible guest time per request on verdict serve, status OK; up
// to about 550 million units of fuel with the defaults, where one call gets
// at most 148.6 million). The rebuilds such a module causes must be
// bounded: at most QuarantineFailures of them, whether it is then
// quarantined or its instance is kept.
func TestBadOutputRebuildsBounded(t *testing.T) {
	opts := testOptions(t)
	opts.QuarantineFailures = 3
	m := loadFixture(t, "garbage-init", opts)
	before := m.Counters().Discarded
	for i := 0; i < 10; i++ {
		answers := m.Evaluate(context.Background(), onePrincipal, guestItems(1, basicPerm))
		require.Equal(t, abi.Deny, answers[0].Result)
	}
	require.LessOrEqual(t, m.Counters().Discarded-before, uint64(opts.QuarantineFailures),
		"instances thrown away (each rebuilt at the next call)")
}

// TestQuarantineCountsWholeOutputFailures: a module that keeps returning
// output that is not a response, or an error envelope, is quarantined after
// QuarantineFailures calls, as one that traps; one whose output is over its
// cap is not, since a caller's long names echoed in reasons can cause that
// (abi/SPEC.md §11).
func TestQuarantineCountsWholeOutputFailures(t *testing.T) {
	for _, tc := range []struct {
		fixture     string
		quarantined bool
	}{
		{"garbage-init", true},
		{"huge-output", false},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			opts := testOptions(t)
			opts.QuarantineFailures = 3
			m := loadFixture(t, tc.fixture, opts)
			for i := 0; i < opts.QuarantineFailures; i++ {
				answers := m.Evaluate(context.Background(), onePrincipal, guestItems(1, basicPerm))
				require.Equal(t, abi.Deny, answers[0].Result)
			}
			q, _ := m.Quarantined()
			require.Equal(t, tc.quarantined, q)
			require.Equal(t, uint64(opts.QuarantineFailures), m.Counters().BadOutput)
		})
	}
}
