package main

import (
	"strconv"

	verdict "github.com/verdictpdp/verdict/sdk/go"
)

// kind is the type of a node.
type kind uint8

const (
	kNull kind = iota
	kString
	kNumber
	kBool
	kList
	kMap
)

func (k kind) String() string {
	return [...]string{"null", "a string", "a number", "a boolean", "a list", "a map"}[k]
}

// node is a parsed YAML or JSON value with the line it starts on (0 when it
// came from the settings, which the host hands over as JSON without line
// numbers). Conditional-policy documents and the native form are checked
// over nodes, so that errors can name a line where there is one.
type node struct {
	kind  kind
	line  int
	s     string // string text, number literal, "true"/"false"
	items []*node
	keys  []string
	vals  []*node
}

// get returns the value of key in a map node, or nil.
func (n *node) get(key string) *node {
	if n == nil || n.kind != kMap {
		return nil
	}
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

// fromValue converts settings (a verdict.Value) to a node without lines.
func fromValue(v verdict.Value) *node {
	switch v.Kind() {
	case verdict.KindString:
		s, _ := v.AsString()
		return &node{kind: kString, s: s}
	case verdict.KindNumber:
		s, _ := v.Number()
		return &node{kind: kNumber, s: s}
	case verdict.KindBool:
		b, _ := v.AsBool()
		return &node{kind: kBool, s: strconv.FormatBool(b)}
	case verdict.KindArray:
		n := &node{kind: kList}
		for _, e := range v.Elems() {
			n.items = append(n.items, fromValue(e))
		}
		return n
	case verdict.KindObject:
		n := &node{kind: kMap}
		for _, f := range v.Fields() {
			n.keys = append(n.keys, f.Key)
			n.vals = append(n.vals, fromValue(f.Value))
		}
		return n
	}
	return &node{kind: kNull}
}

// value converts a node to a verdict.Value (for condition parameters).
func (n *node) value() verdict.Value {
	switch n.kind {
	case kString:
		return verdict.String(n.s)
	case kNumber:
		if v, err := verdict.ParseNumber(n.s); err == nil {
			return v
		}
		return verdict.String(n.s)
	case kBool:
		return verdict.Bool(n.s == "true")
	case kList:
		vs := make([]verdict.Value, len(n.items))
		for i, it := range n.items {
			vs[i] = it.value()
		}
		return verdict.Array(vs...)
	case kMap:
		fs := make([]verdict.Field, len(n.keys))
		for i, k := range n.keys {
			fs[i] = verdict.Param(k, n.vals[i].value())
		}
		return verdict.Object(fs...)
	}
	return verdict.Null()
}
