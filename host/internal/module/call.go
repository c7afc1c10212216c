package module

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/internal/wire"
)

// Evaluate asks the module about items for principal p in one guest call and
// returns one answer per item, in order. It sets each item's ID to its index
// ("0".."n-1"), as the ABI prescribes. It never fails: every failure becomes
// DENY with a reason naming the module and the cause.
func (m *Module) Evaluate(ctx context.Context, p abi.Principal, items []abi.Item) []abi.Answer {
	for i := range items {
		items[i].ID = strconv.Itoa(i)
	}
	answers := make([]abi.Answer, len(items))
	if err := ctx.Err(); err != nil {
		// The request's deadline passed while earlier calls of its batch
		// ran: the rest is DENY without encoding or logging it, so that one
		// large request costs no more than its deadline.
		return m.denyAll(answers, deadlinePassed(err))
	}
	if q, since := m.Quarantined(); q {
		return m.denyAll(answers, fmt.Errorf("quarantined since %s after %d traps, fuel exhaustions or unreadable outputs within %s",
			since.UTC().Format(time.RFC3339), m.opts.QuarantineFailures, m.opts.QuarantineWindow))
	}
	buf := m.buffers.Get().(*[]byte)
	input := wire.AppendRequest((*buf)[:0], &abi.Request{ABI: abi.Version, Principal: p, Items: items})
	// The buffer goes back to the pool once the guest call is done with it,
	// which for an abandoned call is after Evaluate returns.
	release := func() {
		*buf = input
		m.buffers.Put(buf)
	}
	return m.evaluate(ctx, input, release, items, answers)
}

// evaluate gives input, the encoding of items, to verdict_evaluate and
// decodes the output into answers (one per item). release, when not nil, is
// called once the guest is done with input.
func (m *Module) evaluate(ctx context.Context, input []byte, release func(), items []abi.Item, answers []abi.Answer) []abi.Answer {
	m.count.calls.Add(1)
	m.count.items.Add(uint64(len(items)))
	b := m.flatBudget()
	if m.opts.Budget != nil {
		b = m.opts.Budget(len(items), len(input))
	}
	_, err := m.run(ctx, input, release, m.outputLimit(len(items)), b, func(out []byte) error {
		return m.decode(out, items, answers)
	})
	if err != nil {
		return m.denyAll(answers, err)
	}
	return answers
}

// EvaluateRaw gives input to verdict_evaluate as is and returns the output
// unparsed. It is for conformance runs and tools, not the request path.
func (m *Module) EvaluateRaw(ctx context.Context, input []byte) ([]byte, error) {
	return m.run(ctx, input, nil, m.opts.OutputBytes+1000*m.opts.OutputBytesPerItem, m.flatBudget(), nil)
}

// flatBudget is a call's budget when Options.Budget does not size it: the
// whole of Fuel and CallTimeout.
func (m *Module) flatBudget() Budget { return Budget{Fuel: m.opts.Fuel, Timeout: m.opts.CallTimeout} }

func (m *Module) outputLimit(items int) int {
	return m.opts.OutputBytes + items*m.opts.OutputBytesPerItem
}

type result struct {
	out []byte
	err error
}

// run makes one guest call on a pooled instance, bounded by b's fuel and
// timeout. check, when not nil, validates the output; an instance whose call
// or output failed is thrown away. A call still running at its deadline is
// abandoned: it keeps its slots (the module's and the host's) until it
// returns, and counts as stuck meanwhile.
func (m *Module) run(ctx context.Context, input []byte, release func(), limit int, b Budget, check func([]byte) error) (out []byte, err error) {
	abandoned := false
	if release != nil {
		defer func() {
			if !abandoned {
				release()
			}
		}()
	}
	if m.opts.Observe != nil {
		defer m.observe(time.Now(), &err)
	}
	if err := m.admit(ctx); err != nil {
		return nil, err
	}
	request := ctx
	ctx, cancel := context.WithTimeout(ctx, b.Timeout)
	defer cancel()
	inst, err := m.get(ctx)
	if err != nil {
		m.freeSlots()
		return nil, m.fail(&CallError{Kind: KindTrap, Err: err})
	}
	done := make(chan result, 1)
	inst.start(b.Fuel)
	go func() {
		out, err := inst.call(ctx, inst.evaluate, input, limit)
		done <- result{out, err}
	}()
	select {
	case r := <-done:
		return m.finish(ctx, request, inst, r, b, check)
	case <-ctx.Done():
		abandoned = true
		return nil, m.abandon(ctx, request, inst, done, release, b)
	}
}

// observe tells Options.Observe how long a call that started at start took
// and its outcome, from *err.
func (m *Module) observe(start time.Time, err *error) {
	outcome := "ok"
	var ce *CallError
	if errors.As(*err, &ce) {
		outcome = ce.Kind.String()
	}
	m.opts.Observe(m.name, time.Since(start), outcome)
}

// admit takes a slot of the module's and one of the host-wide cap for a
// call, or fails it as busy.
func (m *Module) admit(ctx context.Context) error {
	// While stuck calls hold every slot, none frees before one of them
	// returns, which may take seconds: fail at once rather than spend the
	// request's deadline, which the batch's other modules need too.
	if m.Saturated() {
		return m.fail(&CallError{Kind: KindBusy, Err: errors.New("every instance is held by a stuck call")})
	}
	// A request whose deadline has passed (a large batch split into many
	// calls) makes no more calls: a select below would pick a free slot
	// as often as the done context.
	if ctx.Err() != nil {
		return m.fail(deadlinePassed(ctx.Err()))
	}
	// Waiting for a free slot is bounded by the caller's (request) deadline;
	// the call deadline starts when the call does.
	select {
	case m.slots <- struct{}{}:
	case <-ctx.Done():
		return m.fail(&CallError{Kind: KindBusy, Err: fmt.Errorf("no free instance before the request deadline: %w", ctx.Err())})
	}
	// The host-wide cap (policies.limits.concurrentCalls) keeps cores for
	// the host itself: /healthz, metrics, the watcher. Waiting is bounded
	// by the request's deadline too, and a busy host is not the module's
	// fault: DENY, not counted toward quarantine.
	if m.opts.Calls != nil {
		select {
		case m.opts.Calls <- struct{}{}:
		case <-ctx.Done():
			<-m.slots
			return m.fail(&CallError{Kind: KindBusy,
				Err: fmt.Errorf("no free guest-call slot (policies.limits.concurrentCalls) before the request deadline: %w", ctx.Err())})
		}
	}
	return nil
}

// freeHostSlot gives back the call's slot of the host-wide cap.
func (m *Module) freeHostSlot() {
	if m.opts.Calls != nil {
		<-m.opts.Calls
	}
}

// freeSlots gives back both slots admit took.
func (m *Module) freeSlots() {
	m.freeHostSlot()
	<-m.slots
}

// finish settles a call that returned with r (ctx is the call's, request
// the caller's): a late answer is a timeout,
// check validates the output, the instance goes back to the pool or is
// thrown away, and the slots are freed.
func (m *Module) finish(ctx, request context.Context, inst *instance, r result, b Budget, check func([]byte) error) ([]byte, error) {
	m.flushStdio(inst)
	if deadline, _ := ctx.Deadline(); r.err == nil && !time.Now().Before(deadline) {
		// It returned, but past its deadline. This goroutine may not
		// have run in between (a guest call cannot be preempted, and a
		// garbage collection waits for it), and the deadline's timer
		// may not have fired yet either, so ctx.Err() can still be nil:
		// the clock decides. Late is a timeout, whatever it answered,
		// as if the deadline had been seen first.
		r.err = &CallError{Kind: KindTimeout, Err: lateError(request, b.Timeout)}
	}
	if r.err == nil && check != nil {
		r.err = check(r.out)
	}
	if r.err != nil {
		m.discard(ctx, inst)
	} else {
		m.put(inst)
	}
	m.freeSlots()
	return r.out, m.failSized(r.err, b.Sized)
}

// abandon gives up on a call still running at its deadline and fails it as
// a timeout. The instance is never used again; it closes when the call
// returns (see reap), and release is called then.
func (m *Module) abandon(ctx, request context.Context, inst *instance, done <-chan result, release func(), b Budget) error {
	m.count.discarded.Add(1)
	m.count.stuck.Add(1)
	inst.abandon()
	// An abandoned call gives its host-wide slot back at once (it keeps
	// its module slot, counted as stuck): a module whose calls outlive
	// the backstop is bounded by its own Instances, and cannot stall
	// every other module.
	m.freeHostSlot()
	go m.reap(ctx, inst, done, release, b.Sized)
	return m.fail(&CallError{Kind: KindTimeout, Err: lateError(request, b.Timeout)})
}

// reap waits for an abandoned call to return, then releases its input,
// closes its instance, counts it toward quarantine when its failure was
// the module's own doing, and frees its module slot.
func (m *Module) reap(ctx context.Context, inst *instance, done <-chan result, release func(), sized bool) {
	r := <-done
	if release != nil {
		release()
	}
	inst.close(ctx)
	// A call that traps or runs out of fuel after it was abandoned
	// failed by the module's own doing, only late: it counts toward
	// quarantine. (Its error reads as a timeout: the call's context
	// is done by now, but guests never stop for it.) Otherwise a
	// module whose traps take seconds, such as a stack overflow
	// under wazero's compiler, is never quarantined and holds a core
	// for seconds per request.
	// A host call that found the call abandoned is not: it stopped
	// the call on the host's initiative. Nor is a call whose size
	// explains it, as in failSized.
	var ce *CallError
	if errors.As(r.err, &ce) && (ce.Kind == KindTrap || ce.Kind == KindTimeout) &&
		!errors.Is(r.err, ErrAbandoned) && !sized {
		m.noteFailure()
	}
	m.count.stuck.Add(-1)
	<-m.slots
}
