package host

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

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
