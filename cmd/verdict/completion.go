package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
)

// completionUsage is `verdict completion --help`.
const completionUsage = `Usage: verdict completion bash|zsh

Prints a shell completion script for verdict's commands and flags.

  source <(verdict completion bash)           # bash, this shell
  verdict completion zsh > "${fpath[1]}/_verdict"   # zsh, then restart it
`

// commandNames are the commands completion offers, in order.
var commandNames = []string{"serve", "eval", "test", "inspect", "seal", "version", "help", "completion"}

// commandFlags lists each command's flags, for completion, declared by the
// same functions as the commands'.
func commandFlags() map[string][]string {
	flags := func(declare func(*pflag.FlagSet)) []string {
		fs := newFlagSet("")
		declare(fs)
		var out []string
		fs.VisitAll(func(f *pflag.Flag) { out = append(out, "--"+f.Name) })
		return append(out, "--help")
	}
	return map[string][]string{
		"serve":   flags(func(*pflag.FlagSet) {}),
		"eval":    flags(func(fs *pflag.FlagSet) { addEvalFlags(fs) }),
		"test":    flags(func(fs *pflag.FlagSet) { addTestFlags(fs) }),
		"inspect": flags(func(fs *pflag.FlagSet) { addOutputFlag(fs) }),
		"seal":    {"--help"},
		"version": nil,
		"help":    nil,
	}
}

// completionCommand is `verdict completion`.
func completionCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprint(stderr, completionUsage)
		return exitUsage
	}
	switch args[0] {
	case "-h", "--help":
		fmt.Fprint(stdout, completionUsage)
		return exitOK
	case "bash":
		fmt.Fprint(stdout, bashCompletion(commandFlags()))
		return exitOK
	case "zsh":
		fmt.Fprint(stdout, zshCompletion(commandFlags()))
		return exitOK
	}
	fmt.Fprintf(stderr, "verdict completion: unknown shell %q\n\n%s", args[0], completionUsage)
	return exitUsage
}

// bashCompletion is the bash completion script: commands, then each
// command's flags or file names.
func bashCompletion(cmds map[string][]string) string {
	var b strings.Builder
	b.WriteString("# bash completion for verdict\n_verdict() {\n  local cur=${COMP_WORDS[COMP_CWORD]}\n")
	b.WriteString("  if [ \"$COMP_CWORD\" -eq 1 ]; then COMPREPLY=($(compgen -W \"" + strings.Join(commandNames, " ") + "\" -- \"$cur\")); return; fi\n")
	b.WriteString("  case ${COMP_WORDS[1]} in\n")
	for _, n := range commandNames {
		if n == "completion" {
			b.WriteString("    completion) COMPREPLY=($(compgen -W \"bash zsh\" -- \"$cur\")) ;;\n")
			continue
		}
		b.WriteString("    " + n + ") if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W \"" + strings.Join(cmds[n], " ") +
			"\" -- \"$cur\")); else COMPREPLY=($(compgen -f -- \"$cur\")); fi ;;\n")
	}
	b.WriteString("  esac\n}\ncomplete -o filenames -F _verdict verdict\n")
	return b.String()
}

// zshCompletion is the zsh completion script: commands, then each
// command's flags or file names.
func zshCompletion(cmds map[string][]string) string {
	var b strings.Builder
	b.WriteString("#compdef verdict\n# zsh completion for verdict\n_verdict() {\n  if (( CURRENT == 2 )); then\n    compadd " + strings.Join(commandNames, " ") + "\n    return\n  fi\n  case $words[2] in\n")
	for _, n := range commandNames {
		if n == "completion" {
			b.WriteString("    completion) compadd bash zsh ;;\n")
			continue
		}
		b.WriteString("    " + n + ") if [[ $PREFIX == -* ]]; then compadd -- " + strings.Join(cmds[n], " ") + "; else _files; fi ;;\n")
	}
	b.WriteString("  esac\n}\ncompdef _verdict verdict\n")
	return b.String()
}
