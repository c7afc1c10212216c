package host

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// resyncEvery is how often Watch compares the directory with what it loaded,
// in case the file system dropped an event. A variable so that tests can
// check that a change is seen by its event, not by the resync.
var resyncEvery = 10 * time.Second

// Watch loads dir, then reloads it whenever it changes, until ctx ends.
//
// A change is picked up once the directory has been quiet for
// Config.Debounce and a second look finds every file unchanged (so a file
// being copied in is not loaded half-written), but never later than
// Config.DebounceMax after the first change Watch saw: a directory that
// never goes quiet (a file rewritten every 100 ms, even an ignored one) is
// reloaded at that bound all the same, whatever state its files are in;
// write files atomically (rename into place) so that state is a whole one.
// Any event in dir counts, dotfiles included, so a Kubernetes ConfigMap
// volume, which swaps a "..data" symlink, reloads too. Sidecar directories
// (NAME.d/) are watched as well.
//
// "Unchanged" compares, for each file (following symlinks), its size,
// modification time and, on Linux, its device, inode and status change
// time: cp -p, rsync -a, tar and touch -d pin the modification time, but no
// rewrite keeps the inode and change time. A fingerprint taken within
// racyWindow of a file's last change is not trusted: the next event or
// resync reloads, and the load compares contents (unchanged modules are
// kept, and an unchanged directory keeps its generation). So a change is
// loaded within DebounceMax of its event, plus the load's own time, bounded
// by LoadDirTimeout; a change whose event the file system dropped, within
// another resyncEvery (10 s). Reloads keep unchanged modules and
// quarantines (see LoadDir).
//
// Watch returns nil when ctx ends, even during the first load, and an
// error only when dir cannot be watched or read at the start; later
// failures are logged and the previous snapshot keeps serving.
func (h *Host) Watch(ctx context.Context, dir string) error {
	wt, err := h.newWatcher(dir)
	if err != nil {
		return err
	}
	defer wt.w.Close()
	// The fingerprint is taken before the load: a change during the load
	// then differs from it and is loaded after the quiet period. Taken
	// after, it would already describe the changed directory while the
	// snapshot held the old file, and the change would never be loaded,
	// not even by the periodic resync (found by the reliability row 13
	// test, swapping files just as Watch started).
	wt.loaded, wt.loadedRacy = fingerprint(dir)
	if err := h.LoadDir(ctx, dir); err != nil {
		if ctx.Err() != nil {
			// Stopped, not failed: the load may even have finished, its
			// answer lost to the cancellation in load's select.
			return nil
		}
		return err
	}
	h.watchSidecars(wt.w, dir, wt.sidecars)
	return wt.run(ctx)
}

// watcher is the state of one Watch: the watches on the policy directory,
// its parent and its sidecar directories, what was loaded last, and the
// debounce of the change not loaded yet.
type watcher struct {
	h *Host
	w *fsnotify.Watcher
	// dir is the policy directory as given, cdir cleaned, parent the
	// directory holding it (cdir itself for a root).
	dir, cdir, parent string
	watchedDir        os.FileInfo     // what dir named when it was watched
	sidecars          map[string]bool // the sidecar directories watched
	// loaded is the fingerprint taken before the last load; loadedRacy
	// says it cannot be trusted to see the next rewrite (see fingerprint).
	loaded     string
	loadedRacy bool
	timer      *time.Timer // the end of the quiet period; stopped when none
	seen       string      // the fingerprint at the last timer tick, "" if none
	first      time.Time   // the first change not yet loaded; zero if none
}

// newWatcher watches dir and, best effort, its parent. The directory itself
// may be renamed, removed or, when it is a symlink, swapped to another
// target (a deployment's policies -> releases/N): the watch on it would
// stay on the old directory. The parent is watched for events naming dir
// itself, and the watch follows dir to whatever it names now (rewatch)
// before each load.
func (h *Host) newWatcher(dir string) (*watcher, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", dir, err)
	}
	if err := w.Add(dir); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("watch %s: %w", dir, err)
	}
	wt := &watcher{h: h, w: w, dir: dir, cdir: filepath.Clean(dir), sidecars: map[string]bool{},
		timer: time.NewTimer(time.Hour)}
	wt.timer.Stop()
	wt.parent = filepath.Dir(wt.cdir)
	if wt.parent != wt.cdir {
		if err := w.Add(wt.parent); err != nil {
			h.log.Debug("cannot watch the policy directory's parent", "dir", wt.parent, "error", err)
		}
	}
	wt.watchedDir, _ = os.Stat(dir)
	return wt, nil
}

// run reloads the directory on its changes, as Watch describes, until ctx
// ends.
func (wt *watcher) run(ctx context.Context) error {
	resync := time.NewTicker(resyncEvery)
	defer resync.Stop()
	for {
		select {
		case <-ctx.Done():
			wt.timer.Stop()
			return nil
		case ev, ok := <-wt.w.Events:
			if !ok {
				return nil
			}
			wt.changed(ev)
		case err, ok := <-wt.w.Errors:
			if !ok {
				return nil
			}
			wt.h.log.Warn("watching the policy directory", "dir", wt.dir, "error", err)
		case <-resync.C:
			wt.resync()
		case <-wt.timer.C:
			wt.settle(ctx)
		}
	}
}

// changed starts or extends the quiet period for an event in the
// directory, or one naming the directory itself in its parent.
func (wt *watcher) changed(ev fsnotify.Event) {
	if name := filepath.Clean(ev.Name); wt.parent != wt.cdir && filepath.Dir(name) == wt.parent && name != wt.cdir {
		return // another entry of the parent
	}
	wt.h.log.Debug("policy directory changed", "path", ev.Name, "op", ev.Op.String())
	wt.arm(wt.h.cfg.Debounce)
}

// resync starts a quiet period when the directory differs from what was
// loaded, in case the file system dropped an event.
func (wt *watcher) resync() {
	wt.rewatch()
	if fp, _ := fingerprint(wt.dir); fp != wt.loaded || wt.loadedRacy {
		wt.arm(wt.h.cfg.Debounce)
	}
}

// settle runs at the end of a quiet period: it looks again after another
// one if the directory changed since the last look, unless DebounceMax has
// passed since the first change, and else reloads it if it differs from
// what was loaded.
func (wt *watcher) settle(ctx context.Context) {
	wt.rewatch()
	fp, racy := fingerprint(wt.dir)
	overdue := !time.Now().Before(wt.first.Add(wt.h.cfg.DebounceMax))
	if fp != wt.seen && !overdue {
		// Changed since the last look: look again after another quiet period.
		wt.seen = fp
		wt.arm(wt.h.cfg.Debounce)
		return
	}
	if overdue && fp != wt.seen {
		wt.h.log.Warn("policy directory has not gone quiet; reloading at policies.debounceMax",
			"dir", wt.dir, "debounceMax", wt.h.cfg.DebounceMax)
	}
	wt.seen, wt.first = "", time.Time{}
	if fp == wt.loaded && !wt.loadedRacy {
		return
	}
	if err := wt.h.load(ctx, source{dir: wt.dir}, false); err != nil {
		wt.h.log.Error("policy directory reload failed; the previous snapshot keeps serving", "dir", wt.dir, "error", err)
		return
	}
	wt.loaded, wt.loadedRacy = fp, racy
	wt.h.watchSidecars(wt.w, wt.dir, wt.sidecars)
}

// arm sets the timer to d from now, but no later than DebounceMax after the
// first change.
func (wt *watcher) arm(d time.Duration) {
	if wt.first.IsZero() {
		wt.first = time.Now()
	}
	if left := time.Until(wt.first.Add(wt.h.cfg.DebounceMax)); left < d {
		d = max(left, 0)
	}
	wt.timer.Reset(d)
}

// rewatch moves the watch to what dir names now, when that is no longer
// the directory watched (dir renamed away and replaced, or a symlink
// swapped), dropping the sidecar watches of the old one.
func (wt *watcher) rewatch() {
	st, err := os.Stat(wt.dir)
	if err != nil || (wt.watchedDir != nil && os.SameFile(st, wt.watchedDir)) {
		return
	}
	_ = wt.w.Remove(wt.dir)
	for p := range wt.sidecars {
		_ = wt.w.Remove(p)
	}
	clear(wt.sidecars)
	if err := wt.w.Add(wt.dir); err != nil {
		wt.h.log.Warn("watching the policy directory", "dir", wt.dir, "error", err)
		return
	}
	wt.watchedDir = st
}

// Reload reloads the directory last given to LoadDir or Watch now, and
// releases quarantined modules: SIGHUP and POST /v1/policies/reload.
func (h *Host) Reload(ctx context.Context) error {
	h.loadMu.Lock()
	src := h.src
	h.loadMu.Unlock()
	if src.dir == "" {
		return fmt.Errorf("%w: no policy directory has been loaded yet", ErrLoad)
	}
	return h.load(ctx, src, true)
}

// watchSidecars adds a watch on every NAME.d/ directory not yet watched.
func (h *Host) watchSidecars(w *fsnotify.Watcher, dir string, watched map[string]bool) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, de := range des {
		p := filepath.Join(dir, de.Name())
		if !strings.HasSuffix(de.Name(), ".d") || strings.HasPrefix(de.Name(), ".") || watched[p] {
			continue
		}
		if st, err := os.Stat(p); err != nil || !st.IsDir() {
			continue
		}
		if err := w.Add(p); err != nil {
			h.log.Warn("cannot watch sidecar directory", "dir", p, "error", err)
			continue
		}
		watched[p] = true
	}
}
