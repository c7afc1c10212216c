package abi

// Version is the major ABI version this package describes. It appears in the
// guest input as "abi" and in the names MarkerExport and HostModule.
const Version = 1

// MinorVersion is the highest minor version of ABI v1 this package knows.
const MinorVersion = 0

// Export names a v1 module provides.
const (
	// MarkerExport is a function with no parameters and no results whose
	// presence says "this module speaks ABI v1".
	MarkerExport = "verdict_abi_v1"
	// AllocExport is verdict_alloc(size i32) -> i32; 0 means out of memory.
	AllocExport = "verdict_alloc"
	// FreeExport is verdict_free(ptr i32, size i32).
	FreeExport = "verdict_free"
	// EvaluateExport is verdict_evaluate(ptr i32, len i32) -> i64, returning
	// out_ptr<<32 | out_len; 0 means failure.
	EvaluateExport = "verdict_evaluate"
	// DescribeExport is verdict_describe() -> i64 (packed like EvaluateExport).
	DescribeExport = "verdict_describe"
	// ConfigureExport is the optional verdict_configure(ptr i32, len i32) -> i64.
	ConfigureExport = "verdict_configure"
	// InitializeExport is the optional reactor initialiser, called once, first.
	InitializeExport = "_initialize"
	// MemoryExport is the guest's linear memory.
	MemoryExport = "memory"
)

// Import modules a v1 module may import from. Imports from any other module
// are refused at load.
const (
	// WASIModule is WASI preview 1, provided sandboxed: no preopened
	// directories, empty args and environment, captured and capped stdout and
	// stderr.
	WASIModule = "wasi_snapshot_preview1"
	// HostModule is Verdict's own host module.
	HostModule = "verdict:host/v1"
	// LogImport is log(level i32, ptr i32, len i32) in HostModule.
	LogImport = "log"
)

// Log levels accepted by the log import.
const (
	LogDebug = 0
	LogInfo  = 1
	LogWarn  = 2
	LogError = 3
)

// Pack packs a guest pointer and length into the i64 returned by
// verdict_evaluate, verdict_describe and verdict_configure.
func Pack(ptr, length uint32) uint64 { return uint64(ptr)<<32 | uint64(length) }

// Unpack splits a packed i64 into pointer and length.
func Unpack(v uint64) (ptr, length uint32) { return uint32(v >> 32), uint32(v) }
