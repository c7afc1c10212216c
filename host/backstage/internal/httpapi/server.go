package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host"
	"github.com/verdictpdp/verdict/host/backstage/internal/decisionlog"
)

// Decider is what the HTTP layer needs from a policy host. *host.Host
// implements it.
type Decider interface {
	// Decide answers qs for principal p, one Decision per Query in order.
	// It fails only when no decision can be made at all (host.ErrNoSnapshot,
	// host.ErrClosed); every module failure is a DENY with a reason.
	Decide(ctx context.Context, p abi.Principal, qs []host.Query) (*host.Decisions, error)
	// Status describes the active snapshot and every module.
	Status() host.Status
	// Ready returns nil when the host can answer, else why not.
	Ready() error
}

// Reloader is implemented by a Decider that can reload its policies on
// request (POST /v1/policies/reload). *host.Host implements it.
type Reloader interface {
	// Reload reloads the policies now and releases quarantined modules.
	Reload(ctx context.Context) error
}

var (
	_ Decider  = (*host.Host)(nil)
	_ Reloader = (*host.Host)(nil)
)

// server holds the routes' shared state. It is immutable after New.
type server struct {
	cfg       Config
	d         Decider
	log       *slog.Logger
	ids       *identities
	ownership OwnershipResolver // nil: users own only what their token says
	conds     ConditionResolver // nil: CONDITIONAL with a resourceRef is DENY
	keys      http.Handler      // nil: no {base}/.backstage/auth/v1/jwks.json
	observer  RequestObserver   // nil: no metrics
	metrics   http.Handler      // nil: no /metrics
	decisions DecisionLogger    // nil: no decision log
	bodies    *bodyBudget       // Limits.BodyBytesInFlight
}

// RequestObserver records requests and decided items for metrics.
// *metrics.Metrics implements it. It must not block.
type RequestObserver interface {
	ObserveRequest(route string, code int, d time.Duration)
	ObserveItem(endpoint, result string)
}

// DecisionLogger receives one entry per decided query of a request.
// *decisionlog.Logger implements it. It must not block.
type DecisionLogger interface {
	Log(entries []decisionlog.Entry)
}

var _ DecisionLogger = (*decisionlog.Logger)(nil)

// WithMetrics records every request and decided item with o, and serves
// handler at GET /metrics (unauthenticated, like the probes).
func WithMetrics(o RequestObserver, handler http.Handler) Option {
	return func(s *server) { s.observer, s.metrics = o, handler }
}

// WithDecisionLog writes one entry per decided query to l.
func WithDecisionLog(l DecisionLogger) Option { return func(s *server) { s.decisions = l } }

// Option adds an integration with Backstage to New.
type Option func(*server)

// WithTokens verifies Backstage tokens (user, plugin, external jwks and
// legacy) with v, after the static tokens of Config. Without it only
// static tokens are known.
func WithTokens(v TokenVerifier) Option { return func(s *server) { s.ids.tokens = v } }

// WithOwnership finds users' ownershipEntityRefs with o. Without it a user
// owns what the token's "ent" claim lists, or nothing.
func WithOwnership(o OwnershipResolver) Option { return func(s *server) { s.ownership = o } }

// WithConditions resolves CONDITIONAL decisions for items with a
// resourceRef through plugins' apply-conditions with c. Without it such
// items are DENY with a reason.
func WithConditions(c ConditionResolver) Option { return func(s *server) { s.conds = c } }

// WithPluginKeys serves h (the public keys of plugin tokens Verdict mints)
// at {basePath}/.backstage/auth/v1/jwks.json, unauthenticated.
func WithPluginKeys(h http.Handler) Option { return func(s *server) { s.keys = h } }

// New returns the HTTP handler for cfg, answering with d. cfg must pass
// Validate; log may be nil (nothing is logged). Tokens are never logged.
func New(cfg Config, d Decider, log *slog.Logger, opts ...Option) (http.Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("httpapi: %w", err)
	}
	if d == nil {
		return nil, errors.New("httpapi: nil Decider")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &server{cfg: cfg, d: d, log: log, ids: newIdentities(cfg), bodies: newBodyBudget(cfg.Limits.BodyBytesInFlight)}
	for _, o := range opts {
		o(s)
	}
	return s.handler()
}

// handler builds the routes.
func (s *server) handler() (http.Handler, error) {
	base := s.cfg.BasePath
	// SkipClean: a path that is not in clean form ("//authorize",
	// "/../v1/policies") is routed as it is, to the credentials barrier and
	// a 404, as Backstage's router does; the default would answer it with a
	// redirect to the clean path before identity.
	r := mux.NewRouter().SkipClean(true)
	// A Backstage route answers another method as Backstage's router does;
	// Verdict's own routes with 405 (see route).
	// route names the path in the metrics.
	backstage := func(path, route, method string, h http.HandlerFunc) {
		r.Handle(base+path, s.instrument(route, s.route(method, h, backstageWrongMethod)))
	}
	native := func(path, method string, h http.HandlerFunc) {
		r.Handle(path, s.instrument(path, s.route(method, h, s.methodNotAllowed)))
	}
	backstage("/authorize", "/authorize", http.MethodPost, s.authorize)
	backstage("/health", "/health", http.MethodGet, s.health)
	if s.keys != nil {
		backstage(jwksPath, "/jwks.json", http.MethodGet, s.keys.ServeHTTP)
	}
	native("/v1/authorize", http.MethodPost, s.nativeAuthorize)
	native("/v1/policies", http.MethodGet, s.policies)
	native("/v1/policies/reload", http.MethodPost, s.reload)
	native("/healthz", http.MethodGet, s.health)
	native("/readyz", http.MethodGet, s.ready)
	if s.metrics != nil {
		native("/metrics", http.MethodGet, s.metrics.ServeHTTP)
	}
	r.NotFoundHandler = s.instrument("other", http.HandlerFunc(s.notFound))
	return s.recoverer(s.cors(r)), nil
}

// instrument records each request to route with the RequestObserver.
func (s *server) instrument(route string, h http.Handler) http.Handler {
	if s.observer == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(sw, r)
		s.observer.ObserveRequest(route, sw.code, time.Since(start))
	})
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	code int
}

// WriteHeader remembers code and writes it.
func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController and readJSON reach net/http's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// route serves h for method only. Another method passes the credentials
// barrier first (see barrier), then gets wrong's answer.
func (s *server) route(method string, h http.HandlerFunc, wrong wrongMethod) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == method {
			h(w, r)
			return
		}
		if err := s.barrier(r); err != nil {
			s.writeError(w, r, s.url(r), err)
			return
		}
		wrong(w, r, method)
	})
}

// wrongMethod answers a request whose method a route does not serve; use
// is the method it does.
type wrongMethod func(w http.ResponseWriter, r *http.Request, use string)

// backstageWrongMethod is 404 with an empty body, as from Backstage's
// router.
func backstageWrongMethod(w http.ResponseWriter, _ *http.Request, _ string) {
	w.WriteHeader(http.StatusNotFound)
}

// methodNotAllowed is 405 with Allow, in the error envelope.
func (s *server) methodNotAllowed(w http.ResponseWriter, r *http.Request, use string) {
	w.Header().Set("Allow", use)
	s.writeError(w, r, s.url(r), newError(nameMethodNotAllowed,
		"Method "+r.Method+" is not allowed on "+r.URL.Path+"; use "+use))
}

// notFound answers unknown paths, after the credentials barrier: under
// the base path like Backstage (404, empty body), elsewhere with a
// NotFoundError envelope.
func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	if err := s.barrier(r); err != nil {
		s.writeError(w, r, s.url(r), err)
		return
	}
	if s.isBackstage(r) {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	s.writeError(w, r, s.url(r), errNotFound)
}

// barrier checks credentials before routing, as Backstage's credentials
// barrier does for every request of a plugin's router: a request under the
// base path needs a token that verifies (401 otherwise), except /health
// (and anything below it) and the JWKS route (GET, served before the
// barrier); a request under /v1/ needs a trusted token (401, 403), as
// every /v1 route does. So an unauthenticated caller learns nothing about
// which routes and methods exist. The routes themselves check credentials
// in their handlers (the authorize hot path verifies once); barrier runs
// only for what no handler answers: an unknown path or another method.
// Off in dev mode (Backstage's dangerouslyDisableDefaultAuthPolicy).
func (s *server) barrier(r *http.Request) error {
	if s.cfg.DevMode {
		return nil
	}
	p := r.URL.Path
	if s.isBackstage(r) {
		rel := p[len(s.cfg.BasePath):]
		// path-to-regexp's "/health" with end: false, case-insensitive.
		if len(rel) >= len(healthPath) && strings.EqualFold(rel[:len(healthPath)], healthPath) &&
			(len(rel) == len(healthPath) || rel[len(healthPath)] == '/') {
			return nil
		}
		if rel == jwksPath && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			// Backstage mounts this route before the barrier, on every
			// plugin: without keys to serve it is a plain 404.
			return nil
		}
		tok, ok := bearer(r)
		if !ok {
			return errMissingCredentials
		}
		_, err := s.ids.verify(r.Context(), tok)
		return err
	}
	if p == "/v1" || strings.HasPrefix(p, "/v1/") {
		return s.ids.trustedCaller(r)
	}
	return nil
}

// healthPath is Backstage's unauthenticated health route; jwksPath the
// route of the public keys of the plugin tokens a plugin mints.
const (
	healthPath = "/health"
	jwksPath   = "/.backstage/auth/v1/jwks.json"
)

func (s *server) isBackstage(r *http.Request) bool {
	p, base := r.URL.Path, s.cfg.BasePath
	return p == base || strings.HasPrefix(p, base+"/")
}

// url is the request URL as the envelope shows it: relative to the base
// path for Backstage endpoints (as Backstage's plugin router sees it), the
// full path otherwise; the query string is kept.
func (s *server) url(r *http.Request) string {
	p := r.URL.Path
	if s.isBackstage(r) {
		p = strings.TrimPrefix(p, s.cfg.BasePath)
		if p == "" {
			p = "/"
		}
	}
	if r.URL.RawQuery != "" {
		p += "?" + r.URL.RawQuery
	}
	return p
}

// recoverer turns a panic in a handler into a 500 envelope (never an
// answer) and logs it.
func (s *server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.writeError(w, r, s.url(r), fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

var okBody = []byte(`{"status":"ok"}`)

func (s *server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, okBody)
}

// ready is /readyz: 200 when the Decider is ready, else 503 saying why.
func (s *server) ready(w http.ResponseWriter, r *http.Request) {
	if err := s.d.Ready(); err != nil {
		s.writeError(w, r, s.url(r), &apiError{name: nameServiceUnavailable, message: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, okBody)
}
