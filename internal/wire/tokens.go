package wire

// The scanner's readers of literals, numbers and strings (see scan.go).

import (
	"encoding/json"
	"errors"
	"unicode/utf8"
)

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
		v, _ := Unquote(nil, d.data[start:end])
		return string(v)
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
