//go:build !wasip1

package verdict

import "os"

var levelNames = [...]string{"DEBUG", "INFO", "WARN", "ERROR"}

// hostLog writes to standard error outside Wasm, so that native tests show
// what the module would log.
func hostLog(level Level, msg string) {
	name := "LEVEL?"
	if int(level) < len(levelNames) {
		name = levelNames[level]
	}
	os.Stderr.WriteString("verdict " + name + ": " + msg + "\n")
}
