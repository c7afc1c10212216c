package module

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/internal/testing/stall"
)

// logRecorder is a slog.Handler that keeps every record's message and
// whether the guest wrote it (attribute source=guest).
type logRecorder struct {
	mu    *sync.Mutex
	guest *[]string
	host  *int
}

func newLogRecorder() logRecorder {
	return logRecorder{mu: new(sync.Mutex), guest: new([]string), host: new(int)}
}

func (r logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r logRecorder) Handle(_ context.Context, rec slog.Record) error {
	fromGuest := false
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "source" && a.Value.String() == "guest" {
			fromGuest = true
			return false
		}
		return true
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	if fromGuest {
		*r.guest = append(*r.guest, rec.Message)
	} else {
		*r.host++
	}
	return nil
}
func (r logRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r logRecorder) WithGroup(string) slog.Handler      { return r }

// guestLines returns how many guest log lines were written and their bytes.
func (r logRecorder) guestLines() (lines, bytes int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range *r.guest {
		bytes += len(m)
	}
	return len(*r.guest), bytes
}

// fuelUsed returns the fuel the last call of m's only idle instance used.
func fuelUsed(t *testing.T, m *Module) int64 {
	t.Helper()
	inst := <-m.idle
	defer func() { m.idle <- inst }()
	return m.opts.Fuel - int64(inst.fuel.Get())
}

var onePrincipal = abi.Principal{Type: abi.PrincipalNone}

// TestHostFunctionAbuseFails: a module that floods the log, asks for
// megabytes of randomness or burns CPU through cheap host calls fails that
// call (DENY, counted as a trap or a fuel timeout, so toward quarantine),
// after bounded work: guest log lines and bytes stay within the per-call
// budgets, and a neighbour module keeps answering.
func TestHostFunctionAbuseFails(t *testing.T) {
	cases := []struct {
		fixture   string
		want      error
		kind      string // the counter that goes up: "traps" or "timeouts"
		maxLines  int
		maxBytes  int
		wantLines int // at least this many guest lines (the budget's worth)
	}{
		// 10,000 messages of 64 KiB (625 MiB) before: 4 after (256 KiB).
		{fixture: "log-flood", want: ErrHostBudget, kind: "traps", maxLines: 4, maxBytes: 256 << 10, wantLines: 4},
		// 1,000,000 one-byte messages before: 1,000 after.
		{fixture: "log-loop", want: ErrHostBudget, kind: "traps", maxLines: 1000, maxBytes: 1000, wantLines: 1000},
		// 256 MiB of random before: the first 4 MiB ask is over the cap.
		{fixture: "random-flood", want: ErrHostBudget, kind: "traps"},
		// 16.8 million iovecs before: the fuel runs out.
		{fixture: "iovec-flood", want: ErrFuelExhausted, kind: "timeouts"},
		// 10 million clock_time_get calls before: the fuel runs out.
		{fixture: "wasi-loop", want: ErrFuelExhausted, kind: "timeouts"},
		// 16.4 million poll_oneoff subscriptions before: the fuel runs out.
		{fixture: "poll-flood", want: ErrFuelExhausted, kind: "timeouts"},
	}
	for _, tc := range cases {
		t.Run(tc.fixture, func(t *testing.T) {
			opts := testOptions(t)
			opts.QuarantineFailures = 2
			rec := newLogRecorder()
			opts.Log = slog.New(rec)
			m := loadFixture(t, tc.fixture, opts)
			neighbour := loadFixture(t, "allow-one", opts)

			answers := m.Evaluate(context.Background(), onePrincipal, guestItems(1, basicPerm))
			require.Equal(t, abi.Deny, answers[0].Result)
			require.Contains(t, answers[0].Reason, tc.want.Error())
			c := m.Counters()
			switch tc.kind {
			case "traps":
				require.Equal(t, uint64(1), c.Traps)
			case "timeouts":
				require.Equal(t, uint64(1), c.Timeouts)
			}
			lines, bytes := rec.guestLines()
			require.LessOrEqual(t, lines, tc.maxLines, "guest log lines")
			require.LessOrEqual(t, bytes, tc.maxBytes, "guest log bytes")
			require.GreaterOrEqual(t, lines, tc.wantLines, "guest log lines up to the budget")

			// The budgets are per call: the next call gets as far, and
			// fails the same way, which quarantines the module (2 failures).
			answers = m.Evaluate(context.Background(), onePrincipal, guestItems(1, basicPerm))
			require.Equal(t, abi.Deny, answers[0].Result)
			lines, _ = rec.guestLines()
			require.Equal(t, 2*tc.wantLines, lines)
			q, _ := m.Quarantined()
			require.True(t, q, "two budget failures quarantine the module")

			answers = neighbour.Evaluate(context.Background(), onePrincipal, guestItems(1, basicPerm))
			require.Equal(t, abi.Allow, answers[0].Result)
			require.Zero(t, neighbour.Counters().Traps+neighbour.Counters().Timeouts)
		})
	}
}

// TestHostCallsChargeFuel: each host call costs its documented fuel, on top
// of the guest's own code.
func TestHostCallsChargeFuel(t *testing.T) {
	cases := []struct {
		fixture string
		atLeast int64
		own     int64 // the guest's own bulk work, on top of its few instructions
	}{
		// Two log calls: 14 bytes, then 100 KiB truncated to LogBytes; the
		// guest fills those 100 KiB first (one unit per 4 bytes).
		{"log", 2*(HostCallFuel+LogCallFuel) + (14+64<<10)*LogByteFuel, 100 << 10 / 4},
		// 256 fd_write calls of one 4 KiB iovec.
		{"stdout-spam", 256 * (HostCallFuel + EntryFuel + 4096*IOByteFuel), 0},
	}
	for _, tc := range cases {
		t.Run(tc.fixture, func(t *testing.T) {
			m := loadFixture(t, tc.fixture, testOptions(t))
			answers := m.Evaluate(context.Background(), onePrincipal, guestItems(1, basicPerm))
			require.Equal(t, abi.Allow, answers[0].Result, answers[0].Reason)
			used := fuelUsed(t, m)
			require.GreaterOrEqual(t, used, tc.atLeast+tc.own)
			require.Less(t, used, tc.atLeast+tc.own+10_000, "the guest's own code costs little")
		})
	}
}

// TestHostBudgetsResetEachCall: the budgets are per call, not per
// instance: a module within them on every call keeps answering.
func TestHostBudgetsResetEachCall(t *testing.T) {
	opts := testOptions(t)
	opts.LogMessages = 2 // the log fixture writes 2 messages per call
	m := loadFixture(t, "log", opts)
	for range 5 {
		answers := m.Evaluate(context.Background(), onePrincipal, guestItems(1, basicPerm))
		require.Equal(t, abi.Allow, answers[0].Result, answers[0].Reason)
	}
	opts.LogMessages = 1
	m = loadFixture(t, "log", opts)
	answers := m.Evaluate(context.Background(), onePrincipal, guestItems(1, basicPerm))
	require.Equal(t, abi.Deny, answers[0].Result)
	require.Contains(t, answers[0].Reason, ErrHostBudget.Error())
}

// TestNoHostWorkAfterAbandon: a call abandoned at its deadline that then
// calls the host gets nothing done (no log line) and is failed at once;
// that failure, the host's initiative, does not count toward quarantine.
func TestNoHostWorkAfterAbandon(t *testing.T) {
	stall.WithoutGC(t) // else the caller may see the deadline only after the log call
	opts := testOptions(t)
	opts.CallTimeout = time.Millisecond // the spin outlives it many times over
	opts.Fuel = 1e10                    // and does not run out of fuel
	opts.QuarantineFailures = 1
	rec := newLogRecorder()
	opts.Log = slog.New(rec)
	m := loadFixture(t, "log-late", opts)

	answers := m.Evaluate(context.Background(), onePrincipal, guestItems(1, basicPerm))
	require.Equal(t, abi.Deny, answers[0].Result)
	require.Equal(t, uint64(1), m.Counters().Timeouts)
	require.Eventually(t, func() bool { return m.Counters().Stuck == 0 }, time.Minute, 10*time.Millisecond,
		"the abandoned call returns once its host call fails")
	lines, _ := rec.guestLines()
	require.Zero(t, lines, "no guest log line after the call was abandoned")
	q, _ := m.Quarantined()
	require.False(t, q)
}

// TestHostChargesShareTheGuestsFuel: host calls and guest code draw on one
// budget, also when the guest keeps its fuel in a local (a function with a
// loop): a call whose guest code fits its fuel but whose host calls push it
// over runs out of fuel.
func TestHostChargesShareTheGuestsFuel(t *testing.T) {
	opts := testOptions(t)
	opts.Fuel = 1e10
	m := loadFixture(t, "log-late", opts)
	answers := m.Evaluate(context.Background(), onePrincipal, guestItems(1, basicPerm))
	require.Equal(t, abi.Allow, answers[0].Result, answers[0].Reason)
	used := fuelUsed(t, m)
	require.Greater(t, used, int64(HostCallFuel+LogCallFuel))

	// Enough fuel for the spin, not for the log call after it.
	opts.Fuel = used - (HostCallFuel+LogCallFuel)/2
	m = loadFixture(t, "log-late", opts)
	answers = m.Evaluate(context.Background(), onePrincipal, guestItems(1, basicPerm))
	require.Equal(t, abi.Deny, answers[0].Result)
	require.Contains(t, answers[0].Reason, ErrFuelExhausted.Error()+" in a host function")
}
