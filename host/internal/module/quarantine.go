package module

import (
	"sync"
	"time"
)

// quarantine remembers recent traps and timeouts. Once limit of them fall
// within window, the module is quarantined until Reset.
type quarantine struct {
	mu     sync.Mutex
	recent []time.Time
	since  time.Time // zero when not quarantined
}

// fail records a failure at now and reports whether it quarantined the module.
func (q *quarantine) fail(now time.Time, limit int, window time.Duration) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.since.IsZero() {
		return false
	}
	keep := q.recent[:0]
	for _, t := range q.recent {
		if now.Sub(t) < window {
			keep = append(keep, t)
		}
	}
	q.recent = append(keep, now)
	if len(q.recent) >= limit {
		q.since = now
		q.recent = nil
		return true
	}
	return false
}

func (q *quarantine) active() (bool, time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return !q.since.IsZero(), q.since
}

func (q *quarantine) reset() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.since, q.recent = time.Time{}, nil
}

// Quarantined reports whether the module is quarantined, and since when.
func (m *Module) Quarantined() (bool, time.Time) { return m.quarantine.active() }

// ResetQuarantine lets a quarantined module run again (a forced reload).
func (m *Module) ResetQuarantine() { m.quarantine.reset() }
