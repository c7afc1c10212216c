package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host"
)

// evalUsage is `verdict eval --help`, before the flags.
const evalUsage = `Usage: verdict eval [flags] POLICIES [REQUEST.json]

Decides a request against POLICIES (a policy directory, or one NAME.wasm
with its settings beside it) without a server, and prints each item's
answer. REQUEST is a JSON file (or - or nothing for standard input) with
Backstage's body {"items":[...]} or the native {"principal":...,"items":[...]}.
Apply-conditions is not called: items with a resourceRef may show
CONDITIONAL, which serve would resolve through the owning plugin.

  verdict eval --principal user:default/alice,group:default/team-a \
      --explain build/demo request.json

Flags:
`

// evalOptions are eval's own flags.
type evalOptions struct {
	principal *string
	explain   *bool
	output    *string
}

// addEvalFlags declares eval's own flags.
func addEvalFlags(fs *pflag.FlagSet) evalOptions {
	return evalOptions{
		principal: fs.String("principal", "", "who asks: none, service:SUBJECT, user:default/NAME[,OWNERSHIP-REF...] or a JSON object (default: the request's principal, else none)"),
		explain:   fs.Bool("explain", false, "show every module's answer and reason, and the criteria of CONDITIONAL answers"),
		output:    addOutputFlag(fs),
	}
}

// evalCommand is `verdict eval`.
func evalCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, environ []string) int {
	fs := newFlagSet("eval")
	opts := addEvalFlags(fs)
	if code, done := parseFlags(fs, args, evalUsage, stdout, stderr); done {
		return code
	}
	if fs.NArg() < 1 || fs.NArg() > 2 || (*opts.output != "text" && *opts.output != "json") {
		fmt.Fprint(stderr, evalUsage)
		return exitUsage
	}
	st, err := loadSettings(fs, environ)
	if err != nil {
		return configError(stderr, err)
	}
	request := "-"
	if fs.NArg() == 2 {
		request = fs.Arg(1)
	}
	p, items, err := evalInput(request, stdin, *opts.principal)
	if err != nil {
		fmt.Fprintf(stderr, "verdict eval: %v\n", err)
		return exitUsage
	}
	results, gen, err := evaluate(ctx, st.Host, fs.Arg(0), p, items)
	if err != nil {
		fmt.Fprintf(stderr, "verdict eval: %v\n", err)
		return exitRuntime
	}
	if *opts.output == "json" {
		printEvalJSON(stdout, gen, p, results)
		return exitOK
	}
	for _, r := range results {
		printResult(stdout, r, *opts.explain)
	}
	return exitOK
}

// evalInput reads the request in file ("-": stdin) and the principal that
// asks: principal when given, else the request's, else none.
func evalInput(file string, stdin io.Reader, principal string) (abi.Principal, []requestItem, error) {
	in := stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return abi.Principal{}, nil, err
		}
		defer f.Close()
		in = f
	}
	reqPrincipal, items, err := readRequest(in)
	if err != nil {
		return abi.Principal{}, nil, fmt.Errorf("%s: %w", nameOr(file, "standard input"), err)
	}
	p := abi.Principal{Type: abi.PrincipalNone}
	if reqPrincipal != nil {
		p = *reqPrincipal
	}
	if principal != "" {
		if p, err = parsePrincipal(principal); err != nil {
			return abi.Principal{}, nil, err
		}
	}
	return p, items, nil
}

// evaluate loads policies (a directory or one module) into a host of its
// own and decides items for p.
func evaluate(ctx context.Context, cfg host.Config, policies string, p abi.Principal, items []requestItem) ([]evalResult, uint64, error) {
	h, err := openPolicies(ctx, cfg, policies)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", policies, err)
	}
	defer h.Close(ctx)
	return decideItems(ctx, h, p, items)
}

// printEvalJSON writes eval's answers as one indented JSON object.
func printEvalJSON(w io.Writer, gen uint64, p abi.Principal, results []evalResult) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(struct {
		Generation uint64        `json:"generation"`
		Principal  abi.Principal `json:"principal"`
		Items      []evalResult  `json:"items"`
	}{gen, p, results})
}

// nameOr is s, or def for "" and "-" (standard input).
func nameOr(s, def string) string {
	if s == "" || s == "-" {
		return def
	}
	return s
}

// evalResult is one decided query.
type evalResult struct {
	ID           string              `json:"id"`
	Permission   string              `json:"permission"`
	ResourceRef  *string             `json:"resourceRef,omitempty"`
	Result       abi.Result          `json:"result"`
	PluginID     string              `json:"pluginId,omitempty"`
	ResourceType string              `json:"resourceType,omitempty"`
	Conditions   *abi.Criteria       `json:"conditions,omitempty"`
	Reason       string              `json:"reason,omitempty"`
	Modules      []host.ModuleAnswer `json:"modules"`
}

// decideItems decides every item (one result per resourceRef) in one batch.
func decideItems(ctx context.Context, h *host.Host, p abi.Principal, items []requestItem) ([]evalResult, uint64, error) {
	var qs []host.Query
	var ids []string
	for i := range items {
		for _, q := range items[i].queries() {
			qs = append(qs, q)
			ids = append(ids, items[i].ID)
		}
	}
	ds, err := h.Decide(ctx, p, qs)
	if err != nil {
		return nil, 0, err
	}
	out := make([]evalResult, len(qs))
	for i, d := range ds.Items {
		mods := d.Answers
		if mods == nil {
			mods = []host.ModuleAnswer{}
		}
		out[i] = evalResult{ID: ids[i], Permission: qs[i].Permission.Name, ResourceRef: qs[i].ResourceRef,
			Result: d.Result, PluginID: d.PluginID, ResourceType: d.ResourceType, Conditions: d.Conditions,
			Reason: d.Reason, Modules: mods}
	}
	return out, ds.Generation, nil
}

// printResult writes one answer as a line; with explain, the conditions
// and every module's answer under it.
func printResult(w io.Writer, r evalResult, explain bool) {
	what := r.Permission
	if r.ResourceRef != nil {
		what += " on " + *r.ResourceRef
	}
	id := r.ID
	if id == "" {
		id = "-"
	}
	fmt.Fprintf(w, "%s  %s: %s", id, what, r.Result)
	if r.Reason != "" {
		fmt.Fprintf(w, "  (%s)", r.Reason)
	}
	fmt.Fprintln(w)
	if !explain {
		return
	}
	if r.Conditions != nil {
		c, _ := json.Marshal(r.Conditions)
		fmt.Fprintf(w, "    conditions for %s/%s: %s\n", r.PluginID, r.ResourceType, c)
	}
	if len(r.Modules) == 0 {
		fmt.Fprintln(w, "    no module claims this permission")
	}
	width := 0
	for _, m := range r.Modules {
		width = max(width, len(m.Module))
	}
	for _, m := range r.Modules {
		line := fmt.Sprintf("    %-*s  %-11s", width, m.Module, m.Result)
		if m.Reason != "" {
			line += "  " + m.Reason
		}
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
}
