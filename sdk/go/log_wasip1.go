//go:build wasip1

package verdict

// hostLogImport is verdict:host/v1 log(level i32, ptr i32, len i32); a Go
// string parameter is passed as (ptr, len).
//
//go:wasmimport verdict:host/v1 log
//go:noescape
func hostLogImport(level uint32, msg string)

func hostLog(level Level, msg string) { hostLogImport(uint32(level), msg) }
