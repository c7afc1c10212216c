package host

import (
	"context"
	"fmt"
	"time"
)

// maxStuckLoads is how many abandoned loads may still be running (stuck in
// a read the kernel does not interrupt, or a compilation) before new loads
// are refused with ErrLoadStuck instead of piling up goroutines and threads.
const maxStuckLoads = 2

// takeLease waits until no load runs, or the running one is overdue, and
// takes the load lease, recording dir as the directory being loaded.
func (h *Host) takeLease(ctx context.Context, src source) (uint64, error) {
	for {
		h.loadMu.Lock()
		if h.closed.Load() {
			h.loadMu.Unlock()
			return 0, ErrClosed
		}
		if !h.loading {
			h.loadEpoch++
			h.loading, h.loadStarted, h.loadDone, h.src = true, time.Now(), make(chan struct{}), src
			e := h.loadEpoch
			h.loadMu.Unlock()
			return e, nil
		}
		wait := time.Until(h.loadStarted.Add(h.cfg.LoadDirTimeout))
		if wait <= 0 {
			if h.stuckLoads >= maxStuckLoads {
				n, since := h.stuckLoads+1, h.loadStarted
				h.loadMu.Unlock()
				return 0, fmt.Errorf("%w: %d loads have not returned, the oldest running since %s (a hung file system?); the previous snapshot keeps serving",
					ErrLoadStuck, n, since.UTC().Format(time.RFC3339))
			}
			h.abandonLease()
			h.loadMu.Unlock()
			continue
		}
		done := h.loadDone
		h.loadMu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-done:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return 0, fmt.Errorf("%w: waiting for the running load: %w", ErrLoad, ctx.Err())
		}
		t.Stop()
	}
}

// abandonLease gives up on the running load: it can no longer commit, and
// counts as stuck until it returns. h.loadMu must be held.
func (h *Host) abandonLease() {
	h.loadEpoch++
	h.loading = false
	h.stuckLoads++
	close(h.loadDone)
	h.log.Warn("abandoning a policy directory load that passed its deadline", "dir", h.src.dir,
		"started", h.loadStarted, "loadDirTimeout", h.cfg.LoadDirTimeout)
}

// endLease gives the lease back when the load of epoch returns, or counts
// an abandoned load as returned.
func (h *Host) endLease(epoch uint64) {
	h.loadMu.Lock()
	defer h.loadMu.Unlock()
	if h.loading && h.loadEpoch == epoch {
		h.loading = false
		close(h.loadDone)
	} else {
		h.stuckLoads--
	}
	if h.closed.Load() && !h.loading && h.stuckLoads == 0 {
		go h.closeCache() // Close left it to the last load
	}
}
