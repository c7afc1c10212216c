package httpapi

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

// errBodyBudget is returned when a body needed more of the server's body
// budget than became free before the request's deadline.
var errBodyBudget = errors.New("request bodies in flight exceed the server's budget")

// bodyBudget bounds the request-body bytes the server holds at once,
// beyond each request's first chunk, counted in chunks. Without it, N
// clients each streaming a body up to the limit make the server hold N
// times the limit before refusing them. A body reserves all it may need
// in one step when it outgrows its first chunk (its declared length, or
// the limit when chunked): reserving chunk by chunk as bytes arrive would
// let many bodies each hold part of the budget while all wait for more.
type bodyBudget struct {
	sem  *semaphore.Weighted
	size int64
	held atomic.Int64
}

// newBodyBudget returns a budget of bytes, rounded up to whole chunks.
func newBodyBudget(bytes int64) *bodyBudget {
	n := max(1, (bytes+bodyChunk-1)/bodyChunk)
	return &bodyBudget{sem: semaphore.NewWeighted(n), size: n}
}

// acquire reserves n chunks, waiting at most wait until they are free
// (less if ctx ends first). It never reserves more than the whole budget.
func (b *bodyBudget) acquire(ctx context.Context, n int64, wait time.Duration) error {
	if n > b.size {
		return errBodyBudget
	}
	if !b.sem.TryAcquire(n) {
		ctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		if err := b.sem.Acquire(ctx, n); err != nil {
			return errBodyBudget
		}
	}
	b.held.Add(n)
	return nil
}

// release returns n chunks.
func (b *bodyBudget) release(n int64) {
	b.held.Add(-n)
	b.sem.Release(n)
}

// inUse reports how many chunks are reserved.
func (b *bodyBudget) inUse() int64 { return b.held.Load() }
