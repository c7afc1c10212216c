//go:build wasip1

package verdict

import "unsafe"

// maxAlloc bounds verdict_alloc: larger requests answer 0 rather than let
// the Go runtime die of an out-of-memory fatal error (which no recover can
// catch).
const maxAlloc = 256 << 20

// allocs keeps every buffer handed to the host reachable, so the garbage
// collector (which never moves objects) does not free it, until
// verdict_free. It also lets verdict_evaluate and verdict_configure check
// that the host passes a buffer it got from verdict_alloc.
var allocs = map[uint32][]byte{}

// failOut holds the output when no policy could be registered.
var failOut []byte

//go:wasmexport verdict_abi_v1
func exportABIv1() {}

//go:wasmexport verdict_alloc
func exportAlloc(size uint32) uint32 {
	if size > maxAlloc {
		return 0
	}
	buf := make([]byte, max(size, 1))
	ptr := uint32(uintptr(unsafe.Pointer(unsafe.SliceData(buf))))
	allocs[ptr] = buf
	return ptr
}

//go:wasmexport verdict_free
func exportFree(ptr, size uint32) { delete(allocs, ptr) }

//go:wasmexport verdict_evaluate
func exportEvaluate(ptr, length uint32) uint64 {
	in, ok := input(ptr, length)
	if !ok {
		return 0
	}
	r, err := registeredRunner()
	if err != nil {
		failOut = appendError(failOut[:0], CodeNoPolicy, err.Error())
		return pack(failOut)
	}
	return pack(r.Evaluate(in))
}

//go:wasmexport verdict_configure
func exportConfigure(ptr, length uint32) uint64 {
	in, ok := input(ptr, length)
	if !ok {
		return 0
	}
	r, err := registeredRunner()
	if err != nil {
		failOut = appendError(failOut[:0], CodeNoPolicy, err.Error())
		return pack(failOut)
	}
	return pack(r.Configure(in))
}

//go:wasmexport verdict_describe
func exportDescribe() uint64 {
	r, err := registeredRunner()
	if err != nil {
		LogError(err.Error())
		return 0
	}
	return pack(r.Describe())
}

// input returns the length bytes the host wrote at ptr, which must lie in
// a buffer from verdict_alloc.
func input(ptr, length uint32) ([]byte, bool) {
	buf, ok := allocs[ptr]
	if !ok || int(length) > len(buf) {
		LogError("verdict: input is not inside a buffer from verdict_alloc")
		return nil, false
	}
	return buf[:length], true
}

// pack returns out's address and length packed as out_ptr<<32 | out_len,
// or 0 (failure) when out is empty.
func pack(out []byte) uint64 {
	if len(out) == 0 {
		return 0
	}
	ptr := uint32(uintptr(unsafe.Pointer(unsafe.SliceData(out))))
	return uint64(ptr)<<32 | uint64(uint32(len(out)))
}
