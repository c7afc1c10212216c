package module

import "sync"

// capWriter keeps at most limit bytes and counts the rest. The guest never
// sees a write error.
type capWriter struct {
	mu      sync.Mutex
	limit   int
	buf     []byte
	dropped int
}

// Write keeps what fits under the limit and counts the rest as dropped. It
// never fails: the guest sees every byte written.
func (w *capWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	room := w.limit - len(w.buf)
	if room < 0 {
		room = 0
	}
	if len(p) > room {
		w.dropped += len(p) - room
		w.buf = append(w.buf, p[:room]...)
	} else {
		w.buf = append(w.buf, p...)
	}
	return len(p), nil
}

// take returns what was written since the last take and how much was dropped.
func (w *capWriter) take() ([]byte, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	b, d := w.buf, w.dropped
	w.buf, w.dropped = nil, 0
	return b, d
}

// flushStdio logs what the guest of inst wrote to stdout and stderr since
// the last flush, and how much of it was dropped.
func (m *Module) flushStdio(inst *instance) {
	out, dropped := inst.stdio.take()
	if len(out) > 0 || dropped > 0 {
		m.opts.Log.Info("guest output", "module", m.name, "output", string(out), "droppedBytes", dropped)
	}
}
