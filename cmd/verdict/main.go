// Command verdict is Verdict's binary: an authorization service whose
// policies are WebAssembly modules, speaking Backstage's permission
// protocol.
//
// Usage:
//
//	verdict serve [flags]   run the server
//	verdict seal FILE...    seal modules
//	verdict inspect FILE... examine modules
//	verdict eval POLICIES   decide a request without a server
//	verdict test [DIR...]   run policy tests (*.test.yaml)
//	verdict version         print the version
//	verdict help [command]  print help
//
// Exit codes: 0 ok, 1 runtime error, 2 usage or configuration error.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes.
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

// main runs the command of os.Args; SIGINT and SIGTERM end it gracefully.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Environ())
	stop()
	os.Exit(code)
}

// usage is `verdict --help`: the commands.
const usage = `verdict: an authorization service whose policies are WebAssembly modules.

Usage:
  verdict <command> [flags]

Commands:
  serve       run the HTTP server (Backstage permission protocol and native API)
  eval        decide a request against a policy directory or module, with --explain
  test        run the policy tests (*.test.yaml) in a directory
  inspect     examine policy modules: exports, imports, description, seal, whether they load
  seal        seal policy modules so that a truncated or altered copy is refused
  version     print the version and the Go version
  completion  print a bash or zsh completion script
  help        print help for a command

Run "verdict <command> --help" for a command's flags.
`

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	case "help":
		if len(args) > 1 {
			return run(ctx, []string{args[1], "--help"}, stdout, stderr, environ)
		}
		fmt.Fprint(stdout, usage)
		return exitOK
	case "version", "--version":
		fmt.Fprintf(stdout, "verdict %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return exitOK
	case "serve":
		return serveCommand(ctx, args[1:], stdout, stderr, environ)
	case "inspect":
		return inspectCommand(ctx, args[1:], stdout, stderr, environ)
	case "completion":
		return completionCommand(args[1:], stdout, stderr)
	case "test":
		return testCommand(ctx, args[1:], stdout, stderr, environ)
	case "eval":
		return evalCommand(ctx, args[1:], os.Stdin, stdout, stderr, environ)
	case "seal":
		return sealCommand(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "verdict: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}
