package verdict

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Quotes, backslashes and control
// characters are escaped; valid UTF-8 passes through; each invalid byte
// becomes \ufffd (as in encoding/json). U+2028 and U+2029 are escaped so the
// output is also safe to embed in JavaScript.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendValue appends v as JSON.
func appendValue(dst []byte, v *Value) []byte {
	switch v.kind {
	case KindString:
		return appendString(dst, v.s)
	case KindNumber:
		return append(dst, v.s...)
	case KindBool:
		if v.b {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case KindArray:
		dst = append(dst, '[')
		for i := range v.elems {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendValue(dst, &v.elems[i])
		}
		return append(dst, ']')
	case KindObject:
		return appendFields(dst, v.fields)
	}
	return append(dst, "null"...)
}

// appendFields appends fields as a JSON object.
func appendFields(dst []byte, fields []Field) []byte {
	dst = append(dst, '{')
	for i := range fields {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, fields[i].Key)
		dst = append(dst, ':')
		dst = appendValue(dst, &fields[i].Value)
	}
	return append(dst, '}')
}

// appendCriteria appends c in Backstage's shape. It does not validate: see
// Criteria.Validate.
func appendCriteria(dst []byte, c *Criteria) []byte {
	switch c.op {
	case opAllOf, opAnyOf:
		if c.op == opAllOf {
			dst = append(dst, `{"allOf":[`...)
		} else {
			dst = append(dst, `{"anyOf":[`...)
		}
		for i := range c.children {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendCriteria(dst, &c.children[i])
		}
		return append(dst, ']', '}')
	case opNot:
		dst = append(dst, `{"not":`...)
		if len(c.children) == 1 {
			dst = appendCriteria(dst, &c.children[0])
		} else {
			dst = append(dst, "null"...)
		}
		return append(dst, '}')
	case opLeaf:
		dst = append(dst, `{"rule":`...)
		dst = appendString(dst, c.rule)
		dst = append(dst, `,"resourceType":`...)
		dst = appendString(dst, c.resourceType)
		if len(c.params) > 0 {
			dst = append(dst, `,"params":`...)
			dst = appendFields(dst, c.params)
		}
		return append(dst, '}')
	}
	return append(dst, "null"...)
}

// appendAnswer appends one item of verdict_evaluate's output. d must have
// passed check, so that the conditional fields are set exactly for
// Conditional.
func appendAnswer(dst []byte, id string, d *Decision) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendString(dst, id)
	dst = append(dst, `,"result":`...)
	dst = appendString(dst, string(d.Result))
	if d.Result == Conditional {
		dst = append(dst, `,"pluginId":`...)
		dst = appendString(dst, d.PluginID)
		dst = append(dst, `,"resourceType":`...)
		dst = appendString(dst, d.ResourceType)
		dst = append(dst, `,"conditions":`...)
		dst = appendCriteria(dst, &d.Conditions)
	}
	if d.Reason != "" {
		dst = append(dst, `,"reason":`...)
		dst = appendString(dst, d.Reason)
	}
	return append(dst, '}')
}

// appendError appends the error envelope {"error":{"code","message"}}.
func appendError(dst []byte, code, message string) []byte {
	dst = append(dst, `{"error":{"code":`...)
	dst = appendString(dst, code)
	dst = append(dst, `,"message":`...)
	dst = appendString(dst, message)
	return append(dst, '}', '}')
}
