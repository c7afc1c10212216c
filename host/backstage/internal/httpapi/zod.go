package httpapi

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/verdictpdp/verdict/abi"
)

// This file validates decoded request bodies the way Backstage's zod (v3)
// schema does and reports failures in zod's issue shape, so that a client
// sees the same 400 message from Verdict as from Backstage:
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

// seg is one element of an issue path: an object key or an array index.
type seg struct {
	key   string
	index int
	isIdx bool
}

func key(k string) seg { return seg{key: k} }
func index(i int) seg  { return seg{index: i, isIdx: true} }

// at is the path p extended by s. It appends into p's spare capacity (the
// callers give their root path room for every level) so that valid fields
// cost no allocation: the result shares p's backing array and is only
// good until the next at on the same p. That is enough, since each field's
// path is used before its next sibling's is built, and issues copy theirs.
func at(p []seg, s seg) []seg { return append(p, s) }

// Issue codes used here.
const (
	codeInvalidType  = "invalid_type"
	codeInvalidLit   = "invalid_literal"
	codeInvalidUnion = "invalid_union"
	codeInvalidEnum  = "invalid_enum_value"
	codeTooSmall     = "too_small"
)

// zodIssue is one zod issue. Which fields are used depends on code.
type zodIssue struct {
	code     string
	expected string // invalid_type: a type name; invalid_literal: the literal
	received string // invalid_type: the parsed type
	// invalid_literal and invalid_enum_value: the received value, if any.
	value    any
	hasValue bool
	minimum  int      // too_small
	typ      string   // too_small: "array" or "string"
	options  []string // invalid_enum_value
	union    [][]zodIssue
	path     []seg
	message  string
}

// issues collects zod issues.
type issues []zodIssue

func (is *issues) add(z zodIssue, path []seg) {
	z.path = append([]seg(nil), path...)
	*is = append(*is, z)
}

// parsedType is zod's getParsedType for a decoded JSON value; present is
// false for a missing key (JavaScript's undefined).
func parsedType(v any, present bool) string {
	if !present {
		return "undefined"
	}
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64, json.Number:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

func (is *issues) invalidType(path []seg, expected string, v any, present bool) {
	received := parsedType(v, present)
	msg := "Required"
	if present {
		msg = "Expected " + expected + ", received " + received
	}
	is.add(zodIssue{code: codeInvalidType, expected: expected, received: received, message: msg}, path)
}

func (is *issues) invalidLiteral(path []seg, want string, v any, present bool) {
	is.add(zodIssue{code: codeInvalidLit, expected: want, value: v, hasValue: present,
		message: "Invalid literal value, expected " + string(appendString(nil, want))}, path)
}

func (is *issues) tooSmall(path []seg, typ string, min int) {
	unit := "element(s)"
	kind := "Array"
	if typ == "string" {
		unit, kind = "character(s)", "String"
	}
	is.add(zodIssue{code: codeTooSmall, minimum: min, typ: typ,
		message: kind + " must contain at least " + strconv.Itoa(min) + " " + unit}, path)
}

func (is *issues) invalidUnion(path []seg, options ...issues) {
	var u [][]zodIssue
	for _, o := range options {
		if len(o) > 0 {
			u = append(u, o)
		}
	}
	is.add(zodIssue{code: codeInvalidUnion, union: u, message: "Invalid input"}, path)
}

// zString is z.string() (with min 1 when nonEmpty).
func zString(is *issues, path []seg, v any, present, nonEmpty bool) (string, zstatus) {
	s, ok := v.(string)
	if !present || !ok {
		is.invalidType(path, "string", v, present)
		return "", zAborted
	}
	if nonEmpty && s == "" {
		is.tooSmall(path, "string", 1)
		return s, zDirty
	}
	return s, zValid
}

// refKind says how an item gave its resourceRef.
type refKind uint8

const (
	refNone refKind = iota
	refString
	refArray
)

// item is a validated request item.
type item struct {
	id   string
	perm abi.Permission
	kind refKind
	ref  string   // refString
	refs []string // refArray
}

// zItem validates one item against the union of the basic and the resource
// shape.
func zItem(is *issues, path []seg, v any) (item, zstatus) {
	// The options are exclusive (permission.type is a literal in each):
	// when the type says resource, trying that option first changes no
	// result and spares building the basic option's issues.
	if isResourceItem(v) {
		var resource issues
		if it, st := zItemOption(&resource, path, v, true); st == zValid {
			return it, zValid
		}
	}
	var basic, resource issues
	it, st1 := zItemOption(&basic, path, v, false)
	if st1 == zValid {
		return it, zValid
	}
	it2, st2 := zItemOption(&resource, path, v, true)
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

func zItemOption(is *issues, path []seg, v any, resource bool) (item, zstatus) {
	obj, ok := v.(map[string]any)
	if !ok {
		is.invalidType(path, "object", v, true)
		return item{}, zAborted
	}
	var it item
	idv, has := obj["id"]
	id, st := zString(is, at(path, key("id")), idv, has, false)
	it.id = id
	rv, has := obj["resourceRef"]
	if has {
		rp := at(path, key("resourceRef"))
		if !resource {
			is.invalidType(rp, "undefined", rv, true)
			st = zAborted
		} else {
			s := zResourceRef(is, rp, rv, &it)
			st = worse(st, s)
		}
	}
	pv, has := obj["permission"]
	p, s := zPermission(is, at(path, key("permission")), pv, has, resource)
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

var actions = [...]string{"create", "read", "update", "delete"}

// zPermission is the basic or the resource permission shape.
func zPermission(is *issues, path []seg, v any, present, resource bool) (abi.Permission, zstatus) {
	var p abi.Permission
	obj, ok := v.(map[string]any)
	if !present || !ok {
		is.invalidType(path, "object", v, present)
		return p, zAborted
	}
	st := zValid
	want := abi.PermissionBasic
	if resource {
		want = abi.PermissionResource
	}
	tv, has := obj["type"]
	if s, ok := tv.(string); !has || !ok || s != want {
		is.invalidLiteral(at(path, key("type")), want, tv, has)
		st = zAborted
	}
	p.Type = want
	nv, has := obj["name"]
	name, s := zString(is, at(path, key("name")), nv, has, false)
	p.Name = name
	st = worse(st, s)
	av, has := obj["attributes"]
	ap := at(path, key("attributes"))
	if attrs, ok := av.(map[string]any); !has || !ok {
		is.invalidType(ap, "object", av, has)
		st = zAborted
	} else if act, has := attrs["action"]; has {
		a, ok := act.(string)
		valid := false
		for _, x := range actions {
			if ok && a == x {
				valid = true
				break
			}
		}
		if valid {
			p.Attributes.Action = a
		} else {
			opts := make([]issues, len(actions))
			actp := at(ap, key("action"))
			for i, x := range actions {
				opts[i].invalidLiteral(actp, x, act, true)
			}
			is.invalidUnion(actp, opts...)
			st = zAborted
		}
	}
	if resource {
		rv, has := obj["resourceType"]
		rt, s := zString(is, at(path, key("resourceType")), rv, has, false)
		p.ResourceType = rt
		st = worse(st, s)
	}
	return p, st
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

// zPrincipal validates the native endpoint's principal. It is Verdict's
// own schema, reported in zod's shape:
//
//	{type:"user", userEntityRef: nonempty string, ownershipEntityRefs?: string[], actor?: {type, subject}}
//	{type:"service", subject: nonempty string}
//	{type:"none"}
func zPrincipal(is *issues, v any, present bool) abi.Principal {
	var p abi.Principal
	path := []seg{key("principal")}
	obj, ok := v.(map[string]any)
	if !present || !ok {
		is.invalidType(path, "object", v, present)
		return p
	}
	tp := at(path, key("type"))
	opts := []string{abi.PrincipalUser, abi.PrincipalService, abi.PrincipalNone}
	tv, has := obj["type"]
	t, ok := tv.(string)
	if !has || !ok {
		is.invalidType(tp, "'user' | 'service' | 'none'", tv, has)
		return p
	}
	switch t {
	case abi.PrincipalUser:
		p.Type = t
		rv, has := obj["userEntityRef"]
		p.UserEntityRef, _ = zString(is, at(path, key("userEntityRef")), rv, has, true)
		if ov, has := obj["ownershipEntityRefs"]; has {
			op := at(path, key("ownershipEntityRefs"))
			arr, ok := ov.([]any)
			if !ok {
				is.invalidType(op, "array", ov, true)
			} else {
				p.OwnershipEntityRefs = make([]string, 0, len(arr))
				for j, e := range arr {
					s, _ := zString(is, at(op, index(j)), e, true, false)
					p.OwnershipEntityRefs = append(p.OwnershipEntityRefs, s)
				}
			}
		}
		if av, has := obj["actor"]; has {
			ap := at(path, key("actor"))
			a, ok := av.(map[string]any)
			if !ok {
				is.invalidType(ap, "object", av, true)
			} else {
				var act abi.Actor
				tv, has := a["type"]
				act.Type, _ = zString(is, at(ap, key("type")), tv, has, true)
				sv, has := a["subject"]
				act.Subject, _ = zString(is, at(ap, key("subject")), sv, has, true)
				p.Actor = &act
			}
		}
	case abi.PrincipalService:
		p.Type = t
		sv, has := obj["subject"]
		p.Subject, _ = zString(is, at(path, key("subject")), sv, has, true)
	case abi.PrincipalNone:
		p.Type = t
	default:
		is.add(zodIssue{code: codeInvalidEnum, value: t, hasValue: true, options: opts,
			message: "Invalid enum value. Expected 'user' | 'service' | 'none', received '" + t + "'"}, tp)
	}
	return p
}

// message renders issues like ZodError.toString(): JSON.stringify(issues,
// null, 2).
func (is issues) message() string {
	b := appendIssues(nil, is)
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return string(b)
	}
	return out.String()
}

func appendIssues(b []byte, is []zodIssue) []byte {
	b = append(b, '[')
	for i := range is {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendIssue(b, &is[i])
	}
	return append(b, ']')
}

// appendIssue writes z with zod's key order, which differs per code because
// zod spreads each code's issue data before adding path and message.
func appendIssue(b []byte, z *zodIssue) []byte {
	str := func(b []byte, k, v string) []byte {
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, `":`...)
		return appendString(b, v)
	}
	path := func(b []byte) []byte {
		b = append(b, `"path":[`...)
		for i, s := range z.path {
			if i > 0 {
				b = append(b, ',')
			}
			if s.isIdx {
				b = strconv.AppendInt(b, int64(s.index), 10)
			} else {
				b = appendString(b, s.key)
			}
		}
		return append(b, ']')
	}
	value := func(b []byte) []byte {
		if !z.hasValue {
			return b
		}
		b = append(b, `"received":`...)
		if s, ok := z.value.(string); ok {
			b = appendString(b, s)
		} else {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			if enc.Encode(z.value) == nil {
				b = append(b, bytes.TrimRight(buf.Bytes(), "\n")...)
			} else {
				b = append(b, "null"...)
			}
		}
		return append(b, ',')
	}
	b = append(b, '{')
	switch z.code {
	case codeInvalidType:
		b = str(b, "code", z.code)
		b = append(b, ',')
		b = str(b, "expected", z.expected)
		b = append(b, ',')
		b = str(b, "received", z.received)
		b = append(b, ',')
		b = path(b)
	case codeInvalidLit:
		b = value(b)
		b = str(b, "code", z.code)
		b = append(b, ',')
		b = str(b, "expected", z.expected)
		b = append(b, ',')
		b = path(b)
	case codeInvalidEnum:
		b = value(b)
		b = str(b, "code", z.code)
		b = append(b, `,"options":[`...)
		for i, o := range z.options {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, o)
		}
		b = append(b, "],"...)
		b = path(b)
	case codeInvalidUnion:
		b = str(b, "code", z.code)
		b = append(b, `,"unionErrors":[`...)
		for i, u := range z.union {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"issues":`...)
			b = appendIssues(b, u)
			b = append(b, `,"name":"ZodError"}`...)
		}
		b = append(b, "],"...)
		b = path(b)
	case codeTooSmall:
		// The message key comes before path: zod's issue data carries an
		// undefined message key that the real message later fills.
		b = str(b, "code", z.code)
		b = append(b, `,"minimum":`...)
		b = strconv.AppendInt(b, int64(z.minimum), 10)
		b = append(b, ',')
		b = str(b, "type", z.typ)
		b = append(b, `,"inclusive":true,"exact":false,`...)
		b = str(b, "message", z.message)
		b = append(b, ',')
		b = path(b)
		return append(b, '}')
	}
	b = append(b, ',')
	b = str(b, "message", z.message)
	return append(b, '}')
}
