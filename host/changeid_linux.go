//go:build linux

package host

import (
	"fmt"
	"io/fs"
	"syscall"
	"time"
)

// changeID describes what of a file a rewrite always changes, beyond its
// size and modification time (which cp -p, rsync -a, tar and touch -d set
// back): its device and inode (a file renamed into place is a new inode)
// and its status change time, which the kernel sets on every write, chmod
// or rename and no system call can set back. It also returns the later of
// the change and modification times, for racyWindow.
func changeID(fi fs.FileInfo) (string, time.Time) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", fi.ModTime()
	}
	ctime := time.Unix(st.Ctim.Sec, st.Ctim.Nsec)
	latest := fi.ModTime()
	if ctime.After(latest) {
		latest = ctime
	}
	return fmt.Sprintf("%d:%d %d", st.Dev, st.Ino, ctime.UnixNano()), latest
}
