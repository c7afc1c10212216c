package httpapi

import (
	"context"
	"io"
	"time"
)

// bodyChunk is the unit in which request bodies are read and budgeted. A
// body that fits in one chunk (Backstage's clients send batches of about
// 50 items, a few KiB) is read into a pooled buffer and costs no budget.
const bodyChunk = 64 << 10

// firstBuffers recycles the buffers that hold a body's first chunk;
// decoded values copy what they keep, so a buffer is free again once the
// body is decoded.
var firstBuffers = newPool(func() *[]byte { b := make([]byte, 0, 4<<10); return &b }, emptyBuffer)

// emptyBuffer empties b for its pool, unless it grew past maxPooled.
func emptyBuffer(b *[]byte) bool {
	if cap(*b) > maxPooled {
		return false
	}
	*b = (*b)[:0]
	return true
}

// chunkPool recycles the fixed-size chunks bodies past their first chunk
// are read into, so that many clients streaming big bodies reuse the same
// few megabytes instead of each growing (and discarding) its own buffer.
var chunkPool = newPool(func() *[bodyChunk]byte { return new([bodyChunk]byte) }, nil)

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
		firstBuffers.put(b.first)
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
	b := requestBody{first: firstBuffers.get(), budget: budget}
	done, err := b.readFirst(r, sizeHint)
	if err == nil && !done {
		err = b.readRest(ctx, r, restChunks(sizeHint, limit), wait)
	}
	if err != nil {
		b.release()
		return requestBody{}, err
	}
	return b, nil
}

// readFirst reads r into the first buffer until EOF or bodyChunk bytes,
// whichever comes first; done reports EOF (the body is then b.data).
func (b *requestBody) readFirst(r io.Reader, sizeHint int64) (done bool, err error) {
	buf := (*b.first)[:0]
	if sizeHint > 0 && sizeHint < bodyChunk && cap(buf) < int(sizeHint)+1 {
		buf = make([]byte, 0, sizeHint+1)
	}
	defer func() { *b.first = buf }()
	for {
		if len(buf) == cap(buf) {
			if len(buf) >= bodyChunk {
				return false, nil
			}
			nb := make([]byte, len(buf), min(max(2*cap(buf), 4<<10), bodyChunk))
			copy(nb, buf)
			buf = nb
		}
		var n int
		n, err = r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			b.data = buf
			return true, nil
		}
		if err != nil {
			return false, err
		}
	}
}

// readRest reads the rest of a body that outgrew its first chunk:
// it reserves n chunks of budget, reads into pooled chunks and joins
// everything into b.data.
func (b *requestBody) readRest(ctx context.Context, r io.Reader, n int64, wait time.Duration) error {
	if err := b.reserve(ctx, n, wait); err != nil {
		return err
	}
	chunks, last, err := b.readChunks(ctx, r, wait)
	if err != nil {
		return err
	}
	b.join(chunks, last)
	return nil
}

// restChunks is how many chunks of budget a body that outgrew its first
// chunk reserves: enough for the bytes past it, up to its declared length
// sizeHint (else the limit), plus one byte to see EOF (or the limit's
// error).
func restChunks(sizeHint, limit int64) int64 {
	need := limit
	if sizeHint > 0 && sizeHint < limit {
		need = sizeHint
	}
	return max(1, (need-bodyChunk+1+bodyChunk-1)/bodyChunk)
}

// reserve takes n chunks of budget, waiting at most wait.
func (b *requestBody) reserve(ctx context.Context, n int64, wait time.Duration) error {
	if err := b.budget.acquire(ctx, n, wait); err != nil {
		return err
	}
	b.held += n
	return nil
}

// readChunks reads r to EOF into pooled chunks, each covered by a chunk
// of reserved budget (one more is reserved whenever r yields past the
// reservation: only a reader that yields past the declared length or the
// limit needs that). last is how many bytes the last chunk holds. On error
// the chunks are back in the pool.
func (b *requestBody) readChunks(ctx context.Context, r io.Reader, wait time.Duration) (chunks []*[bodyChunk]byte, last int, err error) {
	for {
		if int64(len(chunks)) == b.held {
			if err = b.reserve(ctx, 1, wait); err != nil {
				freeChunks(chunks)
				return nil, 0, err
			}
		}
		c := chunkPool.get()
		chunks = append(chunks, c)
		last, err = io.ReadFull(r, c[:])
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return chunks, last, nil
		}
		if err != nil {
			freeChunks(chunks)
			return nil, 0, err
		}
	}
}

// join makes b.data one slice of the exact length of the first buffer and
// the chunks (the last holding last bytes), then gives the chunks and the
// first buffer back to their pools: the joined copy stands in for them.
// The reservation stays for the copy until release.
func (b *requestBody) join(chunks []*[bodyChunk]byte, last int) {
	buf := *b.first
	data := make([]byte, 0, len(buf)+(len(chunks)-1)*bodyChunk+last)
	data = append(data, buf...)
	for i, c := range chunks {
		if i == len(chunks)-1 {
			data = append(data, c[:last]...)
		} else {
			data = append(data, c[:]...)
		}
	}
	freeChunks(chunks)
	firstBuffers.put(b.first)
	b.first = nil
	b.data = data
}

// freeChunks gives chunks back to chunkPool.
func freeChunks(chunks []*[bodyChunk]byte) {
	for _, c := range chunks {
		chunkPool.put(c)
	}
}
