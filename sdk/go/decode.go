package verdict

import (
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth is how deeply the decoder lets objects and arrays nest. The host
// sends canonical, shallow JSON (its own limit is 32 levels); this is a guard
// that keeps a hostile or buggy input from exhausting the guest's stack.
const maxDepth = 512

// errSyntax and friends are the decoder's errors; decodeError adds the
// offset at which they happened.
var (
	errSyntax   = errors.New("invalid JSON")
	errTooDeep  = errors.New("JSON nested too deeply")
	errWantType = errors.New("unexpected JSON type")
)

// decodeError is an error at a byte offset of the input.
type decodeError struct {
	off  int
	what string
	err  error
}

func (e *decodeError) Error() string {
	return e.err.Error() + " at offset " + strconv.Itoa(e.off) + ": " + e.what
}

func (e *decodeError) Unwrap() error { return e.err }

// decoder is a small, strict JSON scanner over a byte slice. It accepts
// exactly RFC 8259 JSON (as encoding/json does), decodes strings with every
// escape, replaces invalid UTF-8 and lone surrogates with U+FFFD (as
// encoding/json does) and skips values it is not asked about, whatever their
// shape. It never uses reflection.
type decoder struct {
	data    []byte
	off     int
	depth   int
	scratch []byte // reused for strings that need unescaping
	// intern, when not nil, holds strings decoded before, so that the
	// names, ids, types and refs that repeat from call to call cost no
	// allocation. It is bounded by maxInterned and maxInternLen.
	intern map[string]string
}

// Bounds of decoder.intern: at most maxInterned strings of at most
// maxInternLen bytes each (256 KiB in all).
const (
	maxInterned  = 4096
	maxInternLen = 64
)

func (d *decoder) reset(data []byte) {
	d.data, d.off, d.depth = data, 0, 0
}

func (d *decoder) fail(err error, what string) error {
	return &decodeError{off: d.off, what: what, err: err}
}

func (d *decoder) skipSpace() {
	for d.off < len(d.data) {
		switch d.data[d.off] {
		case ' ', '\t', '\n', '\r':
			d.off++
		default:
			return
		}
	}
}

// peek skips white space and returns the next byte, or 0 at the end.
func (d *decoder) peek() byte {
	d.skipSpace()
	if d.off < len(d.data) {
		return d.data[d.off]
	}
	return 0
}

// end checks that nothing but white space follows the top-level value.
func (d *decoder) end() error {
	if d.peek() != 0 || d.off != len(d.data) {
		return d.fail(errSyntax, "data after the top-level value")
	}
	return nil
}

// literal consumes null, true or false if it is next and reports which.
func (d *decoder) literal(word string) bool {
	if len(d.data)-d.off >= len(word) && string(d.data[d.off:d.off+len(word)]) == word {
		d.off += len(word)
		return true
	}
	return false
}

// null consumes a null if it is next.
func (d *decoder) null() bool {
	if d.peek() == 'n' {
		return d.literal("null")
	}
	return false
}

// wrongType reports that the next value is not of the wanted type, or a
// syntax error when no value starts at all.
func (d *decoder) wrongType(want string) error {
	switch c := d.peek(); {
	case c == 0:
		return d.fail(errSyntax, "unexpected end of input")
	case c == '{' || c == '[' || c == '"' || c == 't' || c == 'f' || c == 'n' || c == '-' || ('0' <= c && c <= '9'):
		return d.fail(errWantType, want)
	default:
		return d.fail(errSyntax, "unexpected character "+strconv.QuoteRune(rune(c)))
	}
}

// enter and leave track nesting depth.
func (d *decoder) enter() error {
	d.depth++
	if d.depth > maxDepth {
		return d.fail(errTooDeep, "more than "+strconv.Itoa(maxDepth)+" levels")
	}
	return nil
}

func (d *decoder) leave() { d.depth-- }

// object iterates over the members of the object that must come next,
// calling member with each key (valid only during the call) positioned
// before the member's value. member must consume the value.
func (d *decoder) object(member func(key []byte) error) error {
	if d.peek() != '{' {
		return d.wrongType("want an object")
	}
	if err := d.enter(); err != nil {
		return err
	}
	d.off++
	if d.peek() == '}' {
		d.off++
		d.leave()
		return nil
	}
	for {
		if d.peek() != '"' {
			return d.fail(errSyntax, "want a string key")
		}
		key, err := d.stringBytes()
		if err != nil {
			return err
		}
		if d.peek() != ':' {
			return d.fail(errSyntax, "want ':' after a key")
		}
		d.off++
		if err := member(key); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.off++
		case '}':
			d.off++
			d.leave()
			return nil
		case 0:
			return d.fail(errSyntax, "unexpected end of input")
		default:
			return d.fail(errSyntax, "want ',' or '}' in an object")
		}
	}
}

// array iterates over the elements of the array that must come next,
// calling elem positioned before each element. elem must consume it.
func (d *decoder) array(elem func() error) error {
	if d.peek() != '[' {
		return d.wrongType("want an array")
	}
	if err := d.enter(); err != nil {
		return err
	}
	d.off++
	if d.peek() == ']' {
		d.off++
		d.leave()
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.off++
		case ']':
			d.off++
			d.leave()
			return nil
		case 0:
			return d.fail(errSyntax, "unexpected end of input")
		default:
			return d.fail(errSyntax, "want ',' or ']' in an array")
		}
	}
}

// str decodes the string that must come next.
func (d *decoder) str() (string, error) {
	if d.peek() != '"' {
		return "", d.wrongType("want a string")
	}
	b, err := d.stringBytes()
	if err != nil || d.intern == nil || len(b) > maxInternLen {
		return string(b), err
	}
	if s, ok := d.intern[string(b)]; ok {
		return s, nil
	}
	s := string(b)
	if len(d.intern) < maxInterned {
		d.intern[s] = s
	}
	return s, nil
}

// optStr decodes a string or null into *dst; null leaves *dst unchanged, as
// encoding/json does.
func (d *decoder) optStr(dst *string) error {
	if d.null() {
		return nil
	}
	s, err := d.str()
	if err != nil {
		return err
	}
	*dst = s
	return nil
}

// strList decodes an array of strings (null elements become "") or null
// (which sets *dst to nil).
func (d *decoder) strList(dst *[]string) error {
	if d.null() {
		*dst = nil
		return nil
	}
	list := (*dst)[:0]
	if list == nil {
		list = []string{}
	}
	err := d.array(func() error {
		var s string
		if err := d.optStr(&s); err != nil {
			return err
		}
		list = append(list, s)
		return nil
	})
	*dst = list
	return err
}

// stringBytes decodes the string at d.off (which is a '"') and returns its
// UTF-8 bytes. The result aliases the input or d.scratch and is valid only
// until the next call.
func (d *decoder) stringBytes() ([]byte, error) {
	start := d.off + 1
	i := start
	ascii := true
	for ; i < len(d.data); i++ {
		c := d.data[i]
		if c == '"' {
			span := d.data[start:i]
			if !ascii && !utf8.Valid(span) {
				break // needs U+FFFD replacement: slow path
			}
			d.off = i + 1
			return span, nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			d.off = i
			return nil, d.fail(errSyntax, "control character in a string")
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	return d.unquoteSlow(start)
}

// unquoteSlow decodes a string with escapes or invalid UTF-8 starting at
// start (just after the opening quote), the way encoding/json does.
func (d *decoder) unquoteSlow(start int) ([]byte, error) {
	b := d.scratch[:0]
	i := start
	for {
		if i >= len(d.data) {
			d.off = i
			return nil, d.fail(errSyntax, "unterminated string")
		}
		c := d.data[i]
		switch {
		case c == '"':
			d.off = i + 1
			d.scratch = b
			return b, nil
		case c < 0x20:
			d.off = i
			return nil, d.fail(errSyntax, "control character in a string")
		case c == '\\':
			if i+1 >= len(d.data) {
				d.off = i
				return nil, d.fail(errSyntax, "unterminated escape")
			}
			switch e := d.data[i+1]; e {
			case '"', '\\', '/':
				b = append(b, e)
				i += 2
			case 'b':
				b, i = append(b, '\b'), i+2
			case 'f':
				b, i = append(b, '\f'), i+2
			case 'n':
				b, i = append(b, '\n'), i+2
			case 'r':
				b, i = append(b, '\r'), i+2
			case 't':
				b, i = append(b, '\t'), i+2
			case 'u':
				r := hex4(d.data, i)
				if r < 0 {
					d.off = i
					return nil, d.fail(errSyntax, "invalid \\u escape")
				}
				i += 6
				if utf16.IsSurrogate(r) {
					// A valid pair is consumed whole; anything else makes
					// this half U+FFFD and leaves what follows alone.
					if dec := utf16.DecodeRune(r, hex4(d.data, i)); dec != utf8.RuneError {
						r = dec
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				b = utf8.AppendRune(b, r)
			default:
				d.off = i
				return nil, d.fail(errSyntax, "invalid escape")
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRune(d.data[i:])
			b = utf8.AppendRune(b, r) // invalid bytes become U+FFFD
			i += size
		}
	}
}

// hex4 decodes the \uXXXX escape at data[i:], or returns -1.
func hex4(data []byte, i int) rune {
	if len(data)-i < 6 || data[i] != '\\' || data[i+1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range data[i+2 : i+6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// number consumes the JSON number that must come next and returns its text.
func (d *decoder) number() ([]byte, error) {
	d.skipSpace()
	start, i, n := d.off, d.off, len(d.data)
	digits := func() bool {
		j := i
		for i < n && '0' <= d.data[i] && d.data[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < n && d.data[i] == '-' {
		i++
	}
	switch {
	case i < n && d.data[i] == '0':
		i++
	case i < n && '1' <= d.data[i] && d.data[i] <= '9':
		digits()
	default:
		d.off = i
		return nil, d.fail(errSyntax, "invalid number")
	}
	if i < n && d.data[i] == '.' {
		i++
		if !digits() {
			d.off = i
			return nil, d.fail(errSyntax, "invalid number")
		}
	}
	if i < n && (d.data[i] == 'e' || d.data[i] == 'E') {
		i++
		if i < n && (d.data[i] == '+' || d.data[i] == '-') {
			i++
		}
		if !digits() {
			d.off = i
			return nil, d.fail(errSyntax, "invalid number")
		}
	}
	d.off = i
	return d.data[start:i], nil
}

// skip consumes and validates the next value, whatever its shape.
func (d *decoder) skip() error {
	switch c := d.peek(); c {
	case '{':
		return d.object(func([]byte) error { return d.skip() })
	case '[':
		return d.array(d.skip)
	case '"':
		_, err := d.stringBytes()
		return err
	case 'n', 't', 'f':
		if d.literal("null") || d.literal("true") || d.literal("false") {
			return nil
		}
		return d.fail(errSyntax, "invalid literal")
	case 0:
		return d.fail(errSyntax, "unexpected end of input")
	default:
		if c == '-' || ('0' <= c && c <= '9') {
			_, err := d.number()
			return err
		}
		return d.fail(errSyntax, "unexpected character "+strconv.QuoteRune(rune(c)))
	}
}

// value decodes the next value into a Value.
func (d *decoder) value() (Value, error) {
	switch c := d.peek(); c {
	case '{':
		var fields []Field
		err := d.object(func(key []byte) error {
			k := string(key)
			v, err := d.value()
			fields = append(fields, Field{Key: k, Value: v})
			return err
		})
		if fields == nil {
			fields = []Field{}
		}
		return Value{kind: KindObject, fields: fields}, err
	case '[':
		elems := []Value{}
		err := d.array(func() error {
			v, err := d.value()
			elems = append(elems, v)
			return err
		})
		return Value{kind: KindArray, elems: elems}, err
	case '"':
		s, err := d.str()
		return Value{kind: KindString, s: s}, err
	case 'n':
		if d.literal("null") {
			return Value{}, nil
		}
	case 't':
		if d.literal("true") {
			return Value{kind: KindBool, b: true}, nil
		}
	case 'f':
		if d.literal("false") {
			return Value{kind: KindBool}, nil
		}
	case 0:
		return Value{}, d.fail(errSyntax, "unexpected end of input")
	default:
		if c == '-' || ('0' <= c && c <= '9') {
			lit, err := d.number()
			return Value{kind: KindNumber, s: string(lit)}, err
		}
		return Value{}, d.fail(errSyntax, "unexpected character "+strconv.QuoteRune(rune(c)))
	}
	return Value{}, d.fail(errSyntax, "invalid literal")
}

// ParseValue decodes one JSON text into a Value. Numbers keep their literal
// text; objects keep their members in order (with duplicates, Get returns the
// last). It is meant for settings and tests, not for the hot path.
func ParseValue(data []byte) (Value, error) {
	var d decoder
	d.reset(data)
	v, err := d.value()
	if err != nil {
		return Value{}, err
	}
	if err := d.end(); err != nil {
		return Value{}, err
	}
	return v, nil
}
