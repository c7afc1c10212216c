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

// TestLimitedPartsAsJSONStringify pins the bytes of a limited token's
// header and payload: JSON.stringify's member order, no member for what
// the full token lacks, "{}" for none.
func TestLimitedPartsAsJSONStringify(t *testing.T) {
	sub, iat, exp := "user:default/<a>", 1700000000.0, 1700003600.5
	for _, tc := range []struct {
		name string
		c    limitedClaims
		want string
	}{
		{"all", limitedClaims{Sub: &sub, Iat: &iat, Exp: &exp}, `{"sub":"user:default/<a>","iat":1700000000,"exp":1700003600.5}`},
		{"no sub", limitedClaims{Iat: &iat, Exp: &exp}, `{"iat":1700000000,"exp":1700003600.5}`},
		{"exp only", limitedClaims{Exp: &exp}, `{"exp":1700003600.5}`},
		{"none", limitedClaims{}, `{}`},
	} {
		require.Equal(t, tc.want, string(tc.c.appendJS(nil)), tc.name)
	}
	require.Equal(t, `{"typ":"vnd.backstage.limited-user","alg":"ES256","kid":"k1"}`, string(limitedHeader(header{Typ: TypUser, Alg: "ES256", Kid: "k1"})))
	require.Equal(t, `{"typ":"vnd.backstage.limited-user","alg":"ES256"}`, string(limitedHeader(header{Alg: "ES256"})))
}
