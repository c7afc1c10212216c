package abi

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Criteria is a Backstage permission criteria tree: exactly one of AllOf
// (non-empty), AnyOf (non-empty), Not (a single criteria object), or a leaf
// condition with Rule, ResourceType and optional Params (a JSON object).
//
// Decoding is strict: a node that mixes shapes, carries unknown keys, has an
// empty allOf or anyOf, a "not" that is not an object, a leaf without rule or
// resourceType, or params that are not an object is refused. Backstage's
// client would strip or misread such nodes; Verdict treats them as invalid.
type Criteria struct {
	AllOf        []Criteria
	AnyOf        []Criteria
	Not          *Criteria
	Rule         string
	ResourceType string
	// Params maps parameter names to their JSON values, kept verbatim.
	Params map[string]json.RawMessage
}

// Leaf reports whether c is a leaf condition.
func (c *Criteria) Leaf() bool { return c.AllOf == nil && c.AnyOf == nil && c.Not == nil }

// MarshalJSON encodes c in Backstage's shape.
func (c Criteria) MarshalJSON() ([]byte, error) {
	switch {
	case c.AllOf != nil:
		return json.Marshal(struct {
			AllOf []Criteria `json:"allOf"`
		}{c.AllOf})
	case c.AnyOf != nil:
		return json.Marshal(struct {
			AnyOf []Criteria `json:"anyOf"`
		}{c.AnyOf})
	case c.Not != nil:
		return json.Marshal(struct {
			Not *Criteria `json:"not"`
		}{c.Not})
	}
	if c.Params == nil {
		return json.Marshal(struct {
			Rule         string `json:"rule"`
			ResourceType string `json:"resourceType"`
		}{c.Rule, c.ResourceType})
	}
	return json.Marshal(struct {
		Rule         string                     `json:"rule"`
		ResourceType string                     `json:"resourceType"`
		Params       map[string]json.RawMessage `json:"params"`
	}{c.Rule, c.ResourceType, c.Params})
}

// UnmarshalJSON decodes one criteria node strictly (see Criteria).
func (c *Criteria) UnmarshalJSON(data []byte) error {
	var node map[string]json.RawMessage
	if err := json.Unmarshal(data, &node); err != nil || node == nil {
		return fmt.Errorf("%w: a criteria node must be an object", ErrInvalidCriteria)
	}
	*c = Criteria{}
	has := func(k string) bool { _, ok := node[k]; return ok }
	only := func(keys ...string) error {
		allowed := map[string]bool{}
		for _, k := range keys {
			allowed[k] = true
		}
		for k := range node {
			if !allowed[k] {
				return fmt.Errorf("%w: unexpected key %q", ErrInvalidCriteria, k)
			}
		}
		return nil
	}
	list := func(key string) ([]Criteria, error) {
		if err := only(key); err != nil {
			return nil, err
		}
		var children []Criteria
		if err := json.Unmarshal(node[key], &children); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalidCriteria, key, err)
		}
		if len(children) == 0 {
			return nil, fmt.Errorf("%w: %s must be a non-empty array", ErrInvalidCriteria, key)
		}
		return children, nil
	}
	var err error
	switch {
	case has("allOf"):
		c.AllOf, err = list("allOf")
		return err
	case has("anyOf"):
		c.AnyOf, err = list("anyOf")
		return err
	case has("not"):
		if err := only("not"); err != nil {
			return err
		}
		raw := bytes.TrimSpace(node["not"])
		if len(raw) == 0 || raw[0] != '{' {
			return fmt.Errorf("%w: not must be a single criteria object", ErrInvalidCriteria)
		}
		c.Not = &Criteria{}
		return json.Unmarshal(raw, c.Not)
	}
	if err := only("rule", "resourceType", "params"); err != nil {
		return err
	}
	if err := stringField(node, "rule", &c.Rule); err != nil {
		return err
	}
	if err := stringField(node, "resourceType", &c.ResourceType); err != nil {
		return err
	}
	if raw, ok := node["params"]; ok {
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 || raw[0] != '{' {
			return fmt.Errorf("%w: params must be an object", ErrInvalidCriteria)
		}
		if err := json.Unmarshal(raw, &c.Params); err != nil {
			return fmt.Errorf("%w: params: %w", ErrInvalidCriteria, err)
		}
		if c.Params == nil {
			c.Params = map[string]json.RawMessage{}
		}
	}
	return nil
}

func stringField(node map[string]json.RawMessage, key string, dst *string) error {
	raw, ok := node[key]
	if !ok {
		return fmt.Errorf("%w: a leaf condition needs %q", ErrInvalidCriteria, key)
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return fmt.Errorf("%w: %s must be a string", ErrInvalidCriteria, key)
	}
	if *dst == "" {
		return fmt.Errorf("%w: %s must not be empty", ErrInvalidCriteria, key)
	}
	return nil
}

// Validate checks limits that decoding cannot: at most maxDepth levels and
// maxNodes nodes, and every leaf's resourceType equal to resourceType when
// that is not empty.
func (c *Criteria) Validate(resourceType string, maxDepth, maxNodes int) error {
	nodes := 0
	var walk func(n *Criteria, depth int) error
	walk = func(n *Criteria, depth int) error {
		nodes++
		if depth > maxDepth {
			return fmt.Errorf("%w: deeper than %d levels", ErrInvalidCriteria, maxDepth)
		}
		if nodes > maxNodes {
			return fmt.Errorf("%w: more than %d nodes", ErrInvalidCriteria, maxNodes)
		}
		// Shape rules again, for trees built in Go rather than decoded.
		shapes := 0
		for _, set := range []bool{n.AllOf != nil, n.AnyOf != nil, n.Not != nil} {
			if set {
				shapes++
			}
		}
		switch {
		case shapes > 1:
			return fmt.Errorf("%w: a node is exactly one of allOf, anyOf, not or a leaf", ErrInvalidCriteria)
		case n.AllOf != nil && len(n.AllOf) == 0, n.AnyOf != nil && len(n.AnyOf) == 0:
			return fmt.Errorf("%w: allOf and anyOf must be non-empty", ErrInvalidCriteria)
		case shapes == 0 && (n.Rule == "" || n.ResourceType == ""):
			return fmt.Errorf("%w: a leaf condition needs rule and resourceType", ErrInvalidCriteria)
		case shapes == 1 && (n.Rule != "" || n.ResourceType != "" || n.Params != nil):
			return fmt.Errorf("%w: a node is exactly one of allOf, anyOf, not or a leaf", ErrInvalidCriteria)
		}
		for _, list := range [][]Criteria{n.AllOf, n.AnyOf} {
			for i := range list {
				if err := walk(&list[i], depth+1); err != nil {
					return err
				}
			}
		}
		if n.Not != nil {
			return walk(n.Not, depth+1)
		}
		if n.Leaf() && resourceType != "" && n.ResourceType != resourceType {
			return fmt.Errorf("%w: condition %q has resourceType %q, want %q",
				ErrInvalidCriteria, n.Rule, n.ResourceType, resourceType)
		}
		return nil
	}
	return walk(c, 1)
}
