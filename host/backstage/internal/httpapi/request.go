package httpapi

import "github.com/verdictpdp/verdict/abi"

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
