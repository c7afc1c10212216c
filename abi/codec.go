package abi

// This file holds the host's hand-written codec for the evaluate call: an
// encoder for Request that writes exactly the bytes json.Marshal writes, and a
// strict one-pass decoder for a guest's output. encoding/json spends most of
// the host's time per item on reflection and, for criteria, on re-scanning
// every node (Criteria.UnmarshalJSON decodes each node into a map and then
// decodes each child again).
//
// The decoder agrees with encoding/json (decoding into Answer, Criteria and
// GuestError) on every input except these deliberate differences, all of
// which make it stricter:
//
//   - Keys are matched exactly. encoding/json also matches a struct field's
//     name case-insensitively (with Unicode simple folding), so it reads
//     "ID" or "Result" as id and result; this decoder ignores such keys as
//     unknown. Criteria keys are exact in both.
//   - A duplicate key is an error where encoding/json lets the last one win:
//     a known field of the response, the error envelope or an answer ("id",
//     "result", "pluginId", "resourceType", "conditions", "reason"), any key of
//     a criteria node, and any key of a leaf's params. Keys are compared after
//     unescaping, so "id" and "\u0069d" are the same key. Duplicate unknown
//     keys of an answer or response are ignored, like their values.
//   - Objects and arrays nested deeper than maxDepth are an error (ErrTooDeep);
//     encoding/json allows 10000 levels.
//
// Everything else is as encoding/json does it: the whole text must be one
// valid JSON value (RFC 8259 grammar, the four whitespace bytes, every escape
// including surrogate pairs); invalid UTF-8 and lone surrogates in decoded
// strings become U+FFFD, while params values are kept verbatim (the exact
// bytes of the value, as json.RawMessage gets them); null leaves a string
// field empty and a conditions or error pointer nil; unknown keys of answers
// and of the response are ignored whatever their value; the output value null
// decodes to an empty response and the answer value null to a zero Answer.

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// DefaultJSONDepth is the nesting depth of objects and arrays the host accepts
// in a guest's output: two JSON levels per criteria level, plus the response,
// the items array, the answer and a params value of a few levels.
const DefaultJSONDepth = 2*DefaultCriteriaDepth + 8

// AppendRequest appends to b the JSON encoding of r, byte for byte what
// json.Marshal(r) returns: the same key order, Principal's canonical form,
// omitted empty optional fields, and encoding/json's escaping (<, > and & as
// \u003c, \u003e and \u0026, U+2028 and U+2029 escaped, invalid UTF-8 as
// \ufffd). A nil r appends null.
func AppendRequest(b []byte, r *Request) []byte {
	if r == nil {
		return append(b, "null"...)
	}
	b = append(b, `{"abi":`...)
	b = strconv.AppendInt(b, int64(r.ABI), 10)
	b = append(b, `,"principal":`...)
	b = appendPrincipal(b, &r.Principal)
	b = append(b, `,"items":`...)
	if r.Items == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range r.Items {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendItem(b, &r.Items[i])
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func appendPrincipal(b []byte, p *Principal) []byte {
	b = append(b, `{"type":`...)
	b = appendString(b, p.Type)
	switch p.Type {
	case PrincipalUser:
		b = append(b, `,"userEntityRef":`...)
		b = appendString(b, p.UserEntityRef)
		b = append(b, `,"ownershipEntityRefs":[`...)
		for i, ref := range p.OwnershipEntityRefs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, ref)
		}
		b = append(b, ']')
		if p.Actor != nil {
			b = append(b, `,"actor":{"type":`...)
			b = appendString(b, p.Actor.Type)
			b = append(b, `,"subject":`...)
			b = appendString(b, p.Actor.Subject)
			b = append(b, '}')
		}
	case PrincipalService:
		b = append(b, `,"subject":`...)
		b = appendString(b, p.Subject)
	}
	return append(b, '}')
}

func appendItem(b []byte, it *Item) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, it.ID)
	b = append(b, `,"permission":{"type":`...)
	b = appendString(b, it.Permission.Type)
	b = append(b, `,"name":`...)
	b = appendString(b, it.Permission.Name)
	b = append(b, `,"attributes":{`...)
	if it.Permission.Attributes.Action != "" {
		b = append(b, `"action":`...)
		b = appendString(b, it.Permission.Attributes.Action)
	}
	b = append(b, '}')
	if it.Permission.ResourceType != "" {
		b = append(b, `,"resourceType":`...)
		b = appendString(b, it.Permission.ResourceType)
	}
	b = append(b, '}')
	if it.ResourceRef != nil {
		b = append(b, `,"resourceRef":`...)
		b = appendString(b, *it.ResourceRef)
	}
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendString appends s quoted as encoding/json quotes it with HTML escaping
// on (its default).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

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
	// keyPlain describe the last key read.
	keyBuf           []byte
	keyStart, keyEnd int
	keyPlain         bool
}

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
		d.keyStart, d.keyEnd, d.keyPlain = start, end, plain
		key := d.data[start:end]
		if !plain {
			d.keyBuf = unquote(d.keyBuf[:0], key)
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

func (d *decoder) literal(lit string) error {
	if len(d.data)-d.pos < len(lit) || string(d.data[d.pos:d.pos+len(lit)]) != lit {
		return d.syntax("invalid literal")
	}
	d.pos += len(lit)
	return nil
}

// number consumes a number by the JSON grammar.
func (d *decoder) number() error {
	digits := func() int {
		n := 0
		for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
			d.pos++
			n++
		}
		return n
	}
	if d.peek() == '-' {
		d.pos++
	}
	switch c := d.peek(); {
	case c == '0':
		d.pos++
	case c >= '1' && c <= '9':
		digits()
	default:
		return d.syntax("invalid number")
	}
	if d.peek() == '.' {
		d.pos++
		if digits() == 0 {
			return d.syntax("invalid number")
		}
	}
	if c := d.peek(); c == 'e' || c == 'E' {
		d.pos++
		if c := d.peek(); c == '+' || c == '-' {
			d.pos++
		}
		if digits() == 0 {
			return d.syntax("invalid number")
		}
	}
	return nil
}

// scanString validates and consumes a string; start and end delimit its
// content, and plain reports that the content is its own value (no escapes,
// valid UTF-8).
func (d *decoder) scanString() (start, end int, plain bool, err error) {
	d.pos++ // the opening quote
	start = d.pos
	plain = true
	data := d.data
	for i := d.pos; i < len(data); {
		c := data[i]
		switch {
		case c == '"':
			d.pos = i + 1
			return start, i, plain, nil
		case c < 0x20:
			d.pos = i
			return 0, 0, false, d.syntax("control character in string")
		case c == '\\':
			plain = false
			if i+1 >= len(data) {
				d.pos = len(data)
				return 0, 0, false, d.syntax("unterminated string")
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(data) || !isHex(data[i+2]) || !isHex(data[i+3]) || !isHex(data[i+4]) || !isHex(data[i+5]) {
					d.pos = i
					return 0, 0, false, d.syntax(`invalid \u escape`)
				}
				i += 6
			default:
				d.pos = i
				return 0, 0, false, d.syntax("invalid escape")
			}
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				plain = false
			}
			i += size
		}
	}
	d.pos = len(data)
	return 0, 0, false, d.syntax("unterminated string")
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// stringField decodes a string, or null (which leaves *dst as it is, as
// encoding/json does).
func (d *decoder) stringField(dst *string) error {
	if d.null() {
		return nil
	}
	if d.peek() != '"' {
		if err := d.skip(); err != nil {
			return err
		}
		return errors.New("want a string or null")
	}
	start, end, plain, err := d.scanString()
	if err != nil {
		return err
	}
	*dst = d.decodedString(start, end, plain)
	return nil
}

// decodedString returns the value of the string whose content is
// d.data[start:end]: a substring of the shared copy of the text when plain
// and d.share is set, a new string otherwise.
func (d *decoder) decodedString(start, end int, plain bool) string {
	switch {
	case !plain:
		return string(unquote(nil, d.data[start:end]))
	case !d.share || start == end:
		return string(d.data[start:end])
	}
	if !d.haveStr {
		d.str, d.haveStr = string(d.data), true
	}
	return d.str[start:end]
}

// keyString returns the key last read by object as a string.
func (d *decoder) keyString() string {
	return d.decodedString(d.keyStart, d.keyEnd, d.keyPlain)
}

// rawCopy returns data[start:end] from the shared copy of data.
func (d *decoder) rawCopy(start, end int) json.RawMessage {
	if d.raw == nil {
		d.raw = append([]byte(nil), d.data...)
	}
	return d.raw[start:end:end]
}

// unquote appends the value of a validated string's content s, as
// encoding/json decodes it: escapes resolved, invalid UTF-8 and unpaired
// surrogates replaced by U+FFFD.
func unquote(b, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			switch s[i+1] {
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r := hex4(s[i+2:])
				i += 6
				if utf16.IsSurrogate(r) {
					if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
						if dec := utf16.DecodeRune(r, hex4(s[i+2:])); dec != utf8.RuneError {
							b = utf8.AppendRune(b, dec)
							i += 6
							continue
						}
					}
					r = utf8.RuneError
				}
				b = utf8.AppendRune(b, r)
				continue
			default: // " \ /
				b = append(b, s[i+1])
			}
			i += 2
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRune(s[i:])
			b = utf8.AppendRune(b, r)
			i += size
		}
	}
	return b
}

// hex4 decodes four validated hex digits.
func hex4(s []byte) rune {
	var r rune
	for _, c := range s[:4] {
		switch {
		case c <= '9':
			c -= '0'
		case c >= 'a':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}
