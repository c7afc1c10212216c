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
	"time"

	"github.com/spf13/pflag"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host"
	"github.com/verdictpdp/verdict/host/backstage"
)

// serveUsage is `verdict serve --help`, before the flags.
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
	fs := newFlagSet("serve")
	if code, done := parseServeFlags(fs, args, stdout, stderr); done {
		return code
	}
	st, err := loadSettings(fs, environ)
	if err != nil {
		return configError(stderr, err)
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

// parseServeFlags is parseFlags for serve, which takes no arguments and
// follows a usage error with the whole help on stderr.
func parseServeFlags(fs *pflag.FlagSet, args []string, stdout, stderr io.Writer) (code int, done bool) {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, pflag.ErrHelp):
		printHelp(stdout, fs, serveUsage)
		return exitOK, true
	case err != nil:
		fmt.Fprintf(stderr, "verdict serve: %v\n\n", err)
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "verdict serve: unexpected argument %q\n\n", fs.Arg(0))
	default:
		return exitOK, false
	}
	printHelp(stderr, fs, serveUsage)
	return exitUsage, true
}

// newLogger returns the process's logger: log.level and log.format, on w.
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
	warnUnsafe(st, log)
	handler, closeSink, err := newAdapter(ctx, st, log)
	if err != nil {
		_ = ln.Close()
		return err
	}
	defer closeSink()
	srv := newHTTPServer(st, handler, log)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "basePath", st.HTTP.BasePath, "version", version)

	loadCtx, cancelLoad := context.WithCancel(ctx)
	loaded := watchInBackground(loadCtx, handler.Host(), st.PoliciesDir, log)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go reloadOnHangup(loadCtx, hup, handler.Host(), log)

	serveErr := waitForEnd(ctx, served, log)
	cancelLoad()
	shutdown(st.Timeouts.Shutdown, srv, handler, loaded, log)
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}

// waitForEnd waits until ctx ends or the server stops on its own, and
// returns the server's error in that case.
func waitForEnd(ctx context.Context, served <-chan error, log *slog.Logger) error {
	select {
	case <-ctx.Done():
		log.Info("shutting down")
		return nil
	case err := <-served:
		return err
	}
}

// warnUnsafe logs a warning for each setting that opens decisions up:
// dev mode, and ALLOW as the default answer.
func warnUnsafe(st *settings, log *slog.Logger) {
	if st.HTTP.DevMode {
		log.Warn("DEV MODE: backstage.auth.dangerouslyDisableDefaultAuthPolicy is true: " +
			"requests without a token are decided as principal \"none\" and /v1/* is open to anyone; never use this in production")
	}
	if st.Host.Default == abi.Allow {
		log.Warn("policies.default is ALLOW: every item that no module claims, or that all modules abstain on, is ALLOWED")
	}
}

// reloadOnHangup reloads h's policies at each SIGHUP on hup until ctx
// ends.
func reloadOnHangup(ctx context.Context, hup <-chan os.Signal, h *host.Host, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			log.Info("SIGHUP: reloading policies")
			if err := h.Reload(ctx); err != nil {
				log.Error("reload failed", "err", err)
			}
		}
	}
}

// shutdown stops srv, letting requests in flight finish, waits for the
// policy load to end (loaded closed) and closes the adapter, all within
// timeout (server.timeouts.shutdown).
func shutdown(timeout time.Duration, srv *http.Server, handler *backstage.Server, loaded <-chan struct{}, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		log.Warn("HTTP shutdown", "err", err)
	}
	select {
	case <-loaded:
	case <-ctx.Done():
	}
	if err := handler.Close(ctx); err != nil {
		log.Warn("policy host close", "err", err)
	}
}

// newHTTPServer returns the http.Server that serve runs handler with: the
// server.timeouts.* and server.maxHeaderBytes settings (README.md,
// "Reliability", row 16), because net/http's zero values mean no timeout at all, and a slowloris
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

// watchInBackground loads dir into h and keeps reloading it on changes
// until ctx ends, in a goroutine; the returned channel closes when it has
// ended. The host logs each module it loads or refuses, and each snapshot
// it activates.
func watchInBackground(ctx context.Context, h *host.Host, dir string, log *slog.Logger) <-chan struct{} {
	loaded := make(chan struct{})
	go func() {
		defer close(loaded)
		if err := h.Watch(ctx, dir); err != nil {
			log.Error("policies not loaded: no decisions until this is fixed (every request answers 503)", "dir", dir, "err", err)
		}
	}()
	return loaded
}
