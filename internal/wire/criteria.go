package wire

import (
	"encoding/json"
	"fmt"

	"github.com/verdictpdp/verdict/abi"
)

// Criteria node keys, as bits of the set of keys seen.
const (
	keyAllOf uint8 = 1 << iota
	keyAnyOf
	keyNot
	keyRule
	keyLeafType
	keyParams
)

// criteria decodes one criteria node with Criteria.UnmarshalJSON's rules.
func (d *decoder) criteria(c *abi.Criteria) error {
	if d.peek() != '{' {
		return fmt.Errorf("%w: a criteria node must be an object", abi.ErrInvalidCriteria)
	}
	var seen uint8
	err := d.object(func(key []byte) error {
		var bit uint8
		switch string(key) {
		case "allOf":
			bit = keyAllOf
		case "anyOf":
			bit = keyAnyOf
		case "not":
			bit = keyNot
		case "rule":
			bit = keyRule
		case "resourceType":
			bit = keyLeafType
		case "params":
			bit = keyParams
		default:
			return fmt.Errorf("%w: unexpected key %q", abi.ErrInvalidCriteria, key)
		}
		if seen&bit != 0 {
			return fmt.Errorf("%w: duplicate key %q", abi.ErrInvalidCriteria, key)
		}
		seen |= bit
		if bit <= keyNot && seen != bit || bit > keyNot && seen&(keyAllOf|keyAnyOf|keyNot) != 0 {
			return fmt.Errorf("%w: a node is exactly one of allOf, anyOf, not or a leaf", abi.ErrInvalidCriteria)
		}
		switch bit {
		case keyAllOf:
			return d.criteriaList(&c.AllOf, "allOf")
		case keyAnyOf:
			return d.criteriaList(&c.AnyOf, "anyOf")
		case keyNot:
			if d.peek() != '{' {
				return fmt.Errorf("%w: not must be a single criteria object", abi.ErrInvalidCriteria)
			}
			c.Not = &abi.Criteria{}
			return d.criteria(c.Not)
		case keyRule:
			return d.leafString(&c.Rule, "rule")
		case keyLeafType:
			return d.leafString(&c.ResourceType, "resourceType")
		}
		return d.params(c)
	})
	if err != nil {
		return err
	}
	if seen&(keyAllOf|keyAnyOf|keyNot) == 0 {
		if seen&keyRule == 0 {
			return fmt.Errorf("%w: a leaf condition needs %q", abi.ErrInvalidCriteria, "rule")
		}
		if seen&keyLeafType == 0 {
			return fmt.Errorf("%w: a leaf condition needs %q", abi.ErrInvalidCriteria, "resourceType")
		}
	}
	return nil
}

func (d *decoder) criteriaList(dst *[]abi.Criteria, key string) error {
	if d.peek() != '[' {
		if d.null() {
			return fmt.Errorf("%w: %s must be a non-empty array", abi.ErrInvalidCriteria, key)
		}
		return fmt.Errorf("%w: %s must be an array", abi.ErrInvalidCriteria, key)
	}
	list := make([]abi.Criteria, 0, 2)
	err := d.array(func() error {
		list = append(list, abi.Criteria{})
		return d.criteria(&list[len(list)-1])
	})
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return fmt.Errorf("%w: %s must be a non-empty array", abi.ErrInvalidCriteria, key)
	}
	*dst = list
	return nil
}

func (d *decoder) leafString(dst *string, key string) error {
	if err := d.stringField(dst); err != nil {
		return fmt.Errorf("%w: %s must be a string", abi.ErrInvalidCriteria, key)
	}
	if *dst == "" {
		return fmt.Errorf("%w: %s must not be empty", abi.ErrInvalidCriteria, key)
	}
	return nil
}

func (d *decoder) params(c *abi.Criteria) error {
	if d.peek() != '{' {
		return fmt.Errorf("%w: params must be an object", abi.ErrInvalidCriteria)
	}
	params := map[string]json.RawMessage{}
	err := d.object(func(key []byte) error {
		k := d.keyString()
		if _, dup := params[k]; dup {
			return fmt.Errorf("%w: params: duplicate key %q", abi.ErrInvalidCriteria, k)
		}
		start := d.pos
		if err := d.skip(); err != nil {
			return err
		}
		params[k] = d.rawCopy(start, d.pos)
		return nil
	})
	if err != nil {
		return err
	}
	c.Params = params
	return nil
}
