package httpapi

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// This file holds zod's issues: what one holds, how the validators of
// zod.go report them, and how they render as JSON.stringify(issues, null,
// 2), which is the 400 message a Backstage client sees.

// seg is one element of an issue path: an object key or an array index.
type seg struct {
	key   string
	index int
	isIdx bool
}

func key(k string) seg { return seg{key: k} }
func index(i int) seg  { return seg{index: i, isIdx: true} }

// at is the path p extended by s. It appends into p's spare capacity (the
// callers give their root path room for every level) so that valid fields
// cost no allocation: the result shares p's backing array and is only
// good until the next at on the same p. That is enough, since each field's
// path is used before its next sibling's is built, and issues copy theirs.
func at(p []seg, s seg) []seg { return append(p, s) }

// Issue codes used here.
const (
	codeInvalidType  = "invalid_type"
	codeInvalidLit   = "invalid_literal"
	codeInvalidUnion = "invalid_union"
	codeInvalidEnum  = "invalid_enum_value"
	codeTooSmall     = "too_small"
)

// zodIssue is one zod issue. Which fields are used depends on code.
type zodIssue struct {
	code     string
	expected string // invalid_type: a type name; invalid_literal: the literal
	received string // invalid_type: the parsed type
	// invalid_literal and invalid_enum_value: the received value, if any.
	value    any
	hasValue bool
	minimum  int      // too_small
	typ      string   // too_small: "array" or "string"
	options  []string // invalid_enum_value
	union    [][]zodIssue
	path     []seg
	message  string
}

// issues collects zod issues.
type issues []zodIssue

func (is *issues) add(z zodIssue, path []seg) {
	z.path = append([]seg(nil), path...)
	*is = append(*is, z)
}

// parsedType is zod's getParsedType for a decoded JSON value; present is
// false for a missing key (JavaScript's undefined).
func parsedType(v any, present bool) string {
	if !present {
		return "undefined"
	}
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64, json.Number:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

func (is *issues) invalidType(path []seg, expected string, v any, present bool) {
	received := parsedType(v, present)
	msg := "Required"
	if present {
		msg = "Expected " + expected + ", received " + received
	}
	is.add(zodIssue{code: codeInvalidType, expected: expected, received: received, message: msg}, path)
}

func (is *issues) invalidLiteral(path []seg, want string, v any, present bool) {
	is.add(zodIssue{code: codeInvalidLit, expected: want, value: v, hasValue: present,
		message: "Invalid literal value, expected " + string(appendString(nil, want))}, path)
}

func (is *issues) tooSmall(path []seg, typ string, min int) {
	unit := "element(s)"
	kind := "Array"
	if typ == "string" {
		unit, kind = "character(s)", "String"
	}
	is.add(zodIssue{code: codeTooSmall, minimum: min, typ: typ,
		message: kind + " must contain at least " + strconv.Itoa(min) + " " + unit}, path)
}

func (is *issues) invalidUnion(path []seg, options ...issues) {
	var u [][]zodIssue
	for _, o := range options {
		if len(o) > 0 {
			u = append(u, o)
		}
	}
	is.add(zodIssue{code: codeInvalidUnion, union: u, message: "Invalid input"}, path)
}

// message renders issues like ZodError.toString(): JSON.stringify(issues,
// null, 2).
func (is issues) message() string {
	b := appendIssues(nil, is)
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return string(b)
	}
	return out.String()
}

func appendIssues(b []byte, is []zodIssue) []byte {
	b = append(b, '[')
	for i := range is {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendIssue(b, &is[i])
	}
	return append(b, ']')
}

// appendIssue writes z with zod's key order, which differs per code because
// zod spreads each code's issue data before adding path and message.
func appendIssue(b []byte, z *zodIssue) []byte {
	b = append(b, '{')
	switch z.code {
	case codeInvalidType:
		b = appendInvalidType(b, z)
	case codeInvalidLit:
		b = appendInvalidLiteral(b, z)
	case codeInvalidEnum:
		b = appendInvalidEnum(b, z)
	case codeInvalidUnion:
		b = appendInvalidUnion(b, z)
	case codeTooSmall:
		b = appendTooSmall(b, z)
	}
	return append(b, '}')
}

// appendInvalidType writes code, expected, received, path, message.
func appendInvalidType(b []byte, z *zodIssue) []byte {
	b = appendField(b, "code", z.code)
	b = appendField(append(b, ','), "expected", z.expected)
	b = appendField(append(b, ','), "received", z.received)
	return appendPathMessage(append(b, ','), z)
}

// appendInvalidLiteral writes received (when there was a value), code,
// expected, path, message.
func appendInvalidLiteral(b []byte, z *zodIssue) []byte {
	b = appendReceived(b, z)
	b = appendField(b, "code", z.code)
	b = appendField(append(b, ','), "expected", z.expected)
	return appendPathMessage(append(b, ','), z)
}

// appendInvalidEnum writes received, code, options, path, message.
func appendInvalidEnum(b []byte, z *zodIssue) []byte {
	b = appendReceived(b, z)
	b = appendField(b, "code", z.code)
	b = append(b, `,"options":[`...)
	for i, o := range z.options {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, o)
	}
	return appendPathMessage(append(b, "],"...), z)
}

// appendInvalidUnion writes code, unionErrors (each option's issues as a
// ZodError), path, message.
func appendInvalidUnion(b []byte, z *zodIssue) []byte {
	b = appendField(b, "code", z.code)
	b = append(b, `,"unionErrors":[`...)
	for i, u := range z.union {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"issues":`...)
		b = appendIssues(b, u)
		b = append(b, `,"name":"ZodError"}`...)
	}
	return appendPathMessage(append(b, "],"...), z)
}

// appendTooSmall writes code, minimum, type, inclusive, exact, message,
// path: the message key comes before path, as zod's issue data carries an
// undefined message key that the real message later fills.
func appendTooSmall(b []byte, z *zodIssue) []byte {
	b = appendField(b, "code", z.code)
	b = append(b, `,"minimum":`...)
	b = strconv.AppendInt(b, int64(z.minimum), 10)
	b = appendField(append(b, ','), "type", z.typ)
	b = append(b, `,"inclusive":true,"exact":false,`...)
	b = appendField(b, "message", z.message)
	return appendPath(append(b, ','), z.path)
}

// appendField writes "k":v with v as a JSON string.
func appendField(b []byte, k, v string) []byte {
	b = append(b, '"')
	b = append(b, k...)
	b = append(b, `":`...)
	return appendString(b, v)
}

// appendPathMessage writes "path":[...],"message":"...", the keys every
// code but too_small ends with.
func appendPathMessage(b []byte, z *zodIssue) []byte {
	b = appendPath(b, z.path)
	return appendField(append(b, ','), "message", z.message)
}

// appendPath writes "path":[...]: keys as strings, indexes as numbers.
func appendPath(b []byte, path []seg) []byte {
	b = append(b, `"path":[`...)
	for i, s := range path {
		if i > 0 {
			b = append(b, ',')
		}
		if s.isIdx {
			b = strconv.AppendInt(b, int64(s.index), 10)
		} else {
			b = appendString(b, s.key)
		}
	}
	return append(b, ']')
}

// appendReceived writes "received":<value>, (with its comma) when the
// issue has a received value: a string as given, anything else as
// JSON.stringify writes it (no HTML escaping).
func appendReceived(b []byte, z *zodIssue) []byte {
	if !z.hasValue {
		return b
	}
	b = append(b, `"received":`...)
	if s, ok := z.value.(string); ok {
		b = appendString(b, s)
	} else {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if enc.Encode(z.value) == nil {
			b = append(b, bytes.TrimRight(buf.Bytes(), "\n")...)
		} else {
			b = append(b, "null"...)
		}
	}
	return append(b, ',')
}
