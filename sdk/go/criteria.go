package verdict

import (
	"errors"
	"strconv"
)

// op is a Criteria node's kind.
type op uint8

const (
	opNone op = iota
	opAllOf
	opAnyOf
	opNot
	opLeaf
)

// Limits the host applies to criteria by default; Validate applies the same.
const (
	// MaxCriteriaDepth is the deepest criteria tree the host accepts.
	MaxCriteriaDepth = 32
	// MaxCriteriaNodes is the largest criteria tree the host accepts.
	MaxCriteriaNodes = 1000
)

// Criteria is a Backstage permission criteria tree, the conditions of a
// Conditional decision: a leaf condition (a rule of the plugin, with
// parameters) or a combination of criteria. Build it with Condition, AllOf,
// AnyOf and Not. The zero Criteria is "no conditions" (see IsZero).
type Criteria struct {
	op           op
	children     []Criteria // allOf, anyOf; the single child of not
	rule         string
	resourceType string
	params       []Field
}

// Condition returns a leaf condition: the plugin's rule applied to
// resources of resourceType with the given parameters (encoded as the
// "params" object; omitted when there are none).
func Condition(rule, resourceType string, params ...Field) Criteria {
	return Criteria{op: opLeaf, rule: rule, resourceType: resourceType, params: params}
}

// AllOf returns criteria that hold when every one of cs holds. Backstage
// needs at least one: an empty AllOf fails Validate.
func AllOf(cs ...Criteria) Criteria { return Criteria{op: opAllOf, children: cs} }

// AnyOf returns criteria that hold when at least one of cs holds. Backstage
// needs at least one: an empty AnyOf fails Validate.
func AnyOf(cs ...Criteria) Criteria { return Criteria{op: opAnyOf, children: cs} }

// Not returns criteria that hold when c does not.
func Not(c Criteria) Criteria { return Criteria{op: opNot, children: []Criteria{c}} }

// IsZero reports whether c is the zero Criteria (no conditions).
func (c Criteria) IsZero() bool { return c.op == opNone }

// Rule returns a leaf's rule name, or "" for other nodes.
func (c Criteria) Rule() string { return c.rule }

// ResourceType returns a leaf's resource type, or "" for other nodes.
func (c Criteria) ResourceType() string { return c.resourceType }

// Params returns a leaf's parameters in order (nil when none).
func (c Criteria) Params() []Field { return c.params }

// MarshalJSON returns c in Backstage's JSON shape, so that Criteria can be
// used with encoding/json (in tests). The zero Criteria encodes as null.
func (c Criteria) MarshalJSON() ([]byte, error) {
	if c.IsZero() {
		return []byte("null"), nil
	}
	return appendCriteria(nil, &c), nil
}

// errCriteria prefixes every criteria validation error.
var errCriteria = errors.New("invalid conditions")

// Validate checks c against Backstage's rules and the host's default
// limits: allOf and anyOf are non-empty, leaves have a rule and a resource
// type equal to resourceType (when resourceType is not empty), parameter
// names are unique, and the tree has at most MaxCriteriaDepth levels and
// MaxCriteriaNodes nodes. The zero Criteria is invalid.
func (c Criteria) Validate(resourceType string) error {
	nodes := 0
	return c.validate(resourceType, 1, &nodes)
}

func (c *Criteria) validate(rt string, depth int, nodes *int) error {
	*nodes++
	if depth > MaxCriteriaDepth {
		return criteriaError("deeper than " + strconv.Itoa(MaxCriteriaDepth) + " levels")
	}
	if *nodes > MaxCriteriaNodes {
		return criteriaError("more than " + strconv.Itoa(MaxCriteriaNodes) + " nodes")
	}
	switch c.op {
	case opNone:
		return criteriaError("missing criteria")
	case opAllOf, opAnyOf:
		if len(c.children) == 0 {
			return criteriaError("allOf and anyOf need at least one criteria")
		}
	case opNot:
		if len(c.children) != 1 {
			return criteriaError("not needs exactly one criteria")
		}
	case opLeaf:
		if c.rule == "" {
			return criteriaError("a condition needs a rule")
		}
		if c.resourceType == "" {
			return criteriaError("condition " + strconv.Quote(c.rule) + " needs a resourceType")
		}
		if rt != "" && c.resourceType != rt {
			return criteriaError("condition " + strconv.Quote(c.rule) + " has resourceType " +
				strconv.Quote(c.resourceType) + ", want " + strconv.Quote(rt))
		}
		for i := range c.params {
			for j := range i {
				if c.params[j].Key == c.params[i].Key {
					return criteriaError("condition " + strconv.Quote(c.rule) +
						" repeats parameter " + strconv.Quote(c.params[i].Key))
				}
			}
		}
		return nil
	}
	for i := range c.children {
		if err := c.children[i].validate(rt, depth+1, nodes); err != nil {
			return err
		}
	}
	return nil
}

type criteriaErr struct{ msg string }

func (e *criteriaErr) Error() string { return errCriteria.Error() + ": " + e.msg }
func (e *criteriaErr) Unwrap() error { return errCriteria }

func criteriaError(msg string) error { return &criteriaErr{msg: msg} }
