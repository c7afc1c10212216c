// Package host runs Verdict policy modules: it compiles each module once,
// keeps a pool of sandboxed instances per module, routes each item to the
// modules that claim it, calls each module once per batch, validates every
// answer and combines them into one decision per item, failing closed.
//
// The HTTP adapter lives in host/httpapi; the wire contract in package abi.
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

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host/internal/combine"
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
	loadMu sync.Mutex // serialises LoadDir
	closed atomic.Bool
}

// New returns a Host with no snapshot loaded: Decide answers ErrNoSnapshot
// until LoadDir succeeds.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Host, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("host config: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Host{cfg: cfg, log: log}
	h.cache = wazero.NewCompilationCache()
	if cfg.CacheDir != "" {
		c, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			log.Warn("compilation cache directory is not usable; compiling in memory", "dir", cfg.CacheDir, "error", err)
		} else {
			h.cache = c
		}
	}
	h.opts = module.Options{
		Cache:              h.cache,
		MemoryPages:        uint32(cfg.MemoryMiB) * 16,
		CallTimeout:        cfg.CallTimeout,
		LoadTimeout:        cfg.LoadTimeout,
		OutputBytes:        cfg.OutputBytes,
		OutputBytesPerItem: cfg.OutputBytesPerItem,
		Instances:          cfg.Instances,
		StdioBytes:         cfg.StdioBytes,
		LogBytes:           cfg.LogBytes,
		Log:                log,
	}
	return h, nil
}

// snapshot is an immutable set of loaded modules. It is reference counted so
// that the modules of a replaced snapshot close only after the requests
// using it finish.
type snapshot struct {
	gen     uint64
	modules []*module.Module // loaded, in file-name order
	failed  []PolicyStatus   // modules that did not load
	refs    atomic.Int64     // 1 while current, +1 per request in flight
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
		for _, m := range s.modules {
			_ = m.Close(context.Background())
		}
	}
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

// LoadDir loads every module of dir (NAME.wasm, with NAME.yaml|yml|json
// settings and a NAME.d/ sidecar directory) and activates the new snapshot
// atomically. A module that fails to load is left out and shown as ERROR in
// Status; LoadDir fails only when the directory cannot be read.
func (h *Host) LoadDir(ctx context.Context, dir string) error {
	h.loadMu.Lock()
	defer h.loadMu.Unlock()
	if h.closed.Load() {
		return ErrClosed
	}
	entries, err := scanDir(dir)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrLoad, err)
	}
	s := &snapshot{}
	for _, e := range entries {
		m, err := h.loadOne(ctx, dir, e)
		if err != nil {
			h.log.Error("module not loaded", "module", e.name, "error", err)
			s.failed = append(s.failed, PolicyStatus{Name: e.name, File: e.file, Status: StatusError,
				Message: err.Error(), Claims: []string{}})
			continue
		}
		d := m.Description()
		h.log.Info("module loaded", "module", m.Name(), "file", m.File(), "claims", d.Claims,
			"sdk", d.SDK, "version", d.Version, "sha256", m.SHA256())
		s.modules = append(s.modules, m)
	}
	s.gen = h.gen.Add(1)
	s.refs.Store(1)
	if old := h.cur.Swap(s); old != nil {
		old.release()
	}
	h.log.Info("policy snapshot active", "generation", s.gen, "modules", len(s.modules), "failed", len(s.failed))
	return nil
}

func (h *Host) loadOne(ctx context.Context, dir string, e entry) (*module.Module, error) {
	wasm, configure, err := readSource(dir, e)
	if err != nil {
		return nil, err
	}
	return module.Load(ctx, module.Source{Name: e.name, File: e.file, Wasm: wasm, Configure: configure}, h.opts)
}

// Decide answers a batch for principal p. It fails only with ErrNoSnapshot
// or ErrClosed; every module failure becomes a DENY with a reason.
func (h *Host) Decide(ctx context.Context, p abi.Principal, qs []Query) (*Decisions, error) {
	s, err := h.acquire()
	if err != nil {
		return nil, err
	}
	defer s.release()
	votes := make([][]combine.Vote, len(qs))
	idx := make([]int, 0, len(qs))
	items := make([]abi.Item, 0, len(qs))
	for _, m := range s.modules {
		idx, items = idx[:0], items[:0]
		set := m.Claims()
		for i := range qs {
			if set.Match(qs[i].Permission.Name) {
				idx = append(idx, i)
				items = append(items, abi.Item{Permission: qs[i].Permission, ResourceRef: qs[i].ResourceRef})
			}
		}
		if len(items) == 0 {
			continue
		}
		answers := m.Evaluate(ctx, p, items)
		for k, i := range idx {
			votes[i] = append(votes[i], combine.Vote{Module: m.Name(), Answer: answers[k]})
		}
	}
	out := &Decisions{Generation: s.gen, Items: make([]Decision, len(qs))}
	for i := range qs {
		a := combine.Combine(combine.Algorithm(h.cfg.Combine), votes[i], h.cfg.Default)
		d := Decision{Result: a.Result, PluginID: a.PluginID, ResourceType: a.ResourceType,
			Conditions: a.Conditions, Reason: a.Reason}
		if len(votes[i]) > 0 {
			d.Answers = make([]ModuleAnswer, len(votes[i]))
			for k, v := range votes[i] {
				d.Answers[k] = ModuleAnswer{Module: v.Module, Result: v.Answer.Result, Reason: v.Answer.Reason}
			}
		}
		out.Items[i] = d
	}
	return out, nil
}

// Status describes the active snapshot and every module.
func (h *Host) Status() Status {
	s, err := h.acquire()
	if err != nil {
		return Status{Policies: []PolicyStatus{}}
	}
	defer s.release()
	st := Status{Generation: s.gen, Policies: make([]PolicyStatus, 0, len(s.modules)+len(s.failed))}
	for _, m := range s.modules {
		d := m.Description()
		c := m.Counters()
		st.Policies = append(st.Policies, PolicyStatus{
			Name: m.Name(), File: m.File(), SHA256: m.SHA256(), ABI: d.ABI,
			Claims: m.Claims().Patterns(), Status: StatusOK, LoadedAt: m.LoadedAt(),
			Counters: Counters{Calls: c.Calls, Items: c.Items, Traps: c.Traps, Timeouts: c.Timeouts,
				BadOutput: c.BadOutput + c.GuestErrors, Denied: c.Denied, Discarded: c.Discarded,
				Stuck: c.Stuck, LogDrops: c.LogDrops},
		})
	}
	st.Policies = append(st.Policies, s.failed...)
	sortPolicies(st.Policies)
	return st
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
	for _, m := range s.modules {
		if m.Saturated() {
			errs = append(errs, fmt.Errorf("module %s: every instance slot is held by a stuck call", m.Name()))
		}
	}
	return errors.Join(errs...)
}

// Close releases every module. Later calls get ErrClosed.
func (h *Host) Close(ctx context.Context) error {
	if h.closed.Swap(true) {
		return nil
	}
	h.loadMu.Lock()
	defer h.loadMu.Unlock()
	if old := h.cur.Swap(nil); old != nil {
		old.release()
	}
	done := make(chan struct{})
	go func() { _ = h.cache.Close(context.Background()); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(5 * time.Second):
		return errors.New("host close: compilation cache did not close in time")
	}
}
