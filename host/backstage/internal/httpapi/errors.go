package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/verdictpdp/verdict/host"
	"github.com/verdictpdp/verdict/host/backstage/internal/identity"
	"github.com/verdictpdp/verdict/host/backstage/internal/upstream"
)

// Backstage error names (packages/errors) and the names body-parser gives.
const (
	nameInput              = "InputError"
	nameSyntax             = "SyntaxError"
	nameBadRequest         = "BadRequestError"
	nameAuthentication     = "AuthenticationError"
	nameNotAllowed         = "NotAllowedError"
	nameNotFound           = "NotFoundError"
	nameMethodNotAllowed   = "MethodNotAllowedError"
	namePayloadTooLarge    = "PayloadTooLargeError"
	nameUnsupportedMedia   = "UnsupportedMediaTypeError"
	nameServiceUnavailable = "ServiceUnavailableError"
	nameNotImplemented     = "NotImplementedError"
	nameInternal           = "Error"
	nameResponse           = "ResponseError"
)

// apiError is an error meant for the caller: a Backstage error name and a
// message that is safe to show. The status follows from the name (see
// classify).
type apiError struct {
	name    string
	message string
	// tooLarge carries body-parser's extra fields for 413s.
	tooLarge *tooLarge
	// status, when set, overrides the status the name gives (a
	// ResponseError carries the status of the service that refused).
	status int
	// cause is the other service's own error, for a ResponseError.
	cause *upstream.Cause
}

// Error is the name and the message, for logs.
func (e *apiError) Error() string { return e.name + ": " + e.message }

type tooLarge struct {
	limit  int64
	length int64 // -1 when unknown (no Content-Length)
}

func newError(name, message string) error { return &apiError{name: name, message: message} }

// Errors with fixed messages, as Backstage words them.
var (
	errMissingCredentials = newError(nameAuthentication, "Missing credentials")
	errIllegalToken       = newError(nameAuthentication, "Illegal token")
	errServiceNotAllowed  = newError(nameNotAllowed, "This endpoint does not allow 'service' credentials")
	errDirectUser         = newError(nameInput, "Resource permissions require a resourceRef to be set. Direct user requests without a resourceRef are not allowed.")
	errUntrusted          = newError(nameNotAllowed, "This endpoint requires a token whose subject is listed in server.trustedSubjects")
	errNotFound           = newError(nameNotFound, "Not found")
)

// statusByName is Backstage's error middleware table plus the names Verdict
// adds; anything else is 500.
var statusByName = map[string]int{
	nameInput:              http.StatusBadRequest,
	nameSyntax:             http.StatusBadRequest,
	nameBadRequest:         http.StatusBadRequest,
	nameAuthentication:     http.StatusUnauthorized,
	nameNotAllowed:         http.StatusForbidden,
	nameNotFound:           http.StatusNotFound,
	nameMethodNotAllowed:   http.StatusMethodNotAllowed,
	namePayloadTooLarge:    http.StatusRequestEntityTooLarge,
	nameUnsupportedMedia:   http.StatusUnsupportedMediaType,
	nameServiceUnavailable: http.StatusServiceUnavailable,
	nameNotImplemented:     http.StatusNotImplemented,
}

// classify is the one place that maps an error to what the caller sees:
// status, Backstage error name and a message that leaks no internals.
func classify(err error) (status int, e *apiError) {
	var ae *apiError
	var authErr *identity.AuthError
	var ue *upstream.Error
	switch {
	case errors.As(err, &ae):
		e = ae
	case errors.Is(err, identity.ErrIllegalToken):
		e = errIllegalToken.(*apiError)
	case errors.As(err, &authErr):
		e = &apiError{name: nameAuthentication, message: authErr.Message}
	case errors.As(err, &ue):
		// Another Backstage service refused: pass its status on, as
		// Backstage's error middleware does with a ResponseError.
		status := ue.Status
		if status < 400 || status > 599 {
			status = http.StatusBadGateway
		}
		e = &apiError{name: nameResponse, message: ue.Error(), status: status, cause: &ue.Cause}
	case errors.Is(err, identity.ErrUserInfoSubject):
		e = &apiError{name: nameInternal, message: "User info does not describe the token's user"}
	case errors.Is(err, identity.ErrNoOwnership):
		e = &apiError{name: nameInternal, message: "Ownership entity refs can not be determined"}
	case errors.Is(err, host.ErrNoSnapshot):
		e = &apiError{name: nameServiceUnavailable, message: "no policy snapshot loaded yet"}
	case errors.Is(err, host.ErrClosed):
		e = &apiError{name: nameServiceUnavailable, message: "shutting down"}
	case errors.Is(err, context.DeadlineExceeded):
		e = &apiError{name: nameServiceUnavailable, message: "request deadline exceeded"}
	case errors.Is(err, context.Canceled):
		e = &apiError{name: nameServiceUnavailable, message: "request canceled"}
	default:
		e = &apiError{name: nameInternal, message: "internal error"}
	}
	if e.status != 0 {
		return e.status, e
	}
	status, ok := statusByName[e.name]
	if !ok {
		status = http.StatusInternalServerError
	}
	return status, e
}

// writeError answers err in Backstage's envelope. url is the request path
// as the caller should see it (relative to the base path for Backstage
// endpoints). Server errors are logged with their detail; client errors at
// debug level.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, url string, err error) {
	status, e := classify(err)
	if status >= 500 {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	} else {
		s.log.Debug("request refused", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	b := make([]byte, 0, 256)
	b = append(b, `{"error":{"name":`...)
	b = appendString(b, e.name)
	b = append(b, `,"message":`...)
	b = appendString(b, e.message)
	if t := e.tooLarge; t != nil {
		if t.length >= 0 {
			b = append(b, `,"expected":`...)
			b = strconv.AppendInt(b, t.length, 10)
			b = append(b, `,"length":`...)
			b = strconv.AppendInt(b, t.length, 10)
		}
		b = append(b, `,"limit":`...)
		b = strconv.AppendInt(b, t.limit, 10)
		b = append(b, `,"type":"entity.too.large"`...)
	}
	if c := e.cause; c != nil {
		b = append(b, `,"cause":{"name":`...)
		b = appendString(b, c.Name)
		b = append(b, `,"message":`...)
		b = appendString(b, c.Message)
		b = append(b, '}')
	}
	b = append(b, `},"request":{"method":`...)
	b = appendString(b, r.Method)
	b = append(b, `,"url":`...)
	b = appendString(b, url)
	b = append(b, `},"response":{"statusCode":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, "}}"...)
	writeJSON(w, status, b)
}
