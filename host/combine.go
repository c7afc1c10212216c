package host

import "github.com/verdictpdp/verdict/host/internal/combine"

// Combine names a combining algorithm for the answers several modules give
// for one item (Config.Combine): DenyOverrides, PermitOverrides or
// FirstApplicable (DESIGN.md, "Combining algorithms"). It is the type the
// combiner itself takes, so the names are defined once.
type Combine = combine.Algorithm

// The combining algorithms.
const (
	// DenyOverrides: any DENY wins; else CONDITIONAL (allOf); else ALLOW.
	DenyOverrides = combine.DenyOverrides
	// PermitOverrides: any ALLOW wins; else CONDITIONAL (anyOf); else DENY.
	PermitOverrides = combine.PermitOverrides
	// FirstApplicable: the first answer that is not ABSTAIN, in file-name order.
	FirstApplicable = combine.FirstApplicable
)
