// `authprofiles consents start` and `authprofiles connections link` (issue 10 point 6), run as a child
// process exactly as a user runs it: usage errors (exit 2); the local store (a temporary DATA_DIR with
// a profile file); and --remote against a real restify server with the real OAuth routes and admin
// API, the real engine (SQLite) and a real oidc-provider authorization server: the printed consent URL
// is opened by a browserless consent, the redirect URL receives connection_id, the CLI links it to a
// chat user, and that user then gets a token.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import restify, { type Server } from 'restify';
import { registerAdminApi } from '../../bot/admin/api/adminApi';
import type { AdminContext } from '../../bot/admin/adminContext';
import { createOrganizationGate } from '../../bot/admin/organizationGate';
import { createLogger } from '../../bot/logger';
import { BINDING_COOKIE, registerOAuthRoutes } from '../../bot/web/oauthRoutes';
import type { SigninResumer } from '../../bot/web/signinResumer';
import { AdminKeys } from '../../profiles/adminKeys';
import { startAuthServer, type RunningAuthServer } from '../support/authServer';
import { completeConsent, CookieJar } from '../support/browserlessConsent';
import { createHarness, serverProfile, type Harness } from '../support/engineHarness';
import { runCli, type CliRun } from '../support/cliRunner';

jest.setTimeout(120_000);

const CLIENT = {
  client_id: 'cli-consent-client',
  client_secret: `cli-consent-secret-${randomBytes(8).toString('hex')}`,
  token_endpoint_auth_method: 'client_secret_basic' as const,
};
const ADMIN_KEY = `cli-consent-admin-key-${randomBytes(8).toString('hex')}`;
const ENCRYPTION_KEYS = `k1:${randomBytes(32).toString('base64')}`;
const LOCAL_PUBLIC_URL = 'http://127.0.0.1:39998';
const DONE = 'https://crm.partner.example/oauth/done';

let authServer: RunningAuthServer;
let harness: Harness;
let server: Server;
let baseUrl: string;
let dir: string;
const printed: string[] = [];

function cli(args: string[]): Promise<CliRun> {
  return runCli(
    args,
    {
      DATA_DIR: dir,
      PROFILES_DIR: join(dir, 'profiles'),
      PUBLIC_URL: LOCAL_PUBLIC_URL,
      ENCRYPTION_KEYS,
      AUTHPROFILES_ADMIN_KEY: ADMIN_KEY,
    },
    printed,
    '',
  );
}

beforeAll(async () => {
  server = restify.createServer({ name: 'cli-consent-test', handleUncaughtExceptions: false });
  server.pre(restify.plugins.pre.dedupeSlashes());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  authServer = await startAuthServer({
    clients: [{ ...CLIENT, redirect_uris: [`${baseUrl}/oauth/callback/ext`] }],
    scopes: 'crm.objects.deals.read',
  });
  harness = await createHarness({
    profiles: [serverProfile(authServer, 'ext', CLIENT, { consentRedirectUrls: [DONE] })],
    publicUrl: baseUrl,
  });
  const log = createLogger({ level: 'silent' });
  const context: AdminContext = {
    engine: harness.engine,
    keys: new AdminKeys(harness.context, [{ role: 'admin', key: ADMIN_KEY }]),
    log,
    publicUrl: baseUrl,
    secureCookies: false,
  };
  registerOAuthRoutes(server, {
    engine: harness.engine,
    resumer: { resume: async () => false } as unknown as SigninResumer,
    publicUrl: baseUrl,
    log,
    adminResultUrl: (profileId, outcome) => `/admin/profiles/${profileId}?authorization=${outcome}`,
    organizationGate: createOrganizationGate(context),
  });
  registerAdminApi(server, context);

  dir = mkdtempSync(join(tmpdir(), 'authprofiles-cli-consent-'));
  mkdirSync(join(dir, 'profiles'));
  writeFileSync(
    join(dir, 'profiles', 'ext.json'),
    JSON.stringify(serverProfile(authServer, 'ext', CLIENT, { consentRedirectUrls: [DONE] })),
  );
});

afterAll(async () => {
  server?.server.closeAllConnections?.();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await harness?.close();
  await authServer?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('usage errors exit 2 and name the problem', () => {
  test.each([
    [
      ['consents', 'start', '--profile', 'ext', '--external-user', 'crm-42'],
      "required option '--redirect-url <url>'",
    ],
    [
      ['consents', 'start', '--profile', 'ext', '--redirect-url', DONE],
      "required option '--external-user <id>'",
    ],
    [
      ['consents', 'start', '--external-user', 'x', '--redirect-url', DONE],
      "required option '--profile <id>'",
    ],
    [
      ['consents', 'start', '--profile', 'ext', '--external-user', ' ', '--redirect-url', DONE],
      '--external-user must not be empty',
    ],
    [['connections', 'link', 'con_x'], "required option '--user <channel:userId>'"],
    [['connections', 'link', '--user', 'msteams:bob'], "missing required argument 'connectionId'"],
    [['connections', 'link', 'con_x', '--user', 'bob'], '--user must be <channelId>:<userId>'],
    [['connections', 'link', 'con_x', '--user', 'msteams:'], '--user must be <channelId>:<userId>'],
  ])('%j', async (args, message) => {
    const run = await cli(args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(message);
  });
});

describe('local store', () => {
  test('consents start prints only the consent URL (the service public URL and an opaque request id)', async () => {
    const run = await cli([
      'consents',
      'start',
      '--profile',
      'ext',
      '--external-user',
      'crm-42',
      '--redirect-url',
      `${DONE}?their_state=abc`,
    ]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(new RegExp(`^${LOCAL_PUBLIC_URL}/oauth/start/[A-Za-z0-9_-]+\\n$`));

    const json = await cli([
      'consents',
      'start',
      '--profile',
      'ext',
      '--external-user',
      'crm-43',
      '--redirect-url',
      DONE,
      '--json',
    ]);
    expect(json.code).toBe(0);
    const started = JSON.parse(json.stdout) as { requestId: string; consentUrl: string; expiresAt: number };
    expect(started.consentUrl).toBe(`${LOCAL_PUBLIC_URL}/oauth/start/${started.requestId}`);
    expect(started.expiresAt).toBeGreaterThan(Date.now());
  });

  test('a redirect URL the profile does not allow, an unknown profile and an unknown connection fail (exit 1) naming it', async () => {
    const refused = await cli([
      'consents',
      'start',
      '--profile',
      'ext',
      '--external-user',
      'crm-42',
      '--redirect-url',
      'https://evil.example/oauth/done',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain("is not allowed by the profile's consentRedirectUrls");

    const unknown = await cli([
      'consents',
      'start',
      '--profile',
      'nope',
      '--external-user',
      'x',
      '--redirect-url',
      DONE,
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no profile "nope"');

    const link = await cli(['connections', 'link', 'con_missing', '--user', 'msteams:bob']);
    expect(link.code).toBe(1);
    expect(link.stdout).toBe('');
    expect(link.stderr).toMatch(/con_missing/);
  });
});

describe('--remote: the full flow through the running service', () => {
  test('consent URL → consent at the provider → redirect with connection_id → connections link → the chat user gets a token', async () => {
    const started = await cli([
      '--remote',
      baseUrl,
      'consents',
      'start',
      '--profile',
      'ext',
      '--external-user',
      'crm-42',
      '--redirect-url',
      `${DONE}?their_state=abc`,
    ]);
    expect(started).toMatchObject({ code: 0, stderr: '' });
    const consentUrl = started.stdout.trim();
    expect(consentUrl).toMatch(new RegExp(`^${baseUrl}/oauth/start/[A-Za-z0-9_-]+$`));

    // A browser opens the printed URL, consents at the provider and lands back on the callback.
    const start = await fetch(consentUrl, { redirect: 'manual' });
    await start.body?.cancel();
    expect(start.status).toBe(302);
    const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0] as string;
    expect(cookie.startsWith(`${BINDING_COOKIE}=`)).toBe(true);
    const callback = await completeConsent(start.headers.get('location') as string, {
      login: 'erin',
      cookieJar: new CookieJar(),
    });
    const landed = await fetch(callback, { headers: { cookie }, redirect: 'manual' });
    await landed.body?.cancel();
    expect(landed.status).toBe(303);
    const back = new URL(landed.headers.get('location') as string);
    expect(`${back.origin}${back.pathname}`).toBe(DONE);
    expect(back.searchParams.get('their_state')).toBe('abc');
    const connectionId = back.searchParams.get('connection_id') as string;
    expect(connectionId).toMatch(/^con_/);

    const profile = await harness.engine.getProfile('ext');
    const bob = { kind: 'user' as const, channelId: 'msteams', userId: 'bob' };
    expect(await harness.engine.getToken(profile, bob)).toMatchObject({ ok: false });

    const linked = await cli([
      '--remote',
      baseUrl,
      'connections',
      'link',
      connectionId,
      '--user',
      'msteams:bob',
    ]);
    expect(linked).toMatchObject({ code: 0, stderr: '' });
    const newId = /^linked: connection (con_\S+) \(ext, user:msteams:bob\)\n$/.exec(linked.stdout)?.[1];
    expect(newId).toBeDefined();
    expect(await harness.engine.getToken(profile, bob)).toMatchObject({ ok: true, connectionId: newId });

    // The external record is gone: linking it again names the id; a user connection cannot be linked.
    const again = await cli([
      '--remote',
      baseUrl,
      'connections',
      'link',
      connectionId,
      '--user',
      'msteams:bob',
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`no external connection "${connectionId}"`);
    const notExternal = await cli([
      '--remote',
      baseUrl,
      'connections',
      'link',
      newId as string,
      '--user',
      'webchat:dave',
      '--json',
    ]);
    expect(notExternal.code).toBe(1);
    expect(notExternal.stdout).toBe('');

    // A redirect URL the profile does not allow: the service's 400 names the field.
    const refused = await cli([
      '--remote',
      baseUrl,
      'consents',
      'start',
      '--profile',
      'ext',
      '--external-user',
      'crm-42',
      '--redirect-url',
      'https://evil.example/oauth/done',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('redirectUrl');
  });
});

test('nothing printed holds the admin key or the client secret', () => {
  for (const text of printed) {
    expect(text).not.toContain(ADMIN_KEY);
    expect(text).not.toContain(CLIENT.client_secret);
  }
});
