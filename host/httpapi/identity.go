package httpapi

import (
	"crypto/sha256"
	"net/http"
	"strings"
	"unicode"

	"github.com/verdictpdp/verdict/abi"
)

// tokenKey is the SHA-256 of a token. Tokens are looked up by hash so that
// the table never compares secrets byte by byte and holds no plain tokens.
type tokenKey [sha256.Size]byte

// identities verifies bearer tokens. Today it knows static external-access
// tokens only; Backstage user and plugin tokens (JWTs) come later and will
// plug in here.
type identities struct {
	static  map[tokenKey]string // token hash -> subject
	trusted map[string]struct{}
	// verifiers are further token verifiers, tried in order after the
	// static tokens: the hook for Backstage user and plugin tokens (unused
	// until JWT verification lands; tests use it to present user
	// principals).
	verifiers []func(token string) (abi.Principal, bool)
}

func newIdentities(cfg Config) *identities {
	id := &identities{
		static:  make(map[tokenKey]string, len(cfg.StaticTokens)),
		trusted: make(map[string]struct{}, len(cfg.TrustedSubjects)),
	}
	for _, t := range cfg.StaticTokens {
		id.static[sha256.Sum256([]byte(t.Token))] = t.Subject
	}
	for _, s := range cfg.TrustedSubjects {
		id.trusted[s] = struct{}{}
	}
	return id
}

// bearer returns the token of the Authorization header, matched like
// Backstage's /^Bearer[ ]+(\S+)$/i; ok is false when there is none.
func bearer(r *http.Request) (token string, ok bool) {
	h := r.Header.Get("Authorization")
	const scheme = "bearer"
	if len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) || h[len(scheme)] != ' ' {
		return "", false
	}
	token = strings.TrimLeft(h[len(scheme):], " ")
	if token == "" || strings.IndexFunc(token, isJSSpace) >= 0 {
		return "", false
	}
	return token, true
}

// isJSSpace is JavaScript's \s.
func isJSSpace(r rune) bool { return unicode.IsSpace(r) || r == '\ufeff' }

// verify returns the principal a token stands for, or errIllegalToken.
func (id *identities) verify(token string) (abi.Principal, error) {
	if subject, ok := id.static[sha256.Sum256([]byte(token))]; ok {
		return abi.Principal{Type: abi.PrincipalService, Subject: subject}, nil
	}
	for _, v := range id.verifiers {
		if p, ok := v(token); ok {
			return p, nil
		}
	}
	return abi.Principal{}, errIllegalToken
}

// trustedCaller checks /v1/* access: a token whose subject is trusted to
// assert principals. No token is 401, an unknown one 401, an untrusted one
// 403.
func (id *identities) trustedCaller(r *http.Request) error {
	tok, ok := bearer(r)
	if !ok {
		return errMissingCredentials
	}
	p, err := id.verify(tok)
	if err != nil {
		return err
	}
	if _, ok := id.trusted[p.Subject]; !ok || p.Type != abi.PrincipalService {
		return errUntrusted
	}
	return nil
}
