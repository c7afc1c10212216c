package identity

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"

	"github.com/verdictpdp/verdict/host/backstage/internal/upstream"
)

// JWKSAccess is one backend.auth.externalAccess entry of type jwks.
type JWKSAccess struct {
	// URL is where the key set is fetched.
	URL string
	// Issuers, when set, lists the accepted iss values.
	Issuers []string
	// Audiences, when set, lists accepted aud values (one must match).
	Audiences []string
	// Algorithms, when set, lists the accepted JOSE algs; default the
	// asymmetric ones.
	Algorithms []string
	// SubjectPrefix makes the subject "external:<prefix>:<sub>" instead of
	// "external:<sub>".
	SubjectPrefix string
}

// LegacyAccess is one backend.auth.externalAccess entry of type legacy:
// HS256 tokens signed with a shared secret.
type LegacyAccess struct {
	// Secret is the base64 (or base64url) encoded shared secret.
	Secret string
	// Subject is the service principal's subject.
	Subject string
}

// Config configures a Verifier.
type Config struct {
	// PluginID is Verdict's own plugin id: plugin tokens must carry it as
	// aud. Default "permission".
	PluginID string
	// JWKS and Legacy are the external-access entries of those types.
	JWKS   []JWKSAccess
	Legacy []LegacyAccess
	// Timeout bounds each key-set fetch (and user-info call). Default 5 s.
	Timeout time.Duration
	// CacheEntries bounds the verified-token cache. Default 10000.
	CacheEntries int
	// MaxPlugins bounds how many plugins' key sets are kept. Default 256.
	MaxPlugins int
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{PluginID: "permission", Timeout: 5 * time.Second, CacheEntries: 10000, MaxPlugins: 256}
}

// Validate reports every invalid field.
func (c Config) Validate() error {
	var errs []error
	if c.PluginID == "" {
		errs = append(errs, errors.New("pluginId: must not be empty"))
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout: must be positive, got %s", c.Timeout))
	}
	if c.CacheEntries <= 0 {
		errs = append(errs, fmt.Errorf("cacheEntries: must be positive, got %d", c.CacheEntries))
	}
	if c.MaxPlugins <= 0 {
		errs = append(errs, fmt.Errorf("maxPlugins: must be positive, got %d", c.MaxPlugins))
	}
	for i, j := range c.JWKS {
		errs = append(errs, j.validate(i)...)
	}
	for i, l := range c.Legacy {
		errs = append(errs, l.validate(i)...)
	}
	return errors.Join(errs...)
}

// validate reports what is wrong with jwks entry i.
func (j JWKSAccess) validate(i int) []error {
	var errs []error
	if !strings.HasPrefix(j.URL, "http://") && !strings.HasPrefix(j.URL, "https://") || strings.ContainsAny(j.URL, " \t\r\n") {
		errs = append(errs, fmt.Errorf("jwks[%d]: url %q must be an http or https URL", i, j.URL))
	}
	for _, a := range j.Algorithms {
		if _, ok := jwa.LookupSignatureAlgorithm(a); !ok || a == "none" {
			errs = append(errs, fmt.Errorf("jwks[%d]: unknown algorithm %q", i, a))
		}
	}
	return errs
}

// validate reports what is wrong with legacy entry i.
func (l LegacyAccess) validate(i int) []error {
	var errs []error
	if k, err := decodeSecret(l.Secret); err != nil || len(k) == 0 {
		errs = append(errs, fmt.Errorf("legacy[%d]: secret must be a valid base64 string", i))
	}
	if l.Subject == "" || strings.ContainsAny(l.Subject, " \t\r\n") {
		errs = append(errs, fmt.Errorf("legacy[%d]: subject must be a set of non-space characters", i))
	}
	return errs
}

// decodeSecret decodes a legacy secret written in base64 or base64url,
// padded or not, as jose's base64url.decode accepts both.
func decodeSecret(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	s = strings.NewReplacer("+", "-", "/", "_").Replace(s)
	return base64.RawURLEncoding.DecodeString(s)
}

// Discoverer finds a plugin's base URL. *discovery.Discovery implements it.
type Discoverer interface {
	BaseURL(pluginID string) (string, error)
}

// Deps are the collaborators of a Verifier and a UserInfo.
type Deps struct {
	// Discovery finds the auth backend and calling plugins. Required.
	Discovery Discoverer
	// Client makes the fetches; default a new http.Client with
	// Config.Timeout.
	Client *http.Client
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// prepare is what New and NewUserInfo do first: it checks cfg and deps and
// fills in deps' defaults. The client returned never follows a redirect:
// a key set comes from the URL discovery named or from nowhere, and the
// user-info call carries the user's token.
func prepare(cfg Config, deps Deps) (Deps, error) {
	if err := cfg.Validate(); err != nil {
		return Deps{}, err
	}
	if deps.Discovery == nil {
		return Deps{}, errors.New("identity: nil Discovery")
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Client == nil {
		deps.Client = &http.Client{Timeout: cfg.Timeout}
	}
	deps.Client = upstream.NoRedirects(deps.Client)
	return deps, nil
}
