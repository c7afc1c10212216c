package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host"
	"github.com/verdictpdp/verdict/host/backstage/internal/identity"
)

// authorize is Backstage's POST {base}/authorize; see the package doc for
// the order of checks.
func (s *server) authorize(w http.ResponseWriter, r *http.Request) {
	url := s.url(r)
	creds, err := s.backstageCredentials(r)
	if err != nil {
		s.writeError(w, r, url, err)
		return
	}
	p := creds.Principal
	var body any = map[string]any{}
	isJSON, err := isJSON(r)
	if err == nil && isJSON {
		body, err = s.readJSON(w, r)
	}
	if err != nil {
		s.writeError(w, r, url, err)
		return
	}
	if p.Type == abi.PrincipalService {
		s.writeError(w, r, url, errServiceNotAllowed)
		return
	}
	items, err := zRequest(body, s.cfg.Limits)
	if err != nil {
		s.writeError(w, r, url, err)
		return
	}
	// The direct-user rule (Backstage applies it to "none" too, but only
	// while the default auth policy is on, when "none" never gets here).
	if p.Type == abi.PrincipalUser && p.Actor == nil {
		for i := range items {
			if items[i].perm.IsResource() && items[i].kind == refNone {
				s.writeError(w, r, url, errDirectUser)
				return
			}
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Limits.RequestTimeout)
	defer cancel()
	if p.Type == abi.PrincipalUser {
		// Once per request, as Backstage's router asks user info.
		refs := creds.Ownership
		if s.ownership != nil {
			if refs, err = s.ownership.Ownership(ctx, creds); err != nil {
				s.writeError(w, r, url, err)
				return
			}
		}
		p.OwnershipEntityRefs = refs
	}
	// Apply-conditions calls go on behalf of the caller, whatever it is:
	// a user (the minted token carries it as obo), or principal "none" in
	// dev mode (Backstage then sends no token). Services never get here.
	s.decide(ctx, w, r, url, p, &creds, items, false)
}

// backstageCredentials identifies the caller of a Backstage endpoint: the
// verified bearer token, or principal "none" in dev mode when there is no
// token. A token that does not verify is 401 even in dev mode, as in
// Backstage.
func (s *server) backstageCredentials(r *http.Request) (identity.Credentials, error) {
	tok, ok := bearer(r)
	if !ok {
		if s.cfg.DevMode {
			return identity.Credentials{Principal: abi.Principal{Type: abi.PrincipalNone}}, nil
		}
		return identity.Credentials{}, errMissingCredentials
	}
	return s.ids.verify(r.Context(), tok)
}

// decide asks the Decider about items (an array resourceRef is one Query
// per ref) under ctx (the request deadline), resolves CONDITIONAL decisions
// of items with a resourceRef through apply-conditions (on behalf of
// onBehalfOf, nil for the native API), and writes the answers in request
// order. native adds the snapshot generation.
func (s *server) decide(ctx context.Context, w http.ResponseWriter, r *http.Request, url string, p abi.Principal,
	onBehalfOf *identity.Credentials, items []item, native bool) {
	start := time.Now()
	n := 0
	for i := range items {
		if items[i].kind == refArray {
			n += len(items[i].refs)
		} else {
			n++
		}
	}
	qs := make([]host.Query, 0, n)
	for i := range items {
		it := &items[i]
		switch it.kind {
		case refNone:
			qs = append(qs, host.Query{Permission: it.perm})
		case refString:
			qs = append(qs, host.Query{Permission: it.perm, ResourceRef: &it.ref})
		case refArray:
			for j := range it.refs {
				qs = append(qs, host.Query{Permission: it.perm, ResourceRef: &it.refs[j]})
			}
		}
	}
	ds, err := s.d.Decide(ctx, p, qs)
	if err == nil && (ds == nil || len(ds.Items) != len(qs)) {
		got := 0
		if ds != nil {
			got = len(ds.Items)
		}
		err = fmt.Errorf("decider answered %d decisions for %d queries", got, len(qs))
	}
	var res []resolution
	if err == nil {
		res, err = s.resolve(ctx, onBehalfOf, items, ds.Items)
	}
	if err != nil {
		s.writeError(w, r, url, err)
		return
	}
	b := make([]byte, 0, 32+48*len(qs))
	if native {
		b = append(b, `{"generation":`...)
		b = strconv.AppendUint(b, ds.Generation, 10)
		b = append(b, `,"items":[`...)
	} else {
		b = append(b, `{"items":[`...)
	}
	k := 0
	for i := range items {
		it := &items[i]
		m := 1
		if it.kind == refArray {
			m = len(it.refs)
		}
		if i > 0 {
			b = append(b, ',')
		}
		var rs []resolution
		if res != nil {
			rs = res[k : k+m]
		}
		if b, err = appendItem(b, it, ds.Items[k:k+m], rs); err != nil {
			s.writeError(w, r, url, fmt.Errorf("encode answer: %w", err))
			return
		}
		k += m
	}
	b = append(b, "]}"...)
	writeJSON(w, http.StatusOK, b)
	if s.decisions != nil || s.observer != nil {
		s.record(start, p, native, items, ds, res)
	}
}
