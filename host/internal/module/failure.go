package module

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/verdictpdp/verdict/abi"
)

// deadlinePassed is the failure of a call that a request reached after its
// deadline had passed: busy, never held against the module.
func deadlinePassed(err error) *CallError {
	return &CallError{Kind: KindBusy, Err: fmt.Errorf("the request deadline passed before the call: %w", err)}
}

func (m *Module) denyAll(answers []abi.Answer, err error) []abi.Answer {
	reason := fmt.Sprintf("module %s failed: %v", m.name, err)
	for i := range answers {
		answers[i] = abi.Answer{ID: strconv.Itoa(i), Result: abi.Deny, Reason: reason}
	}
	m.count.denied.Add(uint64(len(answers)))
	return answers
}

// lateError says which deadline a call missed: the request's, when it is
// done, or else the call's own.
func lateError(request context.Context, callTimeout time.Duration) error {
	if request.Err() != nil {
		return fmt.Errorf("no answer before the request deadline: %w", request.Err())
	}
	return fmt.Errorf("no answer within %s", callTimeout)
}

// fail counts and logs err, and returns it.
func (m *Module) fail(err error) error { return m.failSized(err, false) }

// failSized counts and logs err, and returns it. Traps, running out of fuel
// and unreadable output count toward quarantine unless sized, when the
// call's size explains them (see Budget): a caller's large request is DENY
// for that caller, but cannot quarantine a shared module for everyone.
func (m *Module) failSized(err error, sized bool) error {
	if err == nil {
		return nil
	}
	var ce *CallError
	if !errors.As(err, &ce) {
		ce = &CallError{Kind: KindBadOutput, Err: err}
		err = ce
	}
	switch ce.Kind {
	case KindTrap:
		m.count.traps.Add(1)
		if !sized {
			m.noteFailure()
		}
	case KindTimeout:
		m.count.timeouts.Add(1)
		// Only running out of fuel is the module's own doing; a call that
		// outlived the wall-clock backstop with fuel left was slowed by the
		// host (overload), so it is denied but not held against the module.
		if errors.Is(err, ErrFuelExhausted) && !sized {
			m.noteFailure()
		}
	case KindBadOutput:
		m.count.badOutput.Add(1)
		// Output the host cannot read (not JSON, not a response, a zero
		// return, out of range) throws the instance away, and the next call
		// builds a new one (start function, _initialize, verdict_configure,
		// each on LoadFuelFactor calls' worth of fuel) inside its request: a
		// module that keeps failing this way must be quarantined like one
		// that traps, or it makes every request pay for a rebuild. Output
		// over its cap is the exception: echoing a caller's long names can
		// cause it, and one caller must not quarantine a shared module.
		if !sized && !errors.Is(err, ErrOutputOverCap) {
			m.noteFailure()
		}
	case KindGuestError:
		// An error envelope is the module's own, well-formed refusal, which
		// a caller's input may provoke (an SDK refusing an empty name): not
		// counted.
		m.count.guestErrors.Add(1)
	}
	m.opts.Log.Warn("module call failed", "module", m.name, "kind", ce.Kind.String(), "error", ce.Err, "sizedCall", sized)
	return err
}

// noteFailure counts a trap or timeout toward quarantine.
func (m *Module) noteFailure() {
	if m.quarantine.fail(time.Now(), m.opts.QuarantineFailures, m.opts.QuarantineWindow) {
		m.count.quarantines.Add(1)
		m.opts.Log.Error("module quarantined: its items are DENY without running it until its file changes or a reload",
			"module", m.name, "failures", m.opts.QuarantineFailures, "window", m.opts.QuarantineWindow)
	}
}
