package host

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/verdictpdp/verdict/host/internal/module"
)

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

// Status describes the active snapshot and every module: those serving
// (OK or QUARANTINED, or ERROR when a newer version failed to load and this
// one still serves) and those that failed with no version serving.
func (h *Host) Status() Status {
	s, err := h.acquire()
	if err != nil {
		return Status{Policies: []PolicyStatus{}}
	}
	defer s.release()
	st := Status{Generation: s.gen, Policies: make([]PolicyStatus, 0, len(s.modules)+len(s.errors)),
		LoadFailures: h.loadFailures.Load()}
	serving := map[string]bool{}
	for _, hd := range s.modules {
		serving[hd.m.Name()] = true
		st.Policies = append(st.Policies, hd.status(s.errors))
	}
	for name, e := range s.errors {
		if !serving[name] {
			st.Policies = append(st.Policies, e)
		}
	}
	sortPolicies(st.Policies)
	return st
}

// status describes the serving module of hd; failed, the snapshot's load
// failures, say whether a newer version failed to load.
func (hd *handle) status(failed map[string]PolicyStatus) PolicyStatus {
	m := hd.m
	ps := PolicyStatus{
		Name: m.Name(), File: m.File(), SHA256: m.SHA256(), Sealed: hd.sealed, ABI: m.Description().ABI,
		Claims: m.Claims().Patterns(), Status: StatusOK, LoadedAt: m.LoadedAt(),
		Counters: m.Counters(),
	}
	if q, since := m.Quarantined(); q {
		ps.Status = StatusQuarantined
		ps.Message = fmt.Sprintf("quarantined since %s after repeated traps or timeouts; a changed file or a reload releases it",
			since.UTC().Format(time.RFC3339))
	}
	if e, ok := failed[m.Name()]; ok {
		ps.Status = StatusError
		ps.Message = e.Message + " (the previous version keeps serving)"
	}
	return ps
}

// Ready returns nil when a snapshot is active and stuck calls leave room for
// new ones, else an error saying why.
func (h *Host) Ready() error {
	s, err := h.acquire()
	if err != nil {
		return err
	}
	defer s.release()
	var errs []error
	for _, hd := range s.modules {
		if hd.m.Saturated() {
			errs = append(errs, fmt.Errorf("module %s: every instance slot is held by a stuck call", hd.m.Name()))
		}
	}
	return errors.Join(errs...)
}
