// Package ttlcache is a bounded map whose entries expire, for the adapter's
// caches of verified tokens, user-info answers and minted plugin tokens.
//
// The bound matters more than the hit rate: keys come from callers (hashes
// of tokens), so a cache that grew with them would let anyone fill memory.
// When the map is full, expired entries are swept, and if none had expired
// the whole map is dropped: a rare, cheap reset, after which entries are
// rebuilt on demand. There is no background sweeper, so nothing runs when
// nobody asks and tests need no sleeps.
package ttlcache

import (
	"sync"
	"time"
)

// Cache maps keys to values until a per-entry expiry, holding at most the
// number of entries given to New. The clock is the caller's: Get and Put
// take the current time, so a caller reads its clock once for both. An
// entry has expired at now when now is not before its expiry. It is safe
// for concurrent use.
type Cache[K comparable, V any] struct {
	mu      sync.Mutex
	entries map[K]entry[V]
	max     int
}

type entry[V any] struct {
	v   V
	exp time.Time
}

// New returns an empty Cache holding at most max entries; max must be
// positive (the callers' configurations validate it).
func New[K comparable, V any](max int) *Cache[K, V] {
	return &Cache[K, V]{entries: make(map[K]entry[V]), max: max}
}

// Get returns k's value when there is one that has not expired at now.
func (c *Cache[K, V]) Get(k K, now time.Time) (V, bool) {
	c.mu.Lock()
	e, ok := c.entries[k]
	c.mu.Unlock()
	if !ok || !now.Before(e.exp) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Put stores v under k until exp. A value that has expired at now already
// is not stored. When the cache is full, the entries expired at now are
// swept first, and if that frees nothing every entry is dropped.
func (c *Cache[K, V]) Put(k K, v V, exp, now time.Time) {
	if !now.Before(exp) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		c.makeRoom(now)
	}
	c.entries[k] = entry[V]{v: v, exp: exp}
}

// makeRoom sweeps the entries expired at now and, when the cache is still
// full, drops them all. c.mu is held.
func (c *Cache[K, V]) makeRoom(now time.Time) {
	for k, e := range c.entries {
		if !now.Before(e.exp) {
			delete(c.entries, k)
		}
	}
	if len(c.entries) >= c.max {
		clear(c.entries)
	}
}
