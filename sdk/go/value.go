package verdict

import (
	"errors"
	"math"
	"strconv"
)

// Kind is the JSON type of a Value.
type Kind uint8

// The kinds of Value. The zero Value is KindNull.
const (
	KindNull Kind = iota
	KindString
	KindNumber
	KindBool
	KindArray
	KindObject
)

// Value is an immutable JSON value: the parameters of a condition, or the
// parsed settings given to Configure. Numbers keep their literal text, so
// that large integers and exact decimals survive unchanged; objects keep
// their members in order. The zero Value is JSON null.
type Value struct {
	kind   Kind
	b      bool
	s      string // a string, or a number's literal text
	elems  []Value
	fields []Field
}

// Field is one member of a JSON object: a key and its value. It is used for
// condition parameters (see Param) and for objects (see Object).
type Field struct {
	// Key is the member's name.
	Key string
	// Value is the member's value.
	Value Value
}

// Param returns the Field key: v, a condition parameter or object member.
func Param(key string, v Value) Field { return Field{Key: key, Value: v} }

// Null returns JSON null (the zero Value).
func Null() Value { return Value{} }

// String returns the JSON string s. Invalid UTF-8 in s is encoded as U+FFFD.
func String(s string) Value { return Value{kind: KindString, s: s} }

// Bool returns JSON true or false.
func Bool(b bool) Value { return Value{kind: KindBool, b: b} }

// Int returns the JSON number i.
func Int(i int64) Value { return Value{kind: KindNumber, s: strconv.FormatInt(i, 10)} }

// Float returns the JSON number f, written in the shortest form that reads
// back as f (like encoding/json). JSON has no NaN or infinities: those
// become null.
func Float(f float64) Value {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return Value{}
	}
	return Value{kind: KindNumber, s: formatFloat(f)}
}

// errNumber is returned by ParseNumber for text that is not a JSON number.
var errNumber = errors.New("not a JSON number")

// ParseNumber returns the JSON number whose literal text is lit, which must
// follow JSON's number grammar (e.g. "42", "-1.5", "1e100"). The text is
// kept verbatim.
func ParseNumber(lit string) (Value, error) {
	d := decoder{data: []byte(lit)}
	if _, err := d.number(); err != nil || d.off != len(lit) || len(lit) == 0 {
		return Value{}, errNumber
	}
	return Value{kind: KindNumber, s: lit}, nil
}

// Array returns the JSON array of elems (an empty array when none).
func Array(elems ...Value) Value {
	if elems == nil {
		elems = []Value{}
	}
	return Value{kind: KindArray, elems: elems}
}

// Strings returns a JSON array of strings.
func Strings(ss ...string) Value {
	elems := make([]Value, len(ss))
	for i, s := range ss {
		elems[i] = String(s)
	}
	return Value{kind: KindArray, elems: elems}
}

// Object returns the JSON object with fields in the given order (an empty
// object when none).
func Object(fields ...Field) Value {
	if fields == nil {
		fields = []Field{}
	}
	return Value{kind: KindObject, fields: fields}
}

// Kind returns v's JSON type.
func (v Value) Kind() Kind { return v.kind }

// IsNull reports whether v is JSON null.
func (v Value) IsNull() bool { return v.kind == KindNull }

// AsString returns v's text and true when v is a string.
func (v Value) AsString() (string, bool) { return v.s, v.kind == KindString }

// AsBool returns v's truth and true when v is true or false.
func (v Value) AsBool() (bool, bool) { return v.b, v.kind == KindBool }

// Number returns v's literal text and true when v is a number.
func (v Value) Number() (string, bool) { return v.s, v.kind == KindNumber }

// Int64 returns v as an int64 and true when v is a number written as an
// integer (no fraction or exponent) that fits.
func (v Value) Int64() (int64, bool) {
	if v.kind != KindNumber {
		return 0, false
	}
	i, err := strconv.ParseInt(v.s, 10, 64)
	return i, err == nil
}

// Float64 returns v as the nearest float64 and true when v is a number.
func (v Value) Float64() (float64, bool) {
	if v.kind != KindNumber {
		return 0, false
	}
	f, err := strconv.ParseFloat(v.s, 64)
	return f, err == nil
}

// Elems returns the elements of an array, or nil when v is not an array.
// The slice is v's own: do not modify it.
func (v Value) Elems() []Value { return v.elems }

// Fields returns the members of an object in order, or nil when v is not an
// object. The slice is v's own: do not modify it.
func (v Value) Fields() []Field { return v.fields }

// Len returns the number of elements of an array or members of an object,
// and 0 for other kinds.
func (v Value) Len() int { return len(v.elems) + len(v.fields) }

// Get returns the value of the object member key and true, or null and
// false when v is not an object or has no such member. When a key repeats,
// the last one wins (as in encoding/json).
func (v Value) Get(key string) (Value, bool) {
	for i := len(v.fields) - 1; i >= 0; i-- {
		if v.fields[i].Key == key {
			return v.fields[i].Value, true
		}
	}
	return Value{}, false
}

// MarshalJSON returns v as JSON text, so that a Value can be used with
// encoding/json (in tests, or by policies that accept the cost).
func (v Value) MarshalJSON() ([]byte, error) { return appendValue(nil, &v), nil }

// formatFloat formats f like encoding/json: the shortest representation,
// with an exponent only for very small or large magnitudes.
func formatFloat(f float64) string {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b := strconv.AppendFloat(nil, f, format, -1, 64)
	if format == 'e' {
		// Clean up e-09 to e-9, like encoding/json.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return string(b)
}
