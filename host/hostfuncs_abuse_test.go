package host

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/internal/testing/reliability"
)

// guestLogCounter is a slog.Handler that counts the guest's log lines
// (attribute source=guest) and their bytes, and drops everything.
type guestLogCounter struct{ lines, bytes *atomic.Int64 }

func (c guestLogCounter) Enabled(context.Context, slog.Level) bool { return true }
func (c guestLogCounter) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "source" && a.Value.String() == "guest" {
			c.lines.Add(1)
			c.bytes.Add(int64(len(r.Message)))
			return false
		}
		return true
	})
	return nil
}
func (c guestLogCounter) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c guestLogCounter) WithGroup(string) slog.Handler      { return c }

// Row 19, host function abuse: a module that floods the log, asks for
// megabytes of randomness or burns CPU through cheap WASI calls gets DENY
// for that call, counted toward quarantine, after bounded work; the
// neighbour module in the same request keeps its ALLOW. Figures: guest log
// bytes and wall time per abusive call (before this row existed: 625 MiB
// and 2.3 s for log-flood, 1,000,000 lines and 1.4 s for log-loop, 2.0 s for
// random-flood, 0.96 s for iovec-flood, 1.9 s for wasi-loop, 0.92 s for
// poll-flood, all answering ALLOW).
func TestHostFunctionAbuse(t *testing.T) {
	n := reliability.Scale(2, 10)
	for _, fixture := range []string{"log-flood", "log-loop", "random-flood", "iovec-flood", "wasi-loop", "poll-flood"} {
		t.Run(fixture, func(t *testing.T) {
			cfg := testConfig()
			cfg.CallTimeout = 10 * time.Second // fuel and the budgets stop them, not the backstop
			cfg.QuarantineFailures = n + 1
			var lines, bytes atomic.Int64
			h, err := New(context.Background(), cfg, slog.New(guestLogCounter{&lines, &bytes}))
			require.NoError(t, err)
			t.Cleanup(func() { _ = h.Close(context.Background()) })
			require.NoError(t, h.LoadDir(context.Background(), fixtureDir(t, fixture, "zz-allow=allow-one")))

			var took time.Duration
			for range n {
				start := time.Now()
				d := decideOne(t, h, basic("x"))
				took += time.Since(start)
				require.Equal(t, abi.Deny, d.Result)
				require.Len(t, d.Answers, 2)
				require.Equal(t, fixture, d.Answers[0].Module)
				require.Equal(t, abi.Deny, d.Answers[0].Result)
				require.Equal(t, "zz-allow", d.Answers[1].Module)
				require.Equal(t, abi.Allow, d.Answers[1].Result, "the neighbour keeps its answer")
			}
			c := status(t, h, fixture).Counters
			require.Equal(t, uint64(n), c.Traps+c.Timeouts, "every abusive call is a failure toward quarantine")
			require.LessOrEqual(t, bytes.Load(), int64(n*cfg.LogBytesPerCall))
			require.LessOrEqual(t, lines.Load(), int64(n*cfg.LogMessages))
			reliability.Record(t, 19, fmt.Sprintf("%s: guest log per abusive call (DENY, %s)", fixture, failureKind(c)),
				"%d lines, %d B", lines.Load()/int64(n), bytes.Load()/int64(n))
			reliability.Record(t, 19, fmt.Sprintf("%s: time per abusive call", fixture),
				"%.1f ms", float64(took)/float64(n)/float64(time.Millisecond))
		})
	}
}

func failureKind(c Counters) string {
	if c.Traps > 0 {
		return "over a budget"
	}
	return "out of fuel"
}
