'use strict';
// A fake Backstage backend on loopback, with Backstage's default discovery
// layout (/api/<pluginId>):
//
//   auth     GET /api/auth/.well-known/jwks.json      public key of user tokens
//            GET /api/auth/v1/userinfo                {"claims":{"sub","ent"}} for the bearer
//   catalog  GET /api/catalog/.backstage/auth/v1/jwks.json   public key of the
//            catalog's plugin tokens (on-behalf-of calls to permission)
//            /api/catalog/.well-known/backstage/permissions/*  Backstage's REAL
//            integration router (createPermissionIntegrationRouter from
//            @backstage/plugin-permission-node) with the catalog's
//            IS_ENTITY_OWNER and IS_ENTITY_KIND rules over a few entities.
//
// Tokens are minted the way Backstage mints them (ES256, node:crypto):
// user tokens (typ vnd.backstage.user) carry a "uip" claim that is the
// signature of the matching limited user token; plugin tokens (typ
// vnd.backstage.plugin) carry sub=<calling plugin>, aud=<target plugin> and
// obo=<limited user token>.

const crypto = require('node:crypto');
const http = require('node:http');
const express = require('express');
const { z } = require('zod');
const { serializeError } = require('@backstage/errors');
const {
  createPermissionIntegrationRouter,
  createPermissionRule,
} = require('@backstage/plugin-permission-node');
const {
  RESOURCE_TYPE_CATALOG_ENTITY,
  catalogPermissions,
} = require('@backstage/plugin-catalog-common/alpha');

const b64u = s => Buffer.from(s).toString('base64url');

// Issuer is an ES256 key pair that signs JWTs and publishes its JWKS.
class Issuer {
  constructor(kid) {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.kid = kid;
    this.privateKey = privateKey;
    this.publicKey = publicKey;
  }

  jwks() {
    return { keys: [{ ...this.publicKey.export({ format: 'jwk' }), kid: this.kid, alg: 'ES256', use: 'sig' }] };
  }

  // signingInput is "<header>.<payload>", base64url.
  signingInput(typ, claims) {
    return `${b64u(JSON.stringify({ typ, alg: 'ES256', kid: this.kid }))}.${b64u(JSON.stringify(claims))}`;
  }

  signature(input) {
    return crypto.sign('sha256', Buffer.from(input), { key: this.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  }

  sign(typ, claims) {
    const input = this.signingInput(typ, claims);
    return `${input}.${this.signature(input)}`;
  }

  // verify returns the token's header and claims if this key signed it.
  verify(token) {
    const parts = String(token).split('.');
    if (parts.length !== 3) return undefined;
    const ok = crypto.verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`),
      { key: this.publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(parts[2], 'base64url'));
    if (!ok) return undefined;
    return { header: JSON.parse(Buffer.from(parts[0], 'base64url')), claims: JSON.parse(Buffer.from(parts[1], 'base64url')) };
  }
}

// The catalog's own rules (plugin-catalog-backend's IS_ENTITY_OWNER and
// IS_ENTITY_KIND), over entities with ownedBy relations.
const isEntityOwner = createPermissionRule({
  name: 'IS_ENTITY_OWNER',
  description: 'Allow entities owned by a specified claim',
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
  paramsSchema: z.object({
    claims: z.array(z.string()).describe('List of claims to match at least one on within ownedBy'),
  }),
  apply: (entity, { claims }) =>
    (entity.relations ?? []).filter(r => r.type === 'ownedBy').some(r => claims.includes(r.targetRef)),
  toQuery: ({ claims }) => ({ key: 'relations.ownedBy', values: claims }),
});
const isEntityKind = createPermissionRule({
  name: 'IS_ENTITY_KIND',
  description: 'Allow entities matching a specified kind',
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
  paramsSchema: z.object({
    kinds: z.array(z.string()).describe('List of kinds to match at least one of'),
  }),
  apply: (entity, { kinds }) =>
    kinds.map(k => k.toLocaleLowerCase('en-US')).includes(entity.kind.toLocaleLowerCase('en-US')),
  toQuery: ({ kinds }) => ({ key: 'kind', values: kinds.map(k => k.toLocaleLowerCase('en-US')) }),
});
const catalogRules = [isEntityOwner, isEntityKind];

function entity(ref, owner) {
  const [kind, rest] = ref.split(':');
  const [namespace, name] = rest.split('/');
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: kind[0].toUpperCase() + kind.slice(1),
    metadata: { namespace, name },
    relations: owner ? [{ type: 'ownedBy', targetRef: owner }] : [],
  };
}

// Backstage's error envelope, status from the error's name as the backend's
// error middleware does.
const statusByName = {
  InputError: 400, AuthenticationError: 401, NotAllowedError: 403, NotFoundError: 404,
  NotImplementedError: 501,
};
function sendError(req, res, status, name, message) {
  res.status(status).json({
    error: { name, message },
    request: { method: req.method, url: req.originalUrl },
    response: { statusCode: status },
  });
}
function errorMiddleware(err, req, res, _next) {
  const status = err.statusCode ?? err.status ?? statusByName[err.name] ?? 500;
  res.status(status).json({
    error: serializeError(err),
    request: { method: req.method, url: req.originalUrl },
    response: { statusCode: status },
  });
}

// startBackstage serves the fake backend on 127.0.0.1 and resolves to an
// object with its URL, token minting helpers and request counters.
async function startBackstage({ staticToken, ownership, entities }) {
  let accepted = staticToken;
  const auth = new Issuer('auth-key-1');
  const catalog = new Issuer('catalog-key-1');
  const byRef = new Map(Object.entries(entities).map(([ref, owner]) => [ref, entity(ref, owner)]));
  const counts = { authJwks: 0, catalogJwks: 0, userinfo: [], applyConditions: [], getResources: [] };

  const app = express();
  app.get('/api/auth/.well-known/jwks.json', (_req, res) => {
    counts.authJwks++;
    res.json(auth.jwks());
  });
  // What Backstage's auth backend answers: the claims of the (full or
  // limited) user token, with ent from the catalog.
  app.get('/api/auth/v1/userinfo', (req, res) => {
    const m = /^Bearer[ ]+(\S+)$/i.exec(req.headers.authorization ?? '');
    const t = m && auth.verify(m[1]);
    if (!t || !['vnd.backstage.user', 'vnd.backstage.limited-user'].includes(t.header.typ) ||
        t.claims.exp * 1000 < Date.now()) {
      sendError(req, res, 401, 'AuthenticationError', 'Missing credentials');
      return;
    }
    counts.userinfo.push(t.claims.sub);
    const ent = ownership[t.claims.sub];
    if (!ent) {
      sendError(req, res, 404, 'NotFoundError', `User ${t.claims.sub} not found`);
      return;
    }
    res.json({ claims: { sub: t.claims.sub, ent } });
  });
  app.get('/api/catalog/.backstage/auth/v1/jwks.json', (_req, res) => {
    counts.catalogJwks++;
    res.json(catalog.jwks());
  });

  const router = createPermissionIntegrationRouter({
    resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
    permissions: catalogPermissions,
    rules: catalogRules,
    getResources: async refs => {
      counts.getResources.push(refs);
      return refs.map(ref => byRef.get(ref));
    },
  });
  // In a real backend the credentials barrier and the permissions registry
  // admit service principals (here: the static externalAccess token Verdict
  // sends) and users with an actor; everything else is refused.
  app.use('/api/catalog', (req, res, next) => {
    if (req.path.startsWith('/.well-known/backstage/permissions/')) {
      const m = /^Bearer[ ]+(\S+)$/i.exec(req.headers.authorization ?? '');
      if (!m) return sendError(req, res, 401, 'AuthenticationError', 'Missing credentials');
      if (m[1] !== accepted) return sendError(req, res, 401, 'AuthenticationError', 'Illegal token');
    }
    return next();
  });
  // Record each apply-conditions body as the router's express.json() parsed it.
  app.use('/api/catalog/.well-known/backstage/permissions/apply-conditions', express.json(), (req, _res, next) => {
    counts.applyConditions.push({ authorization: req.headers.authorization, body: req.body });
    next();
  });
  app.use('/api/catalog', router);
  app.use((req, res) => res.status(404).type('html').send(`<!DOCTYPE html><pre>Cannot ${req.method} ${req.path}</pre>`));
  app.use(errorMiddleware);

  const server = http.createServer(app);
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;

  const now = () => Math.floor(Date.now() / 1000);
  return {
    url,
    counts,
    rules: catalogRules,
    entities: byRef,
    close: () => new Promise(resolve => { server.closeAllConnections?.(); server.close(resolve); }),
    // userToken mints a full user token as Backstage's auth backend does:
    // header typ vnd.backstage.user; ent only when given (auth-backend
    // leaves it out by default); uip signs the limited token.
    userToken(sub, { ent, issuer = auth, ttl = 3600 } = {}) {
      const iat = now();
      const exp = iat + ttl;
      const limited = this.limitedToken(sub, { iat, exp, issuer });
      const uip = limited.split('.')[2];
      const claims = { iss: `${url}/api/auth`, sub, ...(ent ? { ent } : {}), aud: 'backstage', iat, exp, uip };
      return issuer.sign('vnd.backstage.user', claims);
    },
    // limitedToken is what Backstage puts in a plugin token's obo claim.
    limitedToken(sub, { iat = now(), exp = iat + 3600, issuer = auth } = {}) {
      return issuer.sign('vnd.backstage.limited-user', { sub, iat, exp });
    },
    // pluginToken is a catalog plugin token for target "permission"; with
    // onBehalfOf, on behalf of that user (obo = the limited user token).
    pluginToken({ onBehalfOf, target = 'permission' } = {}) {
      const iat = now();
      const claims = { sub: 'catalog', aud: target, iat, exp: iat + 3600 };
      if (onBehalfOf) claims.obo = this.limitedToken(onBehalfOf, { iat, exp: iat + 3600 });
      return catalog.sign('vnd.backstage.plugin', claims);
    },
    strangerIssuer: () => new Issuer('auth-key-1'),
    // acceptToken changes the static token the catalog accepts.
    acceptToken(token) { accepted = token; },
  };
}

module.exports = { startBackstage, Issuer };
