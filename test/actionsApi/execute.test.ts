// Issue 11 point 4, the execute API (`execute(entity, action, params)`), through the whole service:
// real bot tokens (FAKE Entra), real admin keys, real connections from the oidc-provider, declared
// actions run by the engine against a STAND-IN provider API on 127.0.0.1 and against the dev demo CRM.
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { consentInBrowser } from '../support/engineHarness';
import { BOT_A } from '../support/tokenServiceWorld';
import {
  ADMIN_KEY,
  ALICE_AT_A,
  answerOf,
  connect,
  DEVELOPER_KEY,
  ORGANIZATION,
  startActionsApiWorld,
  type ActionsApiWorld,
  type Answer,
} from './actionsApiWorld';
import { CREATE_NOTE_ACTION } from '../support/chatActions';

const LIST = {
  entity: 'deals',
  action: 'list',
  title: 'List deals',
  description: 'Deals, newest first',
  path: '/deals',
  query: { limit: '{{limit}}' },
  params: { limit: { type: 'integer', default: 5, minimum: 1, maximum: 100 } },
  scopes: ['crm.objects.deals.read'],
  results: {
    path: 'results',
    totalPath: 'total',
    titleField: 'properties.dealname',
    fields: [
      { path: 'id', label: 'Id' },
      { path: 'properties.dealname', name: 'dealname', label: 'Deal' },
      { path: 'properties.amount', name: 'amount', label: 'Amount', format: 'currency' },
    ],
  },
};
const CREATE = CREATE_NOTE_ACTION;
const NEEDS_MORE = { ...LIST, action: 'admin', title: 'Needs more', scopes: ['admin.write'] };
const DEMO_LIST = {
  entity: 'deals',
  action: 'list',
  title: 'List deals',
  path: '/crm/v3/objects/deals',
  query: { limit: '{{limit}}', properties: 'dealname,amount' },
  params: { limit: { type: 'integer', default: 3, minimum: 1, maximum: 100 } },
  scopes: ['crm.objects.deals.read'],
  results: {
    path: 'results',
    fields: [
      { path: 'id', label: 'Id' },
      { path: 'properties.dealname', name: 'dealname', label: 'Deal' },
    ],
  },
};

let world: ActionsApiWorld;
let botToken: string;

beforeAll(async () => {
  world = await startActionsApiWorld({
    profileExtra: { actions: [LIST, CREATE, NEEDS_MORE] },
    demoCrmExtra: { actions: [DEMO_LIST] },
  });
  botToken = await world.entra.mint(BOT_A.appId);
  await connect(world, 'crm', ALICE_AT_A, { login: 'alice' });
  await connect(world, 'crm-org', ORGANIZATION, { login: 'org-admin' });
  await connect(world, 'demo-crm', ALICE_AT_A, { login: 'alice' });
}, 60_000);

afterAll(async () => {
  await world?.close();
});

beforeEach(() => world.api.reset());

const alice = { userId: 'alice', channelId: 'webchat' };

async function execute(
  path: string,
  body: unknown,
  options: { auth?: string; contentType?: string; raw?: string } = {},
): Promise<Answer> {
  const response = await fetch(`${world.base}/api/actions/${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${options.auth ?? botToken}`,
      'content-type': options.contentType ?? 'application/json',
    },
    body: options.raw ?? JSON.stringify(body),
  });
  return answerOf(response);
}

function errorOf(answer: Answer): Record<string, unknown> & { code: string; message: string } {
  return answer.json<{ error: Record<string, unknown> & { code: string; message: string } }>().error;
}

const dealsPage = (token?: string) =>
  JSON.stringify({
    total: 7,
    results: [
      { id: '1', properties: { dealname: 'Big deal', amount: '5000', hs_secret: token ?? 'x' } },
      { id: '2', properties: { dealname: token ?? 'Small deal', amount: '10' } },
    ],
  });

describe('running an action', () => {
  test("a bot runs an action with its user's connection: the declared fields, never the token", async () => {
    const token = await world.tokenOf('crm', ALICE_AT_A);
    // A careless API that echoes the token, also in a declared field.
    world.api.script('/v1/deals', [{ status: 200, body: (request) => dealsPage(request.token) }]);
    const answer = await execute('crm/deals/list', { params: { limit: 2 }, ...alice });
    expect(answer.status).toBe(200);
    expect(world.api.requests[0]).toMatchObject({ method: 'GET', url: '/v1/deals?limit=2', token });
    expect(answer.json()).toEqual({
      action: 'deals.list',
      status: 200,
      fields: [
        { name: 'id', label: 'Id', format: 'text' },
        { name: 'dealname', label: 'Deal', format: 'text' },
        { name: 'amount', label: 'Amount', format: 'currency' },
      ],
      results: [
        { id: '1', dealname: 'Big deal', amount: '5000' },
        { id: '2', dealname: '[redacted]', amount: '10' },
      ],
      total: 7,
    });
    expect(answer.text).not.toContain(token);
    expect(answer.headers.get('cache-control')).toBe('no-store');
  });

  test('an admin runs it with the organisation connection; the run is audited without its parameters', async () => {
    const token = await world.tokenOf('crm-org', ORGANIZATION);
    world.api.script('/v1/deals', [{ status: 200, body: dealsPage() }]);
    const answer = await execute('crm-org/deals/list', { params: { limit: 42 } }, { auth: ADMIN_KEY });
    expect(answer.status).toBe(200);
    expect(world.api.requests[0]?.token).toBe(token);
    const [entry] = await world.harness.store.audit.list({ limit: 1, target: 'profile:crm-org' });
    expect(entry).toMatchObject({
      actor: 'admin:env-1',
      action: 'action.executed',
      details: { connection: 'org', action: 'deals.list', outcome: 'ok' },
    });
    // Only what is named above: no params member (its value 42 could also occur in the id or time).
    expect(Object.keys(entry?.details ?? {}).sort()).toEqual(['action', 'connection', 'outcome']);
    expect(JSON.stringify(entry)).not.toMatch(/"limit"|"params"/);
  });

  test('through the dev demo CRM: deals in HubSpot shape become the declared fields', async () => {
    const answer = await execute('demo-crm/deals/list', { params: {}, ...alice });
    expect(answer.status).toBe(200);
    const result = answer.json<{ results: { id: string; dealname: string }[] }>();
    expect(result.results).toHaveLength(3);
    expect(result.results[0]).toEqual({ id: expect.any(String), dealname: expect.any(String) });
  });
});

describe('outcomes as errors with stable codes', () => {
  test.each([
    ['unknown action', 'crm/deals/nope', { ...alice }, 404, 'unknown-action'],
    [
      'disabled action (writes are off by default)',
      'crm/notes/create',
      { params: { text: 'hi' }, ...alice },
      403,
      'action-disabled',
    ],
    ['unknown profile', 'nope/deals/list', { ...alice }, 404, 'profile-not-found'],
    [
      'user without a connection',
      'crm/deals/list',
      { userId: 'carol', channelId: 'webchat' },
      409,
      'not-connected',
    ],
  ])('%s', async (_name, path, body, status, code) => {
    const answer = await execute(path, body);
    expect(answer.status).toBe(status);
    expect(errorOf(answer).code).toBe(code);
    expect(answer.headers.get('x-authprofiles-error')).toBe(code);
    expect(world.api.requests).toHaveLength(0);
  });

  test('invalid parameters: 400 naming each one, nothing sent', async () => {
    const answer = await execute('crm/deals/list', { params: { limit: 0, extra: 1 }, ...alice });
    expect(answer.status).toBe(400);
    const error = errorOf(answer);
    expect(error.code).toBe('invalid-params');
    expect(error.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'params.limit' }),
        expect.objectContaining({ path: 'params.extra' }),
      ]),
    );
    expect(world.api.requests).toHaveLength(0);
  });

  test('missing scopes: 403 naming them', async () => {
    const answer = await execute('crm/deals/admin', { ...alice });
    expect(answer.status).toBe(403);
    expect(errorOf(answer)).toMatchObject({ code: 'missing-scopes', missingScopes: ['admin.write'] });
  });

  test('rate limited for longer than 10 s: 429 with Retry-After', async () => {
    world.api.script('/v1/deals', [{ status: 429, headers: { 'retry-after': '120' }, body: '{}' }]);
    const answer = await execute('crm/deals/list', { ...alice });
    expect(answer.status).toBe(429);
    expect(answer.headers.get('retry-after')).toBe('120');
    expect(errorOf(answer)).toMatchObject({ code: 'rate-limited', upstreamStatus: 429 });
    expect(world.api.requests).toHaveLength(1);
  });

  test('a short 429 is waited out; a 401 refreshes once', async () => {
    world.api.script('/v1/deals', [
      { status: 429, headers: { 'retry-after': '1' }, body: '{}' },
      { status: 401, body: '{}' },
      { status: 200, body: dealsPage() },
    ]);
    const answer = await execute('crm/deals/list', { ...alice });
    expect(answer.status).toBe(200);
    expect(world.api.requests).toHaveLength(3);
    expect(world.api.requests[2]?.token).not.toBe(world.api.requests[1]?.token);
  });

  test('the API refusing the refreshed token again is 502 unauthorized; a 5xx twice is 502 unavailable', async () => {
    world.api.script('/v1/deals', [
      { status: 401, body: '{}' },
      { status: 401, body: '{}' },
    ]);
    const refused = await execute('crm/deals/list', { ...alice });
    expect(refused.status).toBe(502);
    expect(errorOf(refused)).toMatchObject({ code: 'unauthorized', upstreamStatus: 401 });
    world.api.reset();
    world.api.script('/v1/deals', [
      { status: 500, body: '{}' },
      { status: 500, body: '{}' },
    ]);
    const down = await execute('crm/deals/list', { ...alice });
    expect(down.status).toBe(502);
    expect(errorOf(down)).toMatchObject({ code: 'unavailable', upstreamStatus: 500 });
    expect(world.api.requests).toHaveLength(2);
  });
});

describe('bad input and callers', () => {
  test('a body that is not JSON, not sent as JSON, or has unknown fields', async () => {
    const notJson = await execute('crm/deals/list', undefined, { raw: '{"params": ' });
    expect(notJson.status).toBe(400);
    expect(errorOf(notJson).code).toBe('invalid-body');
    const asText = await execute('crm/deals/list', undefined, { raw: '{}', contentType: 'text/plain' });
    expect(asText.status).toBe(415);
    const unknown = await execute('crm/deals/list', { limit: 2, ...alice });
    expect(unknown.status).toBe(400);
    expect(errorOf(unknown).message).toMatch(/limit: is not a known field \(params go in "params"\)/);
    const badName = await execute('crm/Deals/list', { ...alice });
    expect(badName.status).toBe(400);
    expect(errorOf(badName).message).toMatch(/entity/);
    expect(world.api.requests).toHaveLength(0);
  });

  test('callers: wrong key 401, developer key 403, the access policy 403', async () => {
    const wrong = await execute('crm/deals/list', {}, { auth: 'not-the-admin-key-00000' });
    expect(wrong.status).toBe(401);
    const developer = await execute('crm/deals/list', {}, { auth: DEVELOPER_KEY });
    expect(developer.status).toBe(403);
    const bob = await execute('crm-listed/deals/list', { userId: 'bob', channelId: 'webchat' });
    expect(bob.status).toBe(403);
    expect(errorOf(bob).code).toBe('access-denied');
    expect(world.api.requests).toHaveLength(0);
  });

  test('an admin naming a connection that is not linked to a user yet: 409 naming connectionId', async () => {
    // A consent started by another system (SECURITY.md #60) belongs to `external:<id>` until it is linked.
    const engine = world.harness.engine;
    const profile = await engine.getProfile('crm');
    const created = await engine.createAuthorizationRequest({
      profile,
      subject: ORGANIZATION,
      externalSubjectKey: 'external:crm-user-7',
      createdBy: 'test',
    });
    const { callbackUrl, binding } = await consentInBrowser(world.harness, created.requestId, {
      login: 'alice',
    });
    const outcome = await engine.completeCallback({
      profileId: 'crm',
      query: callbackUrl.search.slice(1),
      browserBinding: binding,
    });
    expect(outcome.kind).toBe('connected');
    const external = (await world.harness.store.connections.list({ profileId: 'crm' }, { limit: 50 })).find(
      (connection) => connection.subjectKey.startsWith('external:'),
    );
    expect(external).toBeDefined();
    const answer = await execute('crm/deals/list', { connectionId: external?.id }, { auth: ADMIN_KEY });
    expect(answer.status).toBe(409);
    expect(errorOf(answer)).toMatchObject({
      code: 'connection-not-linked',
      issues: [{ path: 'connectionId', message: expect.stringMatching(/not linked to a chat user/) }],
    });
    expect(world.api.requests).toHaveLength(0);
  });
});

describe('listing the enabled actions', () => {
  test('a bot sees the enabled actions with their parameter schemas', async () => {
    const response = await fetch(`${world.base}/api/actions/crm`, {
      headers: { authorization: `Bearer ${botToken}` },
    });
    expect(response.status).toBe(200);
    const list = (await response.json()) as {
      profile: unknown;
      actions: { key: string; params: unknown; execute: string }[];
    };
    expect(list.profile).toEqual({ id: 'crm', displayName: 'Demo CRM' });
    expect(list.actions.map((action) => action.key)).toEqual(['deals.list', 'deals.admin']);
    expect(list.actions[0]).toMatchObject({
      entity: 'deals',
      action: 'list',
      title: 'List deals',
      description: 'Deals, newest first',
      access: 'read',
      method: 'GET',
      scopes: ['crm.objects.deals.read'],
      execute: '/api/actions/crm/deals/list',
      params: { limit: expect.objectContaining({ type: 'integer', minimum: 1, maximum: 100, default: 5 }) },
    });
  });

  test('unknown profile 404, no credentials from a wrong key 401', async () => {
    const unknown = await fetch(`${world.base}/api/actions/nope`, {
      headers: { authorization: `Bearer ${botToken}` },
    });
    expect(unknown.status).toBe(404);
    const wrong = await fetch(`${world.base}/api/actions/crm`, {
      headers: { authorization: 'Bearer wrong-key-0000000000' },
    });
    expect(wrong.status).toBe(401);
  });
});

test('no token, parameter value or key reaches the log', async () => {
  const token = await world.tokenOf('crm', ALICE_AT_A);
  world.api.script('/v1/deals', [{ status: 200, body: dealsPage() }]);
  await execute('crm/deals/list', { params: { limit: 77 }, ...alice });
  const logs = world.logs.join('\n');
  expect(logs).toContain('execute API: action run');
  expect(logs).not.toContain(token);
  expect(logs).not.toContain('limit=77');
  expect(logs).not.toContain(ADMIN_KEY);
  expect(logs).not.toContain(botToken);
});

describe('the OpenAPI document at /api/actions/openapi.json', () => {
  const DOC_ID = 'https://authprofiles.invalid/actions-openapi.json';
  const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head'] as const;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type Json = any;
  let doc: Json;
  let ajv: Ajv2020;

  beforeAll(async () => {
    const response = await fetch(`${world.base}/api/actions/openapi.json`);
    expect(response.status).toBe(200);
    doc = await response.json();
    ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema({ $id: DOC_ID, components: doc.components });
  });

  const validate = (name: string, value: unknown): unknown[] => {
    const check = ajv.compile({ $ref: `${DOC_ID}#/components/schemas/${name}` });
    return check(value) ? [] : (check.errors ?? []);
  };

  test('is OpenAPI 3.1 and lists exactly the routes served under /api/actions and /api/proxy', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    const routes = (Object.values(world.app.server.router.getRoutes()) as { method: string; path: string }[])
      .filter((route) => /^\/api\/(actions|proxy)(\/|$)/.test(route.path))
      .map(
        (route) =>
          `${route.method.toUpperCase()} ${route.path.replace(/\*$/, '{path}').replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`,
      )
      .sort();
    const documented: string[] = [];
    for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
      for (const method of METHODS) if (item[method]) documented.push(`${method.toUpperCase()} ${path}`);
    }
    expect(documented.sort()).toEqual(routes);
    expect(routes).toHaveLength(2 + 1 + 12);
  });

  test('live answers match their schemas', async () => {
    world.api.script('/v1/deals', [{ status: 200, body: dealsPage() }]);
    const result = await execute('crm/deals/list', { params: { limit: 2 }, ...alice });
    expect(validate('ExecuteResult', result.json())).toEqual([]);
    expect(validate('ExecuteRequest', { params: { limit: 2 }, ...alice })).toEqual([]);
    const list = await fetch(`${world.base}/api/actions/crm`, {
      headers: { authorization: `Bearer ${botToken}` },
    });
    expect(validate('ActionList', await list.json())).toEqual([]);
    const scopes = await execute('crm/deals/admin', { ...alice });
    expect(validate('Error', scopes.json())).toEqual([]);
    const params = await execute('crm/deals/list', { params: { limit: 0 }, ...alice });
    expect(validate('Error', params.json())).toEqual([]);
    // The validators are not vacuous.
    expect(validate('ExecuteResult', { action: 'x' })).not.toEqual([]);
  });
});
