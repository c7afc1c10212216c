package httpapi

import (
	"context"
	"crypto/sha256"
	"net/http"
	"strings"
	"unicode"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host/backstage/internal/identity"
)

// TokenVerifier verifies bearer tokens that are not static tokens: Backstage
// user and plugin tokens, and external access of types jwks and legacy.
// *identity.Verifier implements it. It returns identity.ErrIllegalToken for
// a token it does not recognise and an *identity.AuthError for one that
// does not verify.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (identity.Credentials, error)
}

// OwnershipResolver finds a user's ownershipEntityRefs. *identity.UserInfo
// implements it. A refusal of the auth backend is an *upstream.Error, whose
// status is passed on.
type OwnershipResolver interface {
	Ownership(ctx context.Context, c identity.Credentials) ([]string, error)
}

// tokenKey is the SHA-256 of a token. Tokens are looked up by hash so that
// the table never compares secrets byte by byte and holds no plain tokens.
type tokenKey [sha256.Size]byte

// identities verifies bearer tokens: static external-access tokens here,
// everything else through the TokenVerifier (when there is one).
type identities struct {
	static  map[tokenKey]string // token hash -> subject
	trusted map[string]struct{}
	tokens  TokenVerifier // nil: static tokens only
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

// verify returns the credentials a token stands for: errIllegalToken when
// nothing recognises it, an *identity.AuthError when it does not verify.
func (id *identities) verify(ctx context.Context, token string) (identity.Credentials, error) {
	if subject, ok := id.static[sha256.Sum256([]byte(token))]; ok {
		return identity.Credentials{Principal: abi.Principal{Type: abi.PrincipalService, Subject: subject}}, nil
	}
	if id.tokens == nil {
		return identity.Credentials{}, errIllegalToken
	}
	return id.tokens.Verify(ctx, token)
}

// trustedCaller checks /v1/* access: a token whose subject is trusted to
// assert principals. No token is 401, an unknown one 401, an untrusted one
// 403.
func (id *identities) trustedCaller(r *http.Request) error {
	tok, ok := bearer(r)
	if !ok {
		return errMissingCredentials
	}
	c, err := id.verify(r.Context(), tok)
	if err != nil {
		return err
	}
	p := c.Principal
	if _, ok := id.trusted[p.Subject]; !ok || p.Type != abi.PrincipalService {
		return errUntrusted
	}
	return nil
}
