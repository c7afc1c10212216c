package pluginkeys

import (
	"crypto/elliptic"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Config configures a Minter.
type Config struct {
	// PluginID is Verdict's plugin id: the sub of minted tokens, and the
	// plugin whose JWKS targets fetch. Default "permission".
	PluginID string
	// Keys is the static key store; the first key signs, all are
	// published. Empty: an ES256 key generated in memory by New.
	Keys []Key
	// TokenTTL is how long a minted token is valid (less when its obo
	// token expires sooner). Default 1 h, Backstage's.
	TokenTTL time.Duration
	// RenewBefore is how long before its expiry a cached token is
	// replaced by a new one, so that a token never expires in flight.
	// Default 5 min; it must be less than TokenTTL.
	RenewBefore time.Duration
	// CacheEntries bounds the token cache (one entry per target plugin and
	// user token). Default 10000.
	CacheEntries int
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{PluginID: "permission", TokenTTL: time.Hour, RenewBefore: 5 * time.Minute, CacheEntries: 10000}
}

// Validate reports every invalid field, one line each. It does not read
// the key files: New does.
func (c Config) Validate() error {
	var errs []error
	if c.PluginID == "" {
		errs = append(errs, errors.New("pluginId: must not be empty"))
	}
	if c.TokenTTL < time.Minute {
		errs = append(errs, fmt.Errorf("tokenTTL: must be at least 1m, got %s", c.TokenTTL))
	}
	if c.RenewBefore < 0 || c.RenewBefore >= c.TokenTTL {
		errs = append(errs, fmt.Errorf("renewBefore: must be at least 0 and less than tokenTTL, got %s", c.RenewBefore))
	}
	if c.CacheEntries <= 0 {
		errs = append(errs, fmt.Errorf("cacheEntries: must be positive, got %d", c.CacheEntries))
	}
	errs = append(errs, validateKeys(c.Keys)...)
	return errors.Join(errs...)
}

// Key is one key pair of the static key store, as in Backstage's
// backend.auth.pluginKeyStore.static.keys.
type Key struct {
	// PublicKeyFile is a PEM file with the public key (SPKI, "PUBLIC
	// KEY"). Required.
	PublicKeyFile string
	// PrivateKeyFile is a PEM file with the private key (PKCS#8 "PRIVATE
	// KEY" or SEC 1 "EC PRIVATE KEY"). Required for the first key, which
	// signs; optional for the others, which are only published.
	PrivateKeyFile string
	// KeyID is the key's kid. Required.
	KeyID string
	// Algorithm is the JOSE algorithm: ES256 (P-256), ES384 (P-384) or
	// ES512 (P-521). Empty: ES256, Backstage's default.
	Algorithm string
}

// curves maps each supported algorithm to its curve.
var curves = map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}

// defaultAlgorithm is Backstage's default plugin-token algorithm.
const defaultAlgorithm = "ES256"

// algorithm is k's algorithm, ES256 when it names none.
func (k Key) algorithm() string {
	if k.Algorithm == "" {
		return defaultAlgorithm
	}
	return k.Algorithm
}

// keyName names key i in errors: its index and kid.
func keyName(i int, k Key) string {
	if k.KeyID == "" {
		return fmt.Sprintf("keys[%d]", i)
	}
	return fmt.Sprintf("keys[%d] (keyId %s)", i, strconv.Quote(k.KeyID))
}

// validateKeys checks the shape of keys, not the files.
func validateKeys(keys []Key) []error {
	var errs []error
	seen := map[string]bool{}
	for i, k := range keys {
		name := keyName(i, k)
		if k.KeyID == "" {
			errs = append(errs, fmt.Errorf("%s: keyId is required", name))
		} else if seen[k.KeyID] {
			errs = append(errs, fmt.Errorf("%s: keyId is used twice", name))
		}
		seen[k.KeyID] = true
		if k.PublicKeyFile == "" {
			errs = append(errs, fmt.Errorf("%s: publicKeyFile is required", name))
		}
		if i == 0 && k.PrivateKeyFile == "" {
			errs = append(errs, fmt.Errorf("%s: privateKeyFile is required for the first key, which signs", name))
		}
		if _, ok := curves[k.algorithm()]; !ok {
			errs = append(errs, fmt.Errorf("%s: unknown algorithm %s (use ES256, ES384 or ES512)", name, strconv.Quote(k.Algorithm)))
		}
	}
	return errs
}
