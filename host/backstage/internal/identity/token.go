package identity

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// JOSE typ values of Backstage tokens (plugin-auth-node tokenTypes).
const (
	// TypUser is a user token the auth backend issued.
	TypUser = "vnd.backstage.user"
	// TypLimitedUser is a limited user token: a user token carrying only
	// the user's identity, for on-behalf-of calls.
	TypLimitedUser = "vnd.backstage.limited-user"
	// TypPlugin is a plugin token, a plugin's credential for a call to
	// another plugin.
	TypPlugin = "vnd.backstage.plugin"
	// legacyUserAudience is the aud of user tokens issued before typ.
	legacyUserAudience = "backstage"
)

// token is a JWT split and decoded without verification: enough to route
// it to the right verifier.
type token struct {
	raw    string
	header header
	claims *claims
}

// header is the part of a JOSE header that routes and verifies a token.
type header struct {
	Typ string `json:"typ"`
	Alg string `json:"alg"`
	Kid string `json:"kid"`
}

// isUserToken reports whether t claims to be a user token: a user or
// limited user typ, or a legacy one (no typ) with aud "backstage".
func (t *token) isUserToken() bool {
	switch t.header.Typ {
	case TypUser, TypLimitedUser:
		return true
	}
	return t.claims.Aud.has(legacyUserAudience)
}

// maxTokenBytes bounds what is decoded of an unverified token.
const maxTokenBytes = 64 << 10

// parseToken splits raw into header, claims and signature and decodes the
// first two, verifying nothing; ok is false when raw is not a JWT.
func parseToken(raw string) (*token, bool) {
	if len(raw) > maxTokenBytes || strings.Count(raw, ".") != 2 {
		return nil, false
	}
	h, rest, _ := strings.Cut(raw, ".")
	p, _, _ := strings.Cut(rest, ".")
	hb, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return nil, false
	}
	t := &token{raw: raw}
	if json.Unmarshal(hb, &t.header) != nil {
		return nil, false
	}
	pb, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return nil, false
	}
	if t.claims, err = decodeClaims(pb); err != nil {
		return nil, false
	}
	return t, true
}

// claims are the registered and Backstage claims Verdict reads.
type claims struct {
	Sub *string         `json:"sub"`
	Aud audience        `json:"aud"`
	Iss string          `json:"iss"`
	Iat *float64        `json:"iat"`
	Exp *float64        `json:"exp"`
	Nbf *float64        `json:"nbf"`
	Obo *string         `json:"obo"`
	Ent json.RawMessage `json:"ent"`
}

func decodeClaims(b []byte) (*claims, error) {
	var c claims
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	return &c, nil
}

// require reports the first of names (sub, aud, iat, exp) that c lacks.
func (c *claims) require(names ...string) error {
	for _, n := range names {
		var missing bool
		switch n {
		case "sub":
			missing = c.Sub == nil
		case "aud":
			missing = c.Aud == nil
		case "iat":
			missing = c.Iat == nil
		case "exp":
			missing = c.Exp == nil
		}
		if missing {
			return fmt.Errorf("missing required %q claim", n)
		}
	}
	return nil
}

// checkTimes checks exp and nbf against now, without clock tolerance (as
// jose's jwtVerify by default).
func (c *claims) checkTimes(now time.Time) error {
	sec := float64(now.UnixNano()) / 1e9
	if c.Exp != nil && sec >= *c.Exp {
		return errors.New(`"exp" claim timestamp check failed`)
	}
	if c.Nbf != nil && sec < *c.Nbf {
		return errors.New(`"nbf" claim timestamp check failed`)
	}
	return nil
}

// hasSub reports whether c has a non-empty sub.
func (c *claims) hasSub() bool { return c.Sub != nil && *c.Sub != "" }

// expiry is c's exp as a time; zero when c has none.
func (c *claims) expiry() time.Time {
	if c.Exp == nil {
		return time.Time{}
	}
	return unixTime(*c.Exp)
}

// ent returns the "ent" claim when it is a list of strings.
func (c *claims) ent() ([]string, bool) {
	if len(c.Ent) == 0 || bytes.Equal(c.Ent, []byte("null")) {
		return nil, false
	}
	var refs []string
	if json.Unmarshal(c.Ent, &refs) != nil {
		return nil, false
	}
	if refs == nil {
		refs = []string{}
	}
	return refs, true
}

// audience is the aud claim: a string or a list of strings.
type audience []string

// UnmarshalJSON accepts a string, a list of strings or null.
func (a *audience) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*a = nil
		return nil
	}
	var s string
	if json.Unmarshal(b, &s) == nil {
		*a = audience{s}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return errors.New("aud must be a string or a list of strings")
	}
	*a = l
	return nil
}

func (a audience) has(s string) bool { return slices.Contains(a, s) }

// unixTime is sec, seconds since the Unix epoch with a fraction, as a
// time.
func unixTime(sec float64) time.Time {
	return time.Unix(0, int64(sec*1e9))
}
