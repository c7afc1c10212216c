// Package host runs Verdict policy modules: it compiles each module once,
// keeps a pool of sandboxed instances per module, routes each item to the
// modules that claim it, calls each module once per batch, validates every
// answer and combines them into one decision per item, failing closed.
//
// The HTTP adapter lives in host/backstage/internal/httpapi; the wire contract in package abi.
package host

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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
// atomically. Modules whose bytes and settings are unchanged since the
// current snapshot are kept as they are; quarantined ones are released from
// quarantine. A module that fails to load is shown as ERROR in Status, and
// its previous version, if any, keeps serving. Files are read as
// openInside describes: regular files only, symlinks only when relative and
// inside dir. LoadDir fails only when the directory cannot be read, when
// ctx ends, or when the load passes Config.LoadDirTimeout (ErrLoadTimeout,
// ErrLoadStuck; see load).
func (h *Host) LoadDir(ctx context.Context, dir string) error {
	return h.load(ctx, source{dir: dir}, true)
}

// LoadModuleFile loads the one module file (a NAME.wasm, with the settings
// file and NAME.d/ beside it) as LoadDir would load its directory with
// every other module left out: for the CLI's commands that take a module
// file. Reload then reloads that module alone.
func (h *Host) LoadModuleFile(ctx context.Context, file string) error {
	base := filepath.Base(file)
	if !strings.HasSuffix(base, ".wasm") || strings.HasPrefix(base, ".") {
		return fmt.Errorf("%w: %s: a module file is NAME.wasm", ErrLoad, file)
	}
	return h.load(ctx, source{dir: filepath.Dir(file), only: strings.TrimSuffix(base, ".wasm")}, true)
}

// source is what a load reads: the directory, and when only is set, the
// one module of that name in it.
type source struct {
	dir, only string
}

// maxStuckLoads is how many abandoned loads may still be running (stuck in
// a read the kernel does not interrupt, or a compilation) before new loads
// are refused with ErrLoadStuck instead of piling up goroutines and threads.
const maxStuckLoads = 2

// load builds the next snapshot from dir. force releases quarantined
// modules; without it (a change seen by Watch) they stay quarantined unless
// their files changed.
//
// One load runs at a time, holding a lease. A load that does not finish
// within Config.LoadDirTimeout returns ErrLoadTimeout; it is abandoned (its
// snapshot, should it ever finish, is discarded) and the next load takes
// the lease over instead of queueing behind it. A caller therefore waits at
// most twice LoadDirTimeout: once for a running load to finish or become
// overdue, once for its own. Serving never waits on a load: Decide reads the
// current snapshot without any lock.
func (h *Host) load(ctx context.Context, src source, force bool) error {
	dir := src.dir
	epoch, err := h.takeLease(ctx, src)
	if err != nil {
		return err
	}
	// The load runs detached from ctx, so that a caller that goes away (an
	// HTTP client that disconnects) does not turn every module it was
	// loading into a failure; the deadline bounds it instead.
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.cfg.LoadDirTimeout)
	res := make(chan error, 1)
	go func() {
		defer cancel()
		err := h.build(lctx, src, force, epoch)
		h.endLease(epoch)
		res <- err
	}()
	deadline := time.NewTimer(h.cfg.LoadDirTimeout)
	defer deadline.Stop()
	select {
	case err := <-res:
		return err
	case <-deadline.C:
		h.log.Error("policy directory load timed out; the previous snapshot keeps serving and the next load will not wait for this one",
			"dir", dir, "loadDirTimeout", h.cfg.LoadDirTimeout)
		return fmt.Errorf("%w: %s did not load within policies.limits.loadDirTimeout (%s); the previous snapshot keeps serving",
			ErrLoadTimeout, dir, h.cfg.LoadDirTimeout)
	case <-ctx.Done():
		return fmt.Errorf("%w: %s: %w", ErrLoad, dir, ctx.Err())
	}
}

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

// build reads and loads every module of dir and activates the result,
// unless the load of epoch was abandoned meanwhile.
func (h *Host) build(ctx context.Context, src source, force bool, epoch uint64) error {
	dir := src.dir
	entries, err := scanDir(dir)
	if err != nil && !dirGone(err, src, h.cur.Load() != nil) {
		return fmt.Errorf("%w: %w", ErrLoad, err)
	}
	if err != nil {
		// The directory was removed, renamed away or replaced by a file:
		// its modules are removed, as removing their files would, so that
		// an ALLOW it served does not stay in service.
		return h.activateGone(src, err, epoch)
	}
	if src.only != "" {
		entries = slices.DeleteFunc(entries, func(e entry) bool { return e.name != src.only })
		if len(entries) == 0 {
			return fmt.Errorf("%w: %s: %w", ErrLoad, filepath.Join(dir, src.only+".wasm"), fs.ErrNotExist)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("%w: policy directory: %w", ErrLoad, err)
	}
	defer root.Close()
	prev := map[string]*handle{}
	if old := h.cur.Load(); old != nil {
		for _, hd := range old.modules {
			prev[hd.m.Name()] = hd
		}
	}
	s := &snapshot{errors: map[string]PolicyStatus{}}
	for _, e := range entries {
		hd, err := h.loadOne(ctx, root, dir, e, prev[e.name])
		if err != nil {
			h.loadFailures.Add(1)
			h.log.Error("module not loaded", "module", e.name, "error", err, "previousVersionServing", prev[e.name] != nil)
			s.errors[e.name] = PolicyStatus{Name: e.name, File: e.file, Status: StatusError,
				Message: err.Error(), Claims: []string{}}
			hd = prev[e.name] // the previous version, if any, keeps serving
		}
		if hd == nil {
			continue
		}
		if force {
			hd.m.ResetQuarantine()
		}
		hd.retain()
		s.modules = append(s.modules, hd)
	}
	discard := func() {
		for _, hd := range s.modules {
			hd.release()
		}
	}
	h.loadMu.Lock()
	defer h.loadMu.Unlock()
	if h.closed.Load() {
		discard()
		return ErrClosed
	}
	if !h.loading || h.loadEpoch != epoch {
		discard()
		return fmt.Errorf("%w: %s: this load was abandoned at its deadline and a later one took over", ErrLoadTimeout, dir)
	}
	if old := h.cur.Load(); !force && old != nil && sameSnapshot(old, s) {
		discard() // nothing changed: keep the current snapshot and generation
		return nil
	}
	s.gen = h.gen.Add(1)
	s.refs.Store(1)
	if old := h.cur.Swap(s); old != nil {
		old.release()
	}
	h.log.Info("policy snapshot active", "generation", s.gen, "modules", len(s.modules), "errors", len(s.errors))
	return nil
}

// dirGone reports whether err, from reading the policy directory, says it no
// longer exists (or is no longer a directory) on a reload of the whole
// directory. At the first load that is still an error.
func dirGone(err error, src source, reload bool) bool {
	return reload && src.only == "" && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR))
}

// activateGone activates a snapshot without modules, each module of the
// current one shown as ERROR with why, when the directory is gone (see
// dirGone).
func (h *Host) activateGone(src source, cause error, epoch uint64) error {
	s := &snapshot{errors: map[string]PolicyStatus{}}
	if old := h.cur.Load(); old != nil {
		for _, hd := range old.modules {
			s.errors[hd.m.Name()] = PolicyStatus{Name: hd.m.Name(), File: hd.m.File(), Status: StatusError,
				Message: fmt.Sprintf("module removed: %v", cause), Claims: []string{}}
		}
		for name, e := range old.errors {
			if _, ok := s.errors[name]; !ok {
				s.errors[name] = e
			}
		}
	}
	h.loadMu.Lock()
	defer h.loadMu.Unlock()
	if h.closed.Load() {
		return ErrClosed
	}
	if !h.loading || h.loadEpoch != epoch {
		return fmt.Errorf("%w: %s: this load was abandoned at its deadline and a later one took over", ErrLoadTimeout, src.dir)
	}
	if old := h.cur.Load(); old != nil && len(old.modules) == 0 && sameSnapshot(old, s) {
		return nil
	}
	s.gen = h.gen.Add(1)
	s.refs.Store(1)
	if old := h.cur.Swap(s); old != nil {
		old.release()
	}
	h.log.Warn("policy directory is gone; its modules are removed", "dir", src.dir, "error", cause, "generation", s.gen)
	return nil
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

// loadOne loads a module, or returns prev when the module's bytes and
// settings are unchanged.
func (h *Host) loadOne(ctx context.Context, root *os.Root, dir string, e entry, prev *handle) (*handle, error) {
	wasm, configure, err := readSource(root, dir, e)
	if err != nil {
		return nil, err
	}
	sealed, err := abi.CheckSeal(wasm)
	switch {
	case errors.Is(err, abi.ErrBadSeal):
		return nil, fmt.Errorf("%s: refused: %w", e.file, err)
	case err != nil:
		return nil, fmt.Errorf("%s: not a valid WebAssembly module: %w", e.file, err)
	case !sealed && h.cfg.RequireSeal:
		return nil, fmt.Errorf("%s: refused: the module is not sealed and policies.requireSeal is true (run verdict seal)", e.file)
	}
	hash := sha256.New()
	hash.Write(wasm)
	hash.Write([]byte{0})
	hash.Write(configure)
	for _, c := range h.cfg.Claims[e.name] {
		hash.Write([]byte{0})
		hash.Write([]byte(c))
	}
	var key [sha256.Size]byte
	hash.Sum(key[:0])
	if prev != nil && prev.key == key {
		return prev, nil
	}
	m, err := h.loadModule(ctx, e, wasm, configure)
	if err != nil {
		return nil, err
	}
	d := m.Description()
	h.log.Info("module loaded", "module", m.Name(), "file", m.File(), "claims", m.Claims().Patterns(),
		"sdk", d.SDK, "version", d.Version, "sha256", m.SHA256(), "sealed", sealed)
	return &handle{m: m, key: key, sealed: sealed}, nil
}

// loadModule loads the module of e from its bytes and verdict_configure
// input, with the claims the configuration gives it, if any.
func (h *Host) loadModule(ctx context.Context, e entry, wasm, configure []byte) (*module.Module, error) {
	return module.Load(ctx, module.Source{Name: e.name, File: e.file, Wasm: wasm,
		Configure: configure, Claims: h.cfg.Claims[e.name]}, h.opts)
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
	for _, hd := range s.modules {
		m := hd.m
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
		for start, end := 0, 0; start < len(items); start = end {
			end = h.callEnd(items, start)
			answers := m.Evaluate(ctx, p, items[start:end])
			for k, i := range idx[start:end] {
				votes[i] = append(votes[i], combine.Vote{Module: m.Name(), Answer: answers[k]})
			}
		}
	}
	out := &Decisions{Generation: s.gen, Items: make([]Decision, len(qs))}
	for i := range qs {
		a := combine.Combine(h.cfg.Combine, votes[i], h.cfg.Default)
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

// callEnd returns the end of the call that starts at items[start]: at most
// ItemsPerCall items and, but for a single larger item, about
// InputBytesPerCall bytes of input (estimated from the item's strings; JSON
// escapes can make the input larger, and the call's budget then grows with
// it, up to MaxCallFuel).
func (h *Host) callEnd(items []abi.Item, start int) int {
	end, size := start, 0
	for end < len(items) && end-start < h.cfg.ItemsPerCall {
		it := &items[end]
		n := 96 + len(it.Permission.Name) + len(it.Permission.ResourceType) + len(it.Permission.Attributes.Action)
		if it.ResourceRef != nil {
			n += len(*it.ResourceRef)
		}
		if end > start && size+n > h.cfg.InputBytesPerCall {
			break
		}
		size += n
		end++
	}
	return end
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
		m := hd.m
		serving[m.Name()] = true
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
		if e, failed := s.errors[m.Name()]; failed {
			ps.Status = StatusError
			ps.Message = e.Message + " (the previous version keeps serving)"
		}
		st.Policies = append(st.Policies, ps)
	}
	for name, e := range s.errors {
		if !serving[name] {
			st.Policies = append(st.Policies, e)
		}
	}
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
	for _, hd := range s.modules {
		if hd.m.Saturated() {
			errs = append(errs, fmt.Errorf("module %s: every instance slot is held by a stuck call", hd.m.Name()))
		}
	}
	return errors.Join(errs...)
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
