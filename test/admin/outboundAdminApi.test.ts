// SECURITY.md #41 and #42 through the admin REST API of a production-mode engine: a developer key cannot
// store a profile whose rendered URL (host from a template variable) or normalised host name is
// internal; the answer is a 400 naming the field, and nothing is stored. The operator's allow-list
// lets a named private provider be saved. Real restify server, real engine on a real SQLite file.
import type { AddressInfo } from 'node:net';
import restify, { type Server } from 'restify';
import { ADMIN_API_BASE, registerAdminApi } from '../../bot/admin/api/adminApi';
import { createLogger } from '../../bot/logger';
import { AdminKeys } from '../../profiles/adminKeys';
import { parseOutboundAllowList } from '../../profiles/outboundAddress';
import { createHarness, type Harness } from '../support/engineHarness';

const ADMIN_KEY = 'admin-outbound-key-0123456789abcdef';
const DEV_KEY = 'developer-outbound-key-0123456789ab';
const SECRET = 'outbound-client-secret-4d5e6f7a8b';
const REFUSED = 'must not point at a loopback, private or link-local address';

interface Running {
  harness: Harness;
  server: Server;
  baseUrl: string;
}

async function start(allowList: string[] = []): Promise<Running> {
  const harness = await createHarness({
    profiles: [],
    validation: { allowInsecureLoopback: false, outboundAllowList: parseOutboundAllowList(allowList) },
  });
  const server = restify.createServer({ name: 'outbound-admin-test', handleUncaughtExceptions: false });
  registerAdminApi(server, {
    engine: harness.engine,
    keys: new AdminKeys(harness.context, [
      { role: 'admin', key: ADMIN_KEY },
      { role: 'developer', key: DEV_KEY },
    ]),
    log: createLogger({ level: 'silent' }),
    publicUrl: 'https://bot.example',
    secureCookies: true,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { harness, server, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function stop(running: Running): Promise<void> {
  running.server.server.closeAllConnections?.();
  await new Promise<void>((resolve) => running.server.close(() => resolve()));
  await running.harness.close();
}

async function api(running: Running, method: string, path: string, body?: unknown) {
  const response = await fetch(`${running.baseUrl}${ADMIN_API_BASE}/${path}`, {
    method,
    headers: {
      authorization: `Bearer ${DEV_KEY}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  expect(text).not.toContain(SECRET);
  return {
    status: response.status,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    json: (text ? JSON.parse(text) : undefined) as any,
  };
}

function profile(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    displayName: `Profile ${id}`,
    authorizationUrl: 'https://auth.acme.example/oauth/authorize',
    tokenUrl: 'https://auth.acme.example/oauth/token',
    clientId: 'acme-client',
    clientSecret: SECRET,
    scopes: ['contacts.read'],
    ...extra,
  };
}

describe('production admin API', () => {
  let running: Running;
  beforeAll(async () => {
    running = await start();
  });
  afterAll(async () => {
    await stop(running);
  });

  test.each([
    ['tokenUrl', '127.0.0.1'],
    ['tokenUrl', '169.254.169.254'],
    ['refreshUrl', '10.0.0.5'],
    ['revocationUrl', '192.168.1.1'],
    ['checkUrl', '100.64.0.1'],
    ['apiBaseUrl', '198.18.0.1'],
    ['authorizationUrl', 'localhost'],
  ])('%s = https://{{h}}/… with h = %s → 400 naming the field; nothing stored', async (field, h) => {
    const id = `tpl-${field.toLowerCase()}`;
    const response = await api(
      running,
      'POST',
      'profiles',
      profile(id, { [field]: `https://{{h}}/${field}`, variables: { h: {} }, variableValues: { h } }),
    );

    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('invalid-profile');
    expect(response.json.error.issues).toEqual([
      { path: field, message: `${REFUSED} (as rendered with {{h}})` },
    ]);
    expect(response.json.error.message).toContain(`${field}: ${REFUSED}`);
    expect((await api(running, 'GET', `profiles/${id}`)).status).toBe(404);
  });

  test('a saved template profile cannot be pointed inside by changing only the variable value', async () => {
    const created = await api(
      running,
      'POST',
      'profiles',
      profile('tenant', {
        tokenUrl: 'https://{{h}}/token',
        variables: { h: {} },
        variableValues: { h: 'auth.acme.example' },
      }),
    );
    expect(created.status).toBe(201);

    const changed = await api(
      running,
      'PUT',
      'profiles/tenant',
      profile('tenant', {
        tokenUrl: 'https://{{h}}/token',
        variables: { h: {} },
        variableValues: { h: '127.0.0.1' },
      }),
    );

    expect(changed.status).toBe(400);
    expect(changed.json.error.issues.map((issue: { path: string }) => issue.path)).toEqual(['tokenUrl']);
    expect((await api(running, 'GET', 'profiles/tenant')).json.variableValues).toEqual({
      h: 'auth.acme.example',
    });
  });

  test.each([
    'https://localhost./token',
    'https://metadata.google.internal./token',
    'https://printer.local./token',
    'https://LOCALHOST/token',
    'https://ｌｏｃａｌｈｏｓｔ/token',
    'https://[fec0::1]/token',
    'https://[::127.0.0.1]/token',
    'https://[64:ff9b::a9fe:a9fe]/token',
  ])('tokenUrl %s → 400 naming tokenUrl', async (url) => {
    const response = await api(running, 'POST', 'profiles', profile('odd-host', { tokenUrl: url }));
    expect(response.status).toBe(400);
    expect(response.json.error.issues).toEqual([{ path: 'tokenUrl', message: REFUSED }]);
    expect((await api(running, 'GET', 'profiles/odd-host')).status).toBe(404);
  });
});

describe('production admin API with OUTBOUND_ALLOWLIST', () => {
  let running: Running;
  beforeAll(async () => {
    running = await start(['idp.corp.internal', '10.20.0.0/16']);
  });
  afterAll(async () => {
    await stop(running);
  });

  test('allow-listed private providers can be saved; others are still refused', async () => {
    const named = await api(
      running,
      'POST',
      'profiles',
      profile('corp-idp', {
        authorizationUrl: 'https://idp.corp.internal/authorize',
        tokenUrl: 'https://idp.corp.internal/token',
      }),
    );
    expect(named.status).toBe(201);
    const templated = await api(
      running,
      'POST',
      'profiles',
      profile('corp-net', {
        tokenUrl: 'https://{{h}}/token',
        variables: { h: {} },
        variableValues: { h: '10.20.3.4' },
      }),
    );
    expect(templated.status).toBe(201);

    const outside = await api(
      running,
      'POST',
      'profiles',
      profile('corp-other', {
        tokenUrl: 'https://{{h}}/token',
        variables: { h: {} },
        variableValues: { h: '10.21.3.4' },
      }),
    );
    expect(outside.status).toBe(400);
    expect(outside.json.error.issues.map((issue: { path: string }) => issue.path)).toEqual(['tokenUrl']);
  });
});
