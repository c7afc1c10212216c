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
	var exp time.Time
	if t.claims.Exp != nil {
		exp = unixTime(*t.claims.Exp)
	}
	switch t.header.Typ {
	case "", TypLimitedUser:
		return userToken, exp, nil
	case TypUser:
	default:
		return "", time.Time{}, errors.New("identity: cannot make a limited user token from a token of type " + strconv.Quote(t.header.Typ))
	}
	_, rest, _ := strings.Cut(userToken, ".")
	payload, _, _ := strings.Cut(rest, ".")
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return "", time.Time{}, ErrIllegalToken
	}
	var p struct {
		Sub *string  `json:"sub"`
		Iat *float64 `json:"iat"`
		Exp *float64 `json:"exp"`
		UIP string   `json:"uip"`
	}
	if json.Unmarshal(raw, &p) != nil {
		return "", time.Time{}, ErrIllegalToken
	}
	if p.UIP == "" {
		return "", time.Time{}, ErrNoUIP
	}
	h := []byte(`{"typ":`)
	h = wire.AppendJSString(h, TypLimitedUser)
	h = append(h, `,"alg":`...)
	h = wire.AppendJSString(h, t.header.Alg)
	if t.header.Kid != "" {
		h = append(h, `,"kid":`...)
		h = wire.AppendJSString(h, t.header.Kid)
	}
	h = append(h, '}')
	// JSON.stringify leaves out undefined members.
	var b []byte
	add := func(name string) {
		if len(b) == 0 {
			b = append(b, '{')
		} else {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, `":`...)
	}
	if p.Sub != nil {
		add("sub")
		b = wire.AppendJSString(b, *p.Sub)
	}
	if p.Iat != nil {
		add("iat")
		b = appendJSNumber(b, *p.Iat)
	}
	if p.Exp != nil {
		add("exp")
		b = appendJSNumber(b, *p.Exp)
	}
	if len(b) == 0 {
		b = append(b, '{')
	}
	b = append(b, '}')
	enc := base64.RawURLEncoding
	return enc.EncodeToString(h) + "." + enc.EncodeToString(b) + "." + p.UIP, exp, nil
}

// appendJSNumber appends f as JSON.stringify writes a number (integral
// values below 1e21 without a fraction or exponent).
func appendJSNumber(b []byte, f float64) []byte {
	if math.Abs(f) < 1e21 {
		return strconv.AppendFloat(b, f, 'f', -1, 64)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}
