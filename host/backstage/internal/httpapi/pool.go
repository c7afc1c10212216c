package httpapi

import "sync"

// maxPooled bounds the bytes a pooled buffer may hold and still go back to
// its pool: one that grew past it for an unusual body is dropped rather
// than kept alive for every later request.
const maxPooled = 64 << 10

// pool recycles *T values (buffers, or states made of buffers) from one
// request to the next.
type pool[T any] struct {
	p sync.Pool
	// keep empties a value on its way back and reports whether it is
	// small enough to keep; nil keeps every value as it is.
	keep func(*T) bool
}

// newPool returns a pool whose new values come from newT.
func newPool[T any](newT func() *T, keep func(*T) bool) *pool[T] {
	return &pool[T]{p: sync.Pool{New: func() any { return newT() }}, keep: keep}
}

// get returns a pooled value, or a new one.
func (p *pool[T]) get() *T { return p.p.Get().(*T) }

// put gives v back, unless keep refuses it.
func (p *pool[T]) put(v *T) {
	if p.keep == nil || p.keep(v) {
		p.p.Put(v)
	}
}
