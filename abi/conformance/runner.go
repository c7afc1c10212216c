package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/internal/wire"
)

// Case is one conformance case: the exact bytes given to verdict_evaluate
// and the answers expected back.
type Case struct {
	// Name identifies the case; it is also the file's base name.
	Name string `json:"name"`
	// Description says what the case proves.
	Description string `json:"description"`
	// Input is the guest input as a JSON value. Exactly one of Input and
	// InputText is set.
	Input json.RawMessage `json:"input,omitempty"`
	// InputText is the guest input as raw text, for cases whose point is the
	// exact bytes: key order, whitespace, escapes.
	InputText string `json:"inputText,omitempty"`
	// Want holds one answer per input item, matched by id; order is free.
	Want []abi.Answer `json:"want"`
}

// Bytes returns the input as given to the guest.
func (c *Case) Bytes() []byte {
	if c.InputText != "" {
		return []byte(c.InputText)
	}
	return c.Input
}

// Evaluator gives input to a module's verdict_evaluate and returns its output.
type Evaluator func(ctx context.Context, input []byte) ([]byte, error)

// Load reads every *.json case in dir, sorted by file name.
func Load(dir string) ([]Case, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("conformance: %w", err)
	}
	sort.Strings(paths)
	cases := make([]Case, 0, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("conformance: %w", err)
		}
		var c Case
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return nil, fmt.Errorf("conformance: %s: %w", p, err)
		}
		if (len(c.Input) == 0) == (c.InputText == "") {
			return nil, fmt.Errorf("conformance: %s: exactly one of input and inputText is needed", p)
		}
		if want := strings.TrimSuffix(filepath.Base(p), ".json"); c.Name != want {
			return nil, fmt.Errorf("conformance: %s: name %q does not match the file name", p, c.Name)
		}
		cases = append(cases, c)
	}
	if len(cases) == 0 {
		return nil, fmt.Errorf("conformance: no cases in %s", dir)
	}
	return cases, nil
}

// Check runs c against eval and returns an error describing every
// difference, or nil when the module conforms.
func Check(ctx context.Context, eval Evaluator, c Case) error {
	var req abi.Request
	if err := json.Unmarshal(c.Bytes(), &req); err != nil {
		return fmt.Errorf("case %s: input: %w", c.Name, err)
	}
	out, err := eval(ctx, c.Bytes())
	if err != nil {
		return fmt.Errorf("case %s: evaluate: %w", c.Name, err)
	}
	if err := wire.CheckDepth(out, wire.DefaultJSONDepth); err != nil {
		return fmt.Errorf("case %s: output: %w", c.Name, err)
	}
	var resp abi.Response
	if err := json.Unmarshal(out, &resp); err != nil {
		return fmt.Errorf("case %s: output %.200q: %w", c.Name, out, err)
	}
	if resp.Error != nil {
		return fmt.Errorf("case %s: module returned error %s: %s", c.Name, resp.Error.Code, resp.Error.Message)
	}
	perms := map[string]abi.Permission{}
	for _, it := range req.Items {
		perms[it.ID] = it.Permission
	}
	got := map[string]abi.Answer{}
	var errs []error
	for _, a := range resp.Items {
		if _, dup := got[a.ID]; dup {
			errs = append(errs, fmt.Errorf("id %q answered twice", a.ID))
			continue
		}
		p, ok := perms[a.ID]
		if !ok {
			errs = append(errs, fmt.Errorf("unknown id %q in output", a.ID))
			continue
		}
		if err := abi.CheckAnswer(&a, p, abi.DefaultCriteriaDepth, abi.DefaultCriteriaNodes); err != nil {
			errs = append(errs, fmt.Errorf("id %q: %w", a.ID, err))
		}
		got[a.ID] = a
	}
	for _, w := range c.Want {
		g, ok := got[w.ID]
		if !ok {
			errs = append(errs, fmt.Errorf("id %q: missing from output", w.ID))
			continue
		}
		if d := diff(w, g); d != "" {
			errs = append(errs, fmt.Errorf("id %q: %s", w.ID, d))
		}
	}
	if len(resp.Items) != len(c.Want) {
		errs = append(errs, fmt.Errorf("got %d answers, want %d", len(resp.Items), len(c.Want)))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("case %s:\n%w", c.Name, err)
	}
	return nil
}

func diff(want, got abi.Answer) string {
	var d []string
	if want.Result != got.Result {
		d = append(d, fmt.Sprintf("result %s, want %s", got.Result, want.Result))
	}
	if want.PluginID != got.PluginID {
		d = append(d, fmt.Sprintf("pluginId %q, want %q", got.PluginID, want.PluginID))
	}
	if want.ResourceType != got.ResourceType {
		d = append(d, fmt.Sprintf("resourceType %q, want %q", got.ResourceType, want.ResourceType))
	}
	if want.Reason != got.Reason {
		d = append(d, fmt.Sprintf("reason %q, want %q", got.Reason, want.Reason))
	}
	if !sameJSON(want.Conditions, got.Conditions) {
		w, _ := json.Marshal(want.Conditions)
		g, _ := json.Marshal(got.Conditions)
		d = append(d, fmt.Sprintf("conditions %s, want %s", g, w))
	}
	return strings.Join(d, "; ")
}

// sameJSON compares two values by their JSON meaning: key order and number
// spelling do not matter.
func sameJSON(a, b any) bool {
	norm := func(v any) any {
		raw, _ := json.Marshal(v)
		var out any
		_ = json.Unmarshal(raw, &out)
		return out
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// Reference evaluates input with the Go reference policy, Decide. It is the
// Evaluator the corpus itself is checked against.
func Reference(_ context.Context, input []byte) ([]byte, error) {
	var req abi.Request
	if err := json.Unmarshal(input, &req); err != nil {
		return nil, fmt.Errorf("reference: %w", err)
	}
	resp := abi.Response{Items: make([]abi.Answer, 0, len(req.Items))}
	for _, it := range req.Items {
		resp.Items = append(resp.Items, Decide(req.Principal, it))
	}
	return json.Marshal(resp)
}
