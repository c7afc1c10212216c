package ttlcache

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// size is how many entries c holds, expired ones included.
func (c *Cache[K, V]) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

var t0 = time.Unix(1_700_000_000, 0)

func TestGetUntilExpiry(t *testing.T) {
	c := New[string, int](4)
	_, ok := c.Get("a", t0)
	require.False(t, ok, "empty")

	c.Put("a", 1, t0.Add(time.Minute), t0)
	v, ok := c.Get("a", t0.Add(time.Minute-time.Nanosecond))
	require.True(t, ok, "before its expiry")
	require.Equal(t, 1, v)
	_, ok = c.Get("a", t0.Add(time.Minute))
	require.False(t, ok, "expired at its expiry")

	c.Put("a", 2, t0.Add(2*time.Minute), t0)
	v, ok = c.Get("a", t0)
	require.True(t, ok)
	require.Equal(t, 2, v, "replaced")
}

func TestPutExpiredIsDropped(t *testing.T) {
	c := New[string, int](1)
	c.Put("live", 1, t0.Add(time.Hour), t0)
	c.Put("due", 2, t0, t0)
	c.Put("past", 3, t0.Add(-time.Second), t0)
	_, ok := c.Get("due", t0.Add(-time.Hour))
	require.False(t, ok, "not stored, even for an earlier reader")
	_, ok = c.Get("live", t0)
	require.True(t, ok, "a value not stored evicts nothing")
	require.Equal(t, 1, c.size())
}

func TestFullSweepsExpired(t *testing.T) {
	c := New[string, int](3)
	c.Put("short", 1, t0.Add(time.Second), t0)
	c.Put("long1", 2, t0.Add(time.Hour), t0)
	c.Put("long2", 3, t0.Add(time.Hour), t0)
	later := t0.Add(time.Minute)
	c.Put("new", 4, later.Add(time.Hour), later)
	require.Equal(t, 3, c.size(), "only the expired entry went")
	for _, k := range []string{"long1", "long2", "new"} {
		_, ok := c.Get(k, later)
		require.True(t, ok, k)
	}
}

func TestFullWithNothingExpiredResets(t *testing.T) {
	c := New[string, int](2)
	c.Put("a", 1, t0.Add(time.Hour), t0)
	c.Put("b", 2, t0.Add(time.Hour), t0)
	c.Put("c", 3, t0.Add(time.Hour), t0)
	require.Equal(t, 1, c.size(), "dropped, then the new entry")
	_, ok := c.Get("a", t0)
	require.False(t, ok)
	v, ok := c.Get("c", t0)
	require.True(t, ok)
	require.Equal(t, 3, v)
}

// TestHammer gets and puts from P goroutines at once, N operations each,
// with a clock that moves (run with -race): the cache never exceeds its
// bound and never answers a key with another key's value or an expired
// one.
func TestHammer(t *testing.T) {
	const P, N, max, keys = 8, 2000, 16, 64
	type val struct {
		key int
		exp time.Time
	}
	c := New[int, val](max)
	var clock atomic.Int64 // nanoseconds after t0
	var wg sync.WaitGroup
	errs := make(chan string, P)
	for p := range P {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range N {
				now := t0.Add(time.Duration(clock.Add(int64(time.Millisecond))))
				k := (p*N + n*7) % keys
				if n%3 == 0 {
					exp := now.Add(time.Duration(k) * time.Millisecond)
					c.Put(k, val{key: k, exp: exp}, exp, now)
					continue
				}
				v, ok := c.Get(k, now)
				if ok && v.key != k {
					errs <- "a key answered another key's value"
					return
				}
				if ok && !now.Before(v.exp) {
					errs <- "an expired value was answered"
					return
				}
				if s := c.size(); s > max {
					errs <- "the cache grew past its bound"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	require.LessOrEqual(t, c.size(), max)
}
