package verdict

// Result is a policy's answer for one item.
type Result string

// The results a policy may give. Abstain means "no opinion": the host then
// asks the next module, or applies its default (DENY unless configured
// otherwise). The zero Result is not valid; the SDK turns it into DENY.
const (
	Allow       Result = "ALLOW"
	Deny        Result = "DENY"
	Conditional Result = "CONDITIONAL"
	Abstain     Result = "ABSTAIN"
)

// Valid reports whether r is one of Allow, Deny, Conditional and Abstain.
func (r Result) Valid() bool {
	switch r {
	case Allow, Deny, Conditional, Abstain:
		return true
	}
	return false
}

// Principal types, the values of Principal.Type.
const (
	// PrincipalUser is a signed-in user (possibly via a plugin acting on
	// their behalf, see Principal.Actor).
	PrincipalUser = "user"
	// PrincipalService is a backend service calling on its own behalf.
	PrincipalService = "service"
	// PrincipalNone is an anonymous caller (for example in dev mode).
	PrincipalNone = "none"
)

// Permission types, the values of Permission.Type.
const (
	// PermissionBasic is a permission about no particular resource.
	PermissionBasic = "basic"
	// PermissionResource is a permission about resources of a ResourceType;
	// only these may be answered with Conditional.
	PermissionResource = "resource"
)

// Actor is the service that acts on behalf of a user, when a plugin calls
// with an on-behalf-of token.
type Actor struct {
	// Type is the actor's kind, normally "service".
	Type string
	// Subject identifies the service, for example "plugin:catalog".
	Subject string
}

// Principal is who is asking. Its fields are decoded from the host's input
// and are valid for the duration of one evaluation; copy what you keep.
type Principal struct {
	// Type is PrincipalUser, PrincipalService or PrincipalNone (other values
	// may appear in later minor versions of the ABI).
	Type string
	// UserEntityRef is the user's entity ref, e.g. "user:default/jane"; set
	// for users only.
	UserEntityRef string
	// OwnershipEntityRefs are the refs the user is considered to own through
	// (the user and their groups); set for users only, possibly empty.
	OwnershipEntityRefs []string
	// Actor is the plugin acting on behalf of the user, or nil.
	Actor *Actor
	// Subject identifies a service principal; set for services only.
	Subject string
}

// IsUser reports whether p is a user.
func (p *Principal) IsUser() bool { return p.Type == PrincipalUser }

// Attributes are a permission's attributes.
type Attributes struct {
	// Action is "create", "read", "update", "delete" or empty.
	Action string
}

// Permission is a Backstage permission, identified by its Name.
type Permission struct {
	// Type is PermissionBasic or PermissionResource.
	Type string
	// Name is the permission's name, e.g. "catalog.entity.read".
	Name string
	// Attributes are the permission's attributes.
	Attributes Attributes
	// ResourceType is the resource type of a resource permission, e.g.
	// "catalog-entity"; empty for basic permissions.
	ResourceType string
}

// IsResource reports whether p is a resource permission.
func (p *Permission) IsResource() bool { return p.Type == PermissionResource }

// Item is one question: may the principal have Permission (on the resource
// ResourceRef, when one is given)?
type Item struct {
	// ID is the host's id for the item ("0", "1", ... within a call); the
	// SDK copies it into the answer, so policies need not touch it.
	ID string
	// Permission is the permission asked about.
	Permission Permission
	// ResourceRef is the resource asked about, e.g.
	// "component:default/petstore"; meaningful only when HasResourceRef.
	ResourceRef string
	// HasResourceRef reports whether the caller named a resource.
	HasResourceRef bool
}

// Decision is a policy's answer for one item.
//
// PluginID, ResourceType and Conditions belong to Conditional answers only:
// the SDK answers DENY (with a reason saying why) when they are set on any
// other result, or when a Conditional answer lacks them, answers a basic
// permission, or carries invalid criteria. A Conditional answer with an
// empty ResourceType gets the permission's resource type.
type Decision struct {
	// Result is the answer.
	Result Result
	// PluginID is the plugin that evaluates Conditions (Conditional only),
	// e.g. "catalog".
	PluginID string
	// ResourceType is the resource type Conditions are about (Conditional
	// only); it must equal the permission's resource type.
	ResourceType string
	// Conditions are the criteria the plugin applies (Conditional only).
	Conditions Criteria
	// Reason optionally explains the answer; the host logs it and may show
	// it to callers, so keep secrets out of it.
	Reason string
}

// Allowed returns an Allow decision with the given reason (may be empty).
func Allowed(reason string) Decision { return Decision{Result: Allow, Reason: reason} }

// Denied returns a Deny decision with the given reason (may be empty).
func Denied(reason string) Decision { return Decision{Result: Deny, Reason: reason} }

// Abstained returns an Abstain decision: this policy has no opinion.
func Abstained() Decision { return Decision{Result: Abstain} }

// Conditionally returns a Conditional decision: the plugin pluginID decides
// by applying conditions to the resource. The resource type is taken from
// the permission.
func Conditionally(pluginID string, conditions Criteria) Decision {
	return Decision{Result: Conditional, PluginID: pluginID, Conditions: conditions}
}
