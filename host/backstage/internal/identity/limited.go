package identity

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/verdictpdp/verdict/internal/wire"
)

// ErrNoUIP is a full user token without the "uip" claim, from which no
// limited user token can be made.
var ErrNoUIP = errors.New("identity: user token has no uip claim: cannot make a limited user token for an on-behalf-of call")

// LimitedUserToken returns the limited user token that stands for
// userToken in an on-behalf-of call, and when it expires, as Backstage's
// UserTokenHandler.createLimitedUserToken does:
//
//   - a limited user token (typ "vnd.backstage.limited-user") or a legacy
//     user token (no typ) is returned as is;
//   - a full user token (typ "vnd.backstage.user") becomes
//     {typ: limited-user, alg, kid}.{sub, iat, exp}.<its "uip" claim>: the
//     auth backend signed exactly those bytes when it issued the token and
//     put the signature in "uip", so the limited token verifies with the
//     auth backend's key while carrying nothing but the user's identity.
//
// The header and payload are serialised byte for byte as JavaScript's
// JSON.stringify does, or the signature would not match. userToken is not
// verified here: callers pass a token Verify accepted.
func LimitedUserToken(userToken string) (string, time.Time, error) {
	t, ok := parseToken(userToken)
	if !ok {
		return "", time.Time{}, ErrIllegalToken
	}
	exp := t.claims.expiry()
	switch t.header.Typ {
	case "", TypLimitedUser:
		return userToken, exp, nil
	case TypUser:
	default:
		return "", time.Time{}, errors.New("identity: cannot make a limited user token from a token of type " + strconv.Quote(t.header.Typ))
	}
	p, err := readLimitedClaims(userToken)
	if err != nil {
		return "", time.Time{}, err
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(limitedHeader(t.header)) + "." + enc.EncodeToString(p.appendJS(nil)) + "." + p.UIP, exp, nil
}

// limitedClaims are what a limited user token keeps of a full one: sub,
// iat and exp, and "uip", the auth backend's signature over them.
type limitedClaims struct {
	Sub *string  `json:"sub"`
	Iat *float64 `json:"iat"`
	Exp *float64 `json:"exp"`
	UIP string   `json:"uip"`
}

// readLimitedClaims decodes the limitedClaims of userToken, a JWT that
// parseToken accepted: ErrIllegalToken when they do not decode, ErrNoUIP
// without a uip.
func readLimitedClaims(userToken string) (*limitedClaims, error) {
	_, rest, _ := strings.Cut(userToken, ".")
	payload, _, _ := strings.Cut(rest, ".")
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil, ErrIllegalToken
	}
	var p limitedClaims
	if json.Unmarshal(raw, &p) != nil {
		return nil, ErrIllegalToken
	}
	if p.UIP == "" {
		return nil, ErrNoUIP
	}
	return &p, nil
}

// limitedHeader is the header of the limited token made from a token with
// header h, {typ, alg, kid} (kid only when h has one), as JSON.stringify
// writes it.
func limitedHeader(h header) []byte {
	b := []byte(`{"typ":`)
	b = wire.AppendJSString(b, TypLimitedUser)
	b = append(b, `,"alg":`...)
	b = wire.AppendJSString(b, h.Alg)
	if h.Kid != "" {
		b = append(b, `,"kid":`...)
		b = wire.AppendJSString(b, h.Kid)
	}
	return append(b, '}')
}

// appendJS appends p's sub, iat and exp as JSON.stringify writes them:
// members p lacks are left out, as JSON.stringify leaves out undefined
// members.
func (p *limitedClaims) appendJS(b []byte) []byte {
	b = append(b, '{')
	first := len(b)
	member := func(name string) {
		if len(b) > first {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, `":`...)
	}
	if p.Sub != nil {
		member("sub")
		b = wire.AppendJSString(b, *p.Sub)
	}
	if p.Iat != nil {
		member("iat")
		b = appendJSNumber(b, *p.Iat)
	}
	if p.Exp != nil {
		member("exp")
		b = appendJSNumber(b, *p.Exp)
	}
	return append(b, '}')
}

// appendJSNumber appends f as JSON.stringify writes a number (integral
// values below 1e21 without a fraction or exponent).
func appendJSNumber(b []byte, f float64) []byte {
	if math.Abs(f) < 1e21 {
		return strconv.AppendFloat(b, f, 'f', -1, 64)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}
