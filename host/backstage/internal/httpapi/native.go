package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host"
)

// This file is Verdict's native API under /v1/: authorize with a principal
// in the body, and the policy status and reload. Outside dev mode every
// route needs a trusted token.

// nativeAccess guards /v1/*: open in dev mode, else a trusted token.
func (s *server) nativeAccess(r *http.Request) error {
	if s.cfg.DevMode {
		return nil
	}
	return s.ids.trustedCaller(r)
}

// nativeAuthorize is POST /v1/authorize: the principal comes from the body
// of a trusted caller (or anyone in dev mode).
func (s *server) nativeAuthorize(w http.ResponseWriter, r *http.Request) {
	url := s.url(r)
	if err := s.nativeAccess(r); err != nil {
		s.writeError(w, r, url, err)
		return
	}
	isJSON, err := isJSON(r)
	if err == nil && !isJSON {
		err = newError(nameUnsupportedMedia, "Content-Type must be application/json")
	}
	var body any
	if err == nil {
		body, err = s.readJSON(w, r)
	}
	var p abi.Principal
	var items []item
	if err == nil {
		p, items, err = zNativeRequest(body, s.cfg.Limits)
	}
	if err != nil {
		s.writeError(w, r, url, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Limits.RequestTimeout)
	defer cancel()
	b := newBatch(endpointNative, p, nil, items)
	s.respond(ctx, w, r, url, &b)
}

// zNativeRequest validates the body of POST /v1/authorize: an object with
// the principal (see zPrincipal) and the items of a Backstage request.
// Zod-shaped issues are a 400 InputError, as in zRequest.
func zNativeRequest(body any, lim Limits) (abi.Principal, []item, error) {
	var is issues
	var items []item
	var p abi.Principal
	if obj, ok := body.(map[string]any); !ok {
		is.invalidType(nil, "object", body, true)
	} else {
		pv, has := obj["principal"]
		p = zPrincipal(&is, pv, has)
		var err error
		if items, err = zItems(&is, obj, lim); err != nil {
			return p, nil, err
		}
	}
	if len(is) > 0 {
		return p, nil, newError(nameInput, is.message())
	}
	return p, items, nil
}

// principalTypes are the principal types, as zod lists an enum's options.
const principalTypes = "'user' | 'service' | 'none'"

// zPrincipal validates the native endpoint's principal. It is Verdict's
// own schema, reported in zod's shape:
//
//	{type:"user", userEntityRef: nonempty string, ownershipEntityRefs?: string[], actor?: {type, subject}}
//	{type:"service", subject: nonempty string}
//	{type:"none"}
func zPrincipal(is *issues, v any, present bool) abi.Principal {
	var p abi.Principal
	path := []seg{key("principal")}
	obj, ok := v.(map[string]any)
	if !present || !ok {
		is.invalidType(path, "object", v, present)
		return p
	}
	tp := at(path, key("type"))
	tv, has := obj["type"]
	t, ok := tv.(string)
	if !has || !ok {
		is.invalidType(tp, principalTypes, tv, has)
		return p
	}
	switch t {
	case abi.PrincipalUser:
		p = zUser(is, path, obj)
	case abi.PrincipalService:
		p.Type = t
		sv, has := obj["subject"]
		p.Subject, _ = zNonEmptyString(is, at(path, key("subject")), sv, has)
	case abi.PrincipalNone:
		p.Type = t
	default:
		is.add(zodIssue{code: codeInvalidEnum, value: t, hasValue: true,
			options: []string{abi.PrincipalUser, abi.PrincipalService, abi.PrincipalNone},
			message: "Invalid enum value. Expected " + principalTypes + ", received '" + t + "'"}, tp)
	}
	return p
}

// zUser is the user principal obj at path.
func zUser(is *issues, path []seg, obj map[string]any) abi.Principal {
	p := abi.Principal{Type: abi.PrincipalUser}
	rv, has := obj["userEntityRef"]
	p.UserEntityRef, _ = zNonEmptyString(is, at(path, key("userEntityRef")), rv, has)
	if ov, has := obj["ownershipEntityRefs"]; has {
		op := at(path, key("ownershipEntityRefs"))
		arr, ok := ov.([]any)
		if !ok {
			is.invalidType(op, "array", ov, true)
		} else {
			p.OwnershipEntityRefs = make([]string, 0, len(arr))
			for j, e := range arr {
				s, _ := zString(is, at(op, index(j)), e, true)
				p.OwnershipEntityRefs = append(p.OwnershipEntityRefs, s)
			}
		}
	}
	if av, has := obj["actor"]; has {
		p.Actor = zActor(is, at(path, key("actor")), av)
	}
	return p
}

// zActor is a user principal's actor, v at path; nil when v is not an
// object.
func zActor(is *issues, path []seg, v any) *abi.Actor {
	a, ok := v.(map[string]any)
	if !ok {
		is.invalidType(path, "object", v, true)
		return nil
	}
	var act abi.Actor
	tv, has := a["type"]
	act.Type, _ = zNonEmptyString(is, at(path, key("type")), tv, has)
	sv, has := a["subject"]
	act.Subject, _ = zNonEmptyString(is, at(path, key("subject")), sv, has)
	return &act
}

// reload is POST /v1/policies/reload: reload now (releasing quarantined
// modules), then answer like GET /v1/policies. Same access rule.
func (s *server) reload(w http.ResponseWriter, r *http.Request) {
	url := s.url(r)
	if err := s.nativeAccess(r); err != nil {
		s.writeError(w, r, url, err)
		return
	}
	rl, ok := s.d.(Reloader)
	if !ok {
		s.writeError(w, r, url, newError(nameNotImplemented, "this server cannot reload its policies"))
		return
	}
	if err := rl.Reload(r.Context()); err != nil {
		s.log.Error("reload failed", "err", err)
		s.writeError(w, r, url, newError(nameInternal, "reload failed: "+err.Error()))
		return
	}
	s.policies(w, r)
}

// policies is GET /v1/policies: the host's Status.
func (s *server) policies(w http.ResponseWriter, r *http.Request) {
	url := s.url(r)
	if err := s.nativeAccess(r); err != nil {
		s.writeError(w, r, url, err)
		return
	}
	st := s.d.Status()
	if st.Policies == nil {
		st.Policies = []host.PolicyStatus{}
	}
	b, err := json.Marshal(st)
	if err != nil {
		s.writeError(w, r, url, fmt.Errorf("encode status: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, b)
}
