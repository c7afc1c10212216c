package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/verdictpdp/verdict/host"
	"github.com/verdictpdp/verdict/host/backstage/internal/decisionlog"
	"github.com/verdictpdp/verdict/host/backstage/internal/httpapi"
	"github.com/verdictpdp/verdict/internal/testing/reliability"
)

// Tests for README, "Reliability", rows 13 and 18, over HTTP against a real
// host.

// swapVersion reads which version of the two-module directory answered:
// version 1 is two modules that allow, version 2 two that deny. Both
// modules of one answer must agree; "" is an answer mixing versions (or
// no version's answer at all).
func swapVersion(a rowAnswer) string {
	switch {
	case a.Result == "ALLOW" && strings.Contains(a.Reason, "a: wat says yes") && strings.Contains(a.Reason, "b: wat says yes"):
		return "v1"
	case a.Result == "DENY" && strings.Contains(a.Reason, "a: wat says no") && strings.Contains(a.Reason, "b: wat says no"):
		return "v2"
	}
	return ""
}

// swapTo writes version v of both modules the recommended way (a dotfile
// renamed into place).
func swapTo(dir string, files map[string][]byte, v string) error {
	for _, name := range []string{"a", "b"} {
		tmp := filepath.Join(dir, "."+name+".wasm.tmp")
		if err := os.WriteFile(tmp, files[v], 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, filepath.Join(dir, name+".wasm")); err != nil {
			return err
		}
	}
	return nil
}

// Row 13: modules replaced while requests run. Every answer is 200, no
// answer mixes two versions, every answer of one snapshot generation is of
// one version, and a request made once a reload returns sees the new
// version. With the watcher, the time from the rename to the first answer
// of the new version is measured.
func TestSwapsUnderLoad(t *testing.T) {
	files := map[string][]byte{}
	for v, f := range map[string]string{"v1": "allow-one", "v2": "deny-one"} {
		b, err := os.ReadFile(httpapi.FixturePath(f))
		require.NoError(t, err)
		files[v] = b
	}
	w := newRowWorld(t, nil, nil,
		invariantModule{name: "a", fixture: "allow-one"}, invariantModule{name: "b", fixture: "allow-one"})
	item := `[` + basicItem("x", "catalog.entity.create") + `]`

	stop := make(chan struct{})
	var requests, non2xx, mixed, crossGeneration atomic.Int64
	var firstBad atomic.Value
	var byGen sync.Map // generation -> version
	var wg sync.WaitGroup
	workers := reliability.Scale(4, 8)
	for g := 0; g < workers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !closed(stop) {
				r := w.authorize(true, item)
				requests.Add(1)
				if r.err != nil || len(r.items) != 1 {
					non2xx.Add(1)
					firstBad.CompareAndSwap(nil, fmt.Sprint(r.status, r.err))
					continue
				}
				v := swapVersion(r.items[0])
				if v == "" {
					mixed.Add(1)
					firstBad.CompareAndSwap(nil, fmt.Sprintf("%+v", r.items[0]))
					continue
				}
				if prev, loaded := byGen.LoadOrStore(r.generation, v); loaded && prev != v {
					crossGeneration.Add(1)
				}
			}
		}()
	}
	// make test: swap for 2 s as fast as reloads go; full: 1,000 swaps
	// paced over 60 s.
	swaps := reliability.Scale(1<<30, 1000)
	length := time.Duration(reliability.Scale(2, 60)) * time.Second
	pace := time.Duration(0)
	if reliability.Full() {
		pace = length / time.Duration(swaps)
	}
	var visible []time.Duration
	stale := 0
	start := time.Now()
	i := 0
	for ; i < swaps && (time.Since(start) < length+length/10 || i < 6); i++ {
		if pace > 0 {
			time.Sleep(time.Until(start.Add(time.Duration(i) * pace))) // pacing, not synchronisation
		}
		v := []string{"v2", "v1"}[i%2]
		t0 := time.Now()
		require.NoError(t, swapTo(w.dir, files, v))
		require.NoError(t, w.h.LoadDir(context.Background(), w.dir))
		r := w.authorize(true, item)
		require.NoError(t, r.err)
		if swapVersion(r.items[0]) != v {
			stale++
		}
		visible = append(visible, time.Since(t0))
	}
	took := time.Since(start)
	close(stop)
	wg.Wait()
	require.Nil(t, firstBad.Load())
	require.Zero(t, non2xx.Load(), "non-2xx answers")
	require.Zero(t, mixed.Load(), "answers mixing two versions")
	require.Zero(t, crossGeneration.Load(), "one generation answering two versions")
	require.Zero(t, stale, "a request after the reload returned saw the old version")
	require.Greater(t, i, 5)
	reliability.Record(t, 13, fmt.Sprintf("%d swaps of two modules in %.1f s under %d clients (%d requests, %.0f requests/s)",
		i, took.Seconds(), workers, requests.Load(), float64(requests.Load())/took.Seconds()),
		"0 non-2xx, 0 answers mixing versions, 0 generations with two versions")
	reliability.Record(t, 13, "swap (renames + LoadDir) to the first answer of the new version: p50 / p99",
		"%.1f ms / %.1f ms", reliability.QuantileMS(visible, 0.5), reliability.QuantileMS(visible, 0.99))

	// With the watcher (default debounce): rename to the first new answer.
	h := w.h
	ctx, cancel := context.WithCancel(context.Background())
	watched := make(chan error, 1)
	go func() { watched <- h.Watch(ctx, w.dir) }()
	defer func() { cancel(); require.NoError(t, <-watched) }()
	var seen []time.Duration
	for j := 0; j < reliability.Scale(3, 20); j++ {
		v := []string{"v2", "v1"}[(i+j)%2]
		t0 := time.Now()
		require.NoError(t, swapTo(w.dir, files, v))
		for {
			r := w.authorize(true, item)
			require.NoError(t, r.err)
			if swapVersion(r.items[0]) == v {
				break
			}
			require.Less(t, time.Since(t0), time.Minute, "the watcher never activated the new version")
		}
		seen = append(seen, time.Since(t0))
	}
	reliability.Record(t, 13, fmt.Sprintf("watcher (debounce %s): rename to the first answer of the new version, p50 / max",
		host.DefaultConfig().Debounce), "%.0f ms / %.0f ms", reliability.QuantileMS(seen, 0.5), reliability.QuantileMS(seen, 1))
}

// Row 18: the decision log's sink blocks or fails: every decision is the
// same as without a log, entries are dropped and counted rather than
// queued without bound, and latency is measured with and without.
func TestDecisionLogFailure(t *testing.T) {
	buffer := reliability.Scale(64, 1024)
	n := reliability.Scale(300, 20000)
	items := `[` + basicItem("1", "ok.n") + `,` + basicItem("2", "deny.d") + `]`
	release := make(chan struct{})
	var loggers []*decisionlog.Logger
	defer func() {
		close(release) // unblock the blocked sink, then stop every logger
		for _, l := range loggers {
			l.Close()
		}
	}()
	for _, tc := range []struct {
		name string
		sink io.Writer
	}{{"no decision log", nil}, {"sink blocks", &blockingWriter{release: release}}, {"sink fails", failingWriter{}}} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []httpapi.Option
			var dl *decisionlog.Logger
			if tc.sink != nil {
				dl = decisionlog.New(tc.sink, buffer)
				loggers = append(loggers, dl)
				opts = append(opts, httpapi.WithDecisionLog(dl))
			}
			w := newRowWorld(t, nil, opts, invariantModule{"deny", "deny-one", []string{"deny.*"}},
				invariantModule{"ok", "allow-one", []string{"ok.*"}})
			for i := 0; i < 20; i++ { // warm up
				require.NoError(t, w.authorize(false, items).err)
			}
			base := heapAfterGC()
			var lat []time.Duration
			for i := 0; i < n; i++ {
				r := w.authorize(i%2 == 1, items)
				require.NoError(t, r.err)
				require.Len(t, r.items, 2)
				require.Equal(t, "ALLOW", r.items[0].Result, r.items[0].Reason)
				require.Equal(t, "DENY", r.items[1].Result, r.items[1].Reason)
				require.Contains(t, r.items[1].Reason, "wat says no")
				lat = append(lat, r.took)
			}
			growth := int64(heapAfterGC()) - int64(base)
			// At most buffer requests' entries wait: a few hundred KiB.
			require.Less(t, growth, int64(16<<20), "heap growth with the sink %s", tc.name)
			reliability.Record(t, 18, fmt.Sprintf("%s, %d requests of 2 items: decisions; p50 / p99", tc.name, n),
				"all unchanged; %.2f ms / %.2f ms", reliability.QuantileMS(lat, 0.5), reliability.QuantileMS(lat, 0.99))
			switch tc.sink.(type) {
			case *blockingWriter:
				require.NotZero(t, dl.Dropped())
				reliability.Record(t, 18, fmt.Sprintf("sink blocks, buffer %d requests: entries dropped and counted; heap growth", buffer),
					"%d of %d; %s", dl.Dropped(), 2*(n+20), mibs(growth))
			case failingWriter:
				require.Eventually(t, func() bool { return dl.WriteErrors() > 0 }, 10*time.Second, time.Millisecond)
				reliability.Record(t, 18, "sink fails: write errors counted; heap growth", "%d; %s", dl.WriteErrors(), mibs(growth))
			}
		})
	}
}

func heapAfterGC() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

func mibs(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
