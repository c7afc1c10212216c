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
	"github.com/verdictpdp/verdict/host/backstage"
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
	cfg, closeSink, err := adapterConfig(st)
	if err != nil {
		_ = ln.Close()
		return err
	}
	defer closeSink()
	handler, err := backstage.New(ctx, cfg, log)
	if err != nil {
		_ = ln.Close()
		return adapterError(err)
	}
	h := handler.Host()
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
	if err := handler.Close(sctx); err != nil {
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

// adapterConfig turns st into the adapter's configuration, opening the
// decision log's sink; the returned function closes it.
func adapterConfig(st *settings) (backstage.Config, func(), error) {
	cfg := backstage.Config{
		Engine: st.Host, HTTP: st.HTTP,
		Discovery: st.Backstage.Discovery, Identity: st.Backstage.Identity, Conditions: st.Backstage.Conditions,
		MintTokens: st.Backstage.minting(), PluginKeys: st.Backstage.PluginKeys,
		DecisionLogBuffer: st.DecisionLog.Buffer,
	}
	w, closeSink, err := openSink(st.DecisionLog.Sink)
	cfg.DecisionLog = w
	return cfg, closeSink, err
}

// openSink opens the decision log's sink: nil for "off". The returned
// function closes it (after the adapter has written what it holds).
func openSink(sink string) (io.Writer, func(), error) {
	switch sink {
	case "off":
		return nil, func() {}, nil
	case "stdout":
		return os.Stdout, func() {}, nil
	case "stderr":
		return os.Stderr, func() {}, nil
	}
	f, err := os.OpenFile(sink, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("decisionLog.sink: %w", err)
	}
	return f, func() { _ = f.Close() }, nil
}

// adapterError words the adapter's refusals as the configuration keys
// they come from.
func adapterError(err error) error {
	var ce *backstage.ConfigError
	if !errors.As(err, &ce) {
		return err
	}
	switch ce.Part {
	case backstage.PartDiscovery:
		return fmt.Errorf("backstage discovery: %w", ce.Err)
	case backstage.PartIdentity:
		return fmt.Errorf("backstage tokens: %w", ce.Err)
	case backstage.PartConditions:
		return fmt.Errorf("backstage apply-conditions: %w", ce.Err)
	case backstage.PartPluginKeys:
		return renameKeys(ce.Err, pluginKeysKey)
	}
	return err
}

// watchPolicies loads dir into h and keeps reloading it on changes until
// ctx ends. The host logs each module it loads or refuses, and each
// snapshot it activates.
func watchPolicies(ctx context.Context, h *host.Host, dir string, log *slog.Logger) {
	if err := h.Watch(ctx, dir); err != nil {
		log.Error("policies not loaded: no decisions until this is fixed (every request answers 503)", "dir", dir, "err", err)
	}
}
