// Package meter rewrites a WebAssembly module so that it pays for the work it
// does out of a fuel budget the host sets before each call, and traps when the
// budget runs out. It replaces wazero's WithCloseOnContextDone, which inserts
// a call into Go at every loop header (guests 8 to 60 times slower) and misses
// loop-free runaways such as exponential recursion.
//
// # What the rewrite adds
//
// Instrument adds one mutable i64 global, exported as FuelGlobal, after every
// existing global (imported ones included), so no existing index moves. It
// starts at InitialFuel. The host sets it before each call and reads it after
// a trap: a negative value means the guest ran out of fuel (see Exhausted).
//
// Each function body is cut into segments (see below) and each segment that
// is not free or folded gets a charge at its start: it subtracts the
// segment's cost from the fuel. Some charges also get a trap test, which
// traps with unreachable when the result is negative. Where the fuel lives
// depends on the function:
//
//   - A function with a loop keeps it in an i64 local appended to its
//     locals (so existing local indices do not move), which wazero's
//     compiler keeps in a register: the entry loads the global into it, and
//     the local is stored back into the global before each call that is not
//     to a prepaid function, before each exit (return, a branch
//     to the function's label, the final end) and before a trap test traps;
//     it is loaded again after each such call. A charge is then
//     local.get, i64.const COST, i64.sub, local.set; a trap test ends with
//     local.tee, i64.const 0, i64.lt_s, if, (store), unreachable, end.
//   - A function without a loop charges the global directly (global.get,
//     i64.const COST, i64.sub, global.set, and for a trap test global.get,
//     i64.const 0, i64.lt_s, if, unreachable, end): it makes few charges,
//     and a local would cost a store and a load around each of its calls.
//
// The if blocks are closed before the original code resumes, so the label
// depths of the surrounding code do not change.
//
// Trap tests go at every loop header (right after the loop opcode and its
// block type), after every dynamic charge (below), and at the entry of every
// function that is not bounded. A function is bounded when it has no loop
// and no call_indirect, every function it calls directly is prepaid or an
// import, and its cost (each of its instructions counted once, plus the
// cost of the prepaid callee of each call site) is at most 100 units. Every
// loop iteration and every call of a function that is not bounded, which
// includes every function on a call-graph cycle and every function that
// calls through a table, passes a trap test, so no runaway, loop-free
// recursion included, escapes one: between two trap tests a guest runs at
// most one forward path through each function on its stack, plus bounded
// callees.
//
// # Prepaid functions
//
// A bounded function without dynamic charges or calls to imports that can
// only be called directly (it is not exported, not the start function, not
// in a table's elements and not named by ref.func anywhere) is prepaid: its body is left
// byte for byte as it was, and each call site pays its cost as part of the
// caller's segment, before the call runs. A call graph without cycles whose
// cost doubles at each level (exponential work without a loop) soon exceeds
// the 100-unit bound: the functions above it pay and check at their own
// entry. If the element or global section cannot be decoded, no function is
// prepaid.
//
// # What fuel counts
//
// One unit of fuel is one executed instruction, except block, loop, end and
// nop, which compile to nothing. The body is cut into segments, runs of
// instructions that control can only enter at their start: the function
// entry, a loop header, the start of each arm of an if, the instruction after
// an end. A segment pays for all its instructions when it starts, the cost
// of prepaid callees included. A segment costing nothing gets no charge, and
// a small one is folded into the segment that must run before it (the one
// holding its block, if or loop), which then pays for it even when it is
// skipped: at most 12 units too many per segment run. Folding saves charges
// on short arms; charging segments separately keeps code that jumps through
// a large dispatch (Go's resume loop and its br_table) from paying for every
// arm at each jump. The count is thus exact up to the instructions a branch
// skips at the end of a segment, the folded ones, and the paths a prepaid
// callee does not take (at most 100 units per call).
//
// Instructions whose work depends on an operand pay for it too, just before
// they run: memory.fill, memory.copy and memory.init cost one unit per 4
// bytes (at one per 64, a loop of 16 MiB copies ran 5 to 11 times longer
// than a loop of plain instructions on the same fuel), memory.grow 1024
// units per page (64 KiB), and
// table.grow, table.fill, table.copy and table.init one unit per entry. These
// read their length through one extra i32 local appended to the function.
// Calls to imported (host) functions cost nothing here beyond the call
// instruction: the host functions charge FuelGlobal for their own work. So
// that they find it current, a function with a loop stores its local into
// the global before every call to an import and loads it back after, and a
// function that calls an import is never prepaid (its callers, too, store
// and reload around the call).
//
// # The call stack budget
//
// Instrument also adds a second mutable i64 global after the fuel global,
// exported as StackGlobal: the call stack budget left, which starts at
// StackBudget and which the host resets before each call. wazero grows an
// instance's call stack on demand up to 400 MB, so without it unbounded
// recursion makes the host allocate about 160 MB before a stack overflow,
// on only a few million units of fuel. A function that can be on the stack
// twice without another charged frame between (on a cycle of direct calls,
// or escaping: exported, in a table, named by ref.func) charges at its
// entry an upper bound of its frame and of the deepest chain of uncharged
// functions it calls directly (see frameCost and stackCosts), and traps
// with unreachable (after storing the negative budget into the global) when
// the budget would go below zero; see StackExhausted. A function that calls
// a charged function, or calls through a table, keeps the budget it found
// (less its own charge) in an i64 local appended to its locals and stores
// it back into the global after each such call, so the budget counts
// exactly the charged frames on the stack, whatever way a callee exits. A
// charged leaf of at most leafSlack bytes is not charged: the frames below
// it checked the budget. Prepaid functions are not rewritten; their frames
// are part of their callers' chains.
//
// # What else changes
//
// Each table's maximum is lowered to MaxTableEntries, or set to it when the
// table has none (see limits.go): growing past it fails as table.grow's -1,
// which WebAssembly allows whatever the maximum. Nothing else: types,
// imports, functions, memories, existing globals, exports (two are added),
// the start function, elements and data are copied byte for byte, and so are custom sections except those whose contents
// would be wrong: DWARF sections (".debug_*"), "sourceMappingURL" and
// "external_debug_info" refer to code offsets that move; "verdict.seal" is
// the SHA-256 of the original bytes, which the host verifies before
// instrumenting. The "name" section is kept: it holds indices, not offsets.
//
// # What is refused
//
// Instrument decodes every instruction of WebAssembly core 2.0 (multi-value,
// bulk memory, reference types, sign extension, non-trapping float-to-int and
// fixed-width SIMD) and refuses anything else with an error naming the byte
// offset: unknown opcodes; proposals beyond 2.0 (exception handling, tail
// calls, typed function references, GC, threads and atomics, multi-memory,
// memory64, relaxed SIMD); truncated or malformed sections, bodies and LEB128
// numbers; sections out of order or repeated; vector counts larger than
// their section (wazero allocates for the count before it reads the
// entries); a module over one of the limits in limits.go (locals, blocks,
// tables: each would let a small file make the compiler or an instance
// spend unbounded time or memory), with ErrLimit; and a module that already
// exports FuelGlobal or StackGlobal.
//
// # What the rewrite keeps out of reach
//
// The indices the rewrite adds (the fuel global, the fuel and scratch
// locals) come after the module's own, so a module whose code or exports
// name an index past its own is invalid before the rewrite but would be
// valid after it, reading or exporting the fuel. Instrument refuses such
// code (local.get, local.set, local.tee, global.get, global.set) and
// exports with ErrInvalid (the stack budget global, after the fuel
// global, and the stack local are out of reach the same way), and a module
// that already exports FuelGlobal or StackGlobal with ErrFuelExported. Instrument does not otherwise validate: the
// host validates the original module with wazero before it instruments it
// (host/internal/module), and a valid module stays valid after the rewrite,
// computing the same results and traps until it runs out of fuel
// (FuzzMeterDifferential in host/internal/module checks both).
package meter

// FuelGlobal is the export name of the mutable i64 global that Instrument
// adds. The host sets it before each call and reads it after a trap.
const FuelGlobal = "verdict_fuel"

// InitialFuel is the value FuelGlobal holds when an instance is created. Only
// the module's start function, if any, runs on it: the host sets the budget
// before every call it makes, _initialize included. It is neither zero, which
// would make every start function trap, nor unlimited, which would let a
// start function run away; it is the default budget recommended for the host
// (policies.limits.fuel): three times what the Go conformance guest uses for
// a 1,000-item batch (51 million units), and 50 to 100 ms of the cheapest
// runaway loop (1.5 to 3 units per ns on the 2-core machine the package's
// benchmarks ran on, loaded and idle).
const InitialFuel int64 = 150_000_000

// Exhausted reports whether remaining, the value of FuelGlobal read after a
// call trapped, means the call ran out of fuel. Trap tests trap only when
// they take the fuel below zero, and store it into FuelGlobal first, so a
// trap with the fuel at zero or above has another cause (an unreachable
// written in the guest, a division by zero, a stack overflow). A negative
// value means the budget ran out; the trap may still come from the guest's
// own code, in the bounded work between a charge and the next trap test,
// which makes no difference to the host. After a trap of the guest's own,
// FuelGlobal may show more fuel than was left (a function with a loop
// stores its count only at calls and exits), so such a trap is reported as
// a trap. For the same reasons a call can return normally with slightly
// negative fuel: the budget bounds work up to the work between two trap
// tests (see the package documentation).
func Exhausted(remaining int64) bool { return remaining < 0 }
