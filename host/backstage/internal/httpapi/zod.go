package httpapi

import (
	"strconv"

	"github.com/verdictpdp/verdict/abi"
)

// This file validates decoded request bodies the way Backstage's zod (v3)
// schema does and reports failures in zod's issue shape (zodissues.go), so
// that a client sees the same 400 message from Verdict as from Backstage:
//
//	attributes = z.object({ action: z.union([z.literal('create'), ...]).optional() })
//	basic      = z.object({ type: z.literal('basic'), name: z.string(), attributes })
//	resource   = z.object({ type: z.literal('resource'), name: z.string(), attributes, resourceType: z.string() })
//	item       = z.union([
//	  z.object({ id: z.string(), resourceRef: z.undefined().optional(), permission: basic }),
//	  z.object({ id: z.string(), resourceRef: z.union([z.string(), z.array(z.string()).nonempty()]).optional(), permission: resource }),
//	])
//	body       = z.object({ items: z.array(item) })
//
// Zod semantics kept: every key of a shape is checked in shape order and
// all issues are reported; unknown keys are stripped; a union returns its
// first valid option, else the issues of its first "dirty" option (one
// that failed only a length check), else one invalid_union issue holding
// each option's issues; the message is JSON.stringify(issues, null, 2).

// zstatus is zod's parse status.
type zstatus uint8

const (
	zValid zstatus = iota
	zDirty
	zAborted
)

func worse(a, b zstatus) zstatus {
	if b > a {
		return b
	}
	return a
}

// zString is z.string().
func zString(is *issues, path []seg, v any, present bool) (string, zstatus) {
	s, ok := v.(string)
	if !present || !ok {
		is.invalidType(path, "string", v, present)
		return "", zAborted
	}
	return s, zValid
}

// zNonEmptyString is z.string().min(1).
func zNonEmptyString(is *issues, path []seg, v any, present bool) (string, zstatus) {
	s, st := zString(is, path, v, present)
	if st == zValid && s == "" {
		is.tooSmall(path, "string", 1)
		return s, zDirty
	}
	return s, st
}

// zRequest validates the body of POST {base}/authorize: an object whose
// "items" are the request's items. Zod's issues are a 400 InputError; so
// are too many items or resourceRefs (see zItems).
func zRequest(body any, lim Limits) ([]item, error) {
	var is issues
	var items []item
	if obj, ok := body.(map[string]any); !ok {
		is.invalidType(nil, "object", body, true)
	} else {
		var err error
		if items, err = zItems(&is, obj, lim); err != nil {
			return nil, err
		}
	}
	if len(is) > 0 {
		return nil, newError(nameInput, is.message())
	}
	return items, nil
}

// zItems validates the "items" key of body. It reports an InputError (not
// a zod issue) when the array is longer than lim.BatchItems or its items'
// resourceRef arrays hold more than lim.ResourceRefs elements in all,
// before validating any item, so that the work per request stays bounded.
func zItems(is *issues, body map[string]any, lim Limits) ([]item, error) {
	v, has := body["items"]
	arr, ok := v.([]any)
	if !has || !ok {
		is.invalidType([]seg{key("items")}, "array", v, has)
		return nil, nil
	}
	if len(arr) > lim.BatchItems {
		return nil, newError(nameInput, "too many items: "+strconv.Itoa(len(arr))+
			" (the limit is "+strconv.Itoa(lim.BatchItems)+")")
	}
	if n := countRefs(arr); n > lim.ResourceRefs {
		return nil, newError(nameInput, "too many resourceRefs: "+strconv.Itoa(n)+
			" (the limit is "+strconv.Itoa(lim.ResourceRefs)+")")
	}
	items := make([]item, len(arr))
	path := make([]seg, 2, 8)
	path[0] = key("items")
	for i, e := range arr {
		path[1] = index(i)
		items[i], _ = zItem(is, path, e)
	}
	return items, nil
}

// countRefs counts the elements of the items' resourceRef arrays (a string
// resourceRef counts one, as it becomes one guest item too).
func countRefs(items []any) int {
	n := 0
	for _, e := range items {
		obj, _ := e.(map[string]any)
		switch r := obj["resourceRef"].(type) {
		case []any:
			n += len(r)
		case string:
			n++
		}
	}
	return n
}

// zItem validates one item against the union of the basic and the resource
// shape.
func zItem(is *issues, path []seg, v any) (item, zstatus) {
	// The options are exclusive (permission.type is a literal in each):
	// when the type says resource, trying that option first changes no
	// result and spares building the basic option's issues.
	if isResourceItem(v) {
		var resource issues
		if it, st := zItemOption(&resource, path, v, abi.PermissionResource); st == zValid {
			return it, zValid
		}
	}
	var basic, resource issues
	it, st1 := zItemOption(&basic, path, v, abi.PermissionBasic)
	if st1 == zValid {
		return it, zValid
	}
	it2, st2 := zItemOption(&resource, path, v, abi.PermissionResource)
	if st2 == zValid {
		return it2, zValid
	}
	if st1 == zDirty {
		*is = append(*is, basic...)
		return it, zDirty
	}
	if st2 == zDirty {
		*is = append(*is, resource...)
		return it2, zDirty
	}
	is.invalidUnion(path, basic, resource)
	return item{}, zAborted
}

// isResourceItem reports whether v is an object whose permission.type is
// "resource".
func isResourceItem(v any) bool {
	obj, _ := v.(map[string]any)
	perm, _ := obj["permission"].(map[string]any)
	t, _ := perm["type"].(string)
	return t == abi.PermissionResource
}

// zItemOption is the item option whose permission.type is permType
// (abi.PermissionBasic or abi.PermissionResource): only the resource option
// allows a resourceRef.
func zItemOption(is *issues, path []seg, v any, permType string) (item, zstatus) {
	obj, ok := v.(map[string]any)
	if !ok {
		is.invalidType(path, "object", v, true)
		return item{}, zAborted
	}
	var it item
	idv, has := obj["id"]
	id, st := zString(is, at(path, key("id")), idv, has)
	it.id = id
	rv, has := obj["resourceRef"]
	if has {
		rp := at(path, key("resourceRef"))
		if permType != abi.PermissionResource {
			is.invalidType(rp, "undefined", rv, true)
			st = zAborted
		} else {
			s := zResourceRef(is, rp, rv, &it)
			st = worse(st, s)
		}
	}
	pv, has := obj["permission"]
	p, s := zPermission(is, at(path, key("permission")), pv, has, permType)
	it.perm = p
	return it, worse(st, s)
}

// zResourceRef is z.union([z.string(), z.array(z.string()).nonempty()]).
func zResourceRef(is *issues, path []seg, v any, it *item) zstatus {
	if s, ok := v.(string); ok {
		it.kind, it.ref = refString, s
		return zValid
	}
	var asString, asArray issues
	asString.invalidType(path, "string", v, true)
	arr, ok := v.([]any)
	if !ok {
		asArray.invalidType(path, "array", v, true)
		is.invalidUnion(path, asString, asArray)
		return zAborted
	}
	st := zValid
	if len(arr) == 0 {
		asArray.tooSmall(path, "array", 1)
		st = zDirty
	}
	refs := make([]string, 0, len(arr))
	for j, e := range arr {
		s, ok := e.(string)
		if !ok {
			asArray.invalidType(at(path, index(j)), "string", e, true)
			st = zAborted
			continue
		}
		refs = append(refs, s)
	}
	switch st {
	case zValid:
	case zDirty:
		*is = append(*is, asArray...)
	default:
		is.invalidUnion(path, asString, asArray)
		return zAborted
	}
	it.kind, it.refs = refArray, refs
	return st
}

// zPermission is the permission shape whose type is permType: basic, or
// resource (which adds resourceType).
func zPermission(is *issues, path []seg, v any, present bool, permType string) (abi.Permission, zstatus) {
	var p abi.Permission
	obj, ok := v.(map[string]any)
	if !present || !ok {
		is.invalidType(path, "object", v, present)
		return p, zAborted
	}
	st := zValid
	tv, has := obj["type"]
	if s, ok := tv.(string); !has || !ok || s != permType {
		is.invalidLiteral(at(path, key("type")), permType, tv, has)
		st = zAborted
	}
	p.Type = permType
	nv, has := obj["name"]
	name, s := zString(is, at(path, key("name")), nv, has)
	p.Name = name
	st = worse(st, s)
	av, has := obj["attributes"]
	p.Attributes.Action, s = zAttributes(is, at(path, key("attributes")), av, has)
	st = worse(st, s)
	if permType == abi.PermissionResource {
		rv, has := obj["resourceType"]
		rt, s := zString(is, at(path, key("resourceType")), rv, has)
		p.ResourceType = rt
		st = worse(st, s)
	}
	return p, st
}

var actions = [...]string{"create", "read", "update", "delete"}

// zAttributes is the attributes shape; it returns the action ("" when
// absent or invalid).
func zAttributes(is *issues, path []seg, v any, present bool) (string, zstatus) {
	attrs, ok := v.(map[string]any)
	if !present || !ok {
		is.invalidType(path, "object", v, present)
		return "", zAborted
	}
	act, has := attrs["action"]
	if !has {
		return "", zValid
	}
	if a, ok := act.(string); ok {
		for _, x := range actions {
			if a == x {
				return a, zValid
			}
		}
	}
	opts := make([]issues, len(actions))
	actp := at(path, key("action"))
	for i, x := range actions {
		opts[i].invalidLiteral(actp, x, act, true)
	}
	is.invalidUnion(actp, opts...)
	return "", zAborted
}
