// Package pluginkeys mints Backstage plugin tokens for Verdict's outbound
// calls, the way Backstage's permission backend authenticates to plugins
// (auth.getPluginRequestToken), and publishes the keys that verify them.
//
// # Keys
//
// The key store has Backstage's backend.auth.pluginKeyStore static shape:
// a list of PEM key pairs (public key SPKI, private key PKCS#8 or SEC 1),
// each with a key id and an algorithm (ES256, ES384 or ES512). The first
// key signs; every key is published, so a key being retired can stay
// listed, without its private key, until tokens signed with it have
// expired. With no keys configured, New generates an ES256 key in memory:
// tokens then change at every restart, and replicas do not know each
// other's keys, so several replicas behind one URL need a static store.
//
// # Tokens
//
// A minted token has the header {alg, kid, typ: "vnd.backstage.plugin"}
// and the claims {sub: <Verdict's plugin id>, aud: <target plugin id>,
// iat, exp}, plus obo (a limited user token) when the call is made on
// behalf of a user; exp is an hour after iat, or the user token's expiry
// if that is sooner. Tokens are cached per target and obo token and reused
// until RenewBefore ahead of their expiry. Keys and tokens are never
// logged.
//
// The public keys are served, unauthenticated, as a JWKS by KeysHandler;
// Backstage plugins fetch it from {discovery(permission)}/.backstage/auth/v1/jwks.json.
package pluginkeys
