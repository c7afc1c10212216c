package backstagetest

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Entity is a catalog entity as the fake catalog's rules see it.
type Entity struct {
	Kind  string
	Owner string
}

// ApplyCall is one request the fake catalog received on apply-conditions.
type ApplyCall struct {
	Authorization string
	Items         []ApplyItem
	Bytes         int
	// Principal and Actor are who a verified plugin token stands for: the
	// obo user with the plugin as actor ("plugin:<sub>"), or the service
	// "plugin:<sub>" without an actor. Both empty for other tokens, which
	// the fake accepts unverified (static external access).
	Principal string
	Actor     string
}

// ApplyItem is one item of an apply-conditions request.
type ApplyItem struct {
	ID           string          `json:"id"`
	ResourceRef  json.RawMessage `json:"resourceRef"`
	ResourceType string          `json:"resourceType"`
	Conditions   json.RawMessage `json:"conditions"`
}

// Backstage is the fake backend, served at URL with Backstage's default
// discovery layout: /api/<pluginId>/...
type Backstage struct {
	Server *httptest.Server
	// Auth signs user tokens; its JWKS is /api/auth/.well-known/jwks.json.
	// Replace it only with RotateAuthKey.
	Auth *Issuer

	mu sync.Mutex
	// plugins sign plugin tokens; their JWKS is
	// /api/<id>/.backstage/auth/v1/jwks.json. A plugin not listed answers
	// 404 there.
	plugins map[string]*Issuer
	// ownership is what user info answers, by user entity ref; a user not
	// listed gets 404.
	ownership map[string][]string
	entities  map[string]Entity
	// applyStatus, when non-zero, makes apply-conditions fail with it.
	applyStatus int
	// applyLimit is the catalog's body limit (express.json: 100 KiB).
	applyLimit int
	// applyAnswer, when set, replaces the catalog's answer body.
	applyAnswer string

	// trusted are plugins outside the fake (such as Verdict, pluginId
	// "permission") whose plugin tokens the catalog verifies with the
	// JWKS at <base URL>/.backstage/auth/v1/jwks.json, by plugin id.
	trusted map[string]string

	jwksFetches   map[string]int
	userInfoCalls int
	applyCalls    []ApplyCall
}

// New starts a fake Backstage, closed when t ends.
func New(t testing.TB) *Backstage {
	b := &Backstage{
		Auth:        NewIssuer("auth-key-1"),
		plugins:     map[string]*Issuer{},
		trusted:     map[string]string{},
		ownership:   map[string][]string{},
		entities:    map[string]Entity{},
		applyLimit:  100 << 10,
		jwksFetches: map[string]int{},
	}
	b.Server = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.Server.Close)
	return b
}

// URL is the backend's base URL (backend.baseUrl).
func (b *Backstage) URL() string { return b.Server.URL }

// RotateAuthKey replaces the auth backend's key with a new one named kid
// and returns it.
func (b *Backstage) RotateAuthKey(kid string) *Issuer {
	is := NewIssuer(kid)
	b.mu.Lock()
	b.Auth = is
	b.mu.Unlock()
	return is
}

// AddPlugin registers a plugin that signs plugin tokens.
func (b *Backstage) AddPlugin(id string) *Issuer {
	b.mu.Lock()
	defer b.mu.Unlock()
	is := NewIssuer(id + "-key-1")
	b.plugins[id] = is
	return is
}

// TrustPlugin makes the catalog verify plugin tokens whose sub is id with
// the JWKS at baseURL + "/.backstage/auth/v1/jwks.json", fetched on every
// call, as Backstage finds it through discovery(id). Plugin tokens from
// other plugins not added with AddPlugin are refused with 401.
func (b *Backstage) TrustPlugin(id, baseURL string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.trusted[id] = baseURL
}

// SetOwnership sets what user info answers for user.
func (b *Backstage) SetOwnership(user string, refs []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ownership[user] = refs
}

// AddEntity adds a catalog entity.
func (b *Backstage) AddEntity(ref string, e Entity) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.entities[ref] = e
}

// FailApply makes apply-conditions answer status (0: answer normally).
func (b *Backstage) FailApply(status int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.applyStatus = status
}

// SetApplyAnswer makes apply-conditions answer body with 200 ("" to
// evaluate normally).
func (b *Backstage) SetApplyAnswer(body string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.applyAnswer = body
}

// JWKSFetches counts fetches of the JWKS at path.
func (b *Backstage) JWKSFetches(path string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.jwksFetches[path]
}

// UserInfoCalls counts user-info requests.
func (b *Backstage) UserInfoCalls() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.userInfoCalls
}

// ApplyCalls returns the apply-conditions requests received so far.
func (b *Backstage) ApplyCalls() []ApplyCall {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.applyCalls)
}

// AuthJWKSPath is where the auth backend's JWKS is served.
const AuthJWKSPath = "/api/auth/.well-known/jwks.json"

func (b *Backstage) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == AuthJWKSPath:
		b.count(p)
		b.mu.Lock()
		auth := b.Auth
		b.mu.Unlock()
		writeJSON(w, 200, auth.JWKS())
	case p == "/api/auth/v1/userinfo":
		b.userInfo(w, r)
	case strings.HasSuffix(p, "/.backstage/auth/v1/jwks.json"):
		b.count(p)
		id := strings.TrimSuffix(strings.TrimPrefix(p, "/api/"), "/.backstage/auth/v1/jwks.json")
		b.mu.Lock()
		is := b.plugins[id]
		b.mu.Unlock()
		if is == nil {
			http.Error(w, "<html>Cannot GET "+p+"</html>", 404)
			return
		}
		writeJSON(w, 200, is.JWKS())
	case p == "/api/catalog/.well-known/backstage/permissions/apply-conditions" && r.Method == http.MethodPost:
		b.applyConditions(w, r)
	default:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(404)
		_, _ = io.WriteString(w, "<!DOCTYPE html><pre>Cannot "+r.Method+" "+p+"</pre>")
	}
}

func (b *Backstage) count(p string) {
	b.mu.Lock()
	b.jwksFetches[p]++
	b.mu.Unlock()
}

func (b *Backstage) userInfo(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.userInfoCalls++
	b.mu.Unlock()
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	sub := ""
	if parts := strings.Split(tok, "."); ok && len(parts) == 3 {
		if raw, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
			var c struct {
				Sub string `json:"sub"`
			}
			_ = json.Unmarshal(raw, &c)
			sub = c.Sub
		}
	}
	if sub == "" {
		writeError(w, r, 401, "AuthenticationError", "Missing credentials")
		return
	}
	b.mu.Lock()
	refs, known := b.ownership[sub]
	b.mu.Unlock()
	if !known {
		writeError(w, r, 404, "NotFoundError", "User not found")
		return
	}
	body, _ := json.Marshal(map[string]any{"claims": map[string]any{"sub": sub, "ent": refs}})
	writeJSON(w, 200, body)
}

func (b *Backstage) applyConditions(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	status, limit, answer := b.applyStatus, b.applyLimit, b.applyAnswer
	b.mu.Unlock()
	body, _ := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if len(body) > limit {
		writeError(w, r, 413, "PayloadTooLargeError", "request entity too large")
		return
	}
	var req struct {
		Items []ApplyItem `json:"items"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, r, 400, "InputError", "bad body")
		return
	}
	call := ApplyCall{Authorization: r.Header.Get("Authorization"), Items: req.Items, Bytes: len(body)}
	tok, _ := strings.CutPrefix(call.Authorization, "Bearer ")
	var verifyErr error
	if isPluginToken(tok) {
		call.Principal, call.Actor, verifyErr = b.verifyPluginToken(r.Context(), tok)
	}
	b.mu.Lock()
	b.applyCalls = append(b.applyCalls, call)
	b.mu.Unlock()
	if call.Authorization == "" {
		writeError(w, r, 401, "AuthenticationError", "Missing credentials")
		return
	}
	if verifyErr != nil {
		writeError(w, r, 401, "AuthenticationError", "Failed plugin token verification: "+verifyErr.Error())
		return
	}
	if status != 0 {
		writeError(w, r, status, "InputError", "Unexpected resource types: other-type.")
		return
	}
	if answer != "" {
		writeJSON(w, 200, []byte(answer))
		return
	}
	out := make([]map[string]any, 0, len(req.Items))
	for _, it := range req.Items {
		if it.ResourceType != "catalog-entity" {
			writeError(w, r, 400, "InputError", "Unexpected resource types: "+it.ResourceType+".")
			return
		}
		var cond any
		_ = json.Unmarshal(it.Conditions, &cond)
		var one string
		if json.Unmarshal(it.ResourceRef, &one) == nil {
			out = append(out, map[string]any{"id": it.ID, "result": b.decide(one, cond)})
			continue
		}
		var many []string
		_ = json.Unmarshal(it.ResourceRef, &many)
		res := make([]string, len(many))
		for i, ref := range many {
			res[i] = b.decide(ref, cond)
		}
		out = append(out, map[string]any{"id": it.ID, "result": res})
	}
	resp, _ := json.Marshal(map[string]any{"items": out})
	writeJSON(w, 200, resp)
}

func (b *Backstage) decide(ref string, cond any) string {
	b.mu.Lock()
	e, ok := b.entities[ref]
	b.mu.Unlock()
	if ok && eval(e, cond) {
		return "ALLOW"
	}
	return "DENY"
}

// eval is permission-node's criteria evaluation (own-property checks in
// the order allOf, anyOf, not) with the catalog's two rules.
func eval(e Entity, c any) bool {
	m, _ := c.(map[string]any)
	if all, ok := m["allOf"].([]any); ok {
		for _, x := range all {
			if !eval(e, x) {
				return false
			}
		}
		return true
	}
	if any_, ok := m["anyOf"].([]any); ok {
		for _, x := range any_ {
			if eval(e, x) {
				return true
			}
		}
		return false
	}
	if n, ok := m["not"]; ok {
		return !eval(e, n)
	}
	params, _ := m["params"].(map[string]any)
	switch m["rule"] {
	case "IS_ENTITY_OWNER":
		claims, _ := params["claims"].([]any)
		for _, x := range claims {
			if x == e.Owner {
				return true
			}
		}
	case "IS_ENTITY_KIND":
		kinds, _ := params["kinds"].([]any)
		for _, x := range kinds {
			if s, ok := x.(string); ok && strings.EqualFold(s, e.Kind) {
				return true
			}
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, r *http.Request, status int, name, msg string) {
	b, _ := json.Marshal(map[string]any{
		"error":    map[string]any{"name": name, "message": msg},
		"request":  map[string]any{"method": r.Method, "url": r.URL.Path},
		"response": map[string]any{"statusCode": status},
	})
	writeJSON(w, status, b)
}
