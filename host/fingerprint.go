package host

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// racyWindow: a fingerprint taken while a file's change or modification
// time is this recent cannot be trusted to tell a later rewrite apart (file
// systems keep these times to a coarse tick, from a few milliseconds on
// Linux to seconds on some network file systems), so the next look at the
// directory reloads it and compares contents rather than fingerprints (as
// git does with a "racily clean" index).
const racyWindow = 2 * time.Second

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
