package identity

import (
	"sync"
	"time"
)

// expiringCache maps token hashes to values until a per-entry expiry. It
// is bounded: when full, expired entries are swept, and if none expired
// the whole table is dropped (a rare, cheap reset; entries are rebuilt on
// demand). It never holds plain tokens as keys.
type expiringCache[V any] struct {
	mu      sync.Mutex
	entries map[tokenKey]cacheEntry[V]
	max     int
	now     func() time.Time
}

type cacheEntry[V any] struct {
	v   V
	exp time.Time
}

func newExpiringCache[V any](max int, now func() time.Time) *expiringCache[V] {
	return &expiringCache[V]{entries: make(map[tokenKey]cacheEntry[V]), max: max, now: now}
}

func (c *expiringCache[V]) get(k tokenKey) (V, bool) {
	c.mu.Lock()
	e, ok := c.entries[k]
	c.mu.Unlock()
	if !ok || !c.now().Before(e.exp) {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *expiringCache[V]) put(k tokenKey, v V, exp time.Time) {
	now := c.now()
	if !now.Before(exp) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		for key, e := range c.entries {
			if !now.Before(e.exp) {
				delete(c.entries, key)
			}
		}
		if len(c.entries) >= c.max {
			clear(c.entries)
		}
	}
	c.entries[k] = cacheEntry[V]{v: v, exp: exp}
}
