package identity

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAppendJSNumber(t *testing.T) {
	for in, want := range map[float64]string{1700000000: "1700000000", 1.5: "1.5", 0: "0", 1e21: "1e+21"} {
		require.Equal(t, want, string(appendJSNumber(nil, in)))
	}
}
