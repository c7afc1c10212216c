// Package host runs Verdict policy modules: it compiles each module once,
// keeps a pool of sandboxed instances per module, routes each item to the
// modules that claim it, calls each module once per batch, validates every
// answer and combines them into one decision per item, failing closed.
//
// The HTTP adapter lives in host/backstage/internal/httpapi; the wire contract in package abi.
package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/verdictpdp/verdict/host/internal/module"
)

// Host is a policy host. It is safe for concurrent use.
type Host struct {
	cfg    Config
	log    *slog.Logger
	opts   module.Options
	cache  wazero.CompilationCache
	cur    atomic.Pointer[snapshot]
	gen    atomic.Uint64
	closed atomic.Bool
	// loadMu guards the load lease below. It is held only for moments,
	// never across file I/O or compilation, so that nothing (serving,
	// Status, Close, a SIGHUP) ever waits on a load that hangs.
	loadMu      sync.Mutex
	src         source        // what was loaded last
	loading     bool          // a load holds the lease
	loadEpoch   uint64        // the lease's number; a load commits only while it holds it
	loadStarted time.Time     // when the lease was taken
	loadDone    chan struct{} // closed when the lease is given back or taken over
	stuckLoads  int           // loads abandoned at their deadline that have not returned yet
	cacheOnce   sync.Once     // closes cache
	// observer receives call metrics; nil when none.
	observer CallObserver
	// loadFailures counts module loads that failed.
	loadFailures atomic.Uint64
}

// Option configures what a Host reports to, beyond its Config.
type Option func(*Host)

// CallObserver is told about every guest call, for metrics. It must not
// block. Outcomes: "ok", "trap", "timeout", "bad output", "guest error",
// "busy".
type CallObserver interface {
	ObserveCall(module string, d time.Duration, outcome string)
}

// WithCallObserver reports every guest call to o.
func WithCallObserver(o CallObserver) Option { return func(h *Host) { h.observer = o } }

// New returns a Host with no snapshot loaded: Decide answers ErrNoSnapshot
// until LoadDir succeeds.
func New(ctx context.Context, cfg Config, log *slog.Logger, opts ...Option) (*Host, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("host config: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Host{cfg: cfg, log: log}
	for _, o := range opts {
		o(h)
	}
	h.cache = compilationCache(cfg.CacheDir, log)
	h.opts = cfg.moduleOptions(h.cache, log, h.observer)
	return h, nil
}

// compilationCache is wazero's compilation cache in dir, or in memory when
// dir is empty or not usable (which it logs).
func compilationCache(dir string, log *slog.Logger) wazero.CompilationCache {
	if dir == "" {
		return wazero.NewCompilationCache()
	}
	c, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		log.Warn("compilation cache directory is not usable; compiling in memory", "dir", dir, "error", err)
		return wazero.NewCompilationCache()
	}
	return c
}

// Close releases every module. Later calls get ErrClosed. A load in
// progress gets until ctx ends (at most 5 s) to finish; a hung one is
// abandoned, and the compilation cache closes when the last load returns.
func (h *Host) Close(ctx context.Context) error {
	if h.closed.Swap(true) {
		return nil
	}
	h.loadMu.Lock()
	if h.loading {
		done := h.loadDone
		h.loadMu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
		}
		h.loadMu.Lock()
		if h.loading {
			h.abandonLease()
		}
	}
	old := h.cur.Swap(nil)
	idle := h.stuckLoads == 0
	h.loadMu.Unlock()
	if old != nil {
		old.release()
	}
	if !idle {
		return nil // the last load to return closes the cache (endLease)
	}
	done := make(chan struct{})
	go func() { h.closeCache(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(5 * time.Second):
		return errors.New("host close: compilation cache did not close in time")
	}
}

// closeCache closes the compilation cache once, after Close, when no load
// that could still compile with it is running.
func (h *Host) closeCache() {
	h.cacheOnce.Do(func() { _ = h.cache.Close(context.Background()) })
}
