package wire

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// DecodeValue decodes data, one JSON value with optional whitespace around
// it, into the value encoding/json.Unmarshal gives an *any: map[string]any,
// []any (never nil), string, float64, bool or nil. It reads the text in
// one pass and is stricter: it fails with ErrTooDeep when objects and
// arrays nest more than maxDepth levels (as CheckDepth counts them), with
// ErrAmbiguous for what JSON parsers read differently, and with an error
// for anything encoding/json refuses (syntax, a number out of float64's
// range). Whenever it succeeds, encoding/json decodes data to a deeply
// equal value (FuzzDecodeValue; host/backstage/internal/httpapi's FuzzParseBodyFastPath
// checks the converse). Error messages are short: callers that show them
// to users may rerun a reference decoder for its wording.
func DecodeValue(data []byte, maxDepth int) (any, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: not UTF-8", ErrAmbiguous)
	}
	d := newDecoder(data, maxDepth)
	vd := valueDecoder{d: d}
	v, err := vd.value()
	if err != nil {
		return nil, err
	}
	if err := d.end(); err != nil {
		return nil, err
	}
	return v, nil
}

// valueDecoder builds generic values on a decoder.
type valueDecoder struct {
	d *decoder
	// stack holds the elements of the arrays being read, so that each
	// array is allocated once at its final length.
	stack []any
	// buf holds an unescaped string.
	buf []byte
}

func (vd *valueDecoder) value() (any, error) {
	d := vd.d
	switch c := d.peek(); {
	case c == '{':
		return vd.object()
	case c == '[':
		return vd.array()
	case c == '"':
		start, end, plain, err := d.scanString()
		if err != nil {
			return nil, err
		}
		return vd.str(start, end, plain)
	case c == '-' || c >= '0' && c <= '9':
		start := d.pos
		if err := d.number(); err != nil {
			return nil, err
		}
		f, err := strconv.ParseFloat(string(d.data[start:d.pos]), 64)
		if err != nil {
			return nil, fmt.Errorf("invalid JSON: number %s: %w", d.data[start:d.pos], err)
		}
		return f, nil
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	}
	return nil, d.syntax("want a value")
}

// str returns the value of the string whose content is data[start:end],
// refusing an unpaired surrogate escape. The protocol's common values come
// already boxed (boxing a string allocates).
func (vd *valueDecoder) str(start, end int, plain bool) (any, error) {
	s := vd.d.data[start:end]
	if !plain {
		var lone bool
		vd.buf, lone = Unquote(vd.buf[:0], s)
		if lone {
			return nil, fmt.Errorf("%w: a \\u escape of an unpaired surrogate at offset %d", ErrAmbiguous, start)
		}
		s = vd.buf
	}
	if v, ok := boxedWord(s); ok {
		return v, nil
	}
	return string(s), nil
}

func (vd *valueDecoder) object() (any, error) {
	d := vd.d
	m := map[string]any{}
	err := d.object(func(key []byte) error {
		k, ok := commonKey(key)
		if !ok {
			k = string(key)
		}
		if _, dup := m[k]; dup {
			return fmt.Errorf("%w: the key %q is repeated", ErrAmbiguous, k)
		}
		if d.keyLone {
			return fmt.Errorf("%w: a \\u escape of an unpaired surrogate in a key", ErrAmbiguous)
		}
		v, err := vd.value()
		if err != nil {
			return err
		}
		m[k] = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (vd *valueDecoder) array() (any, error) {
	base := len(vd.stack)
	err := vd.d.array(func() error {
		v, err := vd.value()
		if err != nil {
			return err
		}
		vd.stack = append(vd.stack, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	a := make([]any, len(vd.stack)-base)
	copy(a, vd.stack[base:])
	clear(vd.stack[base:])
	vd.stack = vd.stack[:base]
	return a, nil
}

// The values every permission request repeats, already in interfaces:
// boxing a string allocates.
var (
	boxedBasic    any = "basic"
	boxedResource any = "resource"
	boxedCreate   any = "create"
	boxedRead     any = "read"
	boxedUpdate   any = "update"
	boxedDelete   any = "delete"
)

// boxedWord returns the boxed value of b when it is one of those.
func boxedWord(b []byte) (any, bool) {
	switch string(b) {
	case "basic":
		return boxedBasic, true
	case "resource":
		return boxedResource, true
	case "create":
		return boxedCreate, true
	case "read":
		return boxedRead, true
	case "update":
		return boxedUpdate, true
	case "delete":
		return boxedDelete, true
	}
	return nil, false
}

// commonKey returns the string for b when it is one of the keys every
// permission request repeats.
func commonKey(b []byte) (string, bool) {
	switch string(b) {
	case "items":
		return "items", true
	case "id":
		return "id", true
	case "permission":
		return "permission", true
	case "type":
		return "type", true
	case "name":
		return "name", true
	case "attributes":
		return "attributes", true
	case "action":
		return "action", true
	case "resourceType":
		return "resourceType", true
	case "resourceRef":
		return "resourceRef", true
	}
	return "", false
}
