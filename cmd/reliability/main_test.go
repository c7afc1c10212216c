package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRenderSortsByRowAndAddsFuzzCounts(t *testing.T) {
	var out bytes.Buffer
	err := run([]string{"testdata/figures.jsonl", "testdata/abi.FuzzParseResponse.log"}, &out)
	require.NoError(t, err)
	require.Equal(t, `| # | Class | Measured | Figure | Test |
|---|---|---|---|---|
| 3 | Huge bodies | p99 \| 413 | 1.2 ms (short run) | `+"`TestHugeBodies`"+` |
| 11 | Garbage output | fuzz executions | 131475 in 5s (26295/s), no failure | `+"`FuzzParseResponse`"+` |
| 16 | Slowloris and slow bodies | connections closed | 500 of 500 | `+"`TestSlowloris`"+` |
`, out.String())
}

func TestFuzzLogWithoutProgressIsAnError(t *testing.T) {
	log := filepath.Join(t.TempDir(), "host.FuzzLoadModule.log")
	require.NoError(t, os.WriteFile(log, []byte("--- FAIL: FuzzLoadModule\n"), 0o644))
	err := run([]string{"testdata/figures.jsonl", log}, &bytes.Buffer{})
	require.ErrorContains(t, err, "no fuzz progress line")
}

func TestFailedFuzzRunIsShown(t *testing.T) {
	log := filepath.Join(t.TempDir(), "host.FuzzLoadModule.log")
	require.NoError(t, os.WriteFile(log, []byte("fuzz: elapsed: 3s, execs: 10 (3/sec), new interesting: 0 (total: 1)\n--- FAIL: FuzzLoadModule (3.00s)\n"), 0o644))
	var out bytes.Buffer
	require.NoError(t, run([]string{"testdata/figures.jsonl", log}, &out))
	require.Contains(t, out.String(), "| 12 | Wrong ABI | fuzz executions | 10 in 3s (3/s), FAILED |")
}

func TestFuzzCoordinatorRaceIsNotAFailure(t *testing.T) {
	log := filepath.Join(t.TempDir(), "httpapi.FuzzDecodeRequest.log")
	require.NoError(t, os.WriteFile(log, []byte("fuzz: elapsed: 31s, execs: 282519 (0/sec), new interesting: 8 (total: 257)\n"+
		"--- FAIL: FuzzDecodeRequest (31.04s)\n    context deadline exceeded\nFAIL\n"), 0o644))
	var out bytes.Buffer
	require.NoError(t, run([]string{"testdata/figures.jsonl", log}, &out))
	require.Contains(t, out.String(), "| 1 | Malformed JSON | fuzz executions | 282519 in 31s (9113/s), no failure (ended by go.dev/issue/75804) |")
}
