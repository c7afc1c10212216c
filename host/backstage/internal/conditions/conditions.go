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
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/verdictpdp/verdict/abi"
	"github.com/verdictpdp/verdict/host/backstage/internal/identity"
	"github.com/verdictpdp/verdict/host/backstage/internal/upstream"
)

// Path is where a plugin serves apply-conditions, below its base URL.
const Path = "/.well-known/backstage/permissions/apply-conditions"

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
