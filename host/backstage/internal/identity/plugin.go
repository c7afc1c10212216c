package identity

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/verdictpdp/verdict/abi"
)

var pluginIDPattern = regexp.MustCompile(`(?i)^[a-z0-9_-]+$`)

// verifyPlugin verifies a plugin token with the calling plugin's JWKS: the
// service "plugin:<sub>", or with an obo claim the user it names, with the
// plugin as actor.
func (v *Verifier) verifyPlugin(ctx context.Context, t *token) (Credentials, error) {
	sub, err := pluginSubject(t)
	if err != nil {
		return Credentials{}, err
	}
	cl, err := v.pluginClaims(ctx, t, sub)
	if err != nil {
		return Credentials{}, err
	}
	exp := unixTime(*cl.Exp)
	if cl.Obo == nil {
		return Credentials{
			Principal: abi.Principal{Type: abi.PrincipalService, Subject: "plugin:" + sub},
			ExpiresAt: exp,
		}, nil
	}
	return v.onBehalfOf(ctx, *cl.Obo, sub, exp)
}

// pluginSubject is the calling plugin's id, the unverified sub of plugin
// token t, refused unless it can be a plugin id.
func pluginSubject(t *token) (string, error) {
	sub := ""
	if t.claims.Sub != nil {
		sub = *t.claims.Sub
	}
	if sub == "" {
		return "", authErr(msgPluginNoSubject, nil)
	}
	if !pluginIDPattern.MatchString(sub) {
		return "", authErr(msgPluginBadSubject, nil)
	}
	return sub, nil
}

// pluginClaims checks plugin token t's signature with the key set of
// plugin sub and the claims a plugin token must carry, and returns them.
func (v *Verifier) pluginClaims(ctx context.Context, t *token, sub string) (*claims, error) {
	set, err := v.pluginSet(sub)
	if err != nil {
		return nil, authErr(msgPluginFailed, err)
	}
	cl, err := v.verifySigned(ctx, t, set, asymmetric)
	if errors.Is(err, errNoJWKS) {
		return nil, authErr(msgPluginNoJWKSStart+sub+msgPluginNoJWKSEnd, nil)
	}
	if err == nil {
		err = v.checkPluginClaims(cl)
	}
	if err != nil {
		return nil, authErr(msgPluginFailed, err)
	}
	return cl, nil
}

// pluginSet is plugin id's key set, at
// <discovery(id)>/.backstage/auth/v1/jwks.json.
func (v *Verifier) pluginSet(id string) (*remoteSet, error) {
	return v.plugins.get(id, func() (string, error) {
		base, err := v.disc.BaseURL(id)
		if err != nil {
			return "", err
		}
		return base + "/.backstage/auth/v1/jwks.json", nil
	})
}

// checkPluginClaims requires iat, exp, sub and an aud naming Verdict, and
// checks the token's times.
func (v *Verifier) checkPluginClaims(cl *claims) error {
	if err := cl.require("iat", "exp", "sub", "aud"); err != nil {
		return err
	}
	if !cl.Aud.has(v.cfg.PluginID) {
		return fmt.Errorf("aud %v does not name %q", []string(cl.Aud), v.cfg.PluginID)
	}
	return cl.checkTimes(v.now())
}

// onBehalfOf verifies the obo claim of a plugin token from plugin sub that
// expires at exp: the credentials are the user's, with the plugin as actor,
// expiring when the sooner of the two tokens does.
func (v *Verifier) onBehalfOf(ctx context.Context, obo, sub string, exp time.Time) (Credentials, error) {
	ut, ok := parseToken(obo)
	if !ok || !ut.isUserToken() {
		return Credentials{}, authErr(msgOBOInvalid, nil)
	}
	c, err := v.verifyUser(ctx, ut)
	if err != nil {
		return Credentials{}, err
	}
	c.Principal.Actor = &abi.Actor{Type: abi.PrincipalService, Subject: "plugin:" + sub}
	if exp.Before(c.ExpiresAt) {
		c.ExpiresAt = exp
	}
	return c, nil
}
