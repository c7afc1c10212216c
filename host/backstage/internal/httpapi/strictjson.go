package httpapi

import (
	"strconv"
	"unicode/utf8"

	"github.com/verdictpdp/verdict/internal/wire"
)

// Parser differentials (README, "Reliability", row 2; DESIGN.md, "Declared
// deviations from Backstage"). A request body must
// mean one thing to every JSON reader between the caller and the guest: a
// proxy that checks the body, Backstage's JSON.parse, encoding/json. Three
// things read differently in different parsers, so a body holding any of
// them is refused with 400 InputError instead of being read one of the ways:
//
//   - a key repeated in one object, anywhere in the body, also in keys the
//     schema ignores (JSON.parse and encoding/json keep the last value,
//     other parsers the first or both). Keys are compared after unescaping:
//     "id" and "\u0069d" are the same key;
//   - bytes that are not UTF-8 (encoding/json reads them as U+FFFD, so
//     different names would collapse into one);
//   - a \u escape of an unpaired UTF-16 surrogate ("\ud800"): JavaScript
//     keeps it as a distinct code unit, encoding/json reads U+FFFD.
//
// This is a declared deviation from Backstage, whose JSON.parse reads all
// three (last key wins); its clients never send them (JSON.stringify writes
// neither repeated keys nor invalid UTF-8, and no Backstage string holds a
// lone surrogate). What remains is unambiguous, and the guest receives the
// canonical encoding of its meaning, never the caller's bytes.

// maxListedKeys is how many keys of one object are compared pairwise before
// a map takes over, so that an object with many keys costs linear time.
const maxListedKeys = 16

// span locates one unescaped key in keyChecker.arena.
type span struct{ start, end int }

// container is an open object or array.
type container struct {
	array bool
	// first is the index in keys of the object's first key, and arena the
	// length of the arena when the object opened.
	first, arena int
	// set holds the object's keys once it has more than maxListedKeys.
	set map[string]struct{}
}

// keyChecker finds repeated keys with one arena for the keys of every open
// object, so that the common case (a few keys per object) does not
// allocate per key.
type keyChecker struct {
	arena []byte
	keys  []span
	open  []container
}

// openObject records an object just opened.
func (c *keyChecker) openObject() {
	c.open = append(c.open, container{first: len(c.keys), arena: len(c.arena)})
}

// openArray records an array just opened.
func (c *keyChecker) openArray() {
	c.open = append(c.open, container{array: true, first: len(c.keys), arena: len(c.arena)})
}

func (c *keyChecker) pop() {
	top := c.open[len(c.open)-1]
	c.open = c.open[:len(c.open)-1]
	if !top.array {
		c.keys, c.arena = c.keys[:top.first], c.arena[:top.arena]
	}
}

func (c *keyChecker) inObject() bool { return len(c.open) > 0 && !c.open[len(c.open)-1].array }

// add records the key just appended to the arena from start, and reports
// false if the innermost object has it already.
func (c *keyChecker) add(start int) bool {
	top := &c.open[len(c.open)-1]
	key := c.arena[start:]
	if top.set != nil {
		if _, dup := top.set[string(key)]; dup {
			return false
		}
		top.set[string(key)] = struct{}{}
		return true
	}
	for _, k := range c.keys[top.first:] {
		if string(c.arena[k.start:k.end]) == string(key) {
			return false
		}
	}
	c.keys = append(c.keys, span{start, len(c.arena)})
	if n := len(c.keys) - top.first; n > maxListedKeys {
		top.set = make(map[string]struct{}, 2*n)
		for _, k := range c.keys[top.first:] {
			top.set[string(c.arena[k.start:k.end])] = struct{}{}
		}
	}
	return true
}

// checkState is what checkUnambiguous reuses from one body to the next.
type checkState struct {
	keys    keyChecker
	scratch []byte // a decoded string that is not a key
}

// checkers holds checkStates between bodies: with them, checking a body
// allocates nothing in the common case.
var checkers = newPool(func() *checkState { return new(checkState) }, (*checkState).reset)

// reset empties st for the next body and reports whether to keep it: not
// when one of its buffers grew past maxPooled for an unusual body.
func (st *checkState) reset() bool {
	if cap(st.keys.arena) > maxPooled || cap(st.scratch) > maxPooled ||
		cap(st.keys.keys) > maxPooled/8 || cap(st.keys.open) > maxPooled/8 {
		return false
	}
	st.keys.arena, st.keys.keys, st.keys.open = st.keys.arena[:0], st.keys.keys[:0], st.keys.open[:0]
	st.scratch = st.scratch[:0]
	return true
}

// checkUnambiguous reports the first repeated key, invalid UTF-8 or lone
// surrogate escape in data, which must be valid JSON (it has been decoded
// already) whose nesting depth has been checked.
func checkUnambiguous(data []byte) error {
	if !utf8.Valid(data) {
		return newError(nameInput, "request body is not valid UTF-8")
	}
	st := checkers.get()
	defer checkers.put(st)
	c, scratch := &st.keys, st.scratch[:0]
	defer func() { st.scratch = scratch }()
	expectKey := false
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '{':
			c.openObject()
			expectKey = true
		case '[':
			c.openArray()
			expectKey = false
		case '}', ']':
			c.pop()
			expectKey = false
		case ',':
			expectKey = c.inObject()
		case ':':
			expectKey = false
		case '"':
			var end int
			ok := true
			if expectKey {
				start := len(c.arena)
				end, c.arena, ok = unquoteStrict(data, i+1, c.arena)
				if ok && !c.add(start) {
					return newError(nameInput, "request body repeats the key "+quoteKey(c.arena[start:])+
						" in one object (at position "+strconv.Itoa(i)+")")
				}
			} else {
				end, scratch, ok = unquoteStrict(data, i+1, scratch[:0])
			}
			if !ok {
				return newError(nameInput, "request body has a \\u escape of an unpaired UTF-16 surrogate at position "+
					strconv.Itoa(i))
			}
			i = end
		}
	}
	return nil
}

// unquoteStrict appends the value of the string whose content starts at
// data[start] (valid JSON) to buf with wire.Unquote. It returns the index of
// the closing quote and false if an escape encodes an unpaired surrogate.
func unquoteStrict(data []byte, start int, buf []byte) (int, []byte, bool) {
	end := start
	for end < len(data) && data[end] != '"' {
		if data[end] == '\\' {
			end++ // the escaped byte, a quote or backslash among them
		}
		end++
	}
	end = min(end, len(data))
	buf, lone := wire.Unquote(buf, data[start:end])
	return end, buf, !lone
}

// quoteKey quotes a key for a message, cut to 64 bytes.
func quoteKey(key []byte) string {
	if len(key) > 64 {
		return string(appendString(nil, string(key[:64]))) + "..."
	}
	return string(appendString(nil, string(key)))
}
