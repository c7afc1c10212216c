package decisionlog

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/internal/testing/reliability"
)

// flakyWriter fails while failing is set, then keeps what it is given.
type flakyWriter struct {
	mu      sync.Mutex
	failing bool
	buf     bytes.Buffer
}

func (w *flakyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failing {
		return 0, errors.New("disk full")
	}
	return w.buf.Write(p)
}

func (w *flakyWriter) set(failing bool) { w.mu.Lock(); w.failing = failing; w.mu.Unlock() }

func (w *flakyWriter) lines() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Count(w.buf.String(), "\n")
}

// A sink that fails for a while and then recovers gets the entries logged
// after it recovered (a regression: bufio.Writer keeps its first error, so
// one failed write stopped the decision log until a restart).
func TestSinkRecoversAfterErrors(t *testing.T) {
	w := &flakyWriter{failing: true}
	l := New(w, 8)
	l.Log([]Entry{entry(0)})
	require.Eventually(t, func() bool { return l.WriteErrors() > 0 }, 10*time.Second, time.Millisecond)
	w.set(false)
	l.Log([]Entry{entry(1), entry(2)})
	l.Close()
	require.Equal(t, 2, w.lines(), "entries logged after the sink recovered are written")
	reliability.Record(t, 18, "a sink that fails, then recovers: entries logged after it recovered", "%d of 2 written", w.lines())
}
