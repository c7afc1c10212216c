package host

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host/internal/module"
)

// build reads and loads every module of dir and activates the result,
// unless the load of epoch was abandoned meanwhile.
func (h *Host) build(ctx context.Context, src source, force bool, epoch uint64) error {
	entries, err := scanDir(src.dir)
	if err != nil && dirGone(err, src, h.cur.Load() != nil) {
		// The directory was removed, renamed away or replaced by a file:
		// its modules are removed, as removing their files would, so that
		// an ALLOW it served does not stay in service.
		return h.activateGone(src, err, epoch)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrLoad, err)
	}
	if entries, err = src.pick(entries); err != nil {
		return err
	}
	root, err := os.OpenRoot(src.dir)
	if err != nil {
		return fmt.Errorf("%w: policy directory: %w", ErrLoad, err)
	}
	defer root.Close()
	s := h.loadAll(ctx, root, src.dir, entries, force)
	// Unless forced, a load that changed nothing keeps the current snapshot
	// and generation.
	activated, err := h.activate(s, epoch, src.dir, func(cur *snapshot) bool { return !force && sameSnapshot(cur, s) })
	if !activated {
		s.discard()
		return err
	}
	h.log.Info("policy snapshot active", "generation", s.gen, "modules", len(s.modules), "errors", len(s.errors))
	return nil
}

// pick returns the entry src.only names, when it is set (an error when
// there is none), else every entry.
func (src source) pick(entries []entry) ([]entry, error) {
	if src.only == "" {
		return entries, nil
	}
	entries = slices.DeleteFunc(entries, func(e entry) bool { return e.name != src.only })
	if len(entries) == 0 {
		return nil, fmt.Errorf("%w: %s: %w", ErrLoad, filepath.Join(src.dir, src.only+".wasm"), fs.ErrNotExist)
	}
	return entries, nil
}

// loadAll loads entries into a new snapshot, keeping the current version of
// each module whose files are unchanged (see loadOne). A module that fails
// to load is shown as ERROR, and its current version, if any, keeps
// serving. force releases quarantined modules.
func (h *Host) loadAll(ctx context.Context, root *os.Root, dir string, entries []entry, force bool) *snapshot {
	prev := map[string]*handle{}
	if cur := h.cur.Load(); cur != nil {
		for _, hd := range cur.modules {
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
	return s
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
	activated, err := h.activate(s, epoch, src.dir, func(cur *snapshot) bool {
		return len(cur.modules) == 0 && sameSnapshot(cur, s)
	})
	if activated {
		h.log.Warn("policy directory is gone; its modules are removed", "dir", src.dir, "error", cause, "generation", s.gen)
	}
	return err
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
