// Package identity verifies Backstage bearer tokens and finds the
// ownership of users, the way Backstage's auth and user-info services do,
// so that Verdict sees the same principal as Backstage's own permission
// backend would.
//
// # Tokens
//
// Verify recognises, in Backstage's order:
//
//   - plugin tokens (JOSE typ "vnd.backstage.plugin"): sub is the calling
//     plugin, verified with <discovery(sub)>/.backstage/auth/v1/jwks.json;
//     aud must name Verdict's plugin id ("permission"). With an "obo"
//     claim (a limited user token, verified with the auth backend's JWKS)
//     the principal is that user with the plugin as actor; without, it is
//     the service "plugin:<sub>".
//   - user tokens (typ "vnd.backstage.user", or legacy ones without typ
//     and with aud "backstage"), verified with
//     <discovery(auth)>/.well-known/jwks.json. Limited user tokens (typ
//     "vnd.backstage.limited-user") verify the same way but are refused as
//     a bearer, as Backstage refuses them without allowLimitedAccess.
//   - external access of type legacy (HS256 with a shared secret, sub
//     "backstage-server") and jwks (a configured JWKS URL, issuer,
//     audience, algorithms), giving service principals.
//
// Static external-access tokens are opaque strings, checked by the caller
// before Verify. A verified token is cached, keyed by its SHA-256, until
// it expires, so a steady caller pays for signature checks (an ES256
// check costs tens of microseconds; an on-behalf-of token needs two) once
// per token. Key sets are fetched on demand and refreshed when a token
// names an unknown kid, at most once per 30 s per URL after a successful
// fetch. Fetches of key sets and user info belong to no single request:
// each runs detached from the request that started it, with its own
// timeout (Config.Timeout) and size bound, concurrent requests share it,
// and one that fails or is abandoned leaves nothing behind that would
// make the next valid token fail.
//
// # Ownership
//
// UserInfo gives a user's ownershipEntityRefs: the token's "ent" claim
// when it has one, else GET <discovery(auth)>/v1/userinfo with the
// user's token, cached for 5 s per token like Backstage's cached user-info
// service. Backstage's auth backend leaves "ent" out by default, so the
// call is the usual case.
package identity
