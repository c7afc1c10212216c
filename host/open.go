package host

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
)

// openInside opens name (relative to the policy directory root) for
// reading without following it out of the directory and without blocking:
//   - a symlink is followed only when it is relative and it, and every
//     symlink on its way, stays inside the directory (a Kubernetes
//     ConfigMap's NAME.wasm -> ..data/NAME.wasm, ..data -> ..2026_...
//     layout does); an absolute symlink or one that leads outside is
//     refused, so no file outside the directory (/etc/passwd,
//     /proc/self/environ, /dev/zero) ever reaches a module;
//   - the file is opened with O_NONBLOCK (and O_NOCTTY), so a FIFO with no
//     writer or a device cannot hang the open;
//   - what was opened is checked with fstat on the open descriptor, not a
//     stat of the path beforehand (which the file could be swapped after),
//     and must be a regular file, or a directory when dirOK.
//
// Any failure names the file (dir joined with name) and the problem;
// fs.ErrNotExist is kept in the chain.
func openInside(root *os.Root, dir, name string, dirOK bool) (*os.File, fs.FileInfo, error) {
	path := filepath.Join(dir, name)
	f, err := root.OpenFile(name, os.O_RDONLY|openFlags, 0)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil, fmt.Errorf("%s: %w", path, fs.ErrNotExist)
	case err != nil:
		return nil, nil, fmt.Errorf("%s: %w: %w (only regular files are read, and symlinks that are relative and stay inside the policy directory)",
			path, ErrRefusedFile, err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if st.Mode().IsRegular() || (dirOK && st.IsDir()) {
		return f, st, nil
	}
	_ = f.Close()
	want := "a regular file"
	if dirOK {
		want = "a directory"
	}
	return nil, nil, fmt.Errorf("%s: %w: it is %s, not %s", path, ErrRefusedFile, fileKind(st.Mode()), want)
}

// fileKind names the type of a file for error messages.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO (named pipe)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m.IsRegular():
		return "a regular file"
	}
	return "not a regular file (" + m.Type().String() + ")"
}

// readBounded reads the regular file name inside root (see openInside) and
// refuses it when it holds more than max bytes. The read itself is bounded
// by max+1 bytes whatever stat said, since a file can grow while it is read
// and some files (those of /proc, for one) report a size of 0.
func readBounded(root *os.Root, dir, name string, max int64) ([]byte, error) {
	f, st, err := openBounded(root, dir, name, max)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	path := filepath.Join(dir, name)
	if hook := testHookRead.Load(); hook != nil {
		(*hook)(path)
	}
	buf := bytes.NewBuffer(make([]byte, 0, st.Size()+1))
	if _, err := buf.ReadFrom(io.LimitReader(f, max+1)); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(buf.Len()) > max {
		return nil, fmt.Errorf("%s: %w: more than the limit of %d bytes", path, ErrRefusedFile, max)
	}
	return buf.Bytes(), nil
}

// openBounded opens the regular file name inside root (see openInside) and
// refuses it when it holds more than max bytes.
func openBounded(root *os.Root, dir, name string, max int64) (*os.File, fs.FileInfo, error) {
	f, st, err := openInside(root, dir, name, false)
	if err != nil {
		return nil, nil, err
	}
	if st.Size() > max {
		_ = f.Close()
		return nil, nil, fmt.Errorf("%s: %w: %d bytes is over the limit of %d", filepath.Join(dir, name), ErrRefusedFile, st.Size(), max)
	}
	return f, st, nil
}

// testHookRead, when set by a test, runs before each file is read: it
// stands for a read that hangs (a stuck network file system), which no
// file a test can create otherwise produces.
var testHookRead atomic.Pointer[func(path string)]
