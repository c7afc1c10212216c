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
	"strconv"
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
