package main

// Flags: the configuration flags every command that loads settings
// declares, and how a command parses its flags and reports a bad
// configuration.

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"
)

// addConfigFlags declares the flags that set configuration keys.
func addConfigFlags(fs *pflag.FlagSet) {
	fs.String("config", "", "configuration file (YAML or JSON); also VERDICT_CONFIG")
	fs.String("listen", "", "address to listen on (server.listen, default 127.0.0.1:7008)")
	fs.String("policies", "", "directory of policy modules (policies.dir, default policies)")
	fs.Bool("dev", false, "dev mode: no token needed, /v1/* open (backstage.auth.dangerouslyDisableDefaultAuthPolicy)")
	fs.String("log-level", "", "debug, info, warn or error (log.level, default info)")
	fs.String("log-format", "", "text or json (log.format, default text)")
}

// newFlagSet returns the flag set of command name with the configuration
// flags declared. It prints nothing itself: parseFlags and printHelp do.
func newFlagSet(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addConfigFlags(fs)
	return fs
}

// parseFlags parses args into fs, the flags of command "verdict NAME".
// With --help it prints usage and the flags to stdout (exit code 0); a bad
// flag is one line on stderr (exit code 2). done says the command ends
// there, with code.
func parseFlags(fs *pflag.FlagSet, args []string, usage string, stdout, stderr io.Writer) (code int, done bool) {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return exitOK, false
	case errors.Is(err, pflag.ErrHelp):
		printHelp(stdout, fs, usage)
		return exitOK, true
	}
	fmt.Fprintf(stderr, "verdict %s: %v\n", fs.Name(), err)
	return exitUsage, true
}

// printHelp writes usage, then fs's flags with their defaults.
func printHelp(w io.Writer, fs *pflag.FlagSet, usage string) {
	fmt.Fprint(w, usage)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// configError reports a configuration that does not load, and returns the
// usage exit code.
func configError(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "verdict: config: %v\n", err)
	return exitUsage
}
