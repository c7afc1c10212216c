package reliability

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRecordAppendsOneLinePerFigure(t *testing.T) {
	out := filepath.Join(t.TempDir(), "figures.jsonl")
	t.Setenv(OutEnv, out)
	t.Setenv(FullEnv, "full")

	Record(t, 3, "413 latency p99", "%.1f ms", 1.25)
	Record(t, 16, "connections closed", "%d of %d", 500, 500)

	f, err := os.Open(out)
	require.NoError(t, err)
	defer f.Close()
	var got []Figure
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var fig Figure
		require.NoError(t, json.Unmarshal(sc.Bytes(), &fig))
		got = append(got, fig)
	}
	require.NoError(t, sc.Err())
	require.Equal(t, []Figure{
		{Row: 3, Test: t.Name(), Measure: "413 latency p99", Value: "1.2 ms", Full: true},
		{Row: 16, Test: t.Name(), Measure: "connections closed", Value: "500 of 500", Full: true},
	}, got)
}

func TestRecordWithoutFileOnlyLogs(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(OutEnv, "")
	Record(t, 1, "execs", "%d", 10)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries)
}

func TestScale(t *testing.T) {
	t.Setenv(FullEnv, "")
	require.False(t, Full())
	require.Equal(t, 10, Scale(10, 1000))
	t.Setenv(FullEnv, "full")
	require.True(t, Full())
	require.Equal(t, 1000, Scale(10, 1000))
}

func TestQuantileMS(t *testing.T) {
	ds := []time.Duration{5 * time.Millisecond, time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond}
	tests := []struct {
		q    float64
		want float64
	}{{0, 1}, {0.25, 1}, {0.5, 2}, {0.51, 3}, {0.99, 5}, {1, 5}}
	for _, tt := range tests {
		require.Equal(t, tt.want, QuantileMS(ds, tt.q), "q=%v", tt.q)
	}
	require.Equal(t, []time.Duration{5 * time.Millisecond, time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond}, ds, "the input is not sorted in place")
	require.True(t, math.IsNaN(QuantileMS(nil, 0.99)))
}
