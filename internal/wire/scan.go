package wire

// The JSON scanner under the decoders (answer.go, response.go, value.go):
// its state and the readers of structure; tokens.go reads the scalars.

import (
	"fmt"

	"github.com/verdictpdp/verdict/abi"
)

// decoder is a recursive-descent JSON reader over data. Its value readers
// start at a value (whitespace skipped) and stop just after it.
type decoder struct {
	data  []byte
	pos   int
	depth int
	max   int
	// str and raw are copies of data made on first use, shared by the
	// decoded strings and params values.
	str     string
	haveStr bool
	raw     []byte
	// share makes plain strings substrings of one copy of data (str).
	share bool
	// keyBuf holds the last key that needed unescaping; keyStart, keyEnd and
	// keyPlain describe the last key read, and keyLone says that unescaping
	// it replaced an unpaired surrogate escape (see Unquote).
	keyBuf           []byte
	keyStart, keyEnd int
	keyPlain         bool
	keyLone          bool
}

// DefaultJSONDepth is the nesting depth of objects and arrays the host accepts
// in a guest's output: two JSON levels per criteria level, plus the response,
// the items array, the answer and a params value of a few levels.
const DefaultJSONDepth = 2*abi.DefaultCriteriaDepth + 8

func newDecoder(data []byte, maxDepth int) *decoder {
	if maxDepth <= 0 {
		maxDepth = DefaultJSONDepth
	}
	d := &decoder{data: data, max: maxDepth}
	d.ws()
	return d
}

func (d *decoder) syntax(what string) error {
	if d.pos >= len(d.data) {
		return fmt.Errorf("invalid JSON: %s at end of input", what)
	}
	return fmt.Errorf("invalid JSON: %s at offset %d (%q)", what, d.pos, d.data[d.pos])
}

func (d *decoder) ws() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *decoder) peek() byte {
	if d.pos < len(d.data) {
		return d.data[d.pos]
	}
	return 0
}

// end checks that only whitespace follows the value.
func (d *decoder) end() error {
	d.ws()
	if d.pos != len(d.data) {
		return d.syntax("data after the value")
	}
	return nil
}

// once records bit in *seen and fails if it was there already.
func (d *decoder) once(seen *uint8, bit uint8, key []byte) error {
	if *seen&bit != 0 {
		return fmt.Errorf("duplicate key %q", key)
	}
	*seen |= bit
	return nil
}

// null consumes a null literal if one is next.
func (d *decoder) null() bool {
	if len(d.data)-d.pos >= 4 && string(d.data[d.pos:d.pos+4]) == "null" {
		d.pos += 4
		return true
	}
	return false
}

func (d *decoder) enter() error {
	d.depth++
	if d.depth > d.max {
		return fmt.Errorf("%w: more than %d levels", ErrTooDeep, d.max)
	}
	d.pos++
	d.ws()
	return nil
}

// object reads an object, calling fn with each key (unescaped; valid only
// during the call) when the reader is at its value. fn must consume it.
func (d *decoder) object(fn func(key []byte) error) error {
	if d.peek() != '{' {
		return d.syntax("want an object")
	}
	if err := d.enter(); err != nil {
		return err
	}
	if d.peek() == '}' {
		d.pos++
		d.depth--
		return nil
	}
	for {
		if d.peek() != '"' {
			return d.syntax("want a key")
		}
		start, end, plain, err := d.scanString()
		if err != nil {
			return err
		}
		d.keyStart, d.keyEnd, d.keyPlain, d.keyLone = start, end, plain, false
		key := d.data[start:end]
		if !plain {
			d.keyBuf, d.keyLone = Unquote(d.keyBuf[:0], key)
			key = d.keyBuf
		}
		d.ws()
		if d.peek() != ':' {
			return d.syntax("want ':'")
		}
		d.pos++
		d.ws()
		if err := fn(key); err != nil {
			return err
		}
		d.ws()
		switch d.peek() {
		case ',':
			d.pos++
			d.ws()
		case '}':
			d.pos++
			d.depth--
			return nil
		default:
			return d.syntax("want ',' or '}'")
		}
	}
}

// array reads an array, calling fn at each element; fn must consume it.
func (d *decoder) array(fn func() error) error {
	if d.peek() != '[' {
		return d.syntax("want an array")
	}
	if err := d.enter(); err != nil {
		return err
	}
	if d.peek() == ']' {
		d.pos++
		d.depth--
		return nil
	}
	for {
		if err := fn(); err != nil {
			return err
		}
		d.ws()
		switch d.peek() {
		case ',':
			d.pos++
			d.ws()
		case ']':
			d.pos++
			d.depth--
			return nil
		default:
			return d.syntax("want ',' or ']'")
		}
	}
}

// skip validates and consumes any value.
func (d *decoder) skip() error {
	var err error
	switch c := d.peek(); {
	case c == '{':
		err = d.object(func([]byte) error { return d.skip() })
		return err
	case c == '[':
		return d.array(d.skip)
	case c == '"':
		_, _, _, err = d.scanString()
	case c == '-' || c >= '0' && c <= '9':
		err = d.number()
	case c == 't':
		err = d.literal("true")
	case c == 'f':
		err = d.literal("false")
	case c == 'n':
		err = d.literal("null")
	default:
		return d.syntax("want a value")
	}
	return err
}
