// Issue 11 point 4, the token-injecting proxy, through the whole service: real bot tokens (FAKE Entra),
// real admin keys, real connections from the oidc-provider, and a STAND-IN provider API on 127.0.0.1
// that records exactly what reached it. Escape attempts are sent as raw request targets (node:http),
// since fetch would normalise them before they left the test.
import { request as httpRequest } from 'node:http';
import { BOT_A, BOT_B } from '../support/tokenServiceWorld';
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

let world: ActionsApiWorld;
let botToken: string;

beforeAll(async () => {
  world = await startActionsApiWorld();
  botToken = await world.entra.mint(BOT_A.appId);
  await connect(world, 'crm', ALICE_AT_A, { login: 'alice' });
  await connect(world, 'crm-org', ORGANIZATION, { login: 'org-admin' });
  await connect(world, 'crm-org', ORGANIZATION, { login: 'org-work', connectionName: 'work' });
  await connect(world, 'demo-crm', ALICE_AT_A, { login: 'alice' });
}, 60_000);

afterAll(async () => {
  await world?.close();
});

beforeEach(() => world.api.reset());

const asBotFor = (userId = 'alice'): Record<string, string> => ({
  authorization: `Bearer ${botToken}`,
  'x-authprofiles-user-id': userId,
  'x-authprofiles-channel-id': 'webchat',
});
const asAdmin = (extra: Record<string, string> = {}) => ({ authorization: `Bearer ${ADMIN_KEY}`, ...extra });

async function proxy(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string | Blob,
): Promise<Answer> {
  const response = await fetch(`${world.base}/api/proxy/${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body } : {}),
  });
  return answerOf(response);
}

/** A request with the target exactly as written (no client-side normalisation). */
function raw(target: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(world.base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path: target, method: 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

function errorOf(answer: { json(): unknown } | { body: string }): { code: string; message: string } {
  const parsed = ('body' in answer ? JSON.parse(answer.body) : answer.json()) as {
    error: { code: string; message: string };
  };
  return parsed.error;
}

describe('the token is injected and never returned', () => {
  test("a bot's call reaches the API base with the user's token; the echoed token comes back redacted", async () => {
    const token = await world.tokenOf('crm', ALICE_AT_A);
    const answer = await proxy('GET', 'crm/deals/42?limit=2&after=a//b', asBotFor());
    expect(answer.status).toBe(200);
    const [seen] = world.api.requests;
    expect(world.api.requests).toHaveLength(1);
    expect(seen?.url).toBe('/v1/deals/42?limit=2&after=a//b');
    expect(seen?.headers.authorization).toBe(`Bearer ${token}`);
    expect(answer.text).not.toContain(token);
    expect(answer.json<{ echo: { token: string; headers: Record<string, string> } }>().echo).toMatchObject({
      token: '[redacted]',
      headers: { authorization: 'Bearer [redacted]' },
    });
    expect(answer.headers.get('x-authprofiles-error')).toBeNull();
    expect(answer.headers.get('cache-control')).toBe('no-store');
  });

  test('also when the API writes it escaped, percent-encoded, compressed or in a header', async () => {
    const token = await world.tokenOf('crm', ALICE_AT_A);
    const escaped = JSON.stringify(token).slice(1, -1).replace(/\//g, '\\/');
    world.api.script('/v1/leaky', [
      {
        status: 201,
        headers: {
          location: `${world.api.origin}/v1/items?access_token=${encodeURIComponent(token)}`,
          etag: `"${token}"`,
        },
        body: JSON.stringify({ plain: token, escaped, encoded: encodeURIComponent(token) }),
        gzip: true,
      },
    ]);
    const answer = await proxy('GET', 'crm/leaky', asBotFor());
    expect(answer.status).toBe(201);
    expect(answer.text).not.toContain(token);
    expect(answer.text).not.toContain(encodeURIComponent(token));
    expect(answer.json()).toEqual({ plain: '[redacted]', escaped: '[redacted]', encoded: '[redacted]' });
    expect(answer.headers.get('location')).toBe(`${world.api.origin}/v1/items?access_token=[redacted]`);
    expect(answer.headers.get('etag')).toBe('"[redacted]"');
    expect(answer.headers.get('content-encoding')).toBeNull();
  });

  test("the caller's credentials, cookies and routing headers are not forwarded; allow-listed ones are", async () => {
    const answer = await proxy(
      'POST',
      'crm/deals',
      {
        ...asBotFor(),
        cookie: 'session=caller-cookie',
        'x-forwarded-for': '203.0.113.9',
        'x-forwarded-host': 'evil.example',
        'x-custom': 'caller-value',
        'proxy-authorization': 'Basic Y2FsbGVyOnNlY3JldA==',
        accept: 'application/json',
        'content-type': 'application/json',
        'idempotency-key': 'k-1',
      },
      JSON.stringify({ dealname: 'Big deal' }),
    );
    expect(answer.status).toBe(200);
    const seen = world.api.requests[0];
    expect(seen?.method).toBe('POST');
    expect(seen?.body).toBe('{"dealname":"Big deal"}');
    expect(seen?.headers.authorization).not.toContain(botToken);
    for (const name of ['cookie', 'x-forwarded-for', 'x-forwarded-host', 'x-custom', 'proxy-authorization']) {
      expect(seen?.headers[name]).toBeUndefined();
    }
    expect(Object.keys(seen?.headers ?? {}).filter((name) => name.startsWith('x-authprofiles'))).toEqual([]);
    expect(seen?.headers).toMatchObject({
      accept: 'application/json',
      'content-type': 'application/json',
      'idempotency-key': 'k-1',
      host: new URL(world.api.origin).host,
    });
  });

  test("the provider's cookies and other headers are not passed back", async () => {
    world.api.script('/v1/cookies', [
      {
        status: 200,
        headers: {
          'set-cookie': 'provider=secret',
          'x-internal': 'host-7',
          etag: '"v1"',
          'x-ratelimit-remaining': '99',
        },
        body: '{}',
      },
    ]);
    const answer = await proxy('GET', 'crm/cookies', asBotFor());
    expect(answer.status).toBe(200);
    expect(answer.headers.get('set-cookie')).toBeNull();
    expect(answer.headers.get('x-internal')).toBeNull();
    expect(answer.headers.get('etag')).toBe('"v1"');
    expect(answer.headers.get('x-ratelimit-remaining')).toBe('99');
  });

  test('PUT, PATCH, DELETE and HEAD are sent with their method', async () => {
    for (const method of ['PUT', 'PATCH', 'DELETE', 'HEAD']) {
      const answer = await proxy(method, 'crm/items/1', asBotFor());
      expect(answer.status).toBe(200);
      expect(world.api.requests.at(-1)?.method).toBe(method);
    }
    expect(world.api.requests).toHaveLength(4);
  });
});

describe('the proxy stays on the API base', () => {
  test.each([
    '/api/proxy/crm/../admin',
    '/api/proxy/crm/%2e%2e/admin',
    '/api/proxy/crm/%2E%2e/%2e%2e/etc/passwd',
    '/api/proxy/crm/.%2e/admin',
    '/api/proxy/crm/%252e%252e/admin',
    '/api/proxy/crm/a/..%2f..%2fadmin',
    '/api/proxy/crm//evil.example/x',
    '/api/proxy/crm/http://evil.example/x',
    '/api/proxy/crm/https:%2f%2fevil.example/x',
    '/api/proxy/crm/a\\..\\admin',
    '/api/proxy/crm/a%5c..%5cadmin',
    '/api/proxy/crm/a%0d%0aHost:%20evil.example',
  ])('%s is refused with 400 and nothing is sent', async (target) => {
    const answer = await raw(target, asBotFor());
    expect(answer.status).toBe(400);
    expect(errorOf(answer).code).toBe('invalid-proxy-path');
    expect(errorOf(answer).message).toMatch(/^the proxied path /);
    expect(world.api.requests).toHaveLength(0);
  });

  test.each([
    ['an absolute-form request target', 'http://evil.example/api/proxy/crm/x'],
    // restify's router cannot decode it and answers 404 before any handler runs.
    ['a malformed percent-encoding', '/api/proxy/crm/a%zz'],
  ])('%s never reaches the provider', async (_name, target) => {
    const answer = await raw(target, asBotFor());
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.status).toBeLessThan(500);
    expect(world.api.requests).toHaveLength(0);
  });
});

describe('401, 429 and 5xx from the provider', () => {
  test('401: the token is refreshed once and the request (with its body) sent again', async () => {
    const before = await world.tokenOf('crm', ALICE_AT_A);
    world.api.script('/v1/stale', [{ status: 401, body: '{"message":"expired"}' }]);
    const answer = await proxy(
      'POST',
      'crm/stale',
      { ...asBotFor(), 'content-type': 'text/plain' },
      'same body',
    );
    expect(answer.status).toBe(200);
    const [first, second] = world.api.requests;
    expect(world.api.requests).toHaveLength(2);
    expect(first?.token).toBe(before);
    expect(second?.token).not.toBe(before);
    expect(second?.token).toBe(await world.tokenOf('crm', ALICE_AT_A));
    expect(second?.body).toBe('same body');
    expect(answer.text).not.toContain(second?.token as string);
  });

  test('401 again after the refresh is passed through as the provider sent it', async () => {
    world.api.script('/v1/refused', [
      { status: 401, body: '{"message":"no"}' },
      { status: 401, headers: { 'www-authenticate': 'Bearer' }, body: '{"message":"still no"}' },
    ]);
    const answer = await proxy('GET', 'crm/refused', asBotFor());
    expect(answer.status).toBe(401);
    expect(answer.json()).toEqual({ message: 'still no' });
    expect(answer.headers.get('x-authprofiles-error')).toBeNull();
    expect(world.api.requests).toHaveLength(2);
  });

  test('429 with a short Retry-After is waited out and sent once more', async () => {
    world.api.script('/v1/busy', [{ status: 429, headers: { 'retry-after': '1' }, body: '{}' }]);
    const started = Date.now();
    const answer = await proxy('GET', 'crm/busy', asBotFor());
    expect(answer.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(world.api.requests).toHaveLength(2);
  });

  test('429 with a long Retry-After is answered 429 with that Retry-After, not sent again', async () => {
    world.api.script('/v1/slow-down', [
      { status: 429, headers: { 'retry-after': '120' }, body: '{"message":"later"}' },
    ]);
    const answer = await proxy('GET', 'crm/slow-down', asBotFor());
    expect(answer.status).toBe(429);
    expect(answer.headers.get('retry-after')).toBe('120');
    expect(world.api.requests).toHaveLength(1);
  });

  test('a 5xx is not sent again for POST, and is for GET', async () => {
    world.api.script('/v1/flaky', [{ status: 500, body: '{"message":"oops"}' }]);
    const post = await proxy(
      'POST',
      'crm/flaky',
      { ...asBotFor(), 'content-type': 'application/json' },
      '{}',
    );
    expect(post.status).toBe(500);
    expect(world.api.requests).toHaveLength(1);
    world.api.reset();
    world.api.script('/v1/flaky', [{ status: 500, body: '{"message":"oops"}' }]);
    const get = await proxy('GET', 'crm/flaky', asBotFor());
    expect(get.status).toBe(200);
    expect(world.api.requests).toHaveLength(2);
  });
});

describe('bodies', () => {
  test('a request body over 1 MiB is refused with 413 and nothing is sent', async () => {
    const answer = await proxy(
      'POST',
      'crm/upload',
      { ...asBotFor(), 'content-type': 'application/octet-stream' },
      new Blob([new Uint8Array(1024 * 1024 + 1).fill(97)]),
    );
    expect(answer.status).toBe(413);
    expect(errorOf(answer).code).toBe('payload-too-large');
    expect(world.api.requests).toHaveLength(0);
  });

  test('a body of exactly 1 MiB is passed', async () => {
    world.api.script('/v1/upload', [{ status: 204 }]);
    const answer = await proxy(
      'PUT',
      'crm/upload',
      { ...asBotFor(), 'content-type': 'application/octet-stream' },
      new Blob([new Uint8Array(1024 * 1024).fill(97)]),
    );
    expect(answer.status).toBe(204);
    expect(world.api.requests[0]?.body).toHaveLength(1024 * 1024);
  });
});

describe('callers and connections', () => {
  test('an admin key without a connection uses the organisation connection, and the call is audited without its query', async () => {
    const token = await world.tokenOf('crm-org', ORGANIZATION);
    const answer = await proxy('GET', 'crm-org/reports?secret-filter=1', asAdmin());
    expect(answer.status).toBe(200);
    expect(world.api.requests[0]?.token).toBe(token);
    const [entry] = await world.harness.store.audit.list({ limit: 1, target: 'profile:crm-org' });
    expect(entry).toMatchObject({
      actor: 'admin:env-1',
      action: 'proxy.called',
      details: { connection: 'org', method: 'GET', path: '/reports', status: 200 },
    });
    expect(JSON.stringify(entry)).not.toContain('secret-filter');
  });

  test('an admin names a named organisation connection by account, or any connection by id', async () => {
    const work = await world.tokenOf('crm-org', ORGANIZATION, 'work');
    expect((await proxy('GET', 'crm-org/x', asAdmin({ 'x-authprofiles-account': 'work' }))).status).toBe(200);
    expect(world.api.requests[0]?.token).toBe(work);
    const [alice] = await world.harness.engine.listConnections({ profileId: 'crm' }, { limit: 5 });
    const byId = await proxy(
      'GET',
      'crm/x',
      asAdmin({ 'x-authprofiles-connection-id': alice?.id as string }),
    );
    expect(byId.status).toBe(200);
    expect(world.api.requests[1]?.token).toBe(await world.tokenOf('crm', ALICE_AT_A));
    const other = await proxy(
      'GET',
      'crm-org/x',
      asAdmin({ 'x-authprofiles-connection-id': alice?.id as string }),
    );
    expect(other.status).toBe(404);
    expect(errorOf(other).code).toBe('connection-not-found');
  });

  test('a bot that names no user gets the organisation connection of a pre-authorized profile open to everyone', async () => {
    const answer = await proxy('GET', 'crm-org/x', { authorization: `Bearer ${botToken}` });
    expect(answer.status).toBe(200);
    expect(world.api.requests[0]?.token).toBe(await world.tokenOf('crm-org', ORGANIZATION));
    // Bot calls are not audited (the token service does not audit reads either); admin calls are.
    const [entry] = await world.harness.store.audit.list({ limit: 1, target: 'profile:crm-org' });
    expect(entry?.actor).not.toBe(`bot:${BOT_A.appId}`);
  });

  test.each([
    [
      'no credentials from a non-bot: a wrong admin key',
      { authorization: 'Bearer not-a-real-admin-key-000' },
      401,
      'unauthorized',
    ],
    ['a developer key', { authorization: `Bearer ${DEVELOPER_KEY}` }, 403, 'forbidden'],
    ['a bot that is not allow-listed', 'bot-b', 403, 'bot-not-allowed'],
    [
      'a forged bot token',
      { authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.eyJhcHBpZCI6IngifQ.c2ln' },
      401,
      'unauthenticated',
    ],
  ])('%s is refused', async (_name, headers, status, code) => {
    const given =
      headers === 'bot-b'
        ? { authorization: `Bearer ${await world.entra.mint(BOT_B.appId)}` }
        : (headers as Record<string, string>);
    const answer = await proxy('GET', 'crm/x', {
      ...given,
      'x-authprofiles-user-id': 'alice',
      'x-authprofiles-channel-id': 'webchat',
    });
    expect(answer.status).toBe(status);
    expect(errorOf(answer).code).toBe(code);
    expect(answer.headers.get('x-authprofiles-error')).toBe(code);
    expect(world.api.requests).toHaveLength(0);
  });

  test('dev: the anonymous local bot may call, a browser on the same machine may not', async () => {
    const local = await proxy('GET', 'crm-org/x', {});
    expect(local.status).toBe(200);
    expect(local.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    const fromPage = await proxy('POST', 'crm-org/x', {
      origin: 'https://evil.example',
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(fromPage.status).toBe(403);
    expect(errorOf(fromPage).code).toBe('browser-refused');
    const navigation = await proxy('GET', 'crm-org/x', { 'sec-fetch-site': 'cross-site' });
    expect(navigation.status).toBe(403);
    expect(world.api.requests).toHaveLength(1);
  });

  test("the profile's access policy applies to a bot's user, as in the token service", async () => {
    await connect(
      world,
      'crm-listed',
      { kind: 'user', channelId: 'webchat', userId: 'bob', botAppId: BOT_A.appId },
      { login: 'bob' },
    );
    const bob = await proxy('GET', 'crm-listed/x', asBotFor('bob'));
    expect(bob.status).toBe(403);
    expect(errorOf(bob)).toMatchObject({ code: 'access-denied' });
    const orgNoUser = await proxy('GET', 'crm-org-listed/x', { authorization: `Bearer ${botToken}` });
    expect(orgNoUser.status).toBe(403);
    expect(errorOf(orgNoUser).message).toMatch(/name the user/);
    expect(world.api.requests).toHaveLength(0);
  });

  test('a user without a connection gets 409 not-connected, with no sign-in link', async () => {
    const answer = await proxy('GET', 'crm/x', asBotFor('carol'));
    expect(answer.status).toBe(409);
    expect(errorOf(answer)).toMatchObject({ code: 'not-connected' });
    expect(errorOf(answer).message).toMatch(/token service/);
    expect(answer.text).not.toMatch(/https?:\/\//);
  });

  test('bad selections are 400 naming the header; unknown profiles 404', async () => {
    const noChannel = await proxy('GET', 'crm/x', {
      authorization: `Bearer ${botToken}`,
      'x-authprofiles-user-id': 'alice',
    });
    expect(noChannel.status).toBe(400);
    expect(errorOf(noChannel).message).toMatch(/channelId: userId and channelId go together/);
    const badChannel = await proxy('GET', 'crm/x', {
      ...asBotFor(),
      'x-authprofiles-channel-id': 'web chat!',
    });
    expect(badChannel.status).toBe(400);
    expect(errorOf(badChannel).message).toMatch(/x-authprofiles-channel-id/);
    const botById = await proxy('GET', 'crm/x', { ...asBotFor(), 'x-authprofiles-connection-id': 'conn_1' });
    expect(botById.status).toBe(400);
    expect(errorOf(botById).message).toMatch(/connectionId: a bot names the user/);
    const unknown = await proxy('GET', 'nope/x', asBotFor());
    expect(unknown.status).toBe(404);
    expect(errorOf(unknown).code).toBe('profile-not-found');
    expect(world.api.requests).toHaveLength(0);
  });
});

test("through the dev demo CRM: a bot lists its user's deals in HubSpot's shape", async () => {
  const answer = await proxy('GET', 'demo-crm/crm/v3/objects/deals?limit=2&properties=dealname', asBotFor());
  expect(answer.status).toBe(200);
  const page = answer.json<{ results: { id: string; properties: { dealname: string } }[] }>();
  expect(page.results).toHaveLength(2);
  expect(page.results[0]?.properties.dealname).toEqual(expect.any(String));
});

test('no token, query string or body reaches the log', async () => {
  const token = await world.tokenOf('crm', ALICE_AT_A);
  await proxy(
    'POST',
    'crm/logged?private-query=1',
    { ...asBotFor(), 'content-type': 'text/plain' },
    'private-body',
  );
  const logs = world.logs.join('\n');
  expect(logs).toContain('proxy: call passed');
  expect(logs).not.toContain(token);
  expect(logs).not.toContain('private-query');
  expect(logs).not.toContain('private-body');
  expect(logs).not.toContain(ADMIN_KEY);
  expect(logs).not.toContain(botToken);
});
