package httpapi

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

// bodyChunk is the unit in which request bodies are read and budgeted. A
// body that fits in one chunk (Backstage's clients send batches of about
// 50 items, a few KiB) is read into a pooled buffer and costs no budget.
const bodyChunk = 64 << 10

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

// chunkPool recycles the fixed-size chunks bodies past their first chunk
// are read into, so that many clients streaming big bodies reuse the same
// few megabytes instead of each growing (and discarding) its own buffer.
var chunkPool = sync.Pool{New: func() any { return new([bodyChunk]byte) }}

// requestBody is a request body read in full. Release it once the decoded
// value no longer needs its bytes.
type requestBody struct {
	data   []byte
	first  *[]byte // pooled
	budget *bodyBudget
	held   int64 // chunks of budget reserved
}

// release returns the body's buffer and budget. Safe on a zero body and
// more than once.
func (b *requestBody) release() {
	if b.first != nil {
		putBody(b.first)
		b.first = nil
	}
	if b.held > 0 {
		b.budget.release(b.held)
		b.held = 0
	}
	b.data = nil
}

// readBody reads r to EOF; r yields at most limit bytes (a
// MaxBytesReader). The first bodyChunk bytes go into a pooled buffer that
// grows by doubling (sized at once for a declared length, sizeHint, when
// it fits). A body that outgrows it reserves budget for the rest at once,
// waiting at most wait (then errBodyBudget): its declared length or, when
// chunked, the limit, so that bytes held past the first chunks never
// exceed the budget, whatever the number of clients. The rest is
// read into pooled chunks and joined into one slice of its exact length at
// EOF; the chunks go back to the pool at once, the reservation stays for
// the joined copy until release. On error everything is released.
func readBody(ctx context.Context, r io.Reader, sizeHint, limit int64, budget *bodyBudget, wait time.Duration) (requestBody, error) {
	b := requestBody{first: getBody(), budget: budget}
	buf := (*b.first)[:0]
	if sizeHint > 0 && sizeHint < bodyChunk && cap(buf) < int(sizeHint)+1 {
		buf = make([]byte, 0, sizeHint+1)
	}
	for {
		if len(buf) == cap(buf) {
			if len(buf) >= bodyChunk {
				break
			}
			nb := make([]byte, len(buf), min(max(2*cap(buf), 4<<10), bodyChunk))
			copy(nb, buf)
			buf = nb
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			*b.first = buf
			b.data = buf
			return b, nil
		}
		if err != nil {
			*b.first = buf
			b.release()
			return requestBody{}, err
		}
	}
	*b.first = buf

	// Chunks for the bytes past the first chunk, plus one byte to see EOF
	// (or the limit's error).
	need := limit
	if sizeHint > 0 && sizeHint < limit {
		need = sizeHint
	}
	reserve := max(1, (need-bodyChunk+1+bodyChunk-1)/bodyChunk)
	if err := budget.acquire(ctx, reserve, wait); err != nil {
		b.release()
		return requestBody{}, err
	}
	b.held = reserve

	var chunks []*[bodyChunk]byte
	var last int // bytes in the last chunk
	freeChunks := func() {
		for _, c := range chunks {
			chunkPool.Put(c)
		}
		chunks = nil
	}
	for {
		if int64(len(chunks)) == b.held {
			// More than reserved: only a reader that yields past the
			// declared length or the limit gets here.
			if err := budget.acquire(ctx, 1, wait); err != nil {
				freeChunks()
				b.release()
				return requestBody{}, err
			}
			b.held++
		}
		c := chunkPool.Get().(*[bodyChunk]byte)
		chunks = append(chunks, c)
		n, err := io.ReadFull(r, c[:])
		last = n
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			freeChunks()
			b.release()
			return requestBody{}, err
		}
	}
	data := make([]byte, 0, len(buf)+(len(chunks)-1)*bodyChunk+last)
	data = append(data, buf...)
	for i, c := range chunks {
		if i == len(chunks)-1 {
			data = append(data, c[:last]...)
		} else {
			data = append(data, c[:]...)
		}
	}
	freeChunks()
	// The joined copy stands in for the first buffer: hand that back now.
	putBody(b.first)
	b.first = nil
	b.data = data
	return b, nil
}
