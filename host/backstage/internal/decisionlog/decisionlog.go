// Package decisionlog writes one JSON line per decided item, through a
// bounded buffer, so that a slow or failing sink never delays or changes a
// decision: when the buffer is full, entries are dropped and counted.
//
// Entries carry who asked (an entity ref or service subject, never a
// token), what was asked, the final answer and every module's answer.
package decisionlog

import (
	"bufio"
	"io"
	"sync"
	"sync/atomic"
)

// Logger writes entries to a sink in the background. It is safe for
// concurrent use.
type Logger struct {
	ch      chan []Entry
	sink    io.Writer
	w       *bufio.Writer
	dropped atomic.Uint64
	written atomic.Uint64
	errs    atomic.Uint64
	done    chan struct{}
	mu      sync.RWMutex // guards closed against Log racing Close
	closed  bool
}

// New starts a Logger writing to w with room for buffer batches of
// entries waiting to be written (one batch per request).
func New(w io.Writer, buffer int) *Logger {
	if buffer < 1 {
		buffer = 1
	}
	l := &Logger{ch: make(chan []Entry, buffer), sink: w, w: bufio.NewWriterSize(w, 64<<10), done: make(chan struct{})}
	go l.run()
	return l
}

// Log queues the entries of one request. It never blocks: when the buffer
// is full the entries are dropped and counted.
func (l *Logger) Log(entries []Entry) {
	if l == nil || len(entries) == 0 {
		return
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		l.dropped.Add(uint64(len(entries)))
		return
	}
	select {
	case l.ch <- entries:
	default:
		l.dropped.Add(uint64(len(entries)))
	}
}

// Dropped is how many entries were dropped because the buffer was full (0
// for a nil Logger).
func (l *Logger) Dropped() uint64 {
	if l == nil {
		return 0
	}
	return l.dropped.Load()
}

// Written is how many entries were written.
func (l *Logger) Written() uint64 { return l.written.Load() }

// WriteErrors is how many writes to the sink failed. The lines waiting in
// the write buffer when a write fails are lost; later lines are written
// once the sink works again.
func (l *Logger) WriteErrors() uint64 { return l.errs.Load() }

// Close writes what is queued and stops. Entries logged after Close are
// dropped.
func (l *Logger) Close() {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.ch)
	}
	l.mu.Unlock()
	<-l.done
}

func (l *Logger) run() {
	defer close(l.done)
	var line []byte
	for batch := range l.ch {
		for i := range batch {
			line = AppendJSON(line[:0], &batch[i])
			line = append(line, '\n')
			if _, err := l.w.Write(line); err != nil {
				l.failed()
				continue
			}
			l.written.Add(1)
		}
		// Flush when nothing else is waiting, so lines appear promptly.
		if len(l.ch) == 0 {
			if err := l.w.Flush(); err != nil {
				l.failed()
			}
		}
	}
	if err := l.w.Flush(); err != nil {
		l.failed()
	}
}

// failed counts a failed write and drops what the buffer holds: a
// bufio.Writer keeps its first error forever, so without the reset one
// failed write would stop the log until a restart.
func (l *Logger) failed() {
	l.errs.Add(1)
	l.w.Reset(l.sink)
}
