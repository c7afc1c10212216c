package meter

// Limits on what a module may declare. Each keeps a small file from making
// the rewrite, wazero's compiler or an instance spend unbounded memory or
// time; Instrument refuses a module over one with ErrLimit. Each is far above
// what the shipped guests use (Go, Rust and AssemblyScript; the figures in
// each comment) and, where the WebAssembly JS API sets one (the limits web
// engines share), no higher than it.
const (
	// MaxLocals is the most locals one function may have, its params
	// included: 50,000 (the JS API's limit; the Go guests use at most 18).
	// wazero's decoder allocates one byte per local and a call frame holds
	// 8 bytes per local: a function body of 6 bytes may declare 4 billion.
	MaxLocals = 50_000

	// MaxBlocks is the most blocks one function may have, counting each
	// block, loop and br_if as one, each if as three (then, else and what
	// follows) and each br_table as one per target, plus one: 10,000 (the
	// RBAC guest, in Go, has at most 1,794 in one function, the Rust and C
	// guests 375). wazero's compiler takes time quadratic in that count:
	// one function of 20,000 blocks took 7.7 s to compile, of 20,000 ifs
	// 45 s (a 100 kB file), of one br_table with a million targets (1 MB)
	// more than 9 minutes (stopped there).
	MaxBlocks = 10_000

	// MaxBlockWork bounds the sum, over a module's functions, of the
	// square of each one's blocks (as MaxBlocks counts them): 5 × 10^8, 10
	// times the RBAC guest's 47.5 million. A module at the limit compiles
	// in seconds (20 functions of 3,000 nested blocks, 1.8 × 10^8: 2.1 s);
	// without it, a 64 MiB file of functions at MaxBlocks would take hours.
	MaxBlockWork = 500_000_000

	// MaxInstructions is the most instructions one function may have,
	// counting every one (block, loop, end and nop included): 125,000, 10
	// times the RBAC guest's largest function (12,460; the SDK guests' at
	// most 5,588). wazero's validation and compiler keep state per operand
	// on the stack while they work on a function: one function of a million
	// constants added up (3 MB) took 11.6 s and 1.27 GB to load, some 430
	// bytes per byte of code. Under this limit that state is at most what
	// one function of 62,499 constants needs (about 20 MB), and loading
	// costs what any code of the same size does: 50 functions at the limit
	// (9.4 MB) load in 2.1 s with a 388 MB peak heap, 50 functions of as
	// many constants each dropped (6.3 MB) with 249 MB, about 40 bytes per
	// byte either way (the validation compile keeps every function).
	MaxInstructions = 125_000

	// MaxModuleInstructions is the most instructions all of a module's
	// functions may have together, counted as MaxInstructions counts them:
	// 8 million, about 10 times the RBAC guest's 816,852. wazero's
	// validation keeps every function it compiles, about 40 bytes of host
	// memory per byte of code, so without it a 64 MiB module of ordinary
	// code would take some 2.6 GB to load; at the limit, about 460 MB.
	MaxModuleInstructions = 8_000_000

	// MaxTables is the most tables a module may have, imported ones
	// included: 4 (the shipped guests have one).
	MaxTables = 4

	// MaxTableEntries is the most entries one table may hold: 2^18 =
	// 262,144 (the Go guests declare about 5,600; the JS API allows
	// 10,000,000). wazero allocates 8 bytes per entry (a table without a
	// maximum could grow to 4 billion, 32 GiB), so the tables of one
	// instance hold at most MaxTables × MaxTableEntries × 8 bytes = 8 MiB
	// (twice that while table.grow copies). A table declaring a larger
	// minimum is refused; a larger maximum, or none, is lowered to
	// MaxTableEntries, so growing past it fails as table.grow's -1, which
	// guests must handle anyway.
	MaxTableEntries = 1 << 18
)
