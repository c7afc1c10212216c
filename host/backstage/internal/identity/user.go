package identity

import (
	"context"
	"errors"

	"github.com/verdictpdp/verdict/abi"
)

// authSet is the auth backend's user-token key set, found through
// discovery the first time a user token needs it.
func (v *Verifier) authSet() (*remoteSet, error) {
	v.authMu <- struct{}{}
	defer func() { <-v.authMu }()
	if v.auth != nil {
		return v.auth, nil
	}
	base, err := v.disc.BaseURL("auth")
	if err != nil {
		return nil, err
	}
	v.auth = &remoteSet{url: base + "/.well-known/jwks.json"}
	return v.auth, nil
}

// verifyUser verifies a user or limited user token with the auth JWKS.
func (v *Verifier) verifyUser(ctx context.Context, t *token) (Credentials, error) {
	set, err := v.authSet()
	if err != nil {
		return Credentials{}, authErr(msgUserFailed, err)
	}
	cl, err := v.verifySigned(ctx, t, set, asymmetric)
	if err == nil {
		err = v.checkUserClaims(t, cl)
	}
	if err != nil {
		return Credentials{}, authErr(msgUserFailed, err)
	}
	if !cl.hasSub() {
		return Credentials{}, authErr(msgNoUserSub, nil)
	}
	if cl.Exp == nil {
		return Credentials{}, authErr(msgUserNoExpiration, nil)
	}
	c := Credentials{
		Principal: abi.Principal{Type: abi.PrincipalUser, UserEntityRef: *cl.Sub},
		UserToken: t.raw,
		ExpiresAt: unixTime(*cl.Exp),
	}
	if refs, ok := cl.ent(); ok {
		c.Ownership = refs
	}
	return c, nil
}

// checkUserClaims checks the claims of user token t: iat, exp and sub for
// a token with a typ, aud "backstage" for a legacy one, and its times.
func (v *Verifier) checkUserClaims(t *token, cl *claims) error {
	if t.header.Typ != "" {
		if err := cl.require("iat", "exp", "sub"); err != nil {
			return err
		}
	} else if !cl.Aud.has(legacyUserAudience) {
		return errors.New("legacy user token without aud backstage")
	}
	return cl.checkTimes(v.now())
}
