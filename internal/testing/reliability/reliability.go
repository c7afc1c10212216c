// Package reliability lets tests record the figures of Verdict's reliability
// report (README, "Reliability"): one row per class of bad input, each
// proved by a test that asserts the behaviour and measures a figure.
//
// Tests never assert timings (DESIGN.md, "Tests assert outcomes, not
// timings"). They assert what Verdict does (413,
// DENY, closed connection, no ALLOW) and hand what they measured (latencies,
// heap growth, counts) to Record. In a normal run Record only logs the figure;
// `make reliability` sets VERDICT_RELIABILITY_OUT to a file, where Record
// appends one JSON line per figure, and cmd/reliability renders the lines as
// the report's table.
//
// Long measurements scale with Full: `make test` runs them small, `make
// reliability` (VERDICT_RELIABILITY=full) at the sizes the report quotes.
package reliability

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"sync"
	"testing"
	"time"
)

// OutEnv names the file Record appends figures to. Unset, figures are only
// logged.
const OutEnv = "VERDICT_RELIABILITY_OUT"

// FullEnv, set to "full", makes Full report true.
const FullEnv = "VERDICT_RELIABILITY"

// Figure is one measured value of one row of the report, as Record writes it.
type Figure struct {
	// Row is the row of the README's reliability table the figure belongs to;
	// 0 is for figures outside the table (e.g. the invariant test).
	Row int `json:"row"`
	// Test is the full name of the test that measured it.
	Test string `json:"test"`
	// Measure says what was measured, e.g. "p99 /healthz during the attack".
	Measure string `json:"measure"`
	// Value is the figure with its unit, e.g. "3.1 ms".
	Value string `json:"value"`
	// Full reports whether the test ran at the report's full size.
	Full bool `json:"full"`
}

// mu serialises appends from parallel tests of one package; appends from
// separate test binaries are single write calls on an O_APPEND file.
var mu sync.Mutex

// Full reports whether tests should run at the sizes the report quotes
// (VERDICT_RELIABILITY=full) rather than the smaller sizes of `make test`.
func Full() bool { return os.Getenv(FullEnv) == "full" }

// Scale returns full when Full reports true and short otherwise.
func Scale(short, full int) int {
	if Full() {
		return full
	}
	return short
}

// Record logs a figure for row and, when VERDICT_RELIABILITY_OUT is set,
// appends it to that file. The value is formatted with fmt.Sprintf. A figure
// that cannot be written fails the test: a report missing a row would read as
// if the row had no test.
func Record(tb testing.TB, row int, measure, format string, args ...any) {
	tb.Helper()
	f := Figure{Row: row, Test: tb.Name(), Measure: measure, Value: fmt.Sprintf(format, args...), Full: Full()}
	tb.Logf("reliability row %d: %s: %s", f.Row, f.Measure, f.Value)
	path := os.Getenv(OutEnv)
	if path == "" {
		return
	}
	line, err := json.Marshal(f)
	if err != nil {
		tb.Fatalf("reliability: encode figure: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		tb.Fatalf("reliability: open %s: %v", path, err)
	}
	if _, err := out.Write(append(line, '\n')); err != nil {
		out.Close()
		tb.Fatalf("reliability: write %s: %v", path, err)
	}
	if err := out.Close(); err != nil {
		tb.Fatalf("reliability: close %s: %v", path, err)
	}
}

// QuantileMS is the q-quantile of ds by nearest rank (q = 0.99 for p99, 1
// for the maximum), in milliseconds; NaN when ds is empty, which has none.
func QuantileMS(ds []time.Duration, q float64) float64 {
	if len(ds) == 0 {
		return math.NaN()
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := max(int(math.Ceil(q*float64(len(s))))-1, 0)
	return float64(s[i]) / float64(time.Millisecond)
}
