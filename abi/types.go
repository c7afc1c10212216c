package abi

import "encoding/json"

// Result is a module's answer for one item.
type Result string

// The results a module may give. The host's final answers use only Allow,
// Deny and Conditional; Abstain means "no opinion" and is resolved by the
// combining algorithm.
const (
	Allow       Result = "ALLOW"
	Deny        Result = "DENY"
	Conditional Result = "CONDITIONAL"
	Abstain     Result = "ABSTAIN"
)

// Valid reports whether r is one of the four results a module may give.
func (r Result) Valid() bool {
	switch r {
	case Allow, Deny, Conditional, Abstain:
		return true
	}
	return false
}

// Permission types, as in Backstage.
const (
	PermissionBasic    = "basic"
	PermissionResource = "resource"
)

// Principal types given to the guest.
const (
	PrincipalUser    = "user"
	PrincipalService = "service"
	PrincipalNone    = "none"
)

// Attributes are a permission's attributes. Action is one of create, read,
// update, delete, or empty.
type Attributes struct {
	Action string `json:"action,omitempty"`
}

// Permission is a Backstage permission: basic, or resource with a
// ResourceType. Permissions are identified by Name.
type Permission struct {
	Type         string     `json:"type"`
	Name         string     `json:"name"`
	Attributes   Attributes `json:"attributes"`
	ResourceType string     `json:"resourceType,omitempty"`
}

// IsResource reports whether p is a resource permission.
func (p Permission) IsResource() bool { return p.Type == PermissionResource }

// Actor is the service acting on behalf of a user (a plugin calling with an
// on-behalf-of token).
type Actor struct {
	Type    string `json:"type"`
	Subject string `json:"subject"`
}

// Principal is who is asking. Users carry their entity ref and ownership
// refs (always present for users, possibly empty) and maybe an Actor;
// services carry a Subject; "none" carries nothing.
type Principal struct {
	Type                string   `json:"type"`
	UserEntityRef       string   `json:"userEntityRef,omitempty"`
	OwnershipEntityRefs []string `json:"ownershipEntityRefs,omitempty"`
	Actor               *Actor   `json:"actor,omitempty"`
	Subject             string   `json:"subject,omitempty"`
}

// MarshalJSON encodes p in its canonical guest form, with only the fields of
// its type: a user has userEntityRef, ownershipEntityRefs (always present,
// possibly empty) and maybe actor; a service has subject; "none" has nothing
// but its type.
func (p Principal) MarshalJSON() ([]byte, error) {
	switch p.Type {
	case PrincipalUser:
		refs := p.OwnershipEntityRefs
		if refs == nil {
			refs = []string{}
		}
		return json.Marshal(struct {
			Type                string   `json:"type"`
			UserEntityRef       string   `json:"userEntityRef"`
			OwnershipEntityRefs []string `json:"ownershipEntityRefs"`
			Actor               *Actor   `json:"actor,omitempty"`
		}{p.Type, p.UserEntityRef, refs, p.Actor})
	case PrincipalService:
		return json.Marshal(struct {
			Type    string `json:"type"`
			Subject string `json:"subject"`
		}{p.Type, p.Subject})
	}
	return json.Marshal(struct {
		Type string `json:"type"`
	}{p.Type})
}

// Item is one question given to a guest. ID is assigned by the host ("0" ..
// "n-1" within a call); ResourceRef is nil when the caller gave none.
type Item struct {
	ID          string     `json:"id"`
	Permission  Permission `json:"permission"`
	ResourceRef *string    `json:"resourceRef,omitempty"`
}

// Request is the input of verdict_evaluate.
type Request struct {
	ABI       int       `json:"abi"`
	Principal Principal `json:"principal"`
	Items     []Item    `json:"items"`
}

// Answer is a module's answer for one item. PluginID, ResourceType and
// Conditions are set exactly when Result is Conditional. Reason is optional
// free text that explains the answer.
type Answer struct {
	ID           string    `json:"id"`
	Result       Result    `json:"result"`
	PluginID     string    `json:"pluginId,omitempty"`
	ResourceType string    `json:"resourceType,omitempty"`
	Conditions   *Criteria `json:"conditions,omitempty"`
	Reason       string    `json:"reason,omitempty"`
}

// Response is the output of verdict_evaluate: either Items or Error.
type Response struct {
	Items []Answer    `json:"items,omitempty"`
	Error *GuestError `json:"error,omitempty"`
}

// MarshalJSON writes {"error":...} when Error is set and {"items":[...]}
// (possibly empty) otherwise.
func (r Response) MarshalJSON() ([]byte, error) {
	if r.Error != nil {
		return json.Marshal(struct {
			Error *GuestError `json:"error"`
		}{r.Error})
	}
	items := r.Items
	if items == nil {
		items = []Answer{}
	}
	return json.Marshal(struct {
		Items []Answer `json:"items"`
	}{items})
}

// GuestError is the error envelope a guest returns instead of answers (from
// verdict_evaluate or verdict_configure).
type GuestError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Description is the output of verdict_describe.
type Description struct {
	ABI     string   `json:"abi"`
	Name    string   `json:"name"`
	Version string   `json:"version"`
	SDK     string   `json:"sdk"`
	Claims  []string `json:"claims"`
}

// ConfigureInput is the input of verdict_configure: the module's settings
// file as JSON (null when there is none) and the text files of its sidecar
// directory by base name.
type ConfigureInput struct {
	Settings json.RawMessage   `json:"settings"`
	Files    map[string]string `json:"files"`
}

// MarshalJSON always writes settings (null when empty) and files ({} when
// empty), so guests see the documented shape.
func (c ConfigureInput) MarshalJSON() ([]byte, error) {
	s := c.Settings
	if len(s) == 0 {
		s = json.RawMessage("null")
	}
	f := c.Files
	if f == nil {
		f = map[string]string{}
	}
	return json.Marshal(struct {
		Settings json.RawMessage   `json:"settings"`
		Files    map[string]string `json:"files"`
	}{s, f})
}

// ConfigureOutput is the output of verdict_configure: {"ok":true} or an
// error envelope.
type ConfigureOutput struct {
	OK    bool        `json:"ok,omitempty"`
	Error *GuestError `json:"error,omitempty"`
}
