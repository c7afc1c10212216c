package wire

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// AppendString appends s quoted as encoding/json quotes it (HTML escaping on,
// its default): quotes, backslashes and control characters escaped, <, > and
// & as \u003c, \u003e and \u0026, U+2028 and U+2029 escaped, and invalid
// UTF-8 as \ufffd.
func AppendString(b []byte, s string) []byte { return appendQuoted(b, s, true) }

// AppendJSString appends s quoted as JavaScript's JSON.stringify quotes it
// (what Backstage echoes, and what a signature over Backstage's JSON covers):
// only quotes, backslashes and control characters are escaped, and invalid
// UTF-8 becomes U+FFFD (the character itself, as a JavaScript string holds it).
func AppendJSString(b []byte, s string) []byte { return appendQuoted(b, s, false) }

// appendQuoted is AppendString with html, AppendJSString without.
func appendQuoted(b []byte, s string, html bool) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && (!html || c != '<' && c != '>' && c != '&') {
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
		case r == utf8.RuneError && size == 1 && html:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, "\ufffd"...)
		case html && (r == '\u2028' || r == '\u2029'):
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
