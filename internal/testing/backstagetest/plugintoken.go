package backstagetest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// catalogID is the fake catalog's plugin id: the aud its plugin tokens
// must carry.
const catalogID = "catalog"

// isPluginToken reports whether tok's JOSE header says typ
// vnd.backstage.plugin.
func isPluginToken(tok string) bool {
	h, _, ok := strings.Cut(tok, ".")
	if !ok {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return false
	}
	var hdr struct {
		Typ string `json:"typ"`
	}
	return json.Unmarshal(raw, &hdr) == nil && hdr.Typ == TypPlugin
}

// tokenClaims are the claims the fake checks.
type tokenClaims struct {
	Sub string          `json:"sub"`
	Aud json.RawMessage `json:"aud"`
	Iat *int64          `json:"iat"`
	Exp *int64          `json:"exp"`
	Obo string          `json:"obo"`
}

func (c *tokenClaims) check(now time.Time) error {
	if c.Iat == nil || c.Exp == nil {
		return errors.New("missing iat or exp")
	}
	if now.Unix() >= *c.Exp {
		return errors.New("expired")
	}
	return nil
}

// verifyPluginToken checks a plugin token the way Backstage's
// PluginTokenHandler does, independently of Verdict's verifier: the key
// from the issuing plugin's JWKS (kid required, the key's alg), aud
// "catalog", iat and exp; then obo, if present, with the auth backend's
// key. It returns the principal and actor the token stands for.
func (b *Backstage) verifyPluginToken(ctx context.Context, tok string) (principal, actor string, err error) {
	_, rest, _ := strings.Cut(tok, ".")
	payload, _, _ := strings.Cut(rest, ".")
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return "", "", err
	}
	var unverified tokenClaims
	if err := json.Unmarshal(raw, &unverified); err != nil {
		return "", "", err
	}
	set, err := b.pluginKeys(ctx, unverified.Sub)
	if err != nil {
		return "", "", err
	}
	raw, err = jws.Verify([]byte(tok), jws.WithKeySet(set, jws.WithRequireKid(true)))
	if err != nil {
		return "", "", err
	}
	var c tokenClaims
	if err := json.Unmarshal(raw, &c); err != nil {
		return "", "", err
	}
	if err := c.check(time.Now()); err != nil {
		return "", "", err
	}
	if *c.Exp-*c.Iat > 3600 {
		return "", "", errors.New("plugin token lives longer than an hour")
	}
	if string(c.Aud) != `"`+catalogID+`"` && string(c.Aud) != `["`+catalogID+`"]` {
		return "", "", fmt.Errorf("aud %s is not %q", c.Aud, catalogID)
	}
	actor = "plugin:" + c.Sub
	if c.Obo == "" {
		return actor, "", nil
	}
	b.mu.Lock()
	authKey := b.Auth.Key()
	b.mu.Unlock()
	msg, err := jws.Parse([]byte(c.Obo))
	if err != nil {
		return "", "", fmt.Errorf("obo: %w", err)
	}
	if typ, _ := msg.Signatures()[0].ProtectedHeaders().Type(); typ != TypLimitedUser && typ != TypUser {
		return "", "", fmt.Errorf("obo: typ %q is not a user token", typ)
	}
	raw, err = jws.Verify([]byte(c.Obo), jws.WithKey(jwa.ES256(), authKey))
	if err != nil {
		return "", "", fmt.Errorf("obo: %w", err)
	}
	var u tokenClaims
	if err := json.Unmarshal(raw, &u); err != nil {
		return "", "", fmt.Errorf("obo: %w", err)
	}
	if err := u.check(time.Now()); err != nil {
		return "", "", fmt.Errorf("obo: %w", err)
	}
	if *c.Exp > *u.Exp {
		return "", "", errors.New("plugin token outlives its obo token")
	}
	return u.Sub, actor, nil
}

// pluginKeys returns the key set that verifies plugin id's tokens.
func (b *Backstage) pluginKeys(ctx context.Context, id string) (jwk.Set, error) {
	b.mu.Lock()
	is, base := b.plugins[id], b.trusted[id]
	b.mu.Unlock()
	if is != nil {
		return jwk.Parse(is.JWKS())
	}
	if base == "" {
		return nil, fmt.Errorf("plugin %q is unknown", id)
	}
	url := base + "/.backstage/auth/v1/jwks.json"
	b.count(url)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		return nil, fmt.Errorf("JWKS of plugin %q: status %d, %s", id, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return jwk.Parse(body)
}
