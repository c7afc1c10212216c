package host

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync/atomic"

	"github.com/verdictpdp/verdict/host/internal/module"
)

// handle is a loaded module shared by the snapshots that hold it. It
// closes when the last of them is released.
type handle struct {
	m      *module.Module
	key    [sha256.Size]byte // of the module's bytes and its configure input
	sealed bool
	refs   atomic.Int64
}

func (hd *handle) retain() { hd.refs.Add(1) }

func (hd *handle) release() {
	if hd.refs.Add(-1) == 0 {
		_ = hd.m.Close(context.Background())
	}
}

// snapshot is an immutable set of loaded modules. It is reference counted so
// that a replaced snapshot lets go of its modules only after the requests
// using it finish.
type snapshot struct {
	gen     uint64
	modules []*handle               // serving, in file-name order
	errors  map[string]PolicyStatus // by name: the last load failure, if any
	refs    atomic.Int64            // 1 while current, +1 per request in flight
}

func (s *snapshot) tryRef() bool {
	for {
		n := s.refs.Load()
		if n <= 0 {
			return false
		}
		if s.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (s *snapshot) release() {
	if s.refs.Add(-1) == 0 {
		for _, hd := range s.modules {
			hd.release()
		}
	}
}

// discard releases the modules of a snapshot that never became current.
func (s *snapshot) discard() {
	for _, hd := range s.modules {
		hd.release()
	}
}

// activate makes s the current snapshot, as the load of epoch from dir,
// unless the host is closed or that load was abandoned (an error), or keep
// says the current snapshot stays (no error). It reports whether s became
// current; the caller releases what s holds when it did not.
func (h *Host) activate(s *snapshot, epoch uint64, dir string, keep func(cur *snapshot) bool) (bool, error) {
	h.loadMu.Lock()
	defer h.loadMu.Unlock()
	if h.closed.Load() {
		return false, ErrClosed
	}
	if !h.loading || h.loadEpoch != epoch {
		return false, fmt.Errorf("%w: %s: this load was abandoned at its deadline and a later one took over", ErrLoadTimeout, dir)
	}
	if cur := h.cur.Load(); cur != nil && keep(cur) {
		return false, nil
	}
	s.gen = h.gen.Add(1)
	s.refs.Store(1)
	if old := h.cur.Swap(s); old != nil {
		old.release()
	}
	return true, nil
}

// acquire pins the current snapshot; the caller must release it.
func (h *Host) acquire() (*snapshot, error) {
	for {
		if h.closed.Load() {
			return nil, ErrClosed
		}
		s := h.cur.Load()
		if s == nil {
			return nil, ErrNoSnapshot
		}
		if s.tryRef() {
			return s, nil
		}
	}
}

// sameSnapshot reports whether a and b serve the same modules and report the
// same errors.
func sameSnapshot(a, b *snapshot) bool {
	if len(a.modules) != len(b.modules) || len(a.errors) != len(b.errors) {
		return false
	}
	for i := range a.modules {
		if a.modules[i] != b.modules[i] {
			return false
		}
	}
	for name, e := range a.errors {
		if b.errors[name].Message != e.Message {
			return false
		}
	}
	return true
}
