package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host"
)

// This file holds what `eval` and `test` share: loading a policy path into a
// host of its own, and reading principals and items as users write them.

// openPolicies loads path, a policy directory or one NAME.wasm file (with
// the settings file and NAME.d/ beside it), into a new host configured by
// cfg. A module that does not load is an error naming it.
func openPolicies(ctx context.Context, cfg host.Config, path string) (*host.Host, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() && !strings.HasSuffix(path, ".wasm") {
		return nil, fmt.Errorf("%s: not a directory or a .wasm file", path)
	}
	h, err := host.New(ctx, cfg, nil)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		err = h.LoadDir(ctx, path)
	} else {
		// One module, with the settings file and NAME.d/ beside it, read
		// under the same rules as a policy directory's.
		err = h.LoadModuleFile(ctx, path)
	}
	if err != nil {
		_ = h.Close(ctx)
		return nil, err
	}
	var bad []error
	for _, p := range h.Status().Policies {
		if p.Status != host.StatusOK {
			bad = append(bad, fmt.Errorf("module %s: %s", p.Name, p.Message))
		}
	}
	if len(bad) > 0 {
		_ = h.Close(ctx)
		return nil, errors.Join(bad...)
	}
	return h, nil
}

// parsePrincipal reads a principal as a JSON object, or in short form:
// "none", "service:SUBJECT", or "user:NAMESPACE/NAME" optionally followed by
// ",OWNERSHIP-REF" entries (the user's own ref is always one of its
// ownership refs).
func parsePrincipal(s string) (abi.Principal, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "{") {
		var p abi.Principal
		if err := json.Unmarshal([]byte(s), &p); err != nil {
			return p, fmt.Errorf("principal: %w", err)
		}
		return p, checkPrincipal(p)
	}
	switch {
	case s == "none":
		return abi.Principal{Type: abi.PrincipalNone}, nil
	case strings.HasPrefix(s, "service:"):
		return abi.Principal{Type: abi.PrincipalService, Subject: strings.TrimPrefix(s, "service:")}, nil
	case strings.HasPrefix(s, "user:"):
		refs := strings.Split(s, ",")
		p := abi.Principal{Type: abi.PrincipalUser, UserEntityRef: refs[0], OwnershipEntityRefs: []string{refs[0]}}
		for _, r := range refs[1:] {
			if r = strings.TrimSpace(r); r != "" && r != refs[0] {
				p.OwnershipEntityRefs = append(p.OwnershipEntityRefs, r)
			}
		}
		return p, nil
	}
	return abi.Principal{}, fmt.Errorf("principal %q: want none, service:SUBJECT, user:default/NAME[,group:default/TEAM...] or a JSON object", s)
}

// checkPrincipal checks that p has what its type needs.
func checkPrincipal(p abi.Principal) error {
	switch p.Type {
	case abi.PrincipalUser:
		if p.UserEntityRef == "" {
			return errors.New("principal: a user needs userEntityRef")
		}
	case abi.PrincipalService:
		if p.Subject == "" {
			return errors.New("principal: a service needs subject")
		}
	case abi.PrincipalNone:
	default:
		return fmt.Errorf("principal: type %q is not user, service or none", p.Type)
	}
	return nil
}

// requestItem is one item as written in a request file or a test: the
// Backstage shape, with resourceRef a string or a list of strings.
type requestItem struct {
	ID          string          `json:"id" yaml:"id"`
	Permission  abi.Permission  `json:"permission" yaml:"permission"`
	ResourceRef json.RawMessage `json:"resourceRef,omitempty" yaml:"-"`
	refs        []string
	hasRef      bool
}

// queries expands the item into host queries: one per ref, or one without.
func (it *requestItem) queries() []host.Query {
	if !it.hasRef {
		return []host.Query{{Permission: it.Permission}}
	}
	qs := make([]host.Query, len(it.refs))
	for i := range it.refs {
		qs[i] = host.Query{Permission: it.Permission, ResourceRef: &it.refs[i]}
	}
	return qs
}

// check validates the permission and decodes resourceRef.
func (it *requestItem) check() error {
	if err := it.Permission.Validate(); err != nil {
		return fmt.Errorf("permission %q: %w", it.Permission.Name, err)
	}
	if len(it.ResourceRef) == 0 {
		return nil
	}
	it.hasRef = true
	var one string
	if err := json.Unmarshal(it.ResourceRef, &one); err == nil {
		it.refs = []string{one}
		return nil
	}
	if err := json.Unmarshal(it.ResourceRef, &it.refs); err != nil || len(it.refs) == 0 {
		return errors.New("resourceRef must be a string or a non-empty list of strings")
	}
	return nil
}

// readRequest reads a request file: {"items":[...]} (Backstage's body),
// optionally with "principal" (the native body).
func readRequest(r io.Reader) (*abi.Principal, []requestItem, error) {
	var body struct {
		Principal *abi.Principal `json:"principal"`
		Items     []requestItem  `json:"items"`
	}
	dec := json.NewDecoder(r)
	if err := dec.Decode(&body); err != nil {
		return nil, nil, fmt.Errorf("request: %w", err)
	}
	if body.Items == nil {
		return nil, nil, errors.New(`request: no "items"`)
	}
	for i := range body.Items {
		if err := body.Items[i].check(); err != nil {
			return nil, nil, fmt.Errorf("request: items[%d]: %w", i, err)
		}
	}
	if body.Principal != nil {
		if err := checkPrincipal(*body.Principal); err != nil {
			return nil, nil, fmt.Errorf("request: %w", err)
		}
	}
	return body.Principal, body.Items, nil
}
