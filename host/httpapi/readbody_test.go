package httpapi

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// onlyReader hides any length a reader might reveal: a chunked body.
type onlyReader struct{ io.Reader }

// readBody keeps every byte and never holds more than the limit + 1 bytes
// of capacity, whatever the body's size; a declared length is allocated
// once.
func TestReadBody(t *testing.T) {
	const limit = 1 << 20
	tests := []struct {
		name     string
		size     int
		declared bool
		tooLarge bool
		wantCap  int // exact capacity, when set
	}{
		{name: "empty", size: 0},
		{name: "small", size: 100},
		{name: "just past half the limit", size: limit/2 + 1},
		{name: "at the limit", size: limit},
		{name: "at the limit, declared", size: limit, declared: true, wantCap: limit + 1},
		{name: "declared, small", size: 100_000, declared: true, wantCap: 100_001},
		{name: "one byte over", size: limit + 1, tooLarge: true},
		{name: "far over", size: 3 * limit, tooLarge: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := bytes.Repeat([]byte("x"), tc.size)
			var hint int64 = -1
			if tc.declared {
				hint = int64(tc.size)
			}
			buf := getBody()
			err := readBody(buf, http.MaxBytesReader(nil, io.NopCloser(onlyReader{bytes.NewReader(body)}), limit), hint, limit+1)
			if tc.tooLarge {
				var mbe *http.MaxBytesError
				require.True(t, errors.As(err, &mbe), "%v", err)
			} else {
				require.NoError(t, err)
				require.Equal(t, body, *buf)
			}
			require.LessOrEqual(t, cap(*buf), limit+1, "capacity")
			if tc.wantCap > 0 {
				require.Equal(t, tc.wantCap, cap(*buf))
			}
			putBody(buf)
		})
	}
}
