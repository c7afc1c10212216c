// Package upstream is how Verdict talks to other Backstage services (the
// auth backend's user info, plugins' JWKS and apply-conditions endpoints):
// bounded reads of their answers, and their failures turned into errors
// that carry the status on, like @backstage/errors' ResponseError.
//
// Backstage's permission backend passes the status of a failed call to
// another service on to its own caller (a 404 from user info is a 404 from
// /authorize). Error is that failure: the HTTP layer answers with its
// Status and shows its Cause.
package upstream

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxErrorBody is the most of a failed response's body that is read (the
// rest is dropped): enough for any Backstage error envelope.
const MaxErrorBody = 16 << 10

// maxCauseMessage bounds a cause message built from a non-JSON body (an
// HTML 404 page, say).
const maxCauseMessage = 1024

// Cause is the error another service reported, as its envelope named it.
type Cause struct {
	// Name is the error's name, e.g. "NotFoundError".
	Name string
	// Message is the error's message.
	Message string
}

// Error is a failed call to another Backstage service: it answered Status.
// Its Error method is Backstage's ResponseError message ("Request failed
// with 404 Not Found"); Cause is what the service said.
type Error struct {
	// Service names what was called, e.g. "auth user info" or
	// "apply-conditions of plugin catalog"; it is for logs only.
	Service string
	// Status is the status code the service answered.
	Status int
	// Cause is the service's own error: from its envelope when it sent
	// one, else built from the status and the start of the body.
	Cause Cause
}

// Error returns Backstage's ResponseError message, "Request failed with"
// and the status (e.g. "Request failed with 404 Not Found"); it never
// includes the body, which is in Cause.
func (e *Error) Error() string {
	return "Request failed with " + strconv.Itoa(e.Status) + " " + statusText(e.Status)
}

// statusText is code's reason phrase, "Unknown" for a code without one.
func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return t
	}
	return "Unknown"
}

// FromResponse builds an Error from a failed response, reading at most
// MaxErrorBody bytes of its body. Like Backstage's parseErrorResponseBody,
// it uses the body only when it is JSON with both "error" and "response".
func FromResponse(service string, resp *http.Response) *Error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBody))
	e := &Error{Service: service, Status: resp.StatusCode}
	if ct, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err == nil && ct == "application/json" {
		var env struct {
			Error *struct {
				Name    string `json:"name"`
				Message string `json:"message"`
			} `json:"error"`
			Response *struct{} `json:"response"`
		}
		if json.Unmarshal(body, &env) == nil && env.Error != nil && env.Response != nil {
			e.Cause = Cause{Name: env.Error.Name, Message: env.Error.Message}
			return e
		}
	}
	msg := "Request failed with status " + strconv.Itoa(resp.StatusCode) + " " + statusText(resp.StatusCode)
	if b := bytes.TrimSpace(body); len(b) > 0 {
		msg += ", " + truncate(string(b), maxCauseMessage)
	}
	e.Cause = Cause{Name: "Error", Message: msg}
	return e
}

// truncate cuts s to at most n bytes, on a UTF-8 boundary, marking the
// cut with an ellipsis.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// ErrTooLarge is returned by ReadJSON for an answer over its limit.
var ErrTooLarge = errors.New("answer too large")

// ReadJSON reads a successful response's body (at most limit bytes, else
// ErrTooLarge) and decodes it into v. The content type must be JSON.
func ReadJSON(resp *http.Response, limit int64, v any) error {
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if ct != "application/json" && !strings.HasSuffix(ct, "+json") {
		return fmt.Errorf("answer is %q, not JSON", ct)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if int64(len(body)) > limit {
		return fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}

// Drain discards what is left of a body (bounded) and closes it, so that
// the connection can be reused.
func Drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxErrorBody))
	_ = resp.Body.Close()
}

// ErrRedirect is an answer that redirects elsewhere. Verdict never follows
// a redirect on a call to another service: the call carries credentials
// (a user's token, a minted plugin token) or fetches keys that decide who
// is who, and the answer decides access, so it must come from the URL
// that discovery named and from nowhere else (jose, which Backstage uses
// for key sets, refuses redirects too).
var ErrRedirect = errors.New("answered with a redirect, which is not followed")

// NoRedirects returns a copy of c (a new client when c is nil) that never
// follows a redirect: the 3xx answer itself is returned, for the caller to
// refuse (see Redirect).
func NoRedirects(c *http.Client) *http.Client {
	var cp http.Client
	if c != nil {
		cp = *c
	}
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}

// Redirect returns an error wrapping ErrRedirect when resp is a redirect
// (3xx with a Location), naming the target's host (never its path or
// query, which may carry secrets); nil otherwise.
func Redirect(service string, resp *http.Response) error {
	if resp.StatusCode < 300 || resp.StatusCode > 399 {
		return nil
	}
	loc, err := resp.Location()
	if err != nil {
		return nil // no Location: an ordinary failed status
	}
	return fmt.Errorf("%s %w: %d to host %q", service, ErrRedirect, resp.StatusCode, loc.Host)
}
