// Actions as data (issue 11): declarations checked by the profile schema, and engine.runAction against
// a REAL token (oidc-provider child process) sent to a local HTTP server that stands in for the
// provider's API (a stand-in, named as one: it records what arrives and answers what each test says).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseProfile } from '../../profiles/profileSchema';
import { isAuthProfilesError } from '../../profiles/errors';
import { startAuthServer, type RunningAuthServer } from '../support/authServer';
import {
  authorize,
  createHarness,
  PUBLIC_URL,
  serverProfile,
  USER,
  type Harness,
} from '../support/engineHarness';
import { CREATE_NOTE_ACTION } from '../support/chatActions';

const CLIENT = {
  client_id: 'actions',
  client_secret: 'actions-secret-value-1',
  token_endpoint_auth_method: 'client_secret_basic' as const,
};

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

let server: RunningAuthServer;
let api: Server;
let apiUrl: string;
let harness: Harness;
const seen: Seen[] = [];
let answer: (req: IncomingMessage, res: ServerResponse, seen: Seen) => void = () => undefined;

const DEALS = {
  entity: 'deals',
  action: 'search',
  title: 'Search deals',
  method: 'POST',
  path: '/crm/v3/objects/deals/search',
  body: { query: '{{q}}', limit: '{{limit}}', filterGroups: [] },
  params: {
    q: { type: 'string', required: true },
    limit: { type: 'integer', default: 5, minimum: 1, maximum: 100 },
  },
  scopes: ['crm.objects.deals.read'],
  results: {
    path: 'results',
    totalPath: 'total',
    titleField: 'properties.dealname',
    fields: [
      { path: 'properties.dealname', label: 'Deal' },
      { path: 'properties.amount', label: 'Amount', format: 'currency' },
    ],
  },
};
const GET_ONE = {
  entity: 'deals',
  action: 'get',
  title: 'One deal',
  path: '/crm/v3/objects/deals/{{id}}',
  query: { properties: 'dealname', archived: '{{archived}}' },
  params: { id: { type: 'string', required: true }, archived: { type: 'boolean' } },
  results: { fields: [{ path: 'properties.dealname', label: 'Deal' }] },
};
const CREATE = CREATE_NOTE_ACTION;
const NEEDS_MORE = { ...GET_ONE, action: 'admin', title: 'Needs more', scopes: ['admin.write'] };

function profileFor(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return serverProfile(server, 'crm', CLIENT, {
    apiBaseUrl: `${apiUrl}/api`,
    actions: [DEALS, GET_ONE, CREATE, NEEDS_MORE],
    ...extra,
  });
}

beforeAll(async () => {
  server = await startAuthServer({
    clients: [
      {
        ...CLIENT,
        redirect_uris: [`${PUBLIC_URL}/oauth/callback/crm`, `${PUBLIC_URL}/oauth/callback/owned`],
        rotateRefreshToken: true,
      },
    ],
    scopes: 'crm.objects.deals.read',
    accessTokenTtl: 600,
  });
  api = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const entry = {
        method: req.method ?? '',
        url: req.url ?? '',
        authorization: req.headers.authorization,
        body,
      };
      seen.push(entry);
      answer(req, res, entry);
    });
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  harness = await createHarness({ profiles: [profileFor()] });
  const { outcome } = await authorize(harness, 'crm');
  expect(outcome.kind).toBe('connected');
}, 60_000);

afterAll(async () => {
  await harness?.close();
  await new Promise((resolve) => api?.close(resolve));
  await server?.stop();
});

beforeEach(() => {
  seen.length = 0;
});

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

describe('action declarations (profile schema)', () => {
  const rule = { allowInsecureLoopback: true };
  const issuesOf = (actions: unknown[], extra: Record<string, unknown> = {}) => {
    try {
      parseProfile({ ...profileFor(), actions, ...extra }, rule);
    } catch (error) {
      if (isAuthProfilesError(error)) return error.issues?.map((i) => `${i.path}: ${i.message}`) ?? [];
      throw error;
    }
    return [];
  };

  it('accepts the declarations and fills defaults', () => {
    const profile = parseProfile(profileFor(), rule);
    expect(profile.actions.map((a) => `${a.entity}.${a.action}:${a.method}:${a.access}`)).toEqual([
      'deals.search:POST:read',
      'deals.get:GET:read',
      'notes.create:POST:write',
      'deals.admin:GET:read',
    ]);
    expect(profile.actions[0]?.params.limit?.maxLength).toBe(200);
  });

  it('a body nested too deeply is refused naming it, without exhausting the stack', () => {
    let deep: unknown = '{{q}}';
    for (let i = 0; i < 50_000; i += 1) deep = { a: deep };
    expect(issuesOf([{ ...DEALS, body: deep }])).toEqual([
      'actions.0.body: must not be nested more than 20 levels deep',
    ]);
  });

  it('names each bad field', () => {
    expect(issuesOf([{ ...GET_ONE, path: '/a/../{{id}}' }])).toEqual([
      'actions.0.path: must not contain . or .. segments',
    ]);
    expect(issuesOf([{ ...GET_ONE, path: 'https://evil.example/{{id}}' }])).toEqual([
      'actions.0.path: must start with /',
    ]);
    expect(issuesOf([{ ...GET_ONE, path: '//evil.example/{{id}}' }])).toEqual([
      'actions.0.path: must not contain //',
    ]);
    expect(issuesOf([{ ...GET_ONE, path: '/x/%2e%2e/{{id}}' }])).toEqual([
      'actions.0.path: must not contain encoded dots or slashes',
    ]);
    expect(issuesOf([{ ...GET_ONE, path: '/x/{{other}}' }])).toEqual([
      'actions.0.path: uses undeclared parameter "other"',
    ]);
    expect(issuesOf([{ ...GET_ONE, path: '/x/{{#each id}}' }])).toEqual([
      'actions.0.path: may only contain plain {{name}} placeholders',
    ]);
    expect(issuesOf([GET_ONE, GET_ONE])).toEqual(['actions.1.action: repeats the action "deals.get"']);
    expect(issuesOf([{ ...GET_ONE, body: { a: 1 } }])).toEqual([
      'actions.0.body: a GET action cannot have a body',
    ]);
    expect(issuesOf([{ ...GET_ONE, path: '/x/{{currentUser}}' }])).toEqual([
      'actions.0.path: uses {{currentUser}} but the profile declares no currentUser',
    ]);
    expect(issuesOf([{ ...GET_ONE, entity: 'Deals' }])).toEqual([
      'actions.0.entity: must be 1-40 lowercase letters, digits or dashes',
    ]);
    expect(issuesOf([GET_ONE], { actionSettings: { 'deals.nope': { enabled: true } } })).toEqual([
      'actionSettings.deals.nope: is not a declared action',
    ]);
    expect(issuesOf([{ ...GET_ONE, phrases: ['find {{id}} now'] }])).toEqual([
      'actions.0.phrases.0: may hold one {{parameter}}, and only at its end',
    ]);
  });

  it('a PUT, PATCH or DELETE action must be declared a write (a read is on by default and repeated)', () => {
    expect(issuesOf([{ ...GET_ONE, method: 'DELETE' }])).toEqual([
      'actions.0.access: must be "write" for a DELETE action (it changes data at the provider)',
    ]);
    expect(issuesOf([{ ...CREATE, method: 'PATCH', access: 'read' }])).toEqual([
      'actions.0.access: must be "write" for a PATCH action (it changes data at the provider)',
    ]);
    expect(issuesOf([{ ...CREATE, method: 'PUT' }])).toEqual([]);
    // POST stays the author's call: HubSpot's searches are POST reads.
    expect(issuesOf([{ ...DEALS }])).toEqual([]);
  });

  it('a query parameter or body member named "path" is a value, not a path under the API base', () => {
    expect(issuesOf([{ ...GET_ONE, query: { path: 'inbox/{{id}}' } }])).toEqual([]);
    expect(
      issuesOf([
        { ...CREATE, body: { text: '{{text}}', folder: { path: 'notes/2026' } }, params: CREATE.params },
      ]),
    ).toEqual([]);
    // The action's own path is still checked as one.
    expect(issuesOf([{ ...GET_ONE, path: 'inbox/{{id}}' }])).toEqual(['actions.0.path: must start with /']);
  });
});

describe('engine.runAction', () => {
  it('sends the declared request with the token and returns the declared fields', async () => {
    answer = (_req, res) =>
      json(res, 200, {
        total: 7,
        results: [{ id: '1', properties: { dealname: 'Big & small', amount: '100' } }],
      });
    const profile = await harness.engine.catalog.get('crm');
    const outcome = await harness.engine.runAction(profile, USER, 'deals.search', { q: 'big', limit: '3' });
    expect(outcome).toEqual({
      ok: true,
      action: 'deals.search',
      status: 200,
      fields: [
        { name: 'dealname', label: 'Deal', format: 'text' },
        { name: 'amount', label: 'Amount', format: 'currency' },
      ],
      items: [{ title: 'Big & small', values: { dealname: 'Big & small', amount: '100' } }],
      total: 7,
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.method).toBe('POST');
    expect(seen[0]?.url).toBe('/api/crm/v3/objects/deals/search');
    expect(JSON.parse(seen[0]?.body ?? '')).toEqual({ query: 'big', limit: 3, filterGroups: [] });
    expect(seen[0]?.authorization).toMatch(/^Bearer [A-Za-z0-9_-]{20,}$/);
    expect(JSON.stringify(outcome)).not.toContain(seen[0]?.authorization?.slice(7));
  });

  it("reads each result's currency where the field says, keeping only ISO 4217 codes", async () => {
    answer = (_req, res) =>
      json(res, 200, {
        results: [
          { properties: { dealname: 'A', amount: '10', cur: 'EUR' } },
          { properties: { dealname: 'B', amount: '20', cur: 'euro; drop table' } },
          { properties: { dealname: 'C', amount: '30' } },
        ],
      });
    const base = await harness.engine.catalog.get('crm');
    const withCurrency = {
      ...base,
      actions: base.actions.map((action) =>
        action.action === 'search'
          ? {
              ...action,
              results: {
                ...action.results,
                fields: action.results.fields.map((field) =>
                  field.path === 'properties.amount' ? { ...field, currencyPath: 'properties.cur' } : field,
                ),
              },
            }
          : action,
      ),
    };
    const outcome = await harness.engine.runAction(withCurrency, USER, 'deals.search', { q: 'x' });
    expect(outcome.ok && outcome.items.map((item) => item.currencies ?? null)).toEqual([
      { amount: 'EUR' },
      null,
      null,
    ]);
  });

  it('encodes path and query values so they cannot leave the path segment', async () => {
    answer = (_req, res) => json(res, 200, { id: 'x', properties: { dealname: 'D' } });
    const profile = await harness.engine.catalog.get('crm');
    const outcome = await harness.engine.runAction(profile, USER, 'deals.get', { id: '../../admin?x=1#y' });
    expect(outcome.ok).toBe(true);
    expect(seen[0]?.url).toBe('/api/crm/v3/objects/deals/..%2F..%2Fadmin%3Fx%3D1%23y?properties=dealname');
    const dots = await harness.engine.runAction(profile, USER, 'deals.get', { id: '..' });
    expect(dots).toMatchObject({ ok: false, code: 'invalid-params' });
    expect(seen).toHaveLength(1);
  });

  it('refuses bad parameters, unknown and disabled actions before sending anything', async () => {
    const profile = await harness.engine.catalog.get('crm');
    expect(
      await harness.engine.runAction(profile, USER, 'deals.search', { limit: 'many', extra: 1 }),
    ).toMatchObject({
      ok: false,
      code: 'invalid-params',
      issues: [
        { path: 'params.extra', message: 'is not a parameter of this action' },
        { path: 'params.q', message: 'is required' },
        { path: 'params.limit', message: 'must be a number' },
      ],
    });
    expect(await harness.engine.runAction(profile, USER, 'deals.nope', {})).toMatchObject({
      ok: false,
      code: 'unknown-action',
    });
    // A write is off until an admin turns it on.
    expect(await harness.engine.runAction(profile, USER, 'notes.create', { text: 'hi' })).toMatchObject({
      ok: false,
      code: 'action-disabled',
    });
    expect(harness.engine.listActions(profile).map((a) => `${a.key}:${a.enabled}`)).toEqual([
      'deals.search:true',
      'deals.get:true',
      'notes.create:false',
      'deals.admin:true',
    ]);
    expect(await harness.engine.runAction(profile, USER, 'deals.admin', { id: '1' })).toMatchObject({
      ok: false,
      code: 'missing-scopes',
      missingScopes: ['admin.write'],
    });
    expect(seen).toHaveLength(0);
  });

  it('refreshes once on 401 and sends again with the new token; a second 401 is reported', async () => {
    let calls = 0;
    answer = (_req, res) => {
      calls += 1;
      if (calls === 1) json(res, 401, { message: 'expired' });
      else json(res, 200, { id: 'x', properties: { dealname: 'After refresh' } });
    };
    const profile = await harness.engine.catalog.get('crm');
    const outcome = await harness.engine.runAction(profile, USER, 'deals.get', { id: '7' });
    expect(outcome).toMatchObject({ ok: true, items: [{ values: { dealname: 'After refresh' } }] });
    expect(seen).toHaveLength(2);
    expect(seen[1]?.authorization).not.toBe(seen[0]?.authorization);

    seen.length = 0;
    answer = (_req, res) => json(res, 401, { message: 'no' });
    const refused = await harness.engine.runAction(profile, USER, 'deals.get', { id: '7' });
    expect(refused).toMatchObject({ ok: false, code: 'unauthorized', status: 401 });
    expect(seen).toHaveLength(2);
  });

  it('waits out a short 429 Retry-After once, and reports a long one', async () => {
    let calls = 0;
    answer = (_req, res) => {
      calls += 1;
      if (calls === 1) json(res, 429, { message: 'slow down' }, { 'retry-after': '1' });
      else json(res, 200, { id: 'x', properties: { dealname: 'Later' } });
    };
    const profile = await harness.engine.catalog.get('crm');
    expect(await harness.engine.runAction(profile, USER, 'deals.get', { id: '7' })).toMatchObject({
      ok: true,
    });
    expect(seen).toHaveLength(2);

    seen.length = 0;
    answer = (_req, res) => json(res, 429, { message: 'slow down' }, { 'retry-after': '120' });
    expect(await harness.engine.runAction(profile, USER, 'deals.get', { id: '7' })).toMatchObject({
      ok: false,
      code: 'rate-limited',
      retryAfterMs: 120_000,
    });
    expect(seen).toHaveLength(1);
  });

  it("lists a stored profile's action views once; a changed setting lists afresh (issue 12)", async () => {
    const stored = await harness.engine.catalog.get('crm');
    const views = harness.engine.listActions(stored);
    // The catalogue hands out the same frozen profile while its record is unchanged: same views.
    expect(harness.engine.listActions(await harness.engine.catalog.get('crm'))).toBe(views);
    expect(Object.isFrozen(views) && views.every((view) => Object.isFrozen(view))).toBe(true);
    expect(views.find((view) => view.key === 'notes.create')?.enabled).toBe(false);
    // A profile built with another setting (as an admin's switch produces) is listed from its own settings.
    const switched = { ...stored, actionSettings: { 'notes.create': { enabled: true } } };
    expect(harness.engine.listActions(switched).find((view) => view.key === 'notes.create')?.enabled).toBe(
      true,
    );
    switched.actionSettings = { 'notes.create': { enabled: false } };
    expect(harness.engine.listActions(switched).find((view) => view.key === 'notes.create')?.enabled).toBe(
      false,
    );
  });

  it('never repeats a write whose outcome is unknown', async () => {
    answer = (_req, res) => json(res, 502, { message: 'bad gateway' });
    const base = await harness.engine.catalog.get('crm');
    const profile = { ...base, actionSettings: { 'notes.create': { enabled: true } } };
    expect(await harness.engine.runAction(profile, USER, 'notes.create', { text: 'hello' })).toMatchObject({
      ok: false,
      code: 'unavailable',
    });
    expect(seen).toHaveLength(1);
    seen.length = 0;
    await harness.engine.runAction(profile, USER, 'deals.get', { id: '1' });
    expect(seen).toHaveLength(2);
  });

  // Behaviours chat's old HubSpot client had (test/crm/hubspotClient.test.ts), now the runner's, which
  // chat uses for every action (issue 11 point 6).
  it('reports not-connected for a user without a connection, sending nothing', async () => {
    const profile = await harness.engine.catalog.get('crm');
    const nobody = { kind: 'user', channelId: 'webchat', userId: 'nobody' } as const;
    expect(await harness.engine.runAction(profile, nobody, 'deals.get', { id: '1' })).toMatchObject({
      ok: false,
      code: 'not-connected',
    });
    expect(seen).toHaveLength(0);
  });

  it("reports a 403 as forbidden with the API's message, and a token the API echoes is removed", async () => {
    const profile = await harness.engine.catalog.get('crm');
    answer = (_req, res, entry) =>
      json(res, 403, {
        message: `This app lacks crm.objects.deals.read for token ${entry.authorization?.slice(7)}`,
      });
    const outcome = await harness.engine.runAction(profile, USER, 'deals.get', { id: '1' });
    const token = seen[0]?.authorization?.slice(7) ?? 'none';
    expect(outcome).toMatchObject({ ok: false, code: 'forbidden', status: 403 });
    expect(!outcome.ok && outcome.message).toBe(
      'Test crm refused access: This app lacks crm.objects.deals.read for token [redacted]',
    );
    expect(JSON.stringify(outcome)).not.toContain(token);
    expect(seen).toHaveLength(1);
  });

  it('a token echoed across the 1000-character cut of a result value is removed, not half shown', async () => {
    const profile = await harness.engine.catalog.get('crm');
    let cut = 0;
    answer = (_req, res, entry) => {
      const token = entry.authorization?.slice(7) ?? '';
      // The value is cut at 1000 characters for display: the token straddles the cut.
      cut = 1000 - Math.floor(token.length / 2);
      json(res, 200, { id: '1', properties: { dealname: `${'x'.repeat(cut)}${token}` } });
    };
    const outcome = await harness.engine.runAction(profile, USER, 'deals.get', { id: '1' });
    const token = seen[0]?.authorization?.slice(7) ?? 'none';
    expect(token.length).toBeGreaterThan(20);
    expect(outcome).toMatchObject({
      ok: true,
      items: [{ values: { dealname: `${'x'.repeat(cut)}[redacted]` } }],
    });
    expect(JSON.stringify(outcome)).not.toContain(token.slice(0, 16));
  });

  it('retries a read once after a 5xx and reports unavailable after a second', async () => {
    const profile = await harness.engine.catalog.get('crm');
    let calls = 0;
    answer = (_req, res) => {
      calls += 1;
      if (calls === 1) json(res, 500, { message: 'oops' });
      else json(res, 200, { id: 'x', properties: { dealname: 'Second time' } });
    };
    expect(await harness.engine.runAction(profile, USER, 'deals.get', { id: '1' })).toMatchObject({
      ok: true,
      items: [{ values: { dealname: 'Second time' } }],
    });
    expect(seen).toHaveLength(2);
    seen.length = 0;
    answer = (_req, res) => json(res, 503, { message: 'down' });
    expect(await harness.engine.runAction(profile, USER, 'deals.get', { id: '1' })).toMatchObject({
      ok: false,
      code: 'unavailable',
    });
    expect(seen).toHaveLength(2);
  });

  it('reports bad-response for an answer that is not JSON or lacks the declared results', async () => {
    const profile = await harness.engine.catalog.get('crm');
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>login</html>');
    };
    expect(await harness.engine.runAction(profile, USER, 'deals.get', { id: '1' })).toMatchObject({
      ok: false,
      code: 'bad-response',
      message: 'Test crm answered with something that is not JSON',
    });
    answer = (_req, res) => json(res, 200, { total: 1, items: [] });
    expect(await harness.engine.runAction(profile, USER, 'deals.search', { q: 'x' })).toMatchObject({
      ok: false,
      code: 'bad-response',
      message: 'Test crm answered a document without the declared results',
    });
  });

  it('reports unavailable when nothing listens at the API', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const base = await harness.engine.catalog.get('crm');
    const profile = { ...base, apiBaseUrl: `http://127.0.0.1:${port}/api` };
    expect(await harness.engine.runAction(profile, USER, 'deals.get', { id: '1' })).toMatchObject({
      ok: false,
      code: 'unavailable',
    });
  });

  it("passes on the token service's failure when the refresh after a 401 fails, sending nothing more", async () => {
    const other = { kind: 'user', channelId: 'webchat', userId: 'refused-refresh' } as const;
    expect((await authorize(harness, 'crm', other)).outcome.kind).toBe('connected');
    const profile = await harness.engine.catalog.get('crm');
    answer = (_req, res) => json(res, 401, { message: 'expired' });
    await server.injectFault({ token: { status: 400, times: 1 } });
    try {
      const outcome = await harness.engine.runAction(profile, other, 'deals.get', { id: '1' });
      // The token endpoint answered 400 without an OAuth error: the provider, not the grant, is at fault.
      expect(outcome).toMatchObject({ ok: false, code: 'provider-unavailable' });
      expect(seen).toHaveLength(1);
    } finally {
      await server.resetFaults();
    }
  });
});

describe("{{currentUser}}: the signed-in user's id at the API", () => {
  const MINE = {
    entity: 'deals',
    action: 'mine',
    title: 'My deals',
    path: '/deals',
    query: { owner: '{{currentUser}}' },
    results: { path: 'results', fields: [{ path: 'name', label: 'Deal' }] },
  };
  let owned: Harness;
  let ownerAnswer: unknown;

  beforeAll(async () => {
    answer = (req, res) => {
      if (req.url === '/me') json(res, 200, { id: 'u-1', email: 'ada@example.com' });
      else if (req.url?.startsWith('/api/owners')) json(res, 200, ownerAnswer);
      else json(res, 200, { results: [{ name: 'Ada deal' }] });
    };
    owned = await createHarness({
      profiles: [
        serverProfile(server, 'owned', CLIENT, {
          apiBaseUrl: `${apiUrl}/api`,
          identity: { url: `${apiUrl}/me`, fields: { id: 'id', email: 'email' } },
          currentUser: { path: '/owners', query: { email: '{{account.email}}' }, idPath: 'results.0.id' },
          actions: [MINE],
        }),
      ],
    });
    const { outcome } = await authorize(owned, 'owned');
    expect(outcome.kind).toBe('connected');
  }, 60_000);

  afterAll(async () => {
    await owned?.close();
  });

  it('is found once by the account email, then fills the action and is reused', async () => {
    ownerAnswer = { results: [{ id: '77', email: 'ada@example.com' }] };
    const profile = await owned.engine.catalog.get('owned');
    seen.length = 0;
    const first = await owned.engine.runAction(profile, USER, 'deals.mine', {});
    expect(first).toMatchObject({ ok: true, items: [{ values: { name: 'Ada deal' } }] });
    expect(seen.map((entry) => entry.url)).toEqual([
      '/api/owners?email=ada%40example.com',
      '/api/deals?owner=77',
    ]);
    seen.length = 0;
    await owned.engine.runAction(profile, USER, 'deals.mine', {});
    expect(seen.map((entry) => entry.url)).toEqual(['/api/deals?owner=77']);
  });

  it('a new sign-in on the same connection (another account, no account recorded) is looked up again', async () => {
    // currentUser without {{account.*}} (an API's "/me"), and no identity: the connection records no
    // account, so only the sign-in itself tells one account from the next. The upsert keeps the
    // connection's id across sign-ins, so an id cached by connection alone would be the last account's.
    let whoami = 'api-alice';
    const shared = answer;
    answer = (req, res) => {
      if (req.url === '/api/whoami') json(res, 200, { id: whoami });
      else json(res, 200, { results: [{ name: `deal of ${whoami}` }] });
    };
    const self = await createHarness({
      profiles: [
        serverProfile(server, 'owned', CLIENT, {
          apiBaseUrl: `${apiUrl}/api`,
          currentUser: { path: '/whoami', idPath: 'id' },
          actions: [MINE],
        }),
      ],
    });
    try {
      const first = await authorize(self, 'owned', USER, { login: 'alice' });
      expect(first.outcome.kind).toBe('connected');
      const profile = await self.engine.catalog.get('owned');
      seen.length = 0;
      await self.engine.runAction(profile, USER, 'deals.mine', {});
      expect(seen.map((entry) => entry.url)).toEqual(['/api/whoami', '/api/deals?owner=api-alice']);

      // The same chat user signs in again on the same slot, as bob this time.
      const before = await self.engine.connectionOf(profile, USER);
      const second = await authorize(self, 'owned', USER, { login: 'bob' });
      expect(second.outcome.kind).toBe('connected');
      expect((await self.engine.connectionOf(profile, USER))?.id).toBe(before?.id);
      whoami = 'api-bob';
      seen.length = 0;
      const outcome = await self.engine.runAction(profile, USER, 'deals.mine', {});
      expect(seen.map((entry) => entry.url)).toEqual(['/api/whoami', '/api/deals?owner=api-bob']);
      expect(outcome).toMatchObject({ ok: true, items: [{ values: { name: 'deal of api-bob' } }] });
    } finally {
      answer = shared;
      await self.close();
    }
  });

  it('an account the API does not know: a clear failure, and nothing listed for nobody', async () => {
    const other = await createHarness({
      profiles: [
        serverProfile(server, 'owned', CLIENT, {
          apiBaseUrl: `${apiUrl}/api`,
          identity: { url: `${apiUrl}/me`, fields: { id: 'id', email: 'email' } },
          currentUser: { path: '/owners', query: { email: '{{account.email}}' }, idPath: 'results.0.id' },
          actions: [MINE],
        }),
      ],
    });
    try {
      await authorize(other, 'owned');
      ownerAnswer = { results: [] };
      seen.length = 0;
      const profile = await other.engine.catalog.get('owned');
      expect(await other.engine.runAction(profile, USER, 'deals.mine', {})).toMatchObject({
        ok: false,
        code: 'current-user-unknown',
        message: 'I could not find who you are in Test owned: no matching user',
      });
      expect(seen.map((entry) => entry.url)).toEqual(['/api/owners?email=ada%40example.com']);
    } finally {
      await other.close();
    }
  });
});
