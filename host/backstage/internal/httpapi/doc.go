// Package httpapi is Verdict's HTTP adapter: the Backstage-compatible
// permission endpoints (POST {base}/authorize, GET {base}/health), the native
// API (POST /v1/authorize, GET /v1/policies) and the probes (/healthz,
// /readyz). It turns requests into host.Query batches for a Decider and
// answers in Backstage's wire format.
//
// # Order of checks on POST {base}/authorize
//
// Backstage's own order, as measured against a real backend:
//
//  1. the bearer token is verified (401 AuthenticationError when it is
//     missing, outside dev mode, or unknown);
//  2. the body is read and parsed (413 PayloadTooLargeError above
//     Limits.BodyBytes; 503 ServiceUnavailableError when a body past its
//     first 64 KiB finds no room in Limits.BodyBytesInFlight before
//     Limits.RequestTimeout; 400 InputError when nested deeper than
//     Limits.JSONDepth, 400 SyntaxError for malformed JSON, 400 InputError
//     for a repeated key, invalid UTF-8 or a lone surrogate escape, which
//     JSON parsers read differently (a declared deviation: Backstage reads
//     them); a body without a JSON content type is not read at all and
//     counts as {});
//  3. service principals are refused (403 NotAllowedError);
//  4. the body is validated like Backstage's zod schema (400 InputError whose
//     message is the JSON dump of zod-shaped issues; unknown keys are
//     stripped, not rejected), and more than Limits.BatchItems items or
//     Limits.ResourceRefs resourceRef elements is 400 (a declared
//     deviation: Backstage has no cap);
//  5. the direct-user rule (a user without an actor may not ask about a
//     resource permission without a resourceRef: 400 InputError);
//  6. the user's ownership is found, the Decider is asked and CONDITIONAL
//     decisions for items with a resourceRef are resolved, all under one
//     deadline of Limits.RequestTimeout.
//
// # Answers
//
// Every item is answered once, in request order, with its id echoed as
// given (duplicates included). An item whose resourceRef is an array is
// asked as one host.Query per ref. It is answered with a scalar result when
// no ref needed apply-conditions and every ref got the same ALLOW or DENY
// with the same reason (as Backstage answers a definitive decision), else
// with an array, one result per ref (appendResults in encode.go). A CONDITIONAL decision for an item that
// carries a resourceRef is never returned: it is resolved through the
// owning plugin's apply-conditions endpoint (WithConditions), batched per
// plugin, and becomes the plugin's ALLOW or DENY; without a resolver, or
// when the plugin cannot be reached, it is DENY with a reason. A plugin
// that refuses the call (non-2xx) fails the request with its status, as a
// ResponseError, as in Backstage. Any item may carry a "reason" string,
// which Backstage clients strip.
//
// # Identity
//
// Static external-access tokens are checked here; every other token goes
// to the TokenVerifier (WithTokens, normally an *identity.Verifier: user,
// plugin, jwks and legacy tokens). A user's ownershipEntityRefs come from
// the OwnershipResolver (WithOwnership) once per request, after the body
// was validated, as in Backstage; its refusal (e.g. 404 from user info) is
// passed on as a ResponseError with that status.
//
// Credentials come before routing, as Backstage's credentials barrier:
// outside dev mode, a request under the base path that no route answers
// (an unknown path or another method) is 401 without a token that
// verifies, except /health (and below) and the JWKS route; one under /v1/
// needs a trusted token. See server.barrier.
//
// # Errors
//
// Every error uses Backstage's envelope
// {"error":{"name","message"},"request":{"method","url"},"response":{"statusCode"}}
// with request.url relative to the base path for the Backstage endpoints.
// One function, classify, maps errors to statuses. No error path answers
// ALLOW.
package httpapi
