package abi

import (
	"errors"
	"fmt"
)

// Criteria limits the host applies to guest answers by default.
const (
	// DefaultCriteriaDepth is the deepest criteria tree accepted.
	DefaultCriteriaDepth = 32
	// DefaultCriteriaNodes is the largest criteria tree accepted.
	DefaultCriteriaNodes = 1000
)

// Validate checks p against Backstage's schema: type basic or resource,
// resourceType present exactly for resource permissions, and action one of
// create, read, update, delete or absent.
func (p Permission) Validate() error {
	switch p.Type {
	case PermissionBasic:
		if p.ResourceType != "" {
			return errors.New("a basic permission has no resourceType")
		}
	case PermissionResource:
		if p.ResourceType == "" {
			return errors.New("a resource permission needs a resourceType")
		}
	default:
		return fmt.Errorf("permission type %q is neither basic nor resource", p.Type)
	}
	switch p.Attributes.Action {
	case "", "create", "read", "update", "delete":
		return nil
	}
	return fmt.Errorf("action %q is not one of create, read, update, delete", p.Attributes.Action)
}

// CheckAnswer validates a module's answer a for an item asking about p: the
// result is one of the four; a CONDITIONAL answers a resource permission,
// names a pluginId, repeats the permission's resourceType and carries valid
// conditions whose leaves have that resourceType; other results carry no
// conditional fields.
func CheckAnswer(a *Answer, p Permission, maxDepth, maxNodes int) error {
	if !a.Result.Valid() {
		return fmt.Errorf("%w: result %q", ErrInvalidAnswer, a.Result)
	}
	if a.Result != Conditional {
		if a.PluginID != "" || a.ResourceType != "" || a.Conditions != nil {
			return fmt.Errorf("%w: %s with conditional fields", ErrInvalidAnswer, a.Result)
		}
		return nil
	}
	if !p.IsResource() {
		return fmt.Errorf("%w: CONDITIONAL for basic permission %q", ErrInvalidAnswer, p.Name)
	}
	if a.PluginID == "" {
		return fmt.Errorf("%w: CONDITIONAL without pluginId", ErrInvalidAnswer)
	}
	if a.ResourceType != p.ResourceType {
		return fmt.Errorf("%w: CONDITIONAL resourceType %q does not match permission %q (%q)",
			ErrInvalidAnswer, a.ResourceType, p.Name, p.ResourceType)
	}
	if a.Conditions == nil {
		return fmt.Errorf("%w: CONDITIONAL without conditions", ErrInvalidAnswer)
	}
	if err := a.Conditions.Validate(p.ResourceType, maxDepth, maxNodes); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidAnswer, err)
	}
	return nil
}
