package httpapi

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// This file words JSON syntax errors as Backstage's permission backend
// does: express.json() (body-parser) hands the body, decoded from UTF-8
// with a leading BOM removed, to JSON.parse, whose message (V8's, as in
// Node 20) becomes the 400 SyntaxError's message. Positions count UTF-16
// code units, as JavaScript strings do. Only refusals take this path, so
// it favours faithfulness over speed.

// Context of V8's "Unexpected token" messages: sources of more than
// v8ShortSource units show at most v8Context units either side of the
// token.
const (
	v8ShortSource = 20
	v8Context     = 10
)

// jsSyntaxMessage returns the message JSON.parse gives for body (the raw
// request body, BOM already removed), or "" when JSON.parse would accept
// it.
func jsSyntaxMessage(body []byte) string {
	p := v8Parser{src: jsString(body)}
	p.parse()
	return p.msg
}

// jsStrictMessage is body-parser's message for a body whose first
// non-blank character opens neither an object nor an array (strict mode):
// it parses the body with everything from that character on replaced by
// '#', then puts the body's text back in place of each run of '#'.
func jsStrictMessage(body []byte) string {
	src := jsString(body)
	index := 0
	for index < len(src) && isJSONSpace(src[index]) {
		index++
	}
	if index == len(src) {
		return "Unexpected end of JSON input"
	}
	partial := make([]uint16, len(src))
	copy(partial, src[:index])
	for i := index; i < len(src); i++ {
		partial[i] = '#'
	}
	p := v8Parser{src: partial}
	p.parse()
	var b strings.Builder
	msg := p.msg
	for {
		i := strings.IndexByte(msg, '#')
		if i < 0 {
			b.WriteString(msg)
			return b.String()
		}
		j := i
		for j < len(msg) && msg[j] == '#' {
			j++
		}
		b.WriteString(msg[:i])
		b.WriteString(jsSubstring(src, index, index+j-i))
		msg = msg[j:]
	}
}

// jsString is body as a JavaScript string: UTF-16 code units, each
// invalid UTF-8 byte a U+FFFD.
func jsString(body []byte) []uint16 {
	out := make([]uint16, 0, len(body))
	for len(body) > 0 {
		r, n := utf8.DecodeRune(body)
		body = body[n:]
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			out = append(out, uint16(r1), uint16(r2))
			continue
		}
		out = append(out, uint16(r))
	}
	return out
}

// jsSubstring is String.prototype.substring on s (clamped), as UTF-8; a
// surrogate cut in half becomes U+FFFD.
func jsSubstring(s []uint16, from, to int) string {
	to = min(to, len(s))
	from = min(max(from, 0), to)
	return string(utf16.Decode(s[from:to]))
}

func isJSONSpace(c uint16) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isDigit(c int) bool { return c >= '0' && c <= '9' }

// v8Parser follows V8's JsonParser closely enough to fail at the same
// position with the same message. It builds no values.
type v8Parser struct {
	src []uint16
	pos int
	msg string // set at the first error
}

// eos stands for the end of the source in cur and next.
const eos = -1

func (p *v8Parser) cur() int {
	if p.pos >= len(p.src) {
		return eos
	}
	return int(p.src[p.pos])
}

// next advances and returns the new current character.
func (p *v8Parser) next() int {
	p.pos++
	return p.cur()
}

func (p *v8Parser) skipSpace() int {
	for p.pos < len(p.src) && isJSONSpace(p.src[p.pos]) {
		p.pos++
	}
	return p.cur()
}

// failAt sets the message what + " in JSON at position N" (V8 words one
// message "... after JSON at position N").
func (p *v8Parser) failAt(what string) {
	if p.msg == "" {
		if !strings.HasSuffix(what, " JSON") {
			what += " in JSON"
		}
		p.msg = what + " at position " + strconv.Itoa(p.pos)
	}
}

// unexpected reports the character at the cursor without a specific
// message: V8's ReportUnexpectedCharacter.
func (p *v8Parser) unexpected() {
	if p.msg != "" {
		return
	}
	c := p.cur()
	switch {
	case c == eos:
		p.msg = "Unexpected end of JSON input"
	case c == '"':
		p.failAt("Unexpected string")
	case isDigit(c) || c == '-':
		p.failAt("Unexpected number")
	default:
		p.msg = p.unexpectedToken()
	}
}

func (p *v8Parser) unexpectedToken() string {
	n := len(p.src)
	var whole string
	if n <= v8ShortSource {
		whole = jsSubstring(p.src, 0, n)
	}
	if whole == "[object Object]" {
		return `"[object Object]" is not valid JSON`
	}
	tok := "Unexpected token '" + jsSubstring(p.src, p.pos, p.pos+1) + "', "
	switch {
	case n <= v8ShortSource:
		return tok + `"` + whole + `" is not valid JSON`
	case p.pos < v8Context:
		return tok + `"` + jsSubstring(p.src, 0, p.pos+v8Context) + `"... is not valid JSON`
	case p.pos < n-v8Context:
		return tok + `..."` + jsSubstring(p.src, p.pos-v8Context, p.pos+v8Context) + `"... is not valid JSON`
	default:
		return tok + `..."` + jsSubstring(p.src, p.pos-v8Context, n) + `" is not valid JSON`
	}
}

// v8Container is an open object or array.
type v8Container byte

const (
	inObject v8Container = iota
	inArray
)

// parse parses the whole source, setting msg at the first error.
func (p *v8Parser) parse() {
	var stack []v8Container
	for p.msg == "" {
		if c, opened := p.value(); opened {
			stack = append(stack, c)
			continue
		}
		if p.msg != "" {
			return
		}
		var more bool
		if stack, more = p.consume(stack); !more {
			return
		}
	}
}

// value scans a value at the cursor. For a non-empty object or array it
// stops after the opening (and an object's first key) and reports the
// container opened; otherwise it scans the whole value.
func (p *v8Parser) value() (c v8Container, opened bool) {
	switch c := p.skipSpace(); {
	case c == '"':
		p.scanString()
	case c == '-' || isDigit(c):
		p.scanNumber()
	case c == '{':
		p.pos++
		if p.skipSpace() == '}' {
			p.pos++
			break
		}
		return inObject, p.firstKey()
	case c == '[':
		p.pos++
		if p.skipSpace() == ']' {
			p.pos++
			break
		}
		return inArray, true
	case c == 't':
		p.scanLiteral("true")
	case c == 'f':
		p.scanLiteral("false")
	case c == 'n':
		p.scanLiteral("null")
	default:
		p.unexpected()
	}
	return 0, false
}

// consume follows a complete value: it closes containers until one
// expects another value (and, in an object, has scanned its key), and
// reports whether there is one; at the top level only blanks may follow.
func (p *v8Parser) consume(stack []v8Container) ([]v8Container, bool) {
	for {
		if len(stack) == 0 {
			if p.skipSpace() != eos {
				p.failAt("Unexpected non-whitespace character after JSON")
			}
			return stack, false
		}
		top := stack[len(stack)-1]
		c := p.skipSpace()
		if c == ',' {
			p.pos++
			return stack, top == inArray || p.nextKey()
		}
		if top == inObject && c != '}' {
			p.failAt("Expected ',' or '}' after property value")
			return stack, false
		}
		if top == inArray && c != ']' {
			p.failAt("Expected ',' or ']' after array element")
			return stack, false
		}
		p.pos++
		stack = stack[:len(stack)-1]
	}
}

// firstKey scans an object's first `"name" :`. V8 words a missing colon
// only here; after later names it is an unexpected token (nextKey).
func (p *v8Parser) firstKey() bool {
	if !p.name("Expected property name or '}'") {
		return false
	}
	if p.skipSpace() != ':' {
		p.failAt("Expected ':' after property name")
		return false
	}
	p.pos++
	return true
}

// nextKey scans `"name" :` after a comma in an object.
func (p *v8Parser) nextKey() bool {
	if !p.name("Expected double-quoted property name") {
		return false
	}
	if p.skipSpace() != ':' {
		p.unexpected()
		return false
	}
	p.pos++
	return true
}

// name scans a property name; missing is the message when no string
// starts at the cursor.
func (p *v8Parser) name(missing string) bool {
	if p.skipSpace() != '"' {
		p.failAt(missing)
		return false
	}
	return p.scanString()
}

// scanString scans a string whose opening quote is at the cursor.
func (p *v8Parser) scanString() bool {
	for c := p.next(); ; c = p.next() {
		switch {
		case c == eos:
			p.failAt("Unterminated string")
			return false
		case c == '"':
			p.pos++
			return true
		case c == '\\':
			switch e := p.next(); {
			case e == eos || e > 0xff:
				p.unexpected()
				return false
			case strings.IndexByte(`"\/bfnrt`, byte(e)) >= 0:
			case e == 'u':
				for range 4 {
					h := p.next()
					if !(isDigit(h) || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						p.failAt("Bad Unicode escape")
						return false
					}
				}
			default:
				p.failAt("Bad escaped character")
				return false
			}
		case c < 0x20:
			p.failAt("Bad control character in string literal")
			return false
		}
	}
}

// scanNumber scans a number that starts at the cursor ('-' or a digit).
func (p *v8Parser) scanNumber() {
	c := p.cur()
	if c == '-' {
		c = p.next()
	}
	if c == '0' {
		if isDigit(p.next()) {
			p.unexpected()
			return
		}
	} else {
		if !isDigit(c) {
			p.failAt("No number after minus sign")
			return
		}
		p.digits()
	}
	if p.cur() == '.' {
		if !isDigit(p.next()) {
			p.failAt("Unterminated fractional number")
			return
		}
		p.digits()
	}
	if c := p.cur(); c == 'e' || c == 'E' {
		c = p.next()
		if c == '-' || c == '+' {
			c = p.next()
		}
		if !isDigit(c) {
			p.failAt("Exponent part is missing a number")
			return
		}
		p.digits()
	}
}

func (p *v8Parser) digits() {
	for isDigit(p.cur()) {
		p.pos++
	}
}

// scanLiteral scans true, false or null, whose first letter is at the
// cursor.
func (p *v8Parser) scanLiteral(lit string) {
	for i := 1; i < len(lit); i++ {
		if p.next() != int(lit[i]) {
			p.unexpected()
			return
		}
	}
	p.pos++
}
