package identity

import (
	"context"
	"slices"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/verdictpdp/verdict/abi"
)

// legacySubject is the sub of legacy external-access tokens.
const legacySubject = "backstage-server"

// legacyKey is a LegacyAccess entry with its secret decoded.
type legacyKey struct {
	key     []byte
	subject string
}

// verifyLegacy checks legacy external-access tokens: ok is false when the
// token does not look like one (then the next kind is tried).
func (v *Verifier) verifyLegacy(t *token) (Credentials, bool, error) {
	if len(v.legacy) == 0 || t.header.Alg != "HS256" || t.claims.Sub == nil ||
		*t.claims.Sub != legacySubject || t.claims.Aud != nil {
		return Credentials{}, false, nil
	}
	for _, l := range v.legacy {
		payload, err := jws.Verify([]byte(t.raw), jws.WithKey(jwa.HS256(), l.key))
		if err != nil {
			continue
		}
		cl, err := decodeClaims(payload)
		if err == nil {
			err = cl.checkTimes(v.now())
		}
		if err != nil {
			return Credentials{}, true, authErr(msgExternalFailed, err)
		}
		p := abi.Principal{Type: abi.PrincipalService, Subject: l.subject}
		return Credentials{Principal: p, ExpiresAt: cl.expiry()}, true, nil
	}
	return Credentials{}, false, nil
}

// verifyJWKS tries each jwks external-access entry in order; the first
// that verifies the token (and whose token has a sub) wins.
func (v *Verifier) verifyJWKS(ctx context.Context, t *token) (Credentials, bool) {
	for i, e := range v.cfg.JWKS {
		cl, err := v.verifySigned(ctx, t, v.jwks[i], e.algorithms())
		if err != nil || cl.checkTimes(v.now()) != nil || !cl.hasSub() || !e.accepts(cl) {
			continue
		}
		p := abi.Principal{Type: abi.PrincipalService, Subject: e.subject(*cl.Sub)}
		return Credentials{Principal: p, ExpiresAt: cl.expiry()}, true
	}
	return Credentials{}, false
}

// algorithms are the algorithms e accepts: its own list, else the
// asymmetric ones.
func (e JWKSAccess) algorithms() []string {
	if len(e.Algorithms) > 0 {
		return e.Algorithms
	}
	return asymmetric
}

// accepts reports whether verified claims cl name one of e's issuers and
// audiences, when e lists them.
func (e JWKSAccess) accepts(cl *claims) bool {
	if len(e.Issuers) > 0 && !slices.Contains(e.Issuers, cl.Iss) {
		return false
	}
	return len(e.Audiences) == 0 || slices.ContainsFunc(e.Audiences, cl.Aud.has)
}

// subject is the service subject e gives a token with sub:
// "external:<prefix>:<sub>", or "external:<sub>" without a prefix.
func (e JWKSAccess) subject(sub string) string {
	prefix := "external:"
	if e.SubjectPrefix != "" {
		prefix += e.SubjectPrefix + ":"
	}
	return prefix + sub
}
