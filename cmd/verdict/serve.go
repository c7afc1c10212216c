package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host"
	"github.com/verdictpdp/verdict/host/conditions"
	"github.com/verdictpdp/verdict/host/decisionlog"
	"github.com/verdictpdp/verdict/host/discovery"
	"github.com/verdictpdp/verdict/host/httpapi"
	"github.com/verdictpdp/verdict/host/identity"
	"github.com/verdictpdp/verdict/host/metrics"
	"github.com/verdictpdp/verdict/host/pluginkeys"
)

const serveUsage = `Usage: verdict serve [flags]

Runs the HTTP server: Backstage's POST {basePath}/authorize and GET
{basePath}/health (and GET {basePath}/.backstage/auth/v1/jwks.json when it
mints plugin tokens), the native POST /v1/authorize and GET /v1/policies,
and the probes GET /healthz and GET /readyz. The server starts at once; policy
modules load in the background, and until they have loaded every decision
answers 503 and /readyz is red.

Configuration: embedded defaults < --config FILE (or VERDICT_CONFIG) <
VERDICT_* environment variables (levels joined by "__", e.g.
VERDICT_SERVER__LISTEN) < flags.

Flags:
`

// serveCommand parses flags and configuration, then serves until ctx ends.
func serveCommand(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) int {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addConfigFlags(fs)
	printUsage := func(w io.Writer) {
		fmt.Fprint(w, serveUsage)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			printUsage(stdout)
			return exitOK
		}
		fmt.Fprintf(stderr, "verdict serve: %v\n\n", err)
		printUsage(stderr)
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "verdict serve: unexpected argument %q\n\n", fs.Arg(0))
		printUsage(stderr)
		return exitUsage
	}
	st, err := loadSettings(fs, environ)
	if err != nil {
		fmt.Fprintf(stderr, "verdict: config: %v\n", err)
		return exitUsage
	}
	log := newLogger(st, stderr)
	ln, err := net.Listen("tcp", st.Listen)
	if err != nil {
		log.Error("cannot listen", "addr", st.Listen, "err", err)
		return exitRuntime
	}
	if err := serve(ctx, st, log, ln); err != nil {
		log.Error("serve failed", "err", err)
		return exitRuntime
	}
	return exitOK
}

func newLogger(st *settings, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: st.LogLevel}
	if st.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// serve runs the server on ln until ctx ends, loading st.PoliciesDir in the
// background, then shuts down gracefully: the HTTP server first, then the
// host.
func serve(ctx context.Context, st *settings, log *slog.Logger, ln net.Listener) error {
	if st.HTTP.DevMode {
		log.Warn("DEV MODE: backstage.auth.dangerouslyDisableDefaultAuthPolicy is true: " +
			"requests without a token are decided as principal \"none\" and /v1/* is open to anyone; never use this in production")
	}
	if st.Host.Default == abi.Allow {
		log.Warn("policies.default is ALLOW: every item that no module claims, or that all modules abstain on, is ALLOWED")
	}
	dl, closeSink, err := openDecisionLog(st.DecisionLog)
	if err != nil {
		_ = ln.Close()
		return err
	}
	defer closeSink()
	var h *host.Host
	m := metrics.New(statusOf(func() host.Status { return h.Status() }), dl.Dropped)
	h, err = host.New(ctx, st.Host, log, host.WithCallObserver(m))
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("policy host: %w", err)
	}
	opts, err := backstageOptions(st, log)
	if err != nil {
		_ = ln.Close()
		_ = h.Close(context.Background())
		return err
	}
	opts = append(opts, httpapi.WithMetrics(m, m.Handler()))
	if dl != nil {
		opts = append(opts, httpapi.WithDecisionLog(dl))
	}
	handler, err := httpapi.New(st.HTTP, h, log, opts...)
	if err != nil {
		_ = ln.Close()
		_ = h.Close(context.Background())
		return err
	}
	srv := newHTTPServer(st, handler, log)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "basePath", st.HTTP.BasePath, "version", version)

	loadCtx, cancelLoad := context.WithCancel(ctx)
	loaded := make(chan struct{})
	go func() {
		defer close(loaded)
		watchPolicies(loadCtx, h, st.PoliciesDir, log)
	}()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-loadCtx.Done():
				return
			case <-hup:
				log.Info("SIGHUP: reloading policies")
				if err := h.Reload(loadCtx); err != nil {
					log.Error("reload failed", "err", err)
				}
			}
		}
	}()

	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case serveErr = <-served:
	}
	cancelLoad()
	sctx, cancel := context.WithTimeout(context.Background(), st.Timeouts.Shutdown)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("HTTP shutdown", "err", err)
	}
	select {
	case <-loaded:
	case <-sctx.Done():
	}
	if err := h.Close(sctx); err != nil {
		log.Warn("policy host close", "err", err)
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}

// newHTTPServer returns the http.Server that serve runs handler with: the
// server.timeouts.* and server.maxHeaderBytes settings (reliability.md §3),
// because net/http's zero values mean no timeout at all, and a slowloris
// client could then hold a connection, a goroutine and a file descriptor
// forever. The server's own errors (TLS handshakes, accept retries) go to log
// at warn level.
func newHTTPServer(st *settings, handler http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: st.Timeouts.ReadHeader,
		ReadTimeout:       st.Timeouts.Read,
		WriteTimeout:      st.Timeouts.Write,
		IdleTimeout:       st.Timeouts.Idle,
		MaxHeaderBytes:    st.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// statusOf adapts a function to metrics.StatusSource.
type statusOf func() host.Status

func (f statusOf) Status() host.Status { return f() }

// openDecisionLog starts the decision log described by ds: nil for "off".
// The returned function writes what is queued and closes the sink.
func openDecisionLog(ds decisionLogSettings) (*decisionlog.Logger, func(), error) {
	var w io.Writer
	closeFile := func() error { return nil }
	switch ds.Sink {
	case "off":
		return nil, func() {}, nil
	case "stdout":
		w = os.Stdout
	case "stderr":
		w = os.Stderr
	default:
		f, err := os.OpenFile(ds.Sink, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("decisionLog.sink: %w", err)
		}
		w, closeFile = f, f.Close
	}
	dl := decisionlog.New(w, ds.Buffer)
	return dl, func() { dl.Close(); _ = closeFile() }, nil
}

// watchPolicies loads dir into h and keeps reloading it on changes until
// ctx ends. The host logs each module it loads or refuses, and each
// snapshot it activates.
func watchPolicies(ctx context.Context, h *host.Host, dir string, log *slog.Logger) {
	if err := h.Watch(ctx, dir); err != nil {
		log.Error("policies not loaded: no decisions until this is fixed (every request answers 503)", "dir", dir, "err", err)
	}
}

// backstageOptions builds the Backstage integration: discovery, token
// verification (user, plugin, jwks and legacy tokens), user info, the
// apply-conditions client and, when it mints plugin tokens, their keys at
// {basePath}/.backstage/auth/v1/jwks.json.
func backstageOptions(st *settings, log *slog.Logger) ([]httpapi.Option, error) {
	disc, err := discovery.New(st.Backstage.Discovery)
	if err != nil {
		return nil, fmt.Errorf("backstage discovery: %w", err)
	}
	if _, err := disc.BaseURL("auth"); err != nil {
		log.Warn("backstage.baseUrl is not set and discovery lists no auth plugin: Backstage user and plugin tokens cannot be verified (static tokens still work)")
	}
	deps := identity.Deps{Discovery: disc}
	tokens, err := identity.New(st.Backstage.Identity, deps)
	if err != nil {
		return nil, fmt.Errorf("backstage tokens: %w", err)
	}
	users, err := identity.NewUserInfo(st.Backstage.Identity, deps)
	if err != nil {
		return nil, fmt.Errorf("backstage user info: %w", err)
	}
	opts := []httpapi.Option{httpapi.WithTokens(tokens), httpapi.WithOwnership(users)}
	var minter conditions.Minter
	if st.Backstage.minting() {
		m, err := newMinter(st, log)
		if err != nil {
			return nil, err
		}
		minter = m
		opts = append(opts, httpapi.WithPluginKeys(m.KeysHandler()))
	} else if st.Backstage.Conditions.Token == "" {
		log.Warn("backstage.applyConditions.auth is static and backstage.applyConditions.token is not set: CONDITIONAL decisions for items with a resourceRef are DENY")
	}
	conds, err := conditions.New(st.Backstage.Conditions, disc, nil, minter, log)
	if err != nil {
		return nil, fmt.Errorf("backstage apply-conditions: %w", err)
	}
	return append(opts, httpapi.WithConditions(conds)), nil
}

// newMinter loads the plugin key store (or generates a key) for minting
// apply-conditions tokens, and says which key signs. Errors name the key.
func newMinter(st *settings, log *slog.Logger) (*pluginkeys.Minter, error) {
	cfg := st.Backstage.PluginKeys
	cfg.PluginID = st.Backstage.Identity.PluginID
	m, err := pluginkeys.New(cfg, nil)
	if err != nil {
		return nil, renameKeys(err, func(name string) string { return "backstage.auth.pluginKeyStore.static." + name })
	}
	jwks := st.HTTP.BasePath + "/.backstage/auth/v1/jwks.json"
	if m.Generated() {
		log.Warn("apply-conditions: minting plugin tokens with an ES256 key generated in memory "+
			"(backstage.auth.pluginKeyStore.type memory): tokens change at every restart, and several replicas "+
			"need a static key store (backstage.auth.pluginKeyStore.type static)", "keyId", m.KeyID(), "jwks", jwks)
	} else {
		log.Info("apply-conditions: minting plugin tokens", "keyId", m.KeyID(), "keys", len(cfg.Keys), "jwks", jwks)
	}
	return m, nil
}
