package identity

import (
	"bytes"
	"context"
	"fmt"
	mathbits "math/bits"
	"slices"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// asymmetric lists the algorithms accepted for tokens verified with a
// fetched key set: never "none" or a shared-secret HMAC, which would let a
// public key be used as an HMAC secret.
var asymmetric = []string{"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"}

// verifySigned checks t's signature with the key of set its kid names and
// returns the verified claims. The check every kind of token verified
// with a fetched key set shares: user, plugin and jwks tokens.
func (v *Verifier) verifySigned(ctx context.Context, t *token, set *remoteSet, algs []string) (*claims, error) {
	if !slices.Contains(algs, t.header.Alg) {
		return nil, fmt.Errorf("algorithm %q not accepted", t.header.Alg)
	}
	alg, ok := jwa.LookupSignatureAlgorithm(t.header.Alg)
	if !ok {
		return nil, fmt.Errorf("unknown algorithm %q", t.header.Alg)
	}
	key, err := set.key(ctx, v.fetch, t.header.Kid)
	if err != nil {
		return nil, err
	}
	if ka, ok := key.Algorithm(); ok && ka.String() != t.header.Alg {
		return nil, fmt.Errorf("key %q is for %s, token uses %s", t.header.Kid, ka, t.header.Alg)
	}
	if err := checkKeyCost(key); err != nil {
		return nil, fmt.Errorf("key %q: %w", t.header.Kid, err)
	}
	payload, err := jws.Verify([]byte(t.raw), jws.WithKey(alg, key))
	if err != nil {
		return nil, err
	}
	return decodeClaims(payload)
}

// maxRSABits bounds the modulus of an RSA key used to check a signature,
// as Go's TLS stack bounds certificate keys: the cost of a check grows with
// the square of the modulus (a 262144-bit key costs seconds of CPU), key
// sets come from other services, and tokens that fail to verify are never
// cached, so without a bound one huge key in a key set would let anyone
// burn the host's CPU with forged tokens naming it.
const maxRSABits = 8192

// checkKeyCost refuses keys whose signature checks would cost more than
// the bound allows (RSA keys with a modulus above maxRSABits).
func checkKeyCost(key jwk.Key) error {
	// Public and private RSA keys (a set may carry either) have N.
	rk, ok := key.(interface{ N() ([]byte, bool) })
	if !ok {
		return nil
	}
	n, _ := rk.N()
	n = bytes.TrimLeft(n, "\x00")
	bits := 0
	if len(n) > 0 {
		bits = (len(n)-1)*8 + mathbits.Len8(n[0])
	}
	if bits > maxRSABits {
		return fmt.Errorf("%w: a %d-bit RSA key (at most %d bits)", errKeyTooLarge, bits, maxRSABits)
	}
	return nil
}
