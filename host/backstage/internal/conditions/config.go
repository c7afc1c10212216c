package conditions

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// Config configures a Client.
type Config struct {
	// Token is a static bearer token for the calls (a static
	// externalAccess token the plugins accept). Empty: none; then minted
	// tokens (if a Minter is given) authenticate the calls, and without
	// either the items are DENY. A Client takes one or the other, never
	// both.
	Token string
	// MaxBodyBytes is the largest body sent in one call; bigger batches are
	// split. Default 102400, the 100 KiB limit of Backstage plugins'
	// express.json().
	MaxBodyBytes int
	// Timeout bounds each call (the request's own deadline applies too).
	// Default 5 s.
	Timeout time.Duration
	// MaxAnswerBytes bounds an answer. Default 4 MiB.
	MaxAnswerBytes int64
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{MaxBodyBytes: 100 << 10, Timeout: 5 * time.Second, MaxAnswerBytes: 4 << 20}
}

// minBodyBytes is the least MaxBodyBytes: room for one small item.
const minBodyBytes = 1024

// Validate reports every invalid field. Messages never contain the token.
func (c Config) Validate() error {
	var errs []error
	if c.MaxBodyBytes < minBodyBytes {
		errs = append(errs, fmt.Errorf("maxBodyBytes: must be at least %d, got %d", minBodyBytes, c.MaxBodyBytes))
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout: must be positive, got %s", c.Timeout))
	}
	if c.MaxAnswerBytes <= 0 {
		errs = append(errs, fmt.Errorf("maxAnswerBytes: must be positive, got %d", c.MaxAnswerBytes))
	}
	if c.Token != "" && (len(c.Token) < 8 || bytes.ContainsAny([]byte(c.Token), " \t\r\n")) {
		errs = append(errs, errors.New("token: must be at least 8 characters without whitespace"))
	}
	return errors.Join(errs...)
}
