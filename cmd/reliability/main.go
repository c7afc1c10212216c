// Command reliability turns the figures that tests record into the table
// behind README.md's "Reliability" section: one row per figure, under the
// number and class of bad input of that section's table, with the test
// that measured it, and the execution counts of the fuzz targets.
//
// Usage:
//
//	reliability FIGURES.jsonl [FUZZLOG...]
//
// FIGURES.jsonl holds the lines internal/testing/reliability.Record
// appended (`make reliability` writes build/reliability/figures.jsonl);
// each FUZZLOG is the output of one `go test -fuzz` run, named TARGET.log
// or PKG.TARGET.log (build/fuzz/*.log).
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/verdictpdp/verdict/internal/testing/reliability"
)

// classes names the rows of README.md's "Reliability" table by number;
// row 0 holds figures that belong to no single row.
var classes = map[int]string{
	0:  "Across rows",
	1:  "Malformed JSON",
	2:  "Parser differentials",
	3:  "Huge bodies",
	4:  "Huge batches",
	5:  "Deeply nested JSON",
	6:  "Unknown permission types / names",
	7:  "Module traps",
	8:  "Loops forever",
	9:  "Runs forever without looping",
	10: "Unbounded memory",
	11: "Garbage output",
	12: "Wrong ABI",
	13: "Module replaced mid-request",
	14: "Half-written file in the drop-in directory",
	15: "Concurrent reloads",
	16: "Slowloris and slow bodies",
	17: "Auth abuse",
	18: "Decision-log failure",
	19: "Host function abuse",
	20: "Metering changes meaning",
	21: "Tables and compile-time bombs",
	22: "One caller's large requests",
	23: "Hostile files in the policy directory",
	24: "Hostile callers and upstreams",
}

// fuzzRows maps fuzz targets to the row whose inputs they generate.
var fuzzRows = map[string]int{
	"FuzzAuthorize":         1,
	"FuzzDecodeRequest":     1,
	"FuzzAppendRequest":     2,
	"FuzzCheckUnambiguous":  2,
	"FuzzDecodeAnswer":      11,
	"FuzzParseResponse":     11,
	"FuzzGuestOutput":       11,
	"FuzzLoadModule":        12,
	"FuzzInstrument":        12,
	"FuzzMeterDifferential": 20,
	"FuzzSDKConformance":    2,
	"FuzzAppendJSON":        18,
	"FuzzParseYAML":         0,
}

// main renders the figures of the command line to standard output.
func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		os.Exit(1)
	}
}

// run renders the figures of args (FIGURES.jsonl, then FUZZLOG files) to w.
func run(args []string, w io.Writer) error {
	if len(args) < 1 {
		return fmt.Errorf("usage: reliability FIGURES.jsonl [FUZZLOG...]")
	}
	figs, err := readFigures(args[0])
	if err != nil {
		return err
	}
	for _, path := range args[1:] {
		fig, err := readFuzzLog(path)
		if err != nil {
			return err
		}
		figs = append(figs, fig)
	}
	render(w, figs)
	return nil
}

// readFigures reads the JSON lines Record wrote.
func readFigures(path string) ([]reliability.Figure, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("figures: %w", err)
	}
	defer f.Close()
	var figs []reliability.Figure
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		var fig reliability.Figure
		if err := json.Unmarshal(sc.Bytes(), &fig); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		figs = append(figs, fig)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return figs, nil
}

// execsRe finds the progress lines of `go test -fuzz`, e.g.
// "fuzz: elapsed: 30s, execs: 1234567 (41152/sec), new interesting: 3 (total: 40)".
var execsRe = regexp.MustCompile(`fuzz: elapsed: (\S+), execs: (\d+) \((\d+)/sec\)`)

// readFuzzLog turns the last progress line of one fuzz run into a figure.
func readFuzzLog(path string) (reliability.Figure, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return reliability.Figure{}, fmt.Errorf("fuzz log: %w", err)
	}
	target := strings.TrimSuffix(filepath.Base(path), ".log")
	if i := strings.LastIndexByte(target, '.'); i >= 0 {
		target = target[i+1:]
	}
	m := execsRe.FindAllStringSubmatch(string(data), -1)
	if len(m) == 0 {
		return reliability.Figure{}, fmt.Errorf("%s: no fuzz progress line (did the run fail?)", path)
	}
	last := m[len(m)-1]
	elapsed, execs := last[1], last[2]
	return reliability.Figure{
		Row:     fuzzRows[target],
		Test:    target,
		Measure: "fuzz executions",
		Value:   fmt.Sprintf("%s in %s (%s/s), %s", execs, elapsed, averageRate(elapsed, execs, last[3]), fuzzOutcome(string(data))),
		Full:    true,
	}, nil
}

// fuzzOutcome says whether a fuzz run's log shows a failure of the target.
func fuzzOutcome(log string) string {
	switch {
	case !strings.Contains(log, "--- FAIL"):
		return "no failure"
	case !strings.Contains(log, "Failing input written to") &&
		strings.Contains(log, "\n    context deadline exceeded\n"):
		// make fuzz passes these: Go's coordinator, not the target, failed.
		return "no failure (ended by go.dev/issue/75804)"
	}
	return "FAILED"
}

// averageRate is execs per second over elapsed, or the progress line's own
// rate when they do not parse. The last line's own rate is often 0/s
// (printed as the run stops), so the run's average is given instead.
func averageRate(elapsed, execs, lastRate string) string {
	d, err := time.ParseDuration(elapsed)
	if err != nil || d <= 0 {
		return lastRate
	}
	n, err := strconv.ParseFloat(execs, 64)
	if err != nil {
		return lastRate
	}
	return strconv.Itoa(int(n / d.Seconds()))
}

// render writes one markdown table: row, class, measure, figure, test.
func render(w io.Writer, figs []reliability.Figure) {
	sort.SliceStable(figs, func(i, j int) bool { return figs[i].Row < figs[j].Row })
	fmt.Fprintln(w, "| # | Class | Measured | Figure | Test |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, f := range figs {
		name := classes[f.Row]
		if name == "" {
			name = "?"
		}
		size := ""
		if !f.Full {
			size = " (short run)"
		}
		fmt.Fprintf(w, "| %d | %s | %s | %s%s | `%s` |\n", f.Row, name, cell(f.Measure), cell(f.Value), size, f.Test)
	}
}

// cell escapes the one character that breaks a markdown table cell.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
