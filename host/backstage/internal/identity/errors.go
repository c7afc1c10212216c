package identity

import "errors"

// ErrIllegalToken is returned by Verify for a token that no configured kind
// of token recognises: Backstage's 401 "Illegal token".
var ErrIllegalToken = errors.New("identity: illegal token")

// ErrUserInfoSubject is a user-info answer whose claims.sub is missing or
// names another user than the token's subject: Verdict refuses it (500)
// rather than give one user another's ownership.
var ErrUserInfoSubject = errors.New("identity: user info names another user than the token")

// AuthError is a token that was recognised but did not verify. Message is
// Backstage's wording for the case and safe to show to the caller; the
// wrapped error is the detail, for logs only (it never holds the token).
type AuthError struct {
	// Message is Backstage's wording, shown to the caller.
	Message string
	// Err is the detail, for logs; nil when Message says it all.
	Err error
}

// Error returns "identity: " and the message, then ": " and the detail
// when there is one. It is for logs: callers show Message.
func (e *AuthError) Error() string {
	if e.Err == nil {
		return "identity: " + e.Message
	}
	return "identity: " + e.Message + ": " + e.Err.Error()
}

// Unwrap returns the detail, so that errors.Is and errors.As see the
// cause (an expired token, a key set that failed to fetch...).
func (e *AuthError) Unwrap() error { return e.Err }

// authErr is an *AuthError with Backstage's message msg and detail err.
func authErr(msg string, err error) error { return &AuthError{Message: msg, Err: err} }

// Backstage's messages (packages/backend-defaults, auth/*).
const (
	msgUserFailed        = "Failed user token verification"
	msgNoUserSub         = "No user sub found in token"
	msgLimitedUser       = "Illegal limited user token"
	msgPluginFailed      = "Failed plugin token verification"
	msgPluginNoSubject   = "Invalid plugin token: missing subject"
	msgPluginBadSubject  = "Invalid plugin token: forbidden subject format"
	msgOBOInvalid        = "Invalid user token in plugin token obo claim"
	msgUserNoExpiration  = "User token is missing expiration"
	msgExternalFailed    = "Failed external token verification"
	msgPluginNoJWKSStart = "Received a plugin token where the source '"
	msgPluginNoJWKSEnd   = "' plugin unexpectedly does not have a JWKS endpoint. " +
		"The target plugin needs to be migrated to be installed in an app using the new backend system."
)
