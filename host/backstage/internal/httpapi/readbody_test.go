package httpapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// onlyReader hides any length a reader might reveal: a chunked body.
type onlyReader struct{ io.Reader }

// errAfter yields its reader's bytes, then err instead of EOF.
type errAfter struct {
	r   io.Reader
	err error
}

func (e errAfter) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		return n, e.err
	}
	return n, err
}

// readBody keeps every byte, whatever the body's size and how it is
// declared; a body past its first chunk reserves budget for its declared
// length, or for the limit when chunked; every reservation is handed back:
// after release, on a body over the limit, on an aborted body.
func TestReadBody(t *testing.T) {
	const limit = 1 << 20
	tests := []struct {
		name     string
		size     int
		declared bool
		tooLarge bool
		aborted  bool
		wantHeld int64 // chunks of budget reserved until release
	}{
		{name: "empty", size: 0},
		{name: "small", size: 100},
		{name: "small, declared", size: 100, declared: true},
		{name: "one chunk less one byte", size: bodyChunk - 1},
		{name: "exactly one chunk", size: bodyChunk, wantHeld: limit / bodyChunk},
		{name: "exactly one chunk, declared", size: bodyChunk, declared: true, wantHeld: 1},
		{name: "one chunk and a byte", size: bodyChunk + 1, wantHeld: limit / bodyChunk},
		{name: "three chunks and a bit", size: 3*bodyChunk + 17, wantHeld: limit / bodyChunk},
		{name: "three chunks and a bit, declared", size: 3*bodyChunk + 17, declared: true, wantHeld: 3},
		{name: "at the limit", size: limit, wantHeld: limit / bodyChunk},
		{name: "at the limit, declared", size: limit, declared: true, wantHeld: limit / bodyChunk},
		{name: "one byte over", size: limit + 1, tooLarge: true},
		{name: "far over", size: 3 * limit, tooLarge: true},
		{name: "aborted in the first chunk", size: 100, aborted: true},
		{name: "aborted past the first chunk", size: 5 * bodyChunk, aborted: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			budget := newBodyBudget(limit)
			data := make([]byte, tc.size)
			for i := range data {
				data[i] = byte('a' + i%26)
			}
			var hint int64 = -1
			if tc.declared {
				hint = int64(tc.size)
			}
			var r io.Reader = onlyReader{bytes.NewReader(data)}
			abort := errors.New("connection reset")
			if tc.aborted {
				r = errAfter{r, abort}
			}
			b, err := readBody(context.Background(), http.MaxBytesReader(nil, io.NopCloser(r), limit), hint, limit, budget, time.Second)
			switch {
			case tc.tooLarge:
				var mbe *http.MaxBytesError
				require.True(t, errors.As(err, &mbe), "%v", err)
			case tc.aborted:
				require.ErrorIs(t, err, abort)
			default:
				require.NoError(t, err)
				require.Equal(t, data, b.data)
				require.Equal(t, tc.wantHeld, budget.inUse(), "chunks held before release")
				b.release()
				b.release() // twice is harmless
			}
			require.Zero(t, budget.inUse(), "chunks held after")
		})
	}
}

// A body that needs more budget than is free waits for it: it gets it as
// soon as another body releases its share, and gives up with errBodyBudget
// when its context ends first. Bodies within one chunk never wait, and a
// body that could never fit is refused at once.
func TestReadBodyBudget(t *testing.T) {
	const limit = 4 * bodyChunk
	budget := newBodyBudget(limit)
	big := bytes.Repeat([]byte("x"), 3*bodyChunk+1) // chunked: reserves the limit, all four chunks
	read := func(ctx context.Context, data []byte, limit int64) (requestBody, error) {
		return readBody(ctx, onlyReader{bytes.NewReader(data)}, -1, limit, budget, time.Minute)
	}
	holder, err := read(context.Background(), big, limit)
	require.NoError(t, err)
	require.EqualValues(t, 4, budget.inUse())

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = read(ctx, big, limit)
	require.ErrorIs(t, err, errBodyBudget)
	require.EqualValues(t, 4, budget.inUse(), "a refused body keeps nothing")

	small, err := read(context.Background(), []byte(`{"items":[]}`), limit)
	require.NoError(t, err, "a small body needs no budget")
	require.Equal(t, `{"items":[]}`, string(small.data))
	small.release()

	done := make(chan error, 1)
	go func() {
		b, err := read(context.Background(), big, limit)
		if err == nil && !bytes.Equal(b.data, big) {
			err = errors.New("bytes differ")
		}
		b.release()
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("read past the budget without waiting: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	holder.release()
	require.NoError(t, <-done)
	require.Zero(t, budget.inUse())

	_, err = read(context.Background(), big, 2*limit)
	require.ErrorIs(t, err, errBodyBudget, "a reservation larger than the whole budget")
	require.Zero(t, budget.inUse())
}
