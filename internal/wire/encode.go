package wire

// The encoder half of the codec: the evaluate request, written as
// json.Marshal writes it.

import (
	"strconv"

	"github.com/verdictpdp/verdict/abi"
)

// AppendRequest appends to b the JSON encoding of r, byte for byte what
// json.Marshal(r) returns: the same key order, Principal's canonical form,
// omitted empty optional fields, and encoding/json's escaping (<, > and & as
// \u003c, \u003e and \u0026, U+2028 and U+2029 escaped, invalid UTF-8 as
// \ufffd). A nil r appends null.
func AppendRequest(b []byte, r *abi.Request) []byte {
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

func appendPrincipal(b []byte, p *abi.Principal) []byte {
	b = append(b, `{"type":`...)
	b = AppendString(b, p.Type)
	switch p.Type {
	case abi.PrincipalUser:
		b = append(b, `,"userEntityRef":`...)
		b = AppendString(b, p.UserEntityRef)
		b = append(b, `,"ownershipEntityRefs":[`...)
		for i, ref := range p.OwnershipEntityRefs {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendString(b, ref)
		}
		b = append(b, ']')
		if p.Actor != nil {
			b = append(b, `,"actor":{"type":`...)
			b = AppendString(b, p.Actor.Type)
			b = append(b, `,"subject":`...)
			b = AppendString(b, p.Actor.Subject)
			b = append(b, '}')
		}
	case abi.PrincipalService:
		b = append(b, `,"subject":`...)
		b = AppendString(b, p.Subject)
	}
	return append(b, '}')
}

func appendItem(b []byte, it *abi.Item) []byte {
	b = append(b, `{"id":`...)
	b = AppendString(b, it.ID)
	b = append(b, `,"permission":{"type":`...)
	b = AppendString(b, it.Permission.Type)
	b = append(b, `,"name":`...)
	b = AppendString(b, it.Permission.Name)
	b = append(b, `,"attributes":{`...)
	if it.Permission.Attributes.Action != "" {
		b = append(b, `"action":`...)
		b = AppendString(b, it.Permission.Attributes.Action)
	}
	b = append(b, '}')
	if it.Permission.ResourceType != "" {
		b = append(b, `,"resourceType":`...)
		b = AppendString(b, it.Permission.ResourceType)
	}
	b = append(b, '}')
	if it.ResourceRef != nil {
		b = append(b, `,"resourceRef":`...)
		b = AppendString(b, *it.ResourceRef)
	}
	return append(b, '}')
}
