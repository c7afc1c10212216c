package identity

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestFetchSlots: key-set fetches outlive their requests, so their number
// is bounded: a fetch that finds every slot taken until its timeout fails
// closed (the token does not verify) without opening a connection.
func TestFetchSlots(t *testing.T) {
	called := false
	client := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		called = true
		return nil, context.Canceled
	})}
	f := &fetcher{client: client, timeout: 50 * time.Millisecond, now: time.Now, slots: make(chan struct{}, 1)}
	f.slots <- struct{}{} // every slot taken
	_, err := f.fetch(context.Background(), "http://auth.invalid/jwks.json")
	require.ErrorIs(t, err, errTooManyFetches)
	require.False(t, called)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
