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
// in case the file system dropped an event.
const resyncEvery = 10 * time.Second

// Watch loads dir, then reloads it whenever it changes, until ctx ends. A
// change is picked up once the directory has been quiet for Config.Debounce
// and a second look finds every file the same size and modification time
// (so a file being copied in is not loaded half-written). Any event in dir
// counts, dotfiles included, so a Kubernetes ConfigMap volume, which swaps a
// "..data" symlink, reloads too. Sidecar directories (NAME.d/) are watched as
// well. Reloads keep unchanged modules and quarantines (see LoadDir).
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
	// The fingerprint is taken before the load: a change during the load
	// then differs from it and is loaded after the quiet period. Taken
	// after, it would already describe the changed directory while the
	// snapshot held the old file, and the change would never be loaded,
	// not even by the periodic resync (found by the reliability row 13
	// test, swapping files just as Watch started).
	loaded := fingerprint(dir)
	if err := h.LoadDir(ctx, dir); err != nil {
		return err
	}
	sidecars := map[string]bool{}
	h.watchSidecars(w, dir, sidecars)

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	resync := time.NewTicker(resyncEvery)
	defer resync.Stop()
	var seen string // the fingerprint at the last timer tick, "" if none
	for {
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			h.log.Debug("policy directory changed", "path", ev.Name, "op", ev.Op.String())
			timer.Reset(h.cfg.Debounce)
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			h.log.Warn("watching the policy directory", "dir", dir, "error", err)
		case <-resync.C:
			if fingerprint(dir) != loaded {
				timer.Reset(h.cfg.Debounce)
			}
		case <-timer.C:
			fp := fingerprint(dir)
			if fp != seen {
				// Changed since the last look: look again after another quiet period.
				seen = fp
				timer.Reset(h.cfg.Debounce)
				continue
			}
			seen = ""
			if fp == loaded {
				continue
			}
			if err := h.load(ctx, source{dir: dir}, false); err != nil {
				h.log.Error("policy directory reload failed; the previous snapshot keeps serving", "dir", dir, "error", err)
				continue
			}
			loaded = fp
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
// name, size and modification time (following symlinks).
func fingerprint(dir string) string {
	var b strings.Builder
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
			fmt.Fprintf(&b, "%s %d %d\n", p, st.Size(), st.ModTime().UnixNano())
		}
	}
	walk(dir, 0)
	return b.String()
}
