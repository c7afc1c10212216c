package httpapi

import (
	"context"
	"net/http"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host/backstage/internal/identity"
)

// authorize is Backstage's POST {base}/authorize; see the package doc for
// the order of checks.
func (s *server) authorize(w http.ResponseWriter, r *http.Request) {
	url := s.url(r)
	creds, items, err := s.backstageRequest(w, r)
	if err != nil {
		s.writeError(w, r, url, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Limits.RequestTimeout)
	defer cancel()
	p, err := s.withOwnership(ctx, creds)
	if err != nil {
		s.writeError(w, r, url, err)
		return
	}
	// Apply-conditions calls go on behalf of the caller, whatever it is:
	// a user (the minted token carries it as obo), or principal "none" in
	// dev mode (Backstage then sends no token). Services never get here.
	b := newBatch(endpointBackstage, p, &creds, items)
	s.respond(ctx, w, r, url, &b)
}

// backstageRequest runs the checks of POST {base}/authorize that come
// before deciding, in Backstage's order: the caller's credentials, the
// body, no service principals, the zod schema, the direct-user rule.
func (s *server) backstageRequest(w http.ResponseWriter, r *http.Request) (identity.Credentials, []item, error) {
	creds, err := s.backstageCredentials(r)
	if err != nil {
		return creds, nil, err
	}
	body, err := s.backstageBody(w, r)
	if err != nil {
		return creds, nil, err
	}
	if creds.Principal.Type == abi.PrincipalService {
		return creds, nil, errServiceNotAllowed
	}
	items, err := zRequest(body, s.cfg.Limits)
	if err != nil {
		return creds, nil, err
	}
	return creds, items, directUserRule(creds.Principal, items)
}

// backstageBody reads the body as express.json() does: a body without a
// JSON content type is not read at all and counts as {}.
func (s *server) backstageBody(w http.ResponseWriter, r *http.Request) (any, error) {
	isJSON, err := isJSON(r)
	if err != nil || !isJSON {
		return map[string]any{}, err
	}
	return s.readJSON(w, r)
}

// directUserRule refuses a user without an actor who asks about a resource
// permission without a resourceRef. (Backstage applies it to "none" too,
// but only while the default auth policy is on, when "none" never gets
// here.)
func directUserRule(p abi.Principal, items []item) error {
	if p.Type != abi.PrincipalUser || p.Actor != nil {
		return nil
	}
	for i := range items {
		if items[i].perm.IsResource() && items[i].kind == refNone {
			return errDirectUser
		}
	}
	return nil
}

// withOwnership is the caller's principal, with a user's
// ownershipEntityRefs from the OwnershipResolver (asked once per request,
// as Backstage's router asks user info) or else from the token.
func (s *server) withOwnership(ctx context.Context, creds identity.Credentials) (abi.Principal, error) {
	p := creds.Principal
	if p.Type != abi.PrincipalUser {
		return p, nil
	}
	refs := creds.Ownership
	if s.ownership != nil {
		var err error
		if refs, err = s.ownership.Ownership(ctx, creds); err != nil {
			return p, err
		}
	}
	p.OwnershipEntityRefs = refs
	return p, nil
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
