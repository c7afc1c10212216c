package host

import (
	"sort"
	"time"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host/internal/module"
)

// Query is one question put to the host: a permission and, optionally, the
// resource it is about. A Backstage item whose resourceRef is an array is
// asked as one Query per ref.
type Query struct {
	Permission  abi.Permission
	ResourceRef *string
}

// Decision is the host's final answer for one Query: ALLOW, DENY, or
// CONDITIONAL with PluginID, ResourceType and Conditions. Reason explains it;
// Answers lists each module's contribution in file-name order.
type Decision struct {
	Result       abi.Result
	PluginID     string
	ResourceType string
	Conditions   *abi.Criteria
	Reason       string
	Answers      []ModuleAnswer
}

// ModuleAnswer is what one module answered for one item.
type ModuleAnswer struct {
	Module string     `json:"module"`
	Result abi.Result `json:"result"`
	Reason string     `json:"reason,omitempty"`
}

// Decisions is the answer to a batch: one Decision per Query, in order, and
// the generation of the snapshot that decided them.
type Decisions struct {
	Generation uint64
	Items      []Decision
}

// Module statuses as shown by Status.
const (
	StatusOK          = "OK"
	StatusError       = "ERROR"
	StatusQuarantined = "QUARANTINED"
)

// Status describes the active snapshot and every module the host knows of.
type Status struct {
	// Generation counts the snapshots activated so far (0: none yet).
	Generation uint64         `json:"generation"`
	Policies   []PolicyStatus `json:"policies"`
	// LoadFailures counts module loads that failed since the host started.
	LoadFailures uint64 `json:"loadFailures"`
}

// PolicyStatus describes one module file.
type PolicyStatus struct {
	Name     string    `json:"name"`
	File     string    `json:"file"`
	SHA256   string    `json:"sha256"`
	Sealed   bool      `json:"sealed"`
	ABI      string    `json:"abi"`
	Claims   []string  `json:"claims"`
	Status   string    `json:"status"`
	Message  string    `json:"message,omitempty"`
	LoadedAt time.Time `json:"loadedAt,omitzero"`
	Counters Counters  `json:"counters"`
}

// Counters count what happened to a module's calls since it loaded: calls
// and items, traps, timeouts, unusable outputs, items denied by a failure,
// discarded instances, stuck calls, dropped log bytes, quarantines and idle
// instances. It is the type the module loader counts in, so the counters
// are defined once; each field's meaning is documented there
// (host/internal/module/counters.go).
type Counters = module.Counters

func sortPolicies(ps []PolicyStatus) {
	sort.Slice(ps, func(i, j int) bool { return ps[i].File < ps[j].File })
}
