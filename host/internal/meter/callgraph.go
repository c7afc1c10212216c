package meter

import "github.com/verdictpdp/verdict/internal/wasmbin"

// prepaidLimit bounds the worst-case cost of a function that its callers pay
// for (see the package documentation, "Prepaid functions"), and the work a
// function may do without a trap test at its entry.
const prepaidLimit = 100

// calls is what the first pass learns about one defined function.
type calls struct {
	total   int64    // cost of all its instructions, each counted once
	callees []uint32 // functions it calls directly, one per call site
	refs    []uint32 // functions it names with ref.func
	bounded bool     // no loop, no call_indirect
	loops   bool     // has a loop
	dynamic bool     // has a dynamic charge (memory.grow, bulk memory, tables)
	locals  int64    // params and declared locals
	values  int64    // instructions and results of call sites (see frameCost)
	table   bool     // has a call_indirect
}

// graph is what the rewrite of each body needs to know about the others.
type graph struct {
	imported uint32  // imported functions: they come first in the index space
	prepaid  []bool  // by defined function: its callers pay for it
	cost     []int64 // by defined function: worst-case cost, when prepaid
	check    []bool  // by defined function: its entry needs a trap test
	loops    []bool  // by defined function: it has a loop
	// stack is, by defined function that is not prepaid, what its entry
	// charges to the stack budget (see stackCosts); 0 for none.
	stack []int64
	// saves is, by defined function that is not prepaid, whether it keeps
	// the stack budget in a local to restore it after calls that may
	// lower it.
	saves []bool
}

// charges reports whether a direct call to fn may lower the stack budget,
// so that the caller must restore it after the call.
func (g *graph) charges(fn uint32) bool {
	if fn < g.imported {
		return false
	}
	i := fn - g.imported
	return int(i) >= len(g.stack) || g.stack[i] > 0
}

// isPrepaid reports whether a direct call to function index fn needs no
// flush of the fuel: a prepaid function. An import is not: host functions
// charge the fuel global for their work, so it must be current when they
// run and read again after them.
func (g *graph) isPrepaid(fn uint32) bool {
	if fn < g.imported {
		return false
	}
	i := fn - g.imported
	return int(i) < len(g.prepaid) && g.prepaid[i]
}

// costOf is what a caller pays, at its call site, for a direct call to fn.
func (g *graph) costOf(fn uint32) int64 {
	if fn < g.imported || int(fn-g.imported) >= len(g.cost) {
		return 0
	}
	return g.cost[fn-g.imported]
}

// buildGraph decides which functions are prepaid and which need an entry
// trap test, from the direct calls of each body.
//
// A function is bounded when it has no loop and no call_indirect and every
// function it calls directly is prepaid (or an import); its cost is then its
// own instructions plus the cost of each call site's callee, which bounds
// any run of it. A bounded function whose cost is at most prepaidLimit needs
// no trap test at its entry. It is prepaid if, moreover, it has no dynamic
// charge and can only be called directly: it is not exported, not the start
// function, not in a table's elements and not named by ref.func. Functions
// on a call-graph cycle never become bounded, since each waits for another.
func buildGraph(m *module, fns []calls) *graph {
	n := len(fns)
	g := &graph{imported: m.importedFunc, prepaid: make([]bool, n), cost: make([]int64, n), check: make([]bool, n), loops: make([]bool, n)}
	escapes := make([]bool, n)
	for _, fn := range m.escaping {
		if fn >= m.importedFunc && int(fn-m.importedFunc) < n {
			escapes[fn-m.importedFunc] = true
		}
	}
	for i := range fns {
		for _, fn := range fns[i].refs {
			if fn >= m.importedFunc && int(fn-m.importedFunc) < n {
				escapes[fn-m.importedFunc] = true
			}
		}
	}
	// pending counts, for each function, the call sites whose callee is not
	// known to be prepaid yet; callers lists each function's call sites.
	pending := make([]int, n)
	callers := make([][]int, n)
	callsHost := make([]bool, n) // calls an import directly: never prepaid
	var queue []int
	for i := range fns {
		g.check[i] = true
		g.loops[i] = fns[i].loops
		for _, fn := range fns[i].callees {
			if fn < m.importedFunc {
				callsHost[i] = true
				continue
			}
			j := int(fn - m.importedFunc)
			if j >= n {
				pending[i] = -1 // an invalid index: never bounded
				break
			}
			pending[i]++
			callers[j] = append(callers[j], i)
		}
		if pending[i] == 0 && fns[i].bounded {
			queue = append(queue, i)
		}
	}
	for len(queue) > 0 {
		i := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		cost := fns[i].total
		for _, fn := range fns[i].callees {
			cost += g.costOf(fn)
		}
		if cost > prepaidLimit {
			continue
		}
		g.check[i] = false
		if m.opaque || escapes[i] || fns[i].dynamic || callsHost[i] {
			continue
		}
		g.prepaid[i], g.cost[i] = true, cost
		for _, c := range callers[i] {
			if pending[c]--; pending[c] == 0 && fns[c].bounded {
				queue = append(queue, c)
			}
		}
	}
	g.stackCosts(m, fns)
	return g
}

// stackCosts sets g.stack and g.saves. Only functions that can be on the
// stack more than once without another charged frame between them need a
// charge: those on a call-graph cycle and those that escape (exported, in a
// table, named by ref.func: called by the host or through a table, so
// possibly on a cycle through a table). Every other function is reached
// only by direct calls along paths without cycles, so the frames between
// two charged ones form a chain that a charged function pays for at its
// entry: its own frame and the deepest chain of uncharged functions below
// it (see frameCost). An uncharged function whose chain would exceed
// chainLimit is charged too, which bounds every entry's charge. A charged
// leaf (it calls no charged function and none through a table) of at most
// leafSlack bytes needs no charge either: it is on top of the stack.
func (g *graph) stackCosts(m *module, fns []calls) {
	n := len(fns)
	g.stack = make([]int64, n)
	g.saves = make([]bool, n)
	defined := func(fn uint32) (int, bool) {
		if fn < m.importedFunc || int(fn-m.importedFunc) >= n {
			return 0, false
		}
		return int(fn - m.importedFunc), true
	}
	charged := cyclesAndEscapes(m, fns, defined)
	// deep is, by uncharged function, its frame and the deepest chain of
	// uncharged functions below it; -1 until computed.
	deep := make([]int64, n)
	for i := range deep {
		deep[i] = -1
	}
	var below func(i int) int64
	chain := func(i int) int64 {
		if deep[i] < 0 {
			d := frameCost(fns[i].locals+3, fns[i].values) + below(i)
			if d > chainLimit && !g.prepaid[i] {
				charged[i] = true
				return 0
			}
			deep[i] = d
		}
		return deep[i]
	}
	// below is the deepest chain of uncharged callees of i. It recurses
	// only along calls to uncharged functions, which have no cycle.
	below = func(i int) int64 {
		var most int64
		for _, fn := range fns[i].callees {
			if j, ok := defined(fn); ok && !charged[j] {
				most = max(most, chain(j))
			}
		}
		return most
	}
	for i := range fns {
		if !g.prepaid[i] && !charged[i] {
			chain(i)
		}
	}
	for i := range fns {
		if g.prepaid[i] {
			continue
		}
		// A function calls a charged one, or through a table: it saves the
		// budget at its entry and restores it after those calls.
		g.saves[i] = fns[i].table
		for _, fn := range fns[i].callees {
			j, ok := defined(fn)
			g.saves[i] = g.saves[i] || !ok && fn >= m.importedFunc || ok && charged[j]
		}
		if !charged[i] {
			continue
		}
		cost := frameCost(fns[i].locals+3, fns[i].values) + below(i)
		if !g.saves[i] && cost <= leafSlack {
			continue
		}
		g.stack[i] = min(cost, StackBudget+1)
	}
}

// cyclesAndEscapes returns, by defined function, whether it is on a cycle of
// direct calls (Tarjan's algorithm) or escapes (see stackCosts). Prepaid
// functions do neither.
func cyclesAndEscapes(m *module, fns []calls, defined func(uint32) (int, bool)) []bool {
	n := len(fns)
	out := make([]bool, n)
	for _, fn := range m.escaping {
		if i, ok := defined(fn); ok {
			out[i] = true
		}
	}
	for i := range fns {
		out[i] = out[i] || m.opaque
		for _, fn := range fns[i].refs {
			if j, ok := defined(fn); ok {
				out[j] = true
			}
		}
	}
	index := make([]int, n) // 0: not visited; else visit order + 1
	low := make([]int, n)
	onStack := make([]bool, n)
	var stack []int
	next := 1
	var visit func(v int)
	visit = func(v int) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		for _, fn := range fns[v].callees {
			w, ok := defined(fn)
			if !ok {
				continue
			}
			if w == v {
				out[v] = true // calls itself
			}
			if index[w] == 0 {
				visit(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] != index[v] {
			return
		}
		top := len(stack) - 1
		for stack[top] != v {
			top--
		}
		if len(stack)-top > 1 { // a component of more than one function
			for _, w := range stack[top:] {
				out[w] = true
			}
		}
		for _, w := range stack[top:] {
			onStack[w] = false
		}
		stack = stack[:top]
	}
	for v := range fns {
		if index[v] == 0 {
			visit(v)
		}
	}
	return out
}

// readGlobals notes the functions that global initializers name with
// ref.func.
func (m *module) readGlobals(c wasmbin.Reader, n uint32) {
	for i := uint32(0); i < n && !m.opaque; i++ {
		if err := readValType(&c); err != nil {
			m.opaque = true
			return
		}
		if _, err := c.Byte(); err != nil {
			m.opaque = true
			return
		}
		m.readConstExpr(&c)
	}
}

// readElements notes the functions that element segments hold: any of them
// may be called through a table, or become a reference.
func (m *module) readElements(c wasmbin.Reader, n uint32) {
	for i := uint32(0); i < n && !m.opaque; i++ {
		flags, err := c.U32()
		if err != nil || flags > 7 {
			m.opaque = true
			return
		}
		if flags&3 == 2 { // explicit table index
			if _, err := c.U32(); err != nil {
				m.opaque = true
				return
			}
		}
		if flags&1 == 0 { // active: offset expression
			m.readConstExpr(&c)
		}
		if flags&3 != 0 { // element kind or reference type
			if _, err := c.Byte(); err != nil {
				m.opaque = true
				return
			}
		}
		count, err := c.U32()
		if err != nil {
			m.opaque = true
			return
		}
		for j := uint32(0); j < count && !m.opaque; j++ {
			if flags&4 != 0 {
				m.readConstExpr(&c)
				continue
			}
			fn, err := c.U32()
			if err != nil {
				m.opaque = true
				return
			}
			m.escaping = append(m.escaping, fn)
		}
	}
}

// readConstExpr reads a constant expression up to its end, noting the
// functions ref.func names. Anything it does not know makes the module
// opaque.
func (m *module) readConstExpr(c *wasmbin.Reader) {
	for !m.opaque {
		op, err := c.Byte()
		if err != nil {
			m.opaque = true
			return
		}
		switch op {
		case opEnd:
			return
		case 0x41: // i32.const
			_, err = c.S32()
		case 0x42: // i64.const
			_, err = c.S64()
		case 0x43: // f32.const
			err = c.Skip(4)
		case 0x44: // f64.const
			err = c.Skip(8)
		case opGlobalGet:
			_, err = c.U32()
		case 0xd0: // ref.null t
			_, err = c.Byte()
		case 0xd2: // ref.func
			var fn uint32
			if fn, err = c.U32(); err == nil {
				m.escaping = append(m.escaping, fn)
			}
		case 0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e: // extended constants: add, sub, mul
		case opPrefixFD: // v128.const
			var sub uint32
			if sub, err = c.U32(); err == nil && sub != 0x0c {
				m.opaque = true
				return
			}
			if err == nil {
				err = c.Skip(16)
			}
		default:
			m.opaque = true
			return
		}
		if err != nil {
			m.opaque = true
			return
		}
	}
}
