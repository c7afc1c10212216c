package module

import "sync/atomic"

// counters count what happens to a module's calls; Counters reads them.
type counters struct {
	calls, items, traps, timeouts, badOutput, guestErrors, denied, discarded, logDrops, quarantines atomic.Uint64
	stuck                                                                                           atomic.Int64
}

// Counters count what happened to a module's calls since it loaded. The
// host shows them in its status as they are (host.Counters is this type),
// hence the JSON names.
type Counters struct {
	// Calls and Items count guest calls and the items they carried.
	Calls uint64 `json:"calls"`
	Items uint64 `json:"items"`
	// Traps and Timeouts count calls that trapped and calls that ran out
	// of fuel or time.
	Traps    uint64 `json:"traps"`
	Timeouts uint64 `json:"timeouts"`
	// BadOutput counts calls whose output the host could not use
	// (unreadable, out of range, over its cap), error envelopes included,
	// and outputs that answered unknown ids.
	BadOutput uint64 `json:"badOutput"`
	// Denied counts items answered DENY because of a failure.
	Denied uint64 `json:"deniedByFailure"`
	// Discarded counts instances thrown away after a failure.
	Discarded uint64 `json:"instancesDiscarded"`
	// Stuck is the number of calls abandoned at their deadline that have
	// not returned yet; each holds an instance slot.
	Stuck int64 `json:"stuckCalls"`
	// LogDrops counts log bytes dropped over the per-message cap.
	LogDrops uint64 `json:"logBytesDropped"`
	// Quarantines counts how often the module was quarantined.
	Quarantines uint64 `json:"quarantines"`
	// Instances is how many instances wait in the module's pool.
	Instances int `json:"idleInstances"`
}

// Counters returns the module's counters.
func (m *Module) Counters() Counters {
	c := &m.count
	return Counters{
		Calls: c.calls.Load(), Items: c.items.Load(), Traps: c.traps.Load(), Timeouts: c.timeouts.Load(),
		BadOutput: c.badOutput.Load() + c.guestErrors.Load(), Denied: c.denied.Load(),
		Discarded: c.discarded.Load(), Stuck: c.stuck.Load(), LogDrops: c.logDrops.Load(),
		Quarantines: c.quarantines.Load(), Instances: len(m.idle),
	}
}

// Saturated reports whether stuck calls hold every instance slot.
func (m *Module) Saturated() bool { return m.count.stuck.Load() >= int64(m.opts.Instances) }
