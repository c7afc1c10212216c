package httpapi

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"
	"unicode"
)

// Config configures the HTTP adapter. Build it with DefaultConfig and change
// what you need; Validate refuses zero limits.
type Config struct {
	// BasePath is where the Backstage-compatible endpoints live. Default
	// "/api/permission", the path Backstage's discovery gives the permission
	// plugin. It must start with "/", be clean and not end with "/".
	BasePath string
	// Limits bound every request.
	Limits Limits
	// DevMode is backstage.auth.dangerouslyDisableDefaultAuthPolicy: a request
	// without a token reaches POST {base}/authorize as principal "none", and
	// /v1/* is open to anyone. Default false.
	DevMode bool
	// StaticTokens are the static external-access tokens
	// (backstage.auth.externalAccess entries of type static). A caller
	// presenting one is the service principal with its Subject.
	StaticTokens []StaticToken
	// TrustedSubjects lists the subjects of static tokens that may call
	// /v1/* (assert principals, read policy status). Default none.
	TrustedSubjects []string
	// CORS lets browsers on other origins call the API (Backstage's frontend
	// when it reaches Verdict directly rather than through the app's own
	// origin). Default: no origin allowed, no CORS headers.
	CORS CORS
}

// CORS is the cross-origin policy, in the spirit of Backstage's backend.cors.
type CORS struct {
	// Origins are the allowed origins, exactly as browsers send them
	// ("https://backstage.example.com"); "*" allows any (without
	// credentials).
	Origins []string
	// Credentials allows cookies and the Authorization header to be sent
	// by the browser (Access-Control-Allow-Credentials). Not with "*".
	Credentials bool
}

// Limits bound one request. None may be zero: zero never means unlimited.
type Limits struct {
	// BodyBytes is the largest request body accepted; larger bodies get 413.
	// Default 1 MiB (Backstage: 100 KiB, a known pain point).
	BodyBytes int64
	// BodyBytesInFlight bounds the request-body bytes held at once over all
	// requests, beyond the first 64 KiB of each (small bodies never wait).
	// A request whose body needs more waits for budget up to RequestTimeout,
	// then gets 503 ServiceUnavailableError. It bounds the memory of many
	// clients streaming big bodies at once. A body past 64 KiB reserves
	// its declared length (BodyBytes when chunked) until it is decoded, so
	// clients that send 64 KiB and then trickle hold their share until the
	// server's read timeout: meanwhile other bodies past 64 KiB may get
	// 503 (smaller ones never wait). Default 16 MiB; at least BodyBytes, so
	// that the largest body can always be read.
	BodyBytesInFlight int64
	// BatchItems is the most items one request may carry; more is 400.
	// Default 1000.
	BatchItems int
	// ResourceRefs is the most resourceRef array elements one request may
	// carry, counted over all its items; more is 400. Each element becomes
	// one guest item, so this bounds the guest work of a request. Default
	// 10000 (Backstage's clients batch about 50).
	ResourceRefs int
	// JSONDepth is the deepest nesting of objects and arrays accepted in a
	// body; deeper is 400. Default 32. At least 4, the depth of a valid
	// request.
	JSONDepth int
	// RequestTimeout bounds deciding one request. Default 1 s.
	RequestTimeout time.Duration
}

// StaticToken is a static external-access token and the service subject it
// stands for.
type StaticToken struct {
	// Token is the secret bearer token: at least 8 characters, no
	// whitespace (Backstage's rule).
	Token string
	// Subject names the caller, e.g. "catalog-service".
	Subject string
}

// DefaultConfig returns the defaults documented on Config and Limits.
func DefaultConfig() Config {
	return Config{
		BasePath: "/api/permission",
		Limits: Limits{
			BodyBytes:         1 << 20,
			BodyBytesInFlight: 16 << 20,
			BatchItems:        1000,
			ResourceRefs:      10000,
			JSONDepth:         32,
			RequestTimeout:    time.Second,
		},
	}
}

// minJSONDepth is the nesting of a valid request: {items:[{permission:{attributes:{}}}]}.
const minJSONDepth = 4

// Validate reports every invalid field, each named. Error messages never
// contain a token.
func (c Config) Validate() error {
	var errs []error
	if err := validBasePath(c.BasePath); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.Limits.problems()...)
	errs = append(errs, c.CORS.problems()...)
	errs = append(errs, tokenProblems(c.StaticTokens, c.TrustedSubjects)...)
	return errors.Join(errs...)
}

// validBasePath checks Config.BasePath.
func validBasePath(bp string) error {
	switch {
	case !strings.HasPrefix(bp, "/") || bp == "/":
		return fmt.Errorf("basePath: %q must start with / and not be /", bp)
	case path.Clean(bp) != bp:
		return fmt.Errorf("basePath: %q is not a clean path (want %q)", bp, path.Clean(bp))
	case bp == "/v1" || strings.HasPrefix(bp, "/v1/") || bp == "/healthz" || bp == "/readyz":
		return fmt.Errorf("basePath: %q collides with Verdict's own routes", bp)
	}
	return nil
}

// problems lists the invalid limits.
func (l Limits) problems() []error {
	var errs []error
	if l.BodyBytes <= 0 {
		errs = append(errs, fmt.Errorf("limits.bodyBytes: must be positive, got %d", l.BodyBytes))
	}
	if l.BodyBytesInFlight <= 0 {
		errs = append(errs, fmt.Errorf("limits.bodyBytesInFlight: must be positive, got %d", l.BodyBytesInFlight))
	} else if l.BodyBytesInFlight < l.BodyBytes {
		errs = append(errs, fmt.Errorf("limits.bodyBytesInFlight: must be at least limits.bodyBytes (%d), got %d",
			l.BodyBytes, l.BodyBytesInFlight))
	}
	if l.BatchItems <= 0 {
		errs = append(errs, fmt.Errorf("limits.batchItems: must be positive, got %d", l.BatchItems))
	}
	if l.ResourceRefs <= 0 {
		errs = append(errs, fmt.Errorf("limits.resourceRefs: must be positive, got %d", l.ResourceRefs))
	}
	if l.JSONDepth < minJSONDepth {
		errs = append(errs, fmt.Errorf("limits.jsonDepth: must be at least %d, got %d", minJSONDepth, l.JSONDepth))
	}
	if l.RequestTimeout <= 0 {
		errs = append(errs, fmt.Errorf("limits.requestTimeout: must be positive, got %s", l.RequestTimeout))
	}
	return errs
}

// problems lists the invalid origins.
func (c CORS) problems() []error {
	var errs []error
	for i, o := range c.Origins {
		switch {
		case o == "*" && c.Credentials:
			errs = append(errs, fmt.Errorf("cors.origins[%d]: \"*\" cannot be used with cors.credentials", i))
		case o == "*":
		case !strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://"), strings.HasSuffix(o, "/"):
			errs = append(errs, fmt.Errorf("cors.origins[%d]: %q is not an origin like https://backstage.example.com", i, o))
		}
	}
	return errs
}

// tokenProblems lists the invalid static tokens and trusted subjects,
// without the tokens themselves.
func tokenProblems(tokens []StaticToken, trusted []string) []error {
	var errs []error
	seen := make(map[string]int, len(tokens))
	for i, t := range tokens {
		if len(t.Token) < 8 || strings.IndexFunc(t.Token, unicode.IsSpace) >= 0 {
			errs = append(errs, fmt.Errorf("staticTokens[%d]: token must be at least 8 characters without whitespace", i))
		}
		if t.Subject == "" {
			errs = append(errs, fmt.Errorf("staticTokens[%d]: subject is required", i))
		}
		if j, dup := seen[t.Token]; dup {
			errs = append(errs, fmt.Errorf("staticTokens[%d]: same token as staticTokens[%d]", i, j))
		}
		seen[t.Token] = i
	}
	for i, s := range trusted {
		if s == "" {
			errs = append(errs, fmt.Errorf("trustedSubjects[%d]: empty subject", i))
		}
	}
	return errs
}
