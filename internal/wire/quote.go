package wire

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// appendString appends s quoted as encoding/json quotes it with HTML escaping
// on (its default).
func appendString(b []byte, s string) []byte { return AppendString(b, s, true) }

// AppendString appends s as a JSON string. Quotes, backslashes and control
// characters are always escaped and invalid UTF-8 becomes U+FFFD. With
// html, <, > and & become \u003c, \u003e and \u0026 and U+2028 and U+2029
// are escaped too, byte for byte as encoding/json writes strings; without
// it, the output is what JavaScript's JSON.stringify writes (what Backstage
// echoes).
func AppendString(b []byte, s string, html bool) []byte {
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
