package host

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// resyncEvery is how often Watch compares the directory with what it loaded,
// in case the file system dropped an event. A variable so that tests can
// check that a change is seen by its event, not by the resync.
var resyncEvery = 10 * time.Second

// racyWindow: a fingerprint taken while a file's change or modification
// time is this recent cannot be trusted to tell a later rewrite apart (file
// systems keep these times to a coarse tick, from a few milliseconds on
// Linux to seconds on some network file systems), so the next look at the
// directory reloads it and compares contents rather than fingerprints (as
// git does with a "racily clean" index).
const racyWindow = 2 * time.Second

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
// Watch returns an error only when dir cannot be watched or read at the
// start; later failures are logged and the previous snapshot keeps serving.
func (h *Host) Watch(ctx context.Context, dir string) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch %s: %w", dir, err)
	}
	defer w.Close()
	if err := w.Add(dir); err != nil {
		return fmt.Errorf("watch %s: %w", dir, err)
	}
	// The directory itself may be renamed, removed or, when it is a
	// symlink, swapped to another target (a deployment's
	// policies -> releases/N): the watch on it would stay on the old
	// directory. The parent is watched too (best effort), for events naming
	// dir itself, and the watch follows dir to whatever it names now
	// (rewatch) before each load.
	cdir := filepath.Clean(dir)
	parent := filepath.Dir(cdir)
	if parent != cdir {
		if err := w.Add(parent); err != nil {
			h.log.Debug("cannot watch the policy directory's parent", "dir", parent, "error", err)
		}
	}
	watchedDir, _ := os.Stat(dir)
	// The fingerprint is taken before the load: a change during the load
	// then differs from it and is loaded after the quiet period. Taken
	// after, it would already describe the changed directory while the
	// snapshot held the old file, and the change would never be loaded,
	// not even by the periodic resync (found by the reliability row 13
	// test, swapping files just as Watch started).
	loaded, loadedRacy := fingerprint(dir)
	if err := h.LoadDir(ctx, dir); err != nil {
		return err
	}
	sidecars := map[string]bool{}
	h.watchSidecars(w, dir, sidecars)
	rewatch := func() {
		st, err := os.Stat(dir)
		if err != nil || (watchedDir != nil && os.SameFile(st, watchedDir)) {
			return
		}
		_ = w.Remove(dir)
		for p := range sidecars {
			_ = w.Remove(p)
		}
		clear(sidecars)
		if err := w.Add(dir); err != nil {
			h.log.Warn("watching the policy directory", "dir", dir, "error", err)
			return
		}
		watchedDir = st
	}

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	resync := time.NewTicker(resyncEvery)
	defer resync.Stop()
	var seen string     // the fingerprint at the last timer tick, "" if none
	var first time.Time // the first change not yet loaded; zero if none
	// arm sets the timer to d from now, but no later than DebounceMax after
	// the first change.
	arm := func(d time.Duration) {
		if first.IsZero() {
			first = time.Now()
		}
		if left := time.Until(first.Add(h.cfg.DebounceMax)); left < d {
			d = max(left, 0)
		}
		timer.Reset(d)
	}
	for {
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if name := filepath.Clean(ev.Name); parent != cdir && filepath.Dir(name) == parent && name != cdir {
				continue // another entry of the parent
			}
			h.log.Debug("policy directory changed", "path", ev.Name, "op", ev.Op.String())
			arm(h.cfg.Debounce)
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			h.log.Warn("watching the policy directory", "dir", dir, "error", err)
		case <-resync.C:
			rewatch()
			if fp, _ := fingerprint(dir); fp != loaded || loadedRacy {
				arm(h.cfg.Debounce)
			}
		case <-timer.C:
			rewatch()
			fp, racy := fingerprint(dir)
			overdue := !time.Now().Before(first.Add(h.cfg.DebounceMax))
			if fp != seen && !overdue {
				// Changed since the last look: look again after another quiet period.
				seen = fp
				arm(h.cfg.Debounce)
				continue
			}
			if overdue && fp != seen {
				h.log.Warn("policy directory has not gone quiet; reloading at policies.debounceMax",
					"dir", dir, "debounceMax", h.cfg.DebounceMax)
			}
			seen, first = "", time.Time{}
			if fp == loaded && !loadedRacy {
				continue
			}
			if err := h.load(ctx, source{dir: dir}, false); err != nil {
				h.log.Error("policy directory reload failed; the previous snapshot keeps serving", "dir", dir, "error", err)
				continue
			}
			loaded, loadedRacy = fp, racy
			h.watchSidecars(w, dir, sidecars)
		}
	}
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

// fingerprint describes every file of dir and its sidecar directories by
// name, size, modification time and changeID (following symlinks). racy
// reports a file changed within racyWindow, or a platform where changeID
// says nothing: the fingerprint alone cannot then be trusted to see the
// next rewrite.
func fingerprint(dir string) (fp string, racy bool) {
	var b strings.Builder
	now := time.Now()
	var walk func(d string, depth int)
	walk = func(d string, depth int) {
		des, err := os.ReadDir(d)
		if err != nil {
			fmt.Fprintf(&b, "%s: %v\n", d, err)
			return
		}
		names := make([]string, 0, len(des))
		for _, de := range des {
			if !strings.HasPrefix(de.Name(), ".") {
				names = append(names, de.Name())
			}
		}
		sort.Strings(names)
		for _, n := range names {
			p := filepath.Join(d, n)
			st, err := os.Stat(p)
			if err != nil {
				fmt.Fprintf(&b, "%s: %v\n", p, err)
				continue
			}
			if st.IsDir() {
				if depth == 0 && strings.HasSuffix(n, ".d") {
					walk(p, 1)
				}
				continue
			}
			id, latest := changeID(st)
			if id == "" || now.Sub(latest) < racyWindow {
				racy = true
			}
			fmt.Fprintf(&b, "%s %d %d %s\n", p, st.Size(), st.ModTime().UnixNano(), id)
		}
	}
	walk(dir, 0)
	return b.String(), racy
}
