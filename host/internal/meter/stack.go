package meter

// StackGlobal is the export name of the mutable i64 global that Instrument
// adds after FuelGlobal: the call stack budget left, in estimated bytes of
// wazero's call stack. The host sets it to StackBudget before each call and
// reads it after a trap: a negative value means the guest ran out of stack
// (see StackExhausted).
const StackGlobal = "verdict_stack"

// StackBudget is the call stack budget of one call, in estimated bytes of
// wazero's call stack (see frameCost): 4 MiB. wazero grows an instance's
// stack on demand, doubling it, up to 400 MB, so without a budget unbounded
// recursion makes the host allocate about 160 MB per instance before it
// traps. With it, the host allocates at most a few times StackBudget per
// instance (the stack doubles, and the old copies are garbage until the
// next collection). It allows 10,000 nested calls of a function of 10
// locals and 100 instructions, and the shipped guests use a small part
// of it (see TestStackBudgetGuests).
const StackBudget int64 = 4 << 20

// StackExhausted reports whether remaining, the value of StackGlobal read
// after a call trapped, means the call ran out of its call stack budget.
// Functions trap for it only after storing the negative budget into
// StackGlobal, and nothing else stores a negative value there.
func StackExhausted(remaining int64) bool { return remaining < 0 }

// Estimated stack bytes of a frame (see frameCost).
const (
	frameBase     = 64 // return address, frame pointer, saved registers
	bytesPerValue = 16 // one local, param or operand stack value (a v128 takes 16)
)

// leafSlack is the largest frame (with its chain of uncharged callees) a
// function that calls no charged function, and none through a table, may
// have without a stack check at its entry: every frame below it checked
// that the budget left was at least zero, so such a leaf takes the stack at
// most leafSlack past StackBudget. 4 KiB: a leaf of up to about 250 locals
// and instructions.
const leafSlack = 4096

// chainLimit bounds the frames of a chain of uncharged functions (see
// stackCosts) that a charged function pays for at its entry: 16 KiB. A
// longer chain gets a charged function in it, so no charge is much larger
// than one frame and legitimate deep call chains are not refused at once.
const chainLimit = 16 << 10

// frameCost is an upper bound of the bytes one frame of a function takes
// on wazero's call stack: its compiler keeps each value (param, local,
// value an instruction produces, result of a call) in a register or in a
// spill slot of the frame, at most 16 bytes each, plus the frame's fixed
// part. locals counts params, declared locals and the rewrite's own;
// values counts the instructions (each produces at most one value but
// calls) and the results of each call site.
func frameCost(locals, values int64) int64 {
	return frameBase + bytesPerValue*(locals+values)
}
