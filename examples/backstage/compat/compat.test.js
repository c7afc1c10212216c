'use strict';
// Backstage's own PermissionClient (@backstage/plugin-permission-common
// 0.9.11) against the real Verdict binary, with Backstage's real permission
// integration router (@backstage/plugin-permission-node 0.11.4) answering
// apply-conditions for a fake catalog. Every answer goes through the
// client's own zod schemas; the test asserts the exact decisions, what went
// over the wire to Verdict (a recording proxy) and to the catalog, and
// Verdict's own counters.
//
//   npm ci && node --test        (or: make backstage-compat from the repo root)

// Node 18 has no global WebCrypto without a flag; the client calls
// globalThis.crypto.randomUUID().
globalThis.crypto ??= require('node:crypto').webcrypto;

const assert = require('node:assert/strict');
const { after, before, describe, test } = require('node:test');
const { ConfigReader } = require('@backstage/config');
const { PermissionClient, AuthorizeResult, createPermission } = require('@backstage/plugin-permission-common');
const { createConditionAuthorizer, createConditionTransformer } = require('@backstage/plugin-permission-node');
const {
  catalogEntityCreatePermission: create,
  catalogEntityDeletePermission: del,
  catalogEntityReadPermission: read,
  catalogEntityRefreshPermission: refresh,
  catalogLocationCreatePermission: locationCreate,
} = require('@backstage/plugin-catalog-common/alpha');
const { startBackstage } = require('./lib/backstage');
const { startVerdict } = require('./lib/verdict');

const { ALLOW, DENY, CONDITIONAL } = AuthorizeResult;

// Permissions no Verdict module claims: DENY by default.
const scaffolderExecute = createPermission({ name: 'scaffolder.action.execute', attributes: {} });
const taskRead = createPermission({ name: 'scaffolder.task.read', attributes: { action: 'read' }, resourceType: 'scaffolder-task' });

const STATIC_TOKEN = 'compat-apply-conditions-token';
const OPS_TOKEN = 'compat-ops-token-0123456789';

const ALICE = 'user:default/alice';
const BOB = 'user:default/bob';
const ownership = {
  [ALICE]: [ALICE, 'group:default/team-a'],
  [BOB]: [BOB, 'group:default/team-b'],
};
const TEAM_A_SVC = 'component:default/team-a-service';
const ALICE_LIB = 'component:default/alice-lib';
const TEAM_B_SVC = 'component:default/team-b-service';
const TEAM_B = 'group:default/team-b';
const MISSING = 'component:default/does-not-exist';
const entities = {
  [TEAM_A_SVC]: 'group:default/team-a',
  [ALICE_LIB]: ALICE,
  [TEAM_B_SVC]: 'group:default/team-b',
  [TEAM_B]: undefined,
};

let backstage;
let verdict;

before(async () => {
  backstage = await startBackstage({ staticToken: STATIC_TOKEN, ownership, entities });
  verdict = await startVerdict({
    backstageUrl: backstage.url,
    applyConditionsToken: STATIC_TOKEN,
    opsToken: OPS_TOKEN,
    allow: ['catalog.entity.create'],
  });
});

after(async () => {
  const stopped = await verdict?.stop();
  await backstage?.close();
  if (stopped && stopped.code !== 0) {
    throw new Error(`verdict exited with ${stopped.code ?? stopped.signal}:\n${verdict.output()}`);
  }
});

// client is Backstage's PermissionClient with discovery sending
// "permission" to Verdict (through the recording proxy).
function client({ batched = false } = {}) {
  return new PermissionClient({
    config: new ConfigReader({ permission: { enabled: true, EXPERIMENTAL_enableBatchedRequests: batched } }),
    discovery: {
      getBaseUrl: async id => {
        assert.equal(id, 'permission');
        return `${verdict.proxyUrl}/api/permission`;
      },
      getExternalBaseUrl: async id => `${verdict.proxyUrl}/api/${id}`,
    },
  });
}

// call runs fn and returns what it produced together with the /authorize
// exchanges and the apply-conditions calls it caused.
async function call(fn) {
  const ex = verdict.exchanges.length;
  const ac = backstage.counts.applyConditions.length;
  const ui = backstage.counts.userinfo.length;
  let result;
  let error;
  try {
    result = await fn();
  } catch (e) {
    error = e;
  }
  return {
    result,
    error,
    exchanges: verdict.exchanges.slice(ex),
    applyConditions: backstage.counts.applyConditions.slice(ac),
    userinfo: backstage.counts.userinfo.slice(ui),
  };
}

const results = rs => rs.map(r => r.result);
// authorizeConditional hands back the response items as parsed, ids included.
const withoutIds = rs => rs.map(({ id, ...r }) => (assert.equal(typeof id, 'string'), r));
const ownerCondition = user => ({
  rule: 'IS_ENTITY_OWNER',
  resourceType: 'catalog-entity',
  params: { claims: ownership[user] },
});

// One Verdict call that must have reached /authorize with these items and
// answered 200.
function assertOneExchange(c, token) {
  assert.equal(c.exchanges.length, 1, 'one POST to Verdict');
  const [x] = c.exchanges;
  assert.equal(x.method, 'POST');
  assert.equal(x.path, '/api/permission/authorize');
  assert.equal(x.authorization, token === undefined ? undefined : `Bearer ${token}`);
  return x;
}

// The apply-conditions calls of one /authorize request: one batched call to
// the catalog, authenticated with the static token, asking IS_ENTITY_OWNER
// with the user's ownership for each item.
function assertApplyConditions(c, user, refsByItem) {
  assert.equal(c.applyConditions.length, 1, 'one apply-conditions call, batched');
  const [call] = c.applyConditions;
  assert.equal(call.authorization, `Bearer ${STATIC_TOKEN}`);
  assert.deepEqual(call.body.items.map(i => i.resourceRef), refsByItem);
  for (const item of call.body.items) {
    assert.equal(item.resourceType, 'catalog-entity');
    assert.deepEqual(item.conditions, ownerCondition(user));
  }
}

// The mix of basic, owned, unowned, missing and unclaimed items used below,
// with the expected answer of each for Alice.
const mixed = [
  [{ permission: create }, ALLOW], // basic, allow-list
  [{ permission: locationCreate }, DENY], // basic, claimed by catalog-owner which abstains
  [{ permission: scaffolderExecute }, DENY], // basic, unclaimed
  [{ permission: read, resourceRef: TEAM_A_SVC }, ALLOW], // owned through her group
  [{ permission: read, resourceRef: ALICE_LIB }, ALLOW], // owned by her
  [{ permission: read, resourceRef: TEAM_B_SVC }, DENY], // someone else's
  [{ permission: read, resourceRef: TEAM_B }, DENY], // no owner at all
  [{ permission: read, resourceRef: MISSING }, DENY], // not in the catalog
  [{ permission: del, resourceRef: ALICE_LIB }, ALLOW],
  [{ permission: del, resourceRef: TEAM_B_SVC }, DENY],
  [{ permission: taskRead, resourceRef: 'scaffolder-task:default/t1' }, DENY], // resource, unclaimed
];
const mixedRequests = mixed.map(([q]) => q);
const mixedExpected = mixed.map(([, r]) => r);
const mixedConditional = mixed.filter(([q]) => q.permission.resourceType === 'catalog-entity').map(([q]) => q.resourceRef);

describe('normal mode', () => {
  test('user token (ownership from user info): authorize basic and resource permissions', async () => {
    const token = backstage.userToken(ALICE);
    const c = await call(() => client().authorize(mixedRequests, { token }));
    assert.ifError(c.error);
    assert.deepEqual(results(c.result), mixedExpected);
    const x = assertOneExchange(c, token);
    assert.equal(x.status, 200);
    assert.equal(x.request.items.length, mixed.length);
    // Verdict's answer on the wire: ids echoed once each, in order; the
    // client stripped the extra "reason" field.
    assert.deepEqual(x.response.items.map(i => i.id), x.request.items.map(i => i.id));
    assert.deepEqual(x.response.items.map(i => i.result), mixedExpected);
    assertApplyConditions(c, ALICE, mixedConditional);
    assert.deepEqual(c.userinfo, [ALICE], 'ownership looked up once, through user info');
  });

  test('user token with an ent claim: no user-info call', async () => {
    const token = backstage.userToken(BOB, { ent: ownership[BOB] });
    const c = await call(() => client().authorize([
      { permission: read, resourceRef: TEAM_B_SVC },
      { permission: read, resourceRef: TEAM_A_SVC },
      { permission: del, resourceRef: TEAM_B_SVC },
    ], { token }));
    assert.ifError(c.error);
    assert.deepEqual(results(c.result), [ALLOW, DENY, ALLOW]);
    assertOneExchange(c, token);
    assertApplyConditions(c, BOB, [TEAM_B_SVC, TEAM_A_SVC, TEAM_B_SVC]);
    assert.deepEqual(c.userinfo, []);
  });

  test('plugin token on behalf of a user: authorize', async () => {
    const token = backstage.pluginToken({ onBehalfOf: ALICE });
    const c = await call(() => client().authorize(mixedRequests, { token }));
    assert.ifError(c.error);
    assert.deepEqual(results(c.result), mixedExpected);
    assertOneExchange(c, token);
    assertApplyConditions(c, ALICE, mixedConditional);
    assert.deepEqual(c.userinfo, [ALICE], 'user info asked with the obo token');
  });

  test('plugin token on behalf of a user: authorizeConditional returns the criteria', async () => {
    const token = backstage.pluginToken({ onBehalfOf: ALICE });
    const c = await call(() => client().authorizeConditional([
      { permission: read },
      { permission: del },
      { permission: refresh },
      { permission: taskRead },
    ], { token }));
    assert.ifError(c.error);
    const decision = { result: CONDITIONAL, pluginId: 'catalog', resourceType: 'catalog-entity', conditions: ownerCondition(ALICE) };
    assert.deepEqual(withoutIds(c.result), [decision, decision, decision, { result: DENY }]);
    assertOneExchange(c, token);
    assert.equal(c.applyConditions.length, 0, 'the query form never calls apply-conditions');

    // The catalog can use the criteria as Backstage plugins do: as a query
    // filter, and evaluated over its entities by the same rules.
    const transform = createConditionTransformer(backstage.rules);
    assert.deepEqual(transform(c.result[0].conditions), { key: 'relations.ownedBy', values: ownership[ALICE] });
    const authorize = createConditionAuthorizer(backstage.rules);
    const visible = [...backstage.entities].filter(([, e]) => authorize(c.result[0], e)).map(([ref]) => ref);
    assert.deepEqual(visible, [TEAM_A_SVC, ALICE_LIB]);
  });

  test('an empty request', async () => {
    const token = backstage.userToken(ALICE);
    const c = await call(() => client().authorize([], { token }));
    assert.ifError(c.error);
    assert.deepEqual(c.result, []);
    assert.deepEqual(assertOneExchange(c, token).response.items, []);
  });
});

describe('batched mode (permission.EXPERIMENTAL_enableBatchedRequests)', () => {
  test('user token: authorize, one item per permission with resourceRef arrays', async () => {
    const token = backstage.userToken(ALICE);
    const queries = [...mixedRequests, { permission: read, resourceRef: TEAM_A_SVC }]; // a duplicate ref
    const c = await call(() => client({ batched: true }).authorize(queries, { token }));
    assert.ifError(c.error);
    assert.deepEqual(results(c.result), [...mixedExpected, ALLOW]);
    const x = assertOneExchange(c, token);
    assert.equal(x.status, 200);
    const byName = Object.fromEntries(x.request.items.map((it, i) => [it.permission.name, { it, res: x.response.items[i] }]));
    assert.equal(x.request.items.length, 6, 'six permission names');
    assert.deepEqual(byName['catalog.entity.read'].it.resourceRef, [TEAM_A_SVC, ALICE_LIB, TEAM_B_SVC, TEAM_B, MISSING, TEAM_A_SVC]);
    assert.deepEqual(byName['catalog.entity.read'].res.result, [ALLOW, ALLOW, DENY, DENY, DENY, ALLOW]);
    assert.deepEqual(byName['catalog.entity.delete'].res.result, [ALLOW, DENY]);
    // Unclaimed resource permission with a ref array. Backstage answers a
    // definitive decision with a scalar (the client copies it to every
    // query); Verdict decides each ref and answers an array. The client
    // accepts both.
    assert.deepEqual(byName['scaffolder.task.read'].it.resourceRef, ['scaffolder-task:default/t1']);
    assert.ok([DENY, [DENY]].some(r => JSON.stringify(r) === JSON.stringify(byName['scaffolder.task.read'].res.result)));
    assert.equal(byName['catalog.entity.create'].res.result, ALLOW);
    assert.equal(byName['catalog.entity.create'].it.resourceRef, undefined);
    assertApplyConditions(c, ALICE, [
      [TEAM_A_SVC, ALICE_LIB, TEAM_B_SVC, TEAM_B, MISSING, TEAM_A_SVC],
      [ALICE_LIB, TEAM_B_SVC],
    ]);
  });

  test('plugin token on behalf of a user: authorize', async () => {
    const token = backstage.pluginToken({ onBehalfOf: BOB });
    const c = await call(() => client({ batched: true }).authorize([
      { permission: read, resourceRef: TEAM_B_SVC },
      { permission: create },
      { permission: read, resourceRef: TEAM_A_SVC },
      { permission: refresh, resourceRef: MISSING },
      { permission: refresh, resourceRef: TEAM_A_SVC },
      { permission: scaffolderExecute },
    ], { token }));
    assert.ifError(c.error);
    assert.deepEqual(results(c.result), [ALLOW, ALLOW, DENY, DENY, DENY, DENY]);
    assertOneExchange(c, token);
    assertApplyConditions(c, BOB, [[TEAM_B_SVC, TEAM_A_SVC], [MISSING, TEAM_A_SVC]]);
  });

  test('basic permissions only: no apply-conditions call', async () => {
    const token = backstage.userToken(ALICE);
    const c = await call(() => client({ batched: true }).authorize([
      { permission: create }, { permission: locationCreate }, { permission: create },
    ], { token }));
    assert.ifError(c.error);
    assert.deepEqual(results(c.result), [ALLOW, DENY, ALLOW]);
    assert.equal(assertOneExchange(c, token).request.items.length, 2);
    assert.equal(c.applyConditions.length, 0);
  });

  test('authorizeConditional is not batched and still returns the criteria', async () => {
    const token = backstage.pluginToken({ onBehalfOf: BOB });
    const c = await call(() => client({ batched: true }).authorizeConditional([{ permission: del }], { token }));
    assert.ifError(c.error);
    assert.deepEqual(withoutIds(c.result), [{ result: CONDITIONAL, pluginId: 'catalog', resourceType: 'catalog-entity', conditions: ownerCondition(BOB) }]);
    assertOneExchange(c, token);
  });
});

// Errors reach the client as Backstage's ResponseError, built from
// Verdict's envelope (ResponseError.fromResponse reads it only when it is
// JSON with "error" and "response").
describe('errors, as the client sees them', () => {
  async function expectError(fn, status, name, message) {
    const c = await call(fn);
    assert.ok(c.error, 'the call must fail');
    assert.equal(c.error.name, 'ResponseError', String(c.error));
    assert.equal(c.error.statusCode, status);
    assert.equal(c.error.body.error.name, name);
    assert.equal(c.error.body.response.statusCode, status);
    assert.equal(c.error.cause.name, name, 'the cause is deserialized from the envelope');
    if (message !== undefined) assert.equal(c.error.body.error.message, message);
    assert.equal(c.exchanges.length, 1);
    assert.match(c.exchanges[0].contentType, /^application\/json/);
    return c;
  }

  test('a direct user asking the query form: 400', () => expectError(
    () => client().authorizeConditional([{ permission: read }], { token: backstage.userToken(ALICE) }),
    400, 'InputError',
    'Resource permissions require a resourceRef to be set. Direct user requests without a resourceRef are not allowed.'));

  test('no token: 401', () => expectError(
    () => client().authorize([{ permission: create }]), 401, 'AuthenticationError', 'Missing credentials'));

  test('a token signed by an unknown key: 401', () => expectError(
    () => client().authorize([{ permission: create }], { token: backstage.userToken(ALICE, { issuer: backstage.strangerIssuer() }) }),
    401, 'AuthenticationError'));

  test('a service principal (static externalAccess token): 403', () => expectError(
    () => client({ batched: true }).authorize([{ permission: create }], { token: OPS_TOKEN }),
    403, 'NotAllowedError', "This endpoint does not allow 'service' credentials"));

  test('a user the auth backend does not know: user info 404 passed on', () => expectError(
    () => client().authorize([{ permission: create }], { token: backstage.userToken('user:default/nobody') }),
    404, 'ResponseError'));

  test("the catalog refuses Verdict's token: the plugin's 401 passed on", async () => {
    backstage.acceptToken('another-token-entirely');
    try {
      const c = await expectError(
        () => client().authorize([{ permission: read, resourceRef: ALICE_LIB }], { token: backstage.userToken(ALICE) }),
        401, 'ResponseError');
      assert.deepEqual(c.error.body.error.cause, { name: 'AuthenticationError', message: 'Illegal token' });
    } finally {
      backstage.acceptToken(STATIC_TOKEN);
    }
  });
});

test('Verdict counted what it answered', async () => {
  const authorized = verdict.exchanges.filter(x => x.path === '/api/permission/authorize');
  const metrics = await (await fetch(`${verdict.url}/metrics`)).text();
  const count = code => Number(new RegExp(`^verdict_http_requests_total\\{code="${code}",route="/authorize"\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? 0);
  for (const code of [200, 400, 401, 403, 404]) {
    assert.equal(count(code), authorized.filter(x => x.status === code).length, `/authorize answers with ${code}`);
  }
  const res = await fetch(`${verdict.url}/v1/policies`, { headers: { authorization: `Bearer ${OPS_TOKEN}` } });
  assert.equal(res.status, 200);
  const { policies } = await res.json();
  const byName = Object.fromEntries(policies.map(p => [p.name, p]));
  for (const name of ['catalog-owner', 'allow-list']) {
    assert.equal(byName[name]?.status, 'OK', name);
    assert.ok(byName[name].counters.calls > 0, `${name} was called`);
  }
  assert.ok(backstage.counts.authJwks >= 1, 'Verdict fetched the auth JWKS');
  assert.ok(backstage.counts.catalogJwks >= 1, "Verdict fetched the catalog's plugin JWKS");
});
