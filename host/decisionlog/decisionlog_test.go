package decisionlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func entry(i int) Entry {
	return Entry{Time: time.Unix(0, 0).UTC(), DecisionID: "d", Index: i, Permission: "catalog.entity.read",
		Principal: "user:default/alice", Result: "ALLOW", Modules: []Module{{Module: "m", Result: "ALLOW"}}}
}

func TestWritesJSONLines(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, 8)
	l.Log([]Entry{entry(0), entry(1)})
	l.Close()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2)
	var e Entry
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &e))
	require.Equal(t, 1, e.Index)
	require.Equal(t, uint64(2), l.Written())
	l.Log([]Entry{entry(2)}) // after Close: dropped, no panic
}

// blockingWriter blocks every write until released.
type blockingWriter struct{ release chan struct{} }

func (w *blockingWriter) Write(p []byte) (int, error) { <-w.release; return len(p), nil }

func TestBlockedSinkNeverBlocksLog(t *testing.T) {
	w := &blockingWriter{release: make(chan struct{})}
	l := New(w, 4)
	// Far more than the buffer holds: Log returns at once every time.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 10_000; i++ {
			l.Log([]Entry{entry(i)})
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Log blocked on a blocked sink")
	}
	require.Greater(t, l.Dropped(), uint64(9_000))
	close(w.release)
	l.Close()
	require.Equal(t, uint64(10_000), l.Dropped()+l.Written())
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestFailingSinkIsCounted(t *testing.T) {
	l := New(failingWriter{}, 8)
	for i := 0; i < 100; i++ {
		l.Log([]Entry{entry(i)})
	}
	l.Close()
	require.Positive(t, l.WriteErrors())
}

func TestConcurrentLog(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, 1024)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				l.Log([]Entry{entry(i)})
			}
		}()
	}
	wg.Wait()
	l.Close()
	require.Equal(t, uint64(800), l.Written()+l.Dropped())
	require.Equal(t, int(l.Written()), strings.Count(buf.String(), "\n"))
}
