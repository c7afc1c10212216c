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

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	ref := "component:default/<x>&\"y\"\u2028"
	entries := []Entry{
		entry(0),
		{},
		{Time: time.Date(2026, 11, 22, 17, 0, 0, 123456789, time.FixedZone("x", 3600)), DecisionID: "d\n", Index: -3,
			ItemID: "é\xff", Endpoint: "native", Principal: "service:ci", Actor: "plugin:catalog", Permission: "p",
			ResourceRef: &ref, Result: "DENY", Reason: "why <not>", Modules: []Module{{Module: "m", Result: "ABSTAIN"},
				{Module: "n", Result: "DENY", Reason: "r\t"}}, Generation: 1 << 63, LatencyMicros: 42},
		{Modules: []Module{}},
	}
	for i, e := range entries {
		want, err := json.Marshal(&e)
		require.NoError(t, err)
		require.Equal(t, string(want), string(AppendJSON(nil, &e)), "entry %d", i)
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("d", "item", "user:default/a", "catalog.entity.read", "ref", "ALLOW", "reason", "m", int64(5))
	f.Add("\xff", "<>&", "\u2028", "\x00", "", "", "\"", "\\", int64(-1))
	f.Fuzz(func(t *testing.T, id, item, principal, perm, ref, result, reason, module string, n int64) {
		e := Entry{Time: time.Unix(0, n).UTC(), DecisionID: id, Index: int(n % 1000), ItemID: item, Principal: principal,
			Permission: perm, Result: result, Reason: reason, Modules: []Module{{Module: module, Result: result, Reason: reason}},
			Generation: uint64(n), LatencyMicros: n}
		if ref != "" {
			e.ResourceRef = &ref
		}
		want, err := json.Marshal(&e)
		if err != nil {
			return
		}
		if got := AppendJSON(nil, &e); string(got) != string(want) {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
	})
}

// BenchmarkAppendJSON encodes one entry with two modules, as the log's
// writer does for every decided item.
func BenchmarkAppendJSON(b *testing.B) {
	ref := "component:default/catalog"
	e := entry(3)
	e.ResourceRef, e.Reason = &ref, "denied by m"
	e.Modules = append(e.Modules, Module{Module: "n", Result: "DENY", Reason: "not the owner"})
	var line []byte
	for b.Loop() {
		line = AppendJSON(line[:0], &e)
	}
}
