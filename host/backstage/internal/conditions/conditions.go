// Package conditions resolves CONDITIONAL decisions for concrete resources
// through the owning plugin's
// POST /.well-known/backstage/permissions/apply-conditions, as Backstage's
// permission backend does for items that carry a resourceRef.
//
// Requests for one plugin are sent as one batch, split into several calls
// when the body would exceed the plugin's limit (Backstage plugins parse
// at most 100 KiB), in order. Answers are mapped back by position, and each
// answer's id must be the one sent: an answer that does not match is DENY
// for its items, never ALLOW.
//
// Failures follow Backstage where it has an answer and fail closed where
// it has none: a plugin that answers a non-2xx status fails the whole
// request with that status (an *upstream.Error, which the HTTP layer passes
// on); a plugin that cannot be found or reached, a malformed answer, or no
// outbound credentials make the affected items DENY with a reason.
//
// Calls are authenticated either with a static token (a static
// externalAccess token the plugins accept, giving them a service
// principal) or with plugin tokens a Minter issues for each call on
// behalf of the caller, as Backstage's permission backend does.
package conditions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host/backstage/internal/identity"
	"github.com/verdictpdp/verdict/host/backstage/internal/upstream"
)

// Path is where a plugin serves apply-conditions, below its base URL.
const Path = "/.well-known/backstage/permissions/apply-conditions"

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

// Discoverer finds a plugin's base URL. *discovery.Discovery implements it.
type Discoverer interface {
	BaseURL(pluginID string) (string, error)
}

// Minter issues the bearer token for a call to targetPluginID on behalf of
// the caller (nil: Verdict itself, as on the native API), as Backstage's
// getPluginRequestToken does. An empty token means the call goes without
// an Authorization header (Backstage's answer for principal "none").
// *pluginkeys.Minter implements it.
type Minter interface {
	Mint(ctx context.Context, targetPluginID string, onBehalfOf *identity.Credentials) (string, error)
}

// Request is one resource check: the conditions of a CONDITIONAL decision
// applied to one resource, or to several (an array resourceRef).
type Request struct {
	// Refs are the resources; Array says they were given as an array
	// (then the plugin answers an array).
	Refs  []string
	Array bool
	// ResourceType and Conditions are the decision's.
	ResourceType string
	// Conditions is the decision's criteria, encoded as JSON.
	Conditions []byte
}

// Result is the answer for one Request: one ALLOW or DENY per ref, and why
// when resolution failed.
type Result struct {
	Results []abi.Result
	Reason  string
}

// Client calls apply-conditions. It is safe for concurrent use.
type Client struct {
	cfg    Config
	disc   Discoverer
	client *http.Client
	minter Minter
	log    *slog.Logger
}

// New returns a Client for cfg (which must pass Validate), finding plugins
// with disc. client may be nil (a new client bounded by cfg.Timeout);
// minter may be nil, and must be when cfg.Token is set; log may be nil.
// Tokens are never logged.
func New(cfg Config, disc Discoverer, client *http.Client, minter Minter, log *slog.Logger) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if minter != nil && cfg.Token != "" {
		return nil, errors.New("conditions: both a static token and a Minter: use one")
	}
	if disc == nil {
		return nil, errors.New("conditions: nil Discoverer")
	}
	if client == nil {
		client = &http.Client{Timeout: cfg.Timeout}
	}
	// The call carries credentials and its answer decides access: never
	// follow it elsewhere.
	client = upstream.NoRedirects(client)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{cfg: cfg, disc: disc, client: client, minter: minter, log: log}, nil
}

// Resolve applies reqs through pluginID's apply-conditions endpoint and
// returns one Result per Request, in order. onBehalfOf is the verified
// caller (nil when there is none, as on the native API): with a Minter the
// call carries the token it mints for onBehalfOf, else the static token.
// The only error is an *upstream.Error: the plugin refused a call.
func (c *Client) Resolve(ctx context.Context, pluginID string, onBehalfOf *identity.Credentials, reqs []Request) ([]Result, error) {
	out := make([]Result, len(reqs))
	deny := func(from, to int, reason string) {
		for i := from; i < to; i++ {
			out[i] = Result{Results: denyAll(len(reqs[i].Refs)), Reason: reason}
		}
	}
	token, err := c.token(ctx, pluginID, onBehalfOf)
	if err != nil {
		c.log.Warn("apply-conditions: no outbound credentials", "plugin", pluginID, "err", err)
		deny(0, len(reqs), "cannot resolve conditions of plugin "+pluginID+": "+err.Error())
		return out, nil
	}
	base, err := c.disc.BaseURL(pluginID)
	if err != nil {
		c.log.Warn("apply-conditions: plugin not found", "plugin", pluginID, "err", err)
		deny(0, len(reqs), "cannot resolve conditions: no discovery endpoint for plugin "+pluginID)
		return out, nil
	}
	for _, ch := range c.chunks(pluginID, reqs) {
		res, err := c.call(ctx, base+Path, token, pluginID, ch.from, reqs[ch.from:ch.to], ch.body)
		var ue *upstream.Error
		switch {
		case errors.As(err, &ue):
			c.log.Info("apply-conditions refused", "plugin", pluginID, "status", ue.Status, "cause", ue.Cause.Message)
			return nil, ue
		case err != nil:
			c.log.Warn("apply-conditions failed", "plugin", pluginID, "items", ch.to-ch.from, "err", err)
			deny(ch.from, ch.to, "cannot resolve conditions: "+reasonFor(ctx, pluginID, err))
			continue
		}
		copy(out[ch.from:ch.to], res)
	}
	return out, nil
}

func denyAll(n int) []abi.Result {
	r := make([]abi.Result, n)
	for i := range r {
		r[i] = abi.Deny
	}
	return r
}

// errNoCredentials is a call without a way to authenticate.
var errNoCredentials = errors.New("no outbound credentials configured " +
	"(set backstage.applyConditions.token, or backstage.applyConditions.auth to plugin-token)")

func (c *Client) token(ctx context.Context, pluginID string, onBehalfOf *identity.Credentials) (string, error) {
	if c.minter != nil {
		tok, err := c.minter.Mint(ctx, pluginID, onBehalfOf)
		if err != nil {
			return "", fmt.Errorf("mint a plugin token: %w", err)
		}
		return tok, nil
	}
	if c.cfg.Token != "" {
		return c.cfg.Token, nil
	}
	return "", errNoCredentials
}

func reasonFor(ctx context.Context, pluginID string, err error) string {
	switch {
	case ctx.Err() != nil:
		return "the request deadline passed while plugin " + pluginID + " applied conditions"
	case errors.Is(err, errBadAnswer), errors.Is(err, upstream.ErrRedirect):
		return err.Error()
	}
	return "plugin " + pluginID + " could not be reached"
}

// chunk is reqs[from:to] encoded as one body.
type chunk struct {
	from, to int
	body     []byte
}

// chunks encodes reqs into bodies of at most MaxBodyBytes (an item bigger
// than that alone goes in a body of its own: the plugin decides). Item ids
// are the requests' indexes, so that answers can be checked.
func (c *Client) chunks(pluginID string, reqs []Request) []chunk {
	const head, tail = `{"items":[`, `]}`
	var out []chunk
	cur := chunk{body: append([]byte(nil), head...)}
	for i := range reqs {
		item := encodeItem(nil, strconv.Itoa(i), pluginID, &reqs[i])
		sep := 0
		if i > cur.from {
			sep = 1
		}
		if i > cur.from && len(cur.body)+sep+len(item)+len(tail) > c.cfg.MaxBodyBytes {
			cur.to = i
			cur.body = append(cur.body, tail...)
			out = append(out, cur)
			cur = chunk{from: i, body: append([]byte(nil), head...)}
			sep = 0
		}
		if sep == 1 {
			cur.body = append(cur.body, ',')
		}
		cur.body = append(cur.body, item...)
	}
	if len(reqs) > cur.from {
		cur.to = len(reqs)
		cur.body = append(cur.body, tail...)
		out = append(out, cur)
	}
	return out
}
