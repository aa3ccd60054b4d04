// The admin REST API end to end: a real restify server on an ephemeral port, the real engine (SQLite,
// encryption, profile files) and a real oidc-provider authorization server. Covers every route and
// SECURITY.md #33–#36, #39 and #40, pre-authorization through the browser flow, and connection tests
// against a fake CRM check endpoint that introspects tokens at the authorization server.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import restify, { type Server } from 'restify';
import { ADMIN_API_BASE, MAX_BODY_BYTES, ROUTES, registerAdminApi } from '../../bot/admin/api/adminApi';
import type { AdminContext } from '../../bot/admin/adminContext';
import { registerAdminPages } from '../../bot/admin/pages/adminPages';
import { createOrganizationGate } from '../../bot/admin/organizationGate';
import { oauthIntrospector } from '../../bot/dev/demoCrm/demoCrm';
import { createLogger } from '../../bot/logger';
import { BINDING_COOKIE, registerOAuthRoutes } from '../../bot/web/oauthRoutes';
import type { SigninResumer } from '../../bot/web/signinResumer';
import { AdminKeys } from '../../profiles/adminKeys';
import { AttemptThrottle } from '../../profiles/attemptThrottle';
import { openTokens } from '../../profiles/connections';
import { startAuthServer, type RunningAuthServer } from '../support/authServer';
import { completeConsent, CookieJar } from '../support/browserlessConsent';
import { authorize, createHarness, serverProfile, USER, type Harness } from '../support/engineHarness';

const CLIENT = {
  client_id: 'admin-api-client',
  client_secret: 'admin-api-client-secret-7f3a9c',
  token_endpoint_auth_method: 'client_secret_basic' as const,
};
const ACME_SECRET = 'acme-secret-value-1b2c3d4e5f';
const HUBSPOT_SECRET = 'hubspot-override-secret-9z8y7x';
const SECRETS = [CLIENT.client_secret, ACME_SECRET, HUBSPOT_SECRET];

const ADMIN_KEY = 'admin-test-key-0123456789abcdef';
const DEV_KEY = 'developer-test-key-0123456789abc';
/** Another admin: may not finish a pre-authorization ADMIN_KEY started (SECURITY.md #44). */
const OTHER_ADMIN_KEY = 'second-admin-test-key-0123456789';
const BOB = { kind: 'user' as const, channelId: 'webchat', userId: 'bob' };
const CAROL = { kind: 'user' as const, channelId: 'msteams', userId: 'carol' };
/** Profiles whose callbacks the authorization server accepts. */
const CALLBACK_PROFILES = ['crm-org', 'crm-users', 'doomed', 'dev-owned'];

let authServer: RunningAuthServer;
let harness: Harness;
let server: Server;
let baseUrl: string;
let crm: HttpServer;
let crmUrl: string;
/** Every response body this suite received, for the SECURITY.md #34 sweep at the end. */
const seen: string[] = [];

interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

async function api(
  method: string,
  path: string,
  options: {
    key?: string | null;
    body?: unknown;
    raw?: string | ReadableStream<Uint8Array>;
    contentType?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...options.headers };
  const key = options.key === undefined ? ADMIN_KEY : options.key;
  if (key !== null) headers.authorization = `Bearer ${key}`;
  let body: string | ReadableStream<Uint8Array> | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
  const init: RequestInit & { duplex?: 'half' } = { method, headers, redirect: 'manual' };
  if (body !== undefined) init.body = body;
  if (body instanceof ReadableStream) init.duplex = 'half';
  const response = await fetch(
    `${baseUrl}${path.startsWith('/') ? path : `${ADMIN_API_BASE}/${path}`}`,
    init,
  );
  const text = await response.text();
  seen.push(text);
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

function expectError(response: ApiResponse, status: number, code: string): void {
  expect({ status: response.status, code: response.json?.error?.code }).toEqual({ status, code });
  expect(typeof response.json.error.message).toBe('string');
  expect(response.text).not.toMatch(/\bat .+\(.+:\d+:\d+\)/); // no stack trace
}

function issuePaths(response: ApiResponse): string[] {
  return (response.json?.error?.issues ?? []).map((issue: { path: string }) => issue.path);
}

/** A fresh custom profile body on example URLs (valid, not usable against the test server). */
function acmeBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'acme',
    displayName: 'Acme CRM',
    authorizationUrl: 'https://auth.acme.example/oauth/authorize',
    tokenUrl: 'https://auth.acme.example/oauth/token',
    clientId: 'acme-client',
    clientSecret: ACME_SECRET,
    scopes: ['contacts.read'],
    ...extra,
  };
}

function crmProfile(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return serverProfile(authServer, id, CLIENT, { checkUrl: `${crmUrl}/crm/v3/check`, ...extra });
}

async function revokeAtProvider(token: string, hint: 'access_token' | 'refresh_token'): Promise<void> {
  const response = await fetch(authServer.url('/token/revocation'), {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${CLIENT.client_id}:${CLIENT.client_secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ token, token_type_hint: hint }).toString(),
  });
  expect(response.status).toBe(200);
}

beforeAll(async () => {
  // The API server first, so its real port is the public URL the provider redirects back to.
  server = restify.createServer({ name: 'admin-api-test', handleUncaughtExceptions: false });
  server.pre(restify.plugins.pre.dedupeSlashes());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // A fake CRM "check" endpoint: 200 for a bearer token the authorization server says is active.
  // Set once the authorization server runs (its URL is needed for introspection).
  const checker: { introspect?: (token: string) => Promise<{ active: boolean }> } = {};
  crm = createHttpServer((req, res) => {
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    const introspect = checker.introspect;
    if (req.url !== '/crm/v3/check' || !token || !introspect) {
      res.writeHead(req.url === '/crm/v3/check' ? 401 : 404);
      res.end();
      return;
    }
    introspect(token).then(
      (answer) => {
        res.writeHead(answer.active ? 200 : 401, { 'content-type': 'application/json' });
        res.end('{}');
      },
      () => {
        res.writeHead(503);
        res.end();
      },
    );
  });
  await new Promise<void>((resolve) => crm.listen(0, '127.0.0.1', () => resolve()));
  crmUrl = `http://127.0.0.1:${(crm.address() as AddressInfo).port}`;

  authServer = await startAuthServer({
    clients: [
      {
        ...CLIENT,
        redirect_uris: CALLBACK_PROFILES.map((id) => `${baseUrl}/oauth/callback/${id}`),
        pkceRequired: true,
      },
    ],
    scopes: 'crm.objects.deals.read crm.objects.contacts.read',
  });
  checker.introspect = oauthIntrospector({
    introspectionUrl: authServer.url('/token/introspection'),
    clientId: CLIENT.client_id,
    clientSecret: CLIENT.client_secret,
  });
  harness = await createHarness({
    profiles: [crmProfile('crm-org', { authorization: 'pre-authorized' }), crmProfile('crm-users')],
    publicUrl: baseUrl,
  });
  const log = createLogger({ level: 'silent' });
  const context: AdminContext = {
    engine: harness.engine,
    keys: new AdminKeys(
      harness.context,
      [
        { role: 'admin', key: ADMIN_KEY },
        { role: 'developer', key: DEV_KEY },
        { role: 'admin', key: OTHER_ADMIN_KEY },
      ],
      // This suite sends dozens of wrong keys on purpose (SECURITY.md #33); throttling (SECURITY.md #46) has its own
      // suite, test/admin/keyThrottle.test.ts.
      { throttle: new AttemptThrottle({ clientFree: 10_000, overallFree: 10_000 }) },
    ),
    log,
    publicUrl: baseUrl,
    secureCookies: false,
  };
  registerOAuthRoutes(server, {
    engine: harness.engine,
    resumer: { resume: async () => false } as unknown as SigninResumer,
    publicUrl: baseUrl,
    log,
    adminResultUrl: (profileId, outcome) =>
      `/admin/profiles/${encodeURIComponent(profileId)}?authorization=${encodeURIComponent(outcome)}`,
    organizationGate: createOrganizationGate(context),
  });
  registerAdminApi(server, context);
  // The pages' sign-in is where the browser that opens an organisation link proves its key.
  registerAdminPages(server, context);
});

afterAll(async () => {
  server?.server.closeAllConnections?.();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await new Promise<void>((resolve) => (crm ? crm.close(() => resolve()) : resolve()));
  await harness?.close();
  await authServer?.stop();
});

/** A concrete URL for a route template, with harmless ids. */
function concrete(path: string): string {
  return path.replace(':id', 'crm-users');
}

describe('SECURITY.md #33: authentication and roles', () => {
  test('every route but openapi.json answers 401 without a key or with a wrong key, with WWW-Authenticate', async () => {
    const protectedRoutes = ROUTES.filter((route) => route.access !== 'public');
    expect(protectedRoutes).toHaveLength(ROUTES.length - 1);
    for (const route of protectedRoutes) {
      for (const key of [null, 'not-a-valid-key-0000000000000', 'short']) {
        const response = await api(route.method, concrete(route.path), {
          key,
          ...(route.body ? { body: {} } : {}),
        });
        expectError(response, 401, 'unauthorized');
        expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
        expect(response.headers.get('cache-control')).toBe('no-store');
      }
    }
    // A scheme other than Bearer is no key at all.
    const basic = await api('GET', 'profiles', {
      key: null,
      headers: { authorization: `Basic ${ADMIN_KEY}` },
    });
    expectError(basic, 401, 'unauthorized');
  });

  test('a developer key gets 403 on every admin-only route', async () => {
    const adminOnly = ROUTES.filter((route) => route.access === 'admin');
    expect(adminOnly.map((route) => `${route.method} ${route.path}`).sort()).toEqual(
      [
        'DELETE /admin/api/keys/:id',
        'DELETE /admin/api/profiles/:id/authorizations',
        'GET /admin/api/audit',
        'GET /admin/api/keys',
        'GET /admin/api/profiles/:id/authorizations',
        'POST /admin/api/connections/:id/test',
        'POST /admin/api/keys',
        'POST /admin/api/profiles/:id/authorizations',
        // Issue 10 points 5 and 6 (bot/admin/api/accountRoutes.ts).
        'POST /admin/api/connections/import',
        'POST /admin/api/connections/:id/link',
        'POST /admin/api/profiles/:id/consents',
      ].sort(),
    );
    for (const route of adminOnly) {
      const response = await api(route.method, concrete(route.path), {
        key: DEV_KEY,
        ...(route.body ? { body: { name: 'x', role: 'admin' } } : {}),
      });
      expectError(response, 403, 'forbidden');
    }
  });

  test('a developer key cannot create, change or delete a bundled profile, nor read organisation connections', async () => {
    expectError(
      await api('PUT', 'profiles/hubspot', { key: DEV_KEY, body: { clientId: 'x' } }),
      403,
      'forbidden',
    );
    expectError(await api('DELETE', 'profiles/hubspot', { key: DEV_KEY }), 403, 'forbidden');
    expectError(
      await api('POST', 'profiles', { key: DEV_KEY, body: { ...acmeBody(), id: 'github' } }),
      403,
      'forbidden',
    );
    expectError(await api('GET', 'connections?subject=org', { key: DEV_KEY }), 403, 'forbidden');
    const hubspot = await api('GET', 'profiles/hubspot');
    expect(hubspot.json.version).toBe(0);
    expect(hubspot.json.hasClientSecret).toBe(false);
  });

  test('a developer key may read profiles and manage custom ones', async () => {
    const list = await api('GET', 'profiles', { key: DEV_KEY });
    expect(list.status).toBe(200);
    expect(list.json.profiles.map((p: { id: string }) => p.id)).toEqual(
      expect.arrayContaining(['hubspot', 'crm-org']),
    );
    // Developers never see organisation connection details.
    expect(list.json.profiles.find((p: { id: string }) => p.id === 'crm-org')).not.toHaveProperty(
      'organizationConnection',
    );

    const body = { ...crmProfile('dev-owned'), displayName: 'Developer owned' };
    const created = await api('POST', 'profiles', { key: DEV_KEY, body });
    expect(created.status).toBe(201);
    expect(created.json.profile).toMatchObject({
      id: 'dev-owned',
      source: 'store',
      version: 1,
      usable: true,
    });
    const changed = await api('PUT', 'profiles/dev-owned', {
      key: DEV_KEY,
      body: { ...body, displayName: 'Renamed' },
    });
    expect(changed.status).toBe(200);
    expect(changed.json.profile).toMatchObject({ displayName: 'Renamed', version: 2, hasClientSecret: true });
    const audit = await api('GET', `audit?target=${encodeURIComponent('profile:dev-owned')}`);
    expect(
      audit.json.entries.map((e: { actor: string; action: string }) => `${e.actor} ${e.action}`),
    ).toEqual(['developer:env-2 profile.updated', 'developer:env-2 profile.created']);
    const deleted = await api('DELETE', 'profiles/dev-owned', { key: DEV_KEY });
    expect(deleted.status).toBe(200);
    expect(deleted.json).toEqual({ connectionsRemoved: 0, removedOverride: false });
    expect((await api('GET', 'profiles/dev-owned', { key: DEV_KEY })).status).toBe(404);
  });

  test('openapi.json is public; every response is no-store, including restify 404s under /admin/api', async () => {
    const doc = await api('GET', 'openapi.json', { key: null });
    expect(doc.status).toBe(200);
    expect(doc.json.openapi).toBe('3.1.0');
    expect(doc.headers.get('cache-control')).toBe('no-store');
    expect(doc.headers.get('content-type')).toMatch(/^application\/json/);
    const missing = await api('GET', 'no-such-route');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('cache-control')).toBe('no-store');
  });
});

describe('profiles', () => {
  test('GET /profiles lists bundled and file profiles in public form with connection counts', async () => {
    const list = await api('GET', 'profiles');
    expect(list.status).toBe(200);
    expect(list.headers.get('cache-control')).toBe('no-store');
    const byId = new Map(list.json.profiles.map((p: { id: string }) => [p.id, p]));
    expect(byId.get('hubspot')).toMatchObject({
      id: 'hubspot',
      kind: 'system',
      source: 'system',
      version: 0,
      hasClientSecret: false,
      usable: false,
      missing: ['clientId (set HUBSPOT_CLIENT_ID)', 'clientSecret (set HUBSPOT_CLIENT_SECRET)'],
      connections: { active: 0, 'pending-verification': 0, 'needs-reauthorization': 0, revoked: 0 },
    });
    expect(byId.get('crm-org')).toMatchObject({
      source: 'file',
      authorization: 'pre-authorized',
      hasClientSecret: true,
      usable: true,
      organizationConnection: null,
    });
    for (const profile of list.json.profiles) {
      expect(profile).not.toHaveProperty('clientSecret');
      expect(profile).not.toHaveProperty('fingerprint');
    }
  });

  test('POST creates a custom profile (201, secret write-only), a second POST is 409', async () => {
    const created = await api('POST', 'profiles', { body: acmeBody() });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/admin/api/profiles/acme');
    expect(created.headers.get('etag')).toBe('"1"');
    expect(created.json).toMatchObject({ created: true, connectionsMarked: 0 });
    expect(created.json.profile).toMatchObject({
      id: 'acme',
      kind: 'custom',
      source: 'store',
      displayName: 'Acme CRM',
      clientId: 'acme-client',
      hasClientSecret: true,
      usable: true,
      version: 1,
      refreshUrl: 'https://auth.acme.example/oauth/token',
      pkce: true,
    });
    expect(created.text).not.toContain(ACME_SECRET);

    const again = await api('POST', 'profiles', { body: acmeBody({ displayName: 'Other' }) });
    expectError(again, 409, 'conflict');
    // A file profile's id is taken too.
    expectError(await api('POST', 'profiles', { body: { ...crmProfile('crm-users') } }), 409, 'conflict');
    // And a bundled one (admins change those with PUT).
    expectError(await api('POST', 'profiles', { body: acmeBody({ id: 'github' }) }), 409, 'conflict');

    const read = await api('GET', 'profiles/acme');
    expect(read.status).toBe(200);
    expect(read.headers.get('etag')).toBe('"1"');
    expect(read.json).toMatchObject({ displayName: 'Acme CRM', hasClientSecret: true, version: 1 });
    expect(read.json).not.toHaveProperty('clientSecret');
  });

  test('POST without an id names the missing field', async () => {
    const { id: _id, ...noId } = acmeBody();
    const response = await api('POST', 'profiles', { body: noId });
    expectError(response, 400, 'invalid-profile');
    expect(issuePaths(response)).toContain('id');
  });

  test('PUT replaces with If-Match, 409 on a stale version, keeps the secret when omitted, creates a new id (201)', async () => {
    const { clientSecret: _secret, ...withoutSecret } = acmeBody();
    const stale = await api('PUT', 'profiles/acme', {
      body: { ...withoutSecret, displayName: 'Stale' },
      headers: { 'if-match': '"7"' },
    });
    expectError(stale, 409, 'conflict');
    const badHeader = await api('PUT', 'profiles/acme', {
      body: withoutSecret,
      headers: { 'if-match': 'yesterday' },
    });
    expectError(badHeader, 400, 'invalid-request');
    expect(issuePaths(badHeader)).toEqual(['If-Match']);

    const replaced = await api('PUT', 'profiles/acme', {
      body: { ...withoutSecret, displayName: 'Acme CRM (EU)' },
      headers: { 'if-match': '"1"' },
    });
    expect(replaced.status).toBe(200);
    expect(replaced.headers.get('etag')).toBe('"2"');
    expect(replaced.json).toMatchObject({ created: false, connectionsMarked: 0 });
    expect(replaced.json.profile).toMatchObject({
      displayName: 'Acme CRM (EU)',
      version: 2,
      hasClientSecret: true,
      usable: true,
    });

    // An id in the body that differs from the path is refused.
    const mismatch = await api('PUT', 'profiles/acme', { body: { ...withoutSecret, id: 'other' } });
    expectError(mismatch, 400, 'invalid-profile');
    expect(issuePaths(mismatch)).toEqual(['id']);

    const fresh = await api('PUT', 'profiles/acme-two', { body: acmeBody({ id: undefined }) });
    expect(fresh.status).toBe(201);
    expect(fresh.json).toMatchObject({ created: true, profile: { id: 'acme-two', version: 1 } });
    expect((await api('DELETE', 'profiles/acme-two')).json).toEqual({
      connectionsRemoved: 0,
      removedOverride: false,
    });
  });

  test('a kept secret is never sent to a new token endpoint: moving tokenUrl needs the secret again', async () => {
    const { clientSecret: _secret, ...withoutSecret } = acmeBody();
    const moved = await api('PUT', 'profiles/acme', {
      body: {
        ...withoutSecret,
        displayName: 'Acme CRM (EU)',
        tokenUrl: 'https://collector.evil.example/token',
      },
    });
    expectError(moved, 400, 'invalid-profile');
    expect(issuePaths(moved)).toEqual(['clientSecret']);
    const read = await api('GET', 'profiles/acme');
    expect(read.json).toMatchObject({ version: 2, tokenUrl: 'https://auth.acme.example/oauth/token' });
  });

  test('PUT on a bundled profile takes a SystemOverride: credentials and allowed settings only (admin)', async () => {
    const override = await api('PUT', 'profiles/hubspot', {
      body: {
        clientId: 'hub-client',
        clientSecret: HUBSPOT_SECRET,
        scopes: ['oauth', 'crm.objects.deals.read'],
      },
    });
    // The bundled profile existed already: an override is an update, not a creation.
    expect(override.status).toBe(200);
    expect(override.json.created).toBe(false);
    expect(override.json.profile).toMatchObject({
      id: 'hubspot',
      kind: 'system',
      source: 'store',
      clientId: 'hub-client',
      hasClientSecret: true,
      usable: true,
      scopes: ['oauth', 'crm.objects.deals.read'],
      authorizationUrl: 'https://app.hubspot.com/oauth/authorize',
      version: 1,
    });
    expect(override.text).not.toContain(HUBSPOT_SECRET);

    const urls = await api('PUT', 'profiles/hubspot', {
      body: { clientId: 'hub-client', authorizationUrl: 'https://evil.example/authorize' },
    });
    expectError(urls, 400, 'invalid-profile');
    expect(issuePaths(urls)).toEqual(['authorizationUrl']);

    // The merged result is validated before anything is stored (SECURITY.md #35 on an override).
    const script = await api('PUT', 'profiles/hubspot', {
      body: { clientId: 'hub-client', checkUrl: 'javascript:alert(1)' },
    });
    expectError(script, 400, 'invalid-profile');
    expect(issuePaths(script)).toEqual(['checkUrl']);
    const after = await api('GET', 'profiles/hubspot');
    expect(after.json).toMatchObject({
      version: 1,
      checkUrl: 'https://api.hubapi.com/crm/v3/objects/contacts?limit=1',
    });

    const removed = await api('DELETE', 'profiles/hubspot');
    expect(removed.json).toEqual({ connectionsRemoved: 0, removedOverride: true });
    expect((await api('GET', 'profiles/hubspot')).json).toMatchObject({
      source: 'system',
      version: 0,
      usable: false,
    });
    // Nothing stored any more: a second delete has nothing to remove.
    expectError(await api('DELETE', 'profiles/hubspot'), 403, 'profile-read-only');
  });

  test('unknown ids are 404; malformed ids are 400 naming the parameter', async () => {
    expectError(await api('GET', 'profiles/nope'), 404, 'profile-not-found');
    expectError(await api('DELETE', 'profiles/nope'), 404, 'profile-not-found');
    expectError(await api('POST', 'profiles/nope/authorizations'), 404, 'profile-not-found');
    const bad = await api('GET', 'profiles/Not_An_Id');
    expectError(bad, 400, 'invalid-request');
    expect(issuePaths(bad)).toEqual(['id']);
    // A file profile has nothing stored to delete.
    expectError(await api('DELETE', 'profiles/crm-org'), 403, 'profile-read-only');
  });
});

describe('SECURITY.md #35: profile URLs', () => {
  test.each([
    ['authorizationUrl', 'http://auth.acme.example/oauth/authorize', /https/],
    ['tokenUrl', 'javascript:alert(1)', /https|absolute/],
    ['checkUrl', 'https://user:pass@api.acme.example/me', /credentials/],
    ['revocationUrl', 'https://auth.acme.example/revoke#x', /fragment/],
    ['apiBaseUrl', 'ftp://api.acme.example/', /https/],
  ])('%s = %s → 400 naming the field, nothing stored', async (field, value, message) => {
    const response = await api('POST', 'profiles', { body: acmeBody({ id: 'bad-url', [field]: value }) });
    expectError(response, 400, 'invalid-profile');
    const issue = response.json.error.issues.find((i: { path: string }) => i.path === field);
    expect(issue?.message).toMatch(message);
    expect(response.json.error.message).toContain(field);
    expectError(await api('GET', 'profiles/bad-url'), 404, 'profile-not-found');
  });
});

describe('SECURITY.md #36: input hardening', () => {
  test('unknown fields and wrong types are 400 naming the field; nothing is persisted', async () => {
    const before = await api('GET', 'profiles/acme');
    const unknown = await api('PUT', 'profiles/acme', { body: { ...acmeBody(), colour: 'red' } });
    expectError(unknown, 400, 'invalid-profile');
    expect(unknown.json.error.issues).toEqual([{ path: 'colour', message: 'is not a known field' }]);

    const wrongType = await api('PUT', 'profiles/acme', {
      body: acmeBody({ scopes: 'contacts.read', pkce: 'yes' }),
    });
    expectError(wrongType, 400, 'invalid-profile');
    expect(issuePaths(wrongType).sort()).toEqual(['pkce', 'scopes']);

    const nested = await api('PUT', 'profiles/acme', {
      body: acmeBody({ authorizationParams: { audience: { nested: true } } }),
    });
    expectError(nested, 400, 'invalid-profile');
    expect(issuePaths(nested)).toEqual(['authorizationParams.audience']);

    const envReference = await api('PUT', 'profiles/acme', {
      body: acmeBody({ clientSecretEnv: 'ENCRYPTION_KEYS' }),
    });
    expectError(envReference, 400, 'invalid-profile');
    expect(issuePaths(envReference)).toEqual(['clientSecretEnv']);

    const array = await api('PUT', 'profiles/acme', { body: [acmeBody()] });
    expectError(array, 400, 'invalid-profile');

    const after = await api('GET', 'profiles/acme');
    expect(after.json).toEqual(before.json);
    expect(after.json.version).toBe(2);
  });

  test('a body over 64 KiB is 413, with and without Content-Length; nothing persisted', async () => {
    const huge = acmeBody({ displayName: 'x'.repeat(100 * 1024) });
    const declared = await api('PUT', 'profiles/acme', { body: huge });
    expectError(declared, 413, 'payload-too-large');
    expect(declared.json.error.message).toMatch(/64 KiB/);

    const payload = new TextEncoder().encode(JSON.stringify(huge));
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let offset = 0; offset < payload.length; offset += 8192)
          controller.enqueue(payload.slice(offset, offset + 8192));
        controller.close();
      },
    });
    const streamed = await api('PUT', 'profiles/acme', { raw: chunked });
    expectError(streamed, 413, 'payload-too-large');

    // Just under the limit is read (and judged on its content).
    const justUnder = acmeBody({ displayName: 'y'.repeat(MAX_BODY_BYTES - 1024) });
    const underResponse = await api('PUT', 'profiles/acme', { body: justUnder });
    expectError(underResponse, 400, 'invalid-profile');
    expect(issuePaths(underResponse)).toEqual(['displayName']);
    expect((await api('GET', 'profiles/acme')).json.version).toBe(2);
  });

  test('JSON nested 50 deep is 400; malformed JSON is 400; nothing persisted', async () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 50; i += 1) deep = { a: deep };
    const response = await api('PUT', 'profiles/acme', { body: acmeBody({ authorizationParams: deep }) });
    expectError(response, 400, 'invalid-body');
    expect(response.json.error.message).toMatch(/nested deeper than 20/);
    // Brackets inside strings do not count.
    const quoted = await api('PUT', 'profiles/acme', {
      body: acmeBody({ displayName: '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{{{{{{{{{', colour: 1 }),
    });
    expect(issuePaths(quoted)).toContain('colour');

    expectError(await api('PUT', 'profiles/acme', { raw: '{"id": "acme",' }), 400, 'invalid-body');
    expectError(await api('PUT', 'profiles/acme', { raw: '' }), 400, 'invalid-body');
    expect((await api('GET', 'profiles/acme')).json.version).toBe(2);
  });

  test('a body that is not application/json is 415', async () => {
    for (const contentType of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/json; charset=latin1',
    ]) {
      const response = await api('PUT', 'profiles/acme', { raw: JSON.stringify(acmeBody()), contentType });
      expectError(response, 415, 'unsupported-media-type');
    }
    const noType = await fetch(`${baseUrl}/admin/api/profiles/acme`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      body: new Uint8Array(Buffer.from(JSON.stringify(acmeBody()))),
    });
    expect(noType.status).toBe(415);
    const ok = await api('PUT', 'profiles/acme', {
      raw: JSON.stringify(acmeBody({ displayName: 'Acme CRM (EU)' })),
      contentType: 'application/json; charset=utf-8',
    });
    expect(ok.status).toBe(200);
    expect(ok.json.profile.version).toBe(3);
  });

  test('query parameters are validated and named', async () => {
    const limit = await api('GET', 'connections?limit=abc');
    expectError(limit, 400, 'invalid-request');
    expect(issuePaths(limit)).toEqual(['limit']);
    expect(issuePaths(await api('GET', 'connections?limit=1000'))).toEqual(['limit']);
    expect(issuePaths(await api('GET', 'connections?status=broken'))).toEqual(['status']);
    expect(issuePaths(await api('GET', 'connections?subject=everyone'))).toEqual(['subject']);
    expect(issuePaths(await api('GET', 'connections?profileId=../x'))).toEqual(['profileId']);
    expect(issuePaths(await api('GET', 'connections?colour=red'))).toEqual(['colour']);
    expect(issuePaths(await api('GET', 'connections?limit=1&limit=2'))).toEqual(['limit']);
    expect(issuePaths(await api('GET', 'audit?before=%20x'))).toEqual(['before']);
    expect(issuePaths(await api('GET', 'audit?target=<script>'))).toEqual(['target']);
    expect(issuePaths(await api('GET', 'profiles?debug=1'))).toEqual(['debug']);
  });
});

describe('SECURITY.md #39: changing a profile marks its connections for re-authorization', () => {
  test('displayName alone marks nothing; scopes mark the active connections and the audit log says so', async () => {
    await authorize(harness, 'crm-users', USER);
    await authorize(harness, 'crm-users', BOB);
    const listed = await api('GET', 'connections?profileId=crm-users');
    expect(listed.json.connections.map((c: { status: string }) => c.status)).toEqual(['active', 'active']);

    const { clientSecret: _secret, ...fileBody } = crmProfile('crm-users');
    const renamed = await api('PUT', 'profiles/crm-users', {
      body: { ...fileBody, displayName: 'CRM for users' },
    });
    expect(renamed.status).toBe(200);
    // The stored copy replacing the profile file keeps the file's secret.
    expect(renamed.json).toMatchObject({
      connectionsMarked: 0,
      profile: { source: 'store', usable: true, hasClientSecret: true },
    });
    expect(
      (await api('GET', 'connections?profileId=crm-users')).json.connections.map(
        (c: { status: string }) => c.status,
      ),
    ).toEqual(['active', 'active']);

    const rescoped = await api('PUT', 'profiles/crm-users', {
      body: {
        ...fileBody,
        displayName: 'CRM for users',
        scopes: ['crm.objects.deals.read', 'crm.objects.contacts.read'],
      },
    });
    expect(rescoped.status).toBe(200);
    expect(rescoped.json.connectionsMarked).toBe(2);
    expect(rescoped.json.profile.connections).toMatchObject({ active: 0, 'needs-reauthorization': 2 });
    const marked = await api('GET', 'connections?profileId=crm-users&status=needs-reauthorization');
    expect(marked.json.connections).toHaveLength(2);
    for (const connection of marked.json.connections) expect(connection.lastError).toBe('profile-changed');

    const audit = await api('GET', `audit?target=${encodeURIComponent('profile:crm-users')}&limit=2`);
    expect(audit.json.entries[0]).toMatchObject({
      actor: 'admin:env-1',
      action: 'profile.updated',
      details: { changed: 'scopes', connectionsMarked: 2 },
    });
    expect(audit.json.entries[1]).toMatchObject({
      action: 'profile.updated',
      details: { changed: 'displayName', connectionsMarked: 0 },
    });
  });
});

describe('audit of profile changes', () => {
  test('the changed fields include every schema field, the newer ones too (names only, never values)', async () => {
    const created = await api('POST', 'profiles', { body: acmeBody({ id: 'audited' }) });
    expect(created.status).toBe(201);
    const { clientSecret: _secret, ...withoutSecret } = acmeBody({ id: 'audited' });
    const changed = await api('PUT', 'profiles/audited', {
      body: {
        ...withoutSecret,
        apiBaseUrlFrom: 'instance_url',
        responseSuccessField: 'ok',
        jwksUrl: 'https://auth.acme.example/jwks',
        tokenTypes: ['bearer', 'mac'],
        defaultTokenTtlSeconds: 600,
      },
    });
    expect(changed.status).toBe(200);
    const audit = await api('GET', `audit?target=${encodeURIComponent('profile:audited')}&limit=1`);
    expect(audit.json.entries[0]).toMatchObject({
      action: 'profile.updated',
      details: {
        changed: 'apiBaseUrlFrom,responseSuccessField,jwksUrl,tokenTypes,defaultTokenTtlSeconds',
        connectionsMarked: 0,
      },
    });
    expect(audit.text).not.toContain('instance_url');
    expect(audit.text).not.toContain('auth.acme.example/jwks');
    expect((await api('DELETE', 'profiles/audited')).status).toBe(200);
  });
});

describe('SECURITY.md #40: deleting a profile revokes and removes its connections', () => {
  test('DELETE revokes at the provider, removes the connections and is in the audit log', async () => {
    const created = await api('POST', 'profiles', { body: crmProfile('doomed') });
    expect(created.status).toBe(201);
    await authorize(harness, 'doomed', USER);
    await authorize(harness, 'doomed', CAROL);
    expect((await api('GET', 'profiles/doomed')).json.connections.active).toBe(2);
    await authServer.resetStats();

    const deleted = await api('DELETE', 'profiles/doomed');
    expect(deleted.status).toBe(200);
    expect(deleted.json).toEqual({ connectionsRemoved: 2, removedOverride: false });
    // Refresh and access token of each connection (RFC 7009).
    expect((await authServer.stats()).revocation).toBe(4);

    expect((await api('GET', 'connections?profileId=doomed')).json).toEqual({ connections: [], next: null });
    expectError(await api('GET', 'profiles/doomed'), 404, 'profile-not-found');
    const audit = await api('GET', `audit?target=${encodeURIComponent('profile:doomed')}&limit=1`);
    expect(audit.json.entries[0]).toMatchObject({
      actor: 'admin:env-1',
      action: 'profile.deleted',
      details: { connectionsRemoved: 2 },
    });
    const revocations = (await api('GET', 'audit?limit=10')).json.entries.filter(
      (e: { action: string; details: { profile?: string } }) =>
        e.action === 'connection.revoked' && e.details.profile === 'doomed',
    );
    expect(revocations).toHaveLength(2);
    for (const entry of revocations) expect(entry.details.revokedAtProvider).toBe(true);
  });
});

/** A browser without a window: cookies in a jar, redirects not followed. */
async function browse(
  jar: CookieJar,
  path: string,
  init: { method?: string; headers?: Record<string, string>; form?: Record<string, string> } = {},
): Promise<{ status: number; location: string | null; setCookie: string | null; html: string }> {
  const url = new URL(path, baseUrl);
  const headers: Record<string, string> = { ...init.headers };
  const cookie = jar.header(url);
  if (cookie) headers.cookie = cookie;
  if (init.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    headers.origin = baseUrl;
  }
  const response = await fetch(url, {
    method: init.method ?? (init.form ? 'POST' : 'GET'),
    headers,
    ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
    redirect: 'manual',
  });
  jar.store(url, response);
  return {
    status: response.status,
    location: response.headers.get('location'),
    setCookie: response.headers.get('set-cookie'),
    html: await response.text(),
  };
}

/** Signs in on the admin sign-in page at `loginPath` (keeping its `authorization` continuation). */
async function signInAt(jar: CookieJar, loginPath: string, key: string) {
  const page = await browse(jar, loginPath);
  expect(page.status).toBe(200);
  const token = /name="_login" value="([^"]+)"/.exec(page.html)?.[1] ?? '';
  const authorization = /name="authorization" value="([^"]+)"/.exec(page.html)?.[1];
  return browse(jar, '/admin/login', {
    form: { _login: token, key, ...(authorization ? { authorization } : {}) },
  });
}

describe('pre-authorization through the API', () => {
  let orgConnectionId: string;
  /** The admin's browser after the first pre-authorization: signed in to the admin pages. */
  let adminBrowser: CookieJar | undefined;

  async function startPreAuthorization(
    name?: string,
  ): Promise<{ requestId: string; authorizationUrl: string }> {
    const started = await api('POST', 'profiles/crm-org/authorizations', name ? { body: { name } } : {});
    expect(started.status).toBe(201);
    expect(started.json).toEqual({
      requestId: expect.stringMatching(/^req_/),
      authorizationUrl: `${baseUrl}/oauth/start/${started.json.requestId}`,
      expiresAt: expect.any(Number),
    });
    expect(started.json.expiresAt).toBeGreaterThan(Date.now());
    return started.json;
  }

  async function preAuthorize(name?: string): Promise<void> {
    const started = await startPreAuthorization(name);
    const signedIn = adminBrowser !== undefined;
    const jar = adminBrowser ?? new CookieJar();
    adminBrowser = jar;

    // The admin's browser opens the link. Not signed in to the admin pages yet: the sign-in page
    // first (SECURITY.md #44), then the hand-over page of that request, whose link is the same start URL.
    if (!signedIn) {
      const asked = await browse(jar, started.authorizationUrl);
      expect({ status: asked.status, location: asked.location, setCookie: asked.setCookie }).toEqual({
        status: 303,
        location: `/admin/login?authorization=${started.requestId}`,
        setCookie: null,
      });
      const login = await signInAt(jar, asked.location as string, ADMIN_KEY);
      expect(login.status).toBe(303);
      expect(login.location).toBe(`/admin/authorizations/${started.requestId}`);
      const handOver = await browse(jar, login.location as string);
      expect(handOver.status).toBe(200);
      expect(handOver.html).toContain(`href="${started.authorizationUrl}"`);
    }

    // Then the link goes to the provider: keep the binding cookie, consent, come back.
    const start = await browse(jar, started.authorizationUrl);
    expect(start.status).toBe(302);
    const cookie = (start.setCookie ?? '').split(';')[0] as string;
    expect(cookie.startsWith(`${BINDING_COOKIE}=`)).toBe(true);
    const callback = await completeConsent(start.location as string, {
      login: 'org-admin',
      cookieJar: new CookieJar(),
    });
    expect(callback.origin).toBe(baseUrl);
    const landed = await fetch(callback, { headers: { cookie }, redirect: 'manual' });
    expect(landed.status).toBe(303);
    expect(landed.headers.get('location')).toBe('/admin/profiles/crm-org?authorization=connected');
  }

  test('a per-user profile cannot be pre-authorized (400); an unconfigured one is 409', async () => {
    const perUser = await api('POST', 'profiles/crm-users/authorizations');
    expectError(perUser, 400, 'not-pre-authorized');
    expect(issuePaths(perUser)).toEqual(['authorization']);

    const { clientSecret: _secret, ...noSecret } = crmProfile('half-done', {
      authorization: 'pre-authorized',
    });
    expect((await api('POST', 'profiles', { body: noSecret })).json.profile).toMatchObject({
      usable: false,
      missing: ['clientSecret'],
      hasClientSecret: false,
    });
    const unconfigured = await api('POST', 'profiles/half-done/authorizations');
    expectError(unconfigured, 409, 'profile-not-configured');
    expect(issuePaths(unconfigured)).toEqual(['clientSecret']);
    await api('DELETE', 'profiles/half-done');
  });

  test('POST → browser consent → callback → GET shows the organisation connection', async () => {
    const before = await api('GET', 'profiles/crm-org/authorizations');
    expect(before.json).toEqual({ connected: false, connection: null });

    await preAuthorize();

    const status = await api('GET', 'profiles/crm-org/authorizations');
    expect(status.status).toBe(200);
    expect(status.json).toEqual({
      connected: true,
      connection: expect.objectContaining({
        profileId: 'crm-org',
        subjectKey: 'org',
        status: 'active',
        createdBy: 'admin:env-1',
        scopes: ['crm.objects.deals.read'],
      }),
    });
    orgConnectionId = status.json.connection.id;
    expect(status.text).not.toMatch(/accessToken|refreshToken/);

    const profile = await api('GET', 'profiles/crm-org');
    expect(profile.json.organizationConnection).toEqual({
      id: orgConnectionId,
      status: 'active',
      lastError: null,
      updatedAt: expect.any(Number),
    });
    const audit = await api('GET', 'audit?limit=3');
    expect(audit.json.entries.map((e: { action: string }) => e.action)).toEqual(
      expect.arrayContaining(['authorization.completed', 'authorization.requested']),
    );
  });

  test('connections: admins list org connections, developers never see them', async () => {
    const org = await api('GET', 'connections?subject=org');
    expect(org.json.connections.map((c: { id: string }) => c.id)).toEqual([orgConnectionId]);
    const all = await api('GET', 'connections');
    expect(all.json.connections.map((c: { subjectKey: string }) => c.subjectKey)).toContain('org');
    const developer = await api('GET', 'connections', { key: DEV_KEY });
    expect(developer.status).toBe(200);
    expect(developer.json.connections.length).toBeGreaterThan(0);
    expect(developer.json.connections.map((c: { subjectKey: string }) => c.subjectKey)).not.toContain('org');
    const developerOrgProfile = await api('GET', 'connections?profileId=crm-org', { key: DEV_KEY });
    expect(developerOrgProfile.json.connections).toEqual([]);
    expectError(await api('DELETE', `connections/${orgConnectionId}`, { key: DEV_KEY }), 403, 'forbidden');
    for (const connection of all.json.connections) {
      expect(Object.keys(connection).sort()).toEqual(
        [
          // Who signed in and the provider-assigned API base (issue 7 points 10 and 15): not secret.
          'account',
          'apiBaseUrl',
          'createdAt',
          'createdBy',
          // Scopes the last consent asked for and the provider did not grant (issue 11 point 5): not secret.
          'declinedScopes',
          'expiresAt',
          'expiresAtEstimated',
          'id',
          // The connection's name among several of one subject, and whether it is the default (issue 10 point 3).
          'isDefault',
          'name',
          'lastError',
          'profileId',
          'refreshedAt',
          'scopes',
          'status',
          'subjectKey',
          'updatedAt',
          // Which key id a record is sealed with when this service cannot open it (SECURITY.md #52).
          'unreadable',
        ].sort(),
      );
    }
  });

  test('connection test: ok with a valid token; after revocation at the provider, not ok with a reason', async () => {
    await authServer.resetStats();
    const ok = await api('POST', `connections/${orgConnectionId}/test`);
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({
      ok: true,
      reason: 'ok',
      status: 200,
      refreshed: false,
      ms: expect.any(Number),
    });
    expect((await authServer.stats()).introspection).toBe(1);

    const stored = await harness.store.connections.getById(orgConnectionId);
    const tokens = openTokens(harness.context, stored!);
    await revokeAtProvider(tokens.refreshToken!, 'refresh_token');
    await revokeAtProvider(tokens.accessToken, 'access_token');

    const broken = await api('POST', `connections/${orgConnectionId}/test`);
    expect(broken.status).toBe(200);
    expect(broken.json).toMatchObject({ ok: false, reason: 'needs-reauthorization', status: 401 });

    // Admins learn it (issue point 5): the profile and the audit log say the org connection broke.
    const profile = await api('GET', 'profiles/crm-org');
    expect(profile.json.organizationConnection).toMatchObject({ status: 'needs-reauthorization' });
    expect((await api('GET', 'profiles/crm-org/authorizations')).json.connected).toBe(false);
    const audit = await api(
      'GET',
      `audit?target=${encodeURIComponent(`connection:${orgConnectionId}`)}&limit=5`,
    );
    expect(audit.json.entries.map((e: { action: string }) => e.action)).toContain(
      'connection.needs-reauthorization',
    );

    expectError(await api('POST', 'connections/conn_doesnotexist/test'), 404, 'not-connected');
  });

  test('re-authorize = POST again; DELETE revokes the organisation connection', async () => {
    await preAuthorize();
    const status = await api('GET', 'profiles/crm-org/authorizations');
    expect(status.json).toMatchObject({ connected: true, connection: { status: 'active', lastError: null } });
    expect((await api('POST', `connections/${status.json.connection.id}/test`)).json.ok).toBe(true);

    await authServer.resetStats();
    const revoked = await api('DELETE', 'profiles/crm-org/authorizations');
    expect(revoked.status).toBe(200);
    expect(revoked.json).toEqual({ revoked: true, revokedAtProvider: true, providerError: null });
    expect((await authServer.stats()).revocation).toBe(2);
    expect((await api('GET', 'profiles/crm-org/authorizations')).json).toEqual({
      connected: false,
      connection: null,
    });
    expectError(await api('DELETE', 'profiles/crm-org/authorizations'), 404, 'not-connected');
  });

  test('a named organisation connection (issue 10 point 3): POST { name }, GET and DELETE ?name=', async () => {
    await preAuthorize();
    // The admin gate holds for a named organisation sign-in too (SECURITY.md #44): a browser not signed
    // in to the admin pages is sent to sign in first, nothing bound.
    const gated = await startPreAuthorization('ops');
    const stranger = await browse(new CookieJar(), gated.authorizationUrl);
    expect({ status: stranger.status, location: stranger.location, setCookie: stranger.setCookie }).toEqual({
      status: 303,
      location: `/admin/login?authorization=${gated.requestId}`,
      setCookie: null,
    });
    await preAuthorize('ops');

    const ops = await api('GET', 'profiles/crm-org/authorizations?name=ops');
    expect(ops.json).toMatchObject({
      connected: true,
      connection: { subjectKey: 'org', name: 'ops', isDefault: false, status: 'active' },
    });
    const unnamed = await api('GET', 'profiles/crm-org/authorizations');
    expect(unnamed.json).toMatchObject({ connected: true, connection: { name: null, isDefault: true } });
    expect(unnamed.json.connection.id).not.toBe(ops.json.connection.id);
    const listed = await api('GET', 'connections?profileId=crm-org&subject=org');
    expect(listed.json.connections.map((c: { name: string | null }) => c.name).sort()).toEqual(
      [null, 'ops'].sort(),
    );

    const badBody = await api('POST', 'profiles/crm-org/authorizations', { body: { name: 'Ops!' } });
    expectError(badBody, 400, 'invalid-request');
    expect(issuePaths(badBody)).toEqual(['name']);
    expectError(await api('GET', 'profiles/crm-org/authorizations?name=a%23b'), 400, 'invalid-request');

    // The admin pages name it too.
    const page = await browse(adminBrowser as CookieJar, '/admin/connections?subject=org');
    expect(page.html).toContain('organisation (ops)');

    expect((await api('DELETE', 'profiles/crm-org/authorizations?name=ops')).status).toBe(200);
    expect((await api('GET', 'profiles/crm-org/authorizations?name=ops')).json).toEqual({
      connected: false,
      connection: null,
    });
    expect((await api('GET', 'profiles/crm-org/authorizations')).json.connected).toBe(true);
    expect((await api('DELETE', 'profiles/crm-org/authorizations')).status).toBe(200);
  });

  test('SECURITY.md #44: the link binds nothing for a stranger, a developer or another admin; the admin who started it completes it, and the audit log says who', async () => {
    const started = await startPreAuthorization();
    const link = started.authorizationUrl;
    const unbound = { status: 'created', stateHash: null, bindingHash: null };

    // A stranger's browser, no admin session: the sign-in page, and nothing bound to it.
    const stranger = new CookieJar();
    const asked = await browse(stranger, link);
    expect({ status: asked.status, location: asked.location, setCookie: asked.setCookie }).toEqual({
      status: 303,
      location: `/admin/login?authorization=${started.requestId}`,
      setCookie: null,
    });
    const loginPage = await browse(stranger, asked.location as string);
    expect(loginPage.html).toContain('Sign in with the admin key that started it');
    // Followed from another site (a link pasted in a chat): one same-origin hop, still nothing bound.
    const crossSite = await browse(stranger, link, { headers: { 'sec-fetch-site': 'cross-site' } });
    expect(crossSite.status).toBe(200);
    expect(crossSite.html).toContain(`href="/oauth/start/${started.requestId}"`);
    expect(crossSite.setCookie).toBeNull();
    // Guessing at the sign-in page gets no session.
    const guessed = await signInAt(stranger, asked.location as string, 'not-the-admin-key-0123456789');
    expect(guessed.status).toBe(401);
    expect((await browse(stranger, link)).status).toBe(303);

    // Signed in with another key: a developer's or another admin's, the link is refused.
    for (const key of [DEV_KEY, OTHER_ADMIN_KEY]) {
      const browser = new CookieJar();
      const login = await signInAt(browser, asked.location as string, key);
      expect(login.status).toBe(303);
      expect((await browse(browser, login.location as string)).status).toBe(404);
      const refused = await browse(browser, link);
      expect(refused.status).toBe(403);
      expect(refused.html).toContain('started with another admin key');
      expect(refused.setCookie).toBeNull();
    }
    expect(await harness.store.authorizationRequests.get(started.requestId)).toMatchObject(unbound);
    expect(await harness.store.connections.get('crm-org', 'org')).toBeNull();

    // The admin who started it, in a browser of their own, signs in and completes it.
    const admin = new CookieJar();
    const login = await signInAt(admin, (await browse(admin, link)).location as string, ADMIN_KEY);
    expect(login.location).toBe(`/admin/authorizations/${started.requestId}`);
    const start = await browse(admin, link);
    expect(start.status).toBe(302);
    const binding = (start.setCookie ?? '').split(';')[0] as string;
    const callback = await completeConsent(start.location as string, {
      login: 'org-admin',
      cookieJar: new CookieJar(),
    });
    const landed = await fetch(callback, { headers: { cookie: binding }, redirect: 'manual' });
    expect(landed.headers.get('location')).toBe('/admin/profiles/crm-org?authorization=connected');
    expect((await api('GET', 'profiles/crm-org/authorizations')).json).toMatchObject({
      connected: true,
      connection: { createdBy: 'admin:env-1', status: 'active' },
    });
    // Once it is bound to the admin's browser, the stranger still gets nowhere with the link.
    expect((await browse(stranger, link)).status).toBe(303);

    const audit = (await api('GET', 'audit?limit=3')).json.entries.map(
      (e: { actor: string; action: string }) => `${e.actor} ${e.action}`,
    );
    expect(audit).toEqual([
      'admin:env-1 authorization.completed',
      'admin:env-1 authorization.started',
      'admin:env-1 authorization.requested',
    ]);
    expect((await api('DELETE', 'profiles/crm-org/authorizations')).status).toBe(200);
  });
});

describe('connections', () => {
  test('pagination with after, and DELETE revokes one (developer: user connections of custom profiles)', async () => {
    const dave = { kind: 'user' as const, channelId: 'webchat', userId: 'dave' };
    await authorize(harness, 'crm-users', dave);
    const all = (await api('GET', 'connections?profileId=crm-users')).json.connections;
    expect(all).toHaveLength(3);

    const first = await api('GET', 'connections?profileId=crm-users&limit=2');
    expect(first.json.connections).toHaveLength(2);
    expect(first.json.next).toBe(first.json.connections[1].id);
    const second = await api('GET', `connections?profileId=crm-users&limit=2&after=${first.json.next}`);
    expect(second.json).toEqual({ connections: [all[2]], next: null });

    const daveConnection = all.find((c: { subjectKey: string }) => c.subjectKey === 'user:webchat:dave');
    const removed = await api('DELETE', `connections/${daveConnection.id}`, { key: DEV_KEY });
    expect(removed.status).toBe(200);
    expect(removed.json).toEqual({ revoked: true, revokedAtProvider: true, providerError: null });
    expect((await api('GET', 'connections?profileId=crm-users')).json.connections).toHaveLength(2);
    expectError(await api('DELETE', `connections/${daveConnection.id}`), 404, 'not-connected');
    const malformed = await api('DELETE', 'connections/not%20an%20id');
    expectError(malformed, 400, 'invalid-request');

    const audit = await api('GET', `audit?target=${encodeURIComponent(`connection:${daveConnection.id}`)}`);
    expect(audit.json.entries[0]).toMatchObject({ actor: 'developer:env-2', action: 'connection.revoked' });
  });
});

describe('audit', () => {
  test('newest first, paginated with before, filtered by target', async () => {
    const page1 = await api('GET', 'audit?limit=3');
    expect(page1.status).toBe(200);
    expect(page1.json.entries).toHaveLength(3);
    expect(page1.json.next).toBe(page1.json.entries[2].id);
    const page2 = await api('GET', `audit?limit=3&before=${page1.json.next}`);
    expect(page2.json.entries).toHaveLength(3);
    const all = await api('GET', 'audit?limit=6');
    expect([...page1.json.entries, ...page2.json.entries]).toEqual(all.json.entries);
    const times = all.json.entries.map((e: { at: number }) => e.at);
    expect([...times].sort((a, b) => b - a)).toEqual(times);

    const acme = await api('GET', `audit?target=${encodeURIComponent('profile:acme')}&limit=200`);
    expect(acme.json.next).toBeNull();
    expect(acme.json.entries.map((e: { action: string }) => e.action)).toEqual([
      'profile.updated',
      'profile.updated',
      'profile.created',
    ]);
    // Only names of changed fields, never values: the secret change is named, not shown.
    expect(acme.json.entries[2].details).toEqual({ changed: 'created', connectionsMarked: 0 });
    const everything = await api('GET', 'audit?limit=200');
    for (const secret of SECRETS) expect(everything.text).not.toContain(secret);
    expectError(await api('GET', 'audit?limit=0'), 400, 'invalid-request');
    expect((await api('GET', 'audit?before=aud_unknown')).json).toEqual({ entries: [], next: null });
  });
});

describe('keys', () => {
  test('create (shown once), use, list without hashes, revoke', async () => {
    const created = await api('POST', 'keys', { body: { name: 'ci-bot', role: 'developer' } });
    expect(created.status).toBe(201);
    expect(created.json).toEqual({
      id: expect.stringMatching(/^key_/),
      name: 'ci-bot',
      role: 'developer',
      createdAt: expect.any(Number),
      revokedAt: null,
      key: expect.stringMatching(/^ap_/),
    });
    const key = created.json.key as string;
    expect((await api('GET', 'profiles', { key })).status).toBe(200);
    expectError(await api('GET', 'keys', { key }), 403, 'forbidden');

    const list = await api('GET', 'keys');
    expect(list.json.keys).toEqual([
      {
        id: created.json.id,
        name: 'ci-bot',
        role: 'developer',
        createdAt: created.json.createdAt,
        revokedAt: null,
      },
    ]);
    expect(list.text).not.toContain(key);
    expect(list.text).not.toMatch(/keyHash/);

    const revoked = await api('DELETE', `keys/${created.json.id}`);
    expect(revoked.json).toEqual({ revoked: true });
    expectError(await api('GET', 'profiles', { key }), 401, 'unauthorized');
    expectError(await api('DELETE', `keys/${created.json.id}`), 404, 'key-not-found');
    const audit = await api('GET', `audit?target=${encodeURIComponent(`admin-key:${created.json.id}`)}`);
    expect(audit.json.entries.map((e: { action: string }) => e.action)).toEqual([
      'admin-key.revoked',
      'admin-key.created',
    ]);
    expect(audit.text).not.toContain(key);
  });

  test('bad key bodies are 400 naming the field', async () => {
    const role = await api('POST', 'keys', { body: { name: 'x', role: 'root' } });
    expectError(role, 400, 'invalid-request');
    expect(issuePaths(role)).toEqual(['role']);
    expect(issuePaths(await api('POST', 'keys', { body: { name: 'a b', role: 'admin' } }))).toEqual(['name']);
    expect(
      issuePaths(await api('POST', 'keys', { body: { name: 'x', role: 'admin', key: 'mine' } })),
    ).toEqual(['key']);
    expectError(
      await api('POST', 'keys', { raw: 'name=x', contentType: 'text/plain' }),
      415,
      'unsupported-media-type',
    );
    expect(
      (await api('GET', 'keys')).json.keys.filter((k: { revokedAt: null }) => k.revokedAt === null),
    ).toEqual([]);
  });
});

test('SECURITY.md #34: no response of this suite ever contained a client secret', async () => {
  expect(seen.length).toBeGreaterThan(100);
  const everything = seen.join('\n');
  for (const secret of SECRETS) expect(everything).not.toContain(secret);
  // The OpenAPI document names the field; no response ever carries a value for it.
  expect(everything).not.toMatch(/"clientSecret":\s*"/);
  expect(everything).toMatch(/"hasClientSecret":true/);
});
