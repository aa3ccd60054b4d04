// The HTTP edge of the flow: SECURITY rows 7, 11, 12, 13 and the binding cookie.
import { startAuthServer, type RunningAuthServer } from '../support/authServer';
import { completeConsent, CookieJar } from '../support/browserlessConsent';
import { createBotHarness, freePort, signinUrl, type BotHarness } from '../support/botHarness';
import { createHarness, serverProfile, type Harness } from '../support/engineHarness';
import { ORGANIZATION } from '../../profiles/subjects';

const CLIENT = {
  client_id: 'edge-client',
  client_secret: 'edge-client-secret-123456',
  token_endpoint_auth_method: 'client_secret_basic' as const,
};
const EVIL_NAME = '<script>alert("x")</script><img src=x onerror=alert(1)>';

let server: RunningAuthServer;
let harness: Harness;
let bot: BotHarness;

beforeAll(async () => {
  const port = await freePort();
  server = await startAuthServer({
    clients: [
      { ...CLIENT, redirect_uris: [`http://127.0.0.1:${port}/oauth/callback/edge`], pkceRequired: true },
    ],
    scopes: 'crm.objects.deals.read',
  });
  harness = await createHarness({
    profiles: [
      serverProfile(server, 'edge', CLIENT, { displayName: EVIL_NAME }),
      serverProfile(server, 'edge-org', CLIENT, { authorization: 'pre-authorized' }),
    ],
    publicUrl: `http://127.0.0.1:${port}`,
  });
  bot = await createBotHarness(harness, { port, crmProfileId: 'edge' });
});

afterAll(async () => {
  await bot?.close();
  await harness?.close();
  await server?.stop();
});

async function newStartUrl(userId: string): Promise<string> {
  const url = signinUrl(await bot.say('show my deals', { userId }));
  if (!url) throw new Error('no sign-in card');
  return url;
}

test('the start route sets an HttpOnly SameSite binding cookie and redirects to the provider only', async () => {
  const start = await fetch(
    `${await newStartUrl('edge1')}?returnUrl=https://evil.example/&redirect_uri=https://evil.example/cb`,
    {
      redirect: 'manual',
      headers: { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' },
    },
  );
  expect(start.status).toBe(302);
  const location = new URL(start.headers.get('location') as string);
  expect(location.origin).toBe(server.issuer);
  // Row 11 and 13: neither the query nor forwarded headers change where the browser comes back to.
  expect(location.searchParams.get('redirect_uri')).toBe(`${bot.baseUrl}/oauth/callback/edge`);
  expect(start.headers.get('location')).not.toContain('evil.example');
  const cookie = start.headers.get('set-cookie') as string;
  expect(cookie).toMatch(/^authprofiles_binding=[A-Za-z0-9_-]{43};/);
  expect(cookie).toMatch(/HttpOnly/i);
  expect(cookie).toMatch(/SameSite=Lax/i);
  expect(cookie).toMatch(/Path=\/oauth\//);
  expect(start.headers.get('cache-control')).toBe('no-store');
});

test('row 12 and 7: the callback page has no-store, no-referrer, a strict CSP, and escapes the profile name', async () => {
  const start = await fetch(await newStartUrl('edge2'), { redirect: 'manual' });
  const cookie = (start.headers.get('set-cookie') as string).split(';')[0] as string;
  const callback = await completeConsent(start.headers.get('location') as string, {
    login: 'eve',
    cookieJar: new CookieJar(),
  });
  const page = await fetch(`${bot.baseUrl}${callback.pathname}${callback.search}`, { headers: { cookie } });
  const html = await page.text();
  expect(page.status).toBe(200);
  expect(page.headers.get('cache-control')).toBe('no-store');
  expect(page.headers.get('referrer-policy')).toBe('no-referrer');
  expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
  expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
  expect(page.headers.get('x-content-type-options')).toBe('nosniff');
  expect(html).not.toContain('<script>alert');
  expect(html).not.toContain('<img src=x');
  expect(html).toContain('&lt;script&gt;');
  expect(html).not.toContain(callback.searchParams.get('code') as string);
  expect(html).not.toContain(callback.searchParams.get('state') as string);
  // Only this server's scripts.
  expect([...html.matchAll(/<script[^>]*src="([^"]+)"/g)].map((match) => match[1])).toEqual([
    '/static/teams-js.js',
    '/static/teams-signin.js',
  ]);
});

test('row 7: an error_description with markup is never rendered', async () => {
  const start = await fetch(await newStartUrl('edge3'), { redirect: 'manual' });
  const cookie = (start.headers.get('set-cookie') as string).split(';')[0] as string;
  const state = new URL(start.headers.get('location') as string).searchParams.get('state') as string;
  const query = new URLSearchParams({
    state,
    iss: server.issuer,
    error: 'server_error',
    error_description: '<b onmouseover=alert(1)>boom</b>',
  });
  const page = await fetch(`${bot.baseUrl}/oauth/callback/edge?${query}`, { headers: { cookie } });
  const html = await page.text();
  expect(page.status).toBe(502);
  expect(html).toMatch(/The provider reported an error/);
  expect(html).not.toContain('onmouseover');
  expect(html).not.toContain('boom');
});

test('bad request ids and profile ids get a 400 page, not a stack trace', async () => {
  for (const path of [
    '/oauth/start/not-an-id',
    '/oauth/start/req_AAAAAAAAAAAAAAAAAAAAAAAA',
    '/oauth/callback/Bad_Profile?state=x',
    '/oauth/callback/edge',
  ]) {
    const response = await fetch(`${bot.baseUrl}${path}`, { redirect: 'manual' });
    const html = await response.text();
    expect(response.status).toBe(400);
    expect(html).not.toMatch(/at .*\.ts:\d+|Error:/);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
  }
});

test('a callback without the binding cookie is refused and can still be completed by the right browser (row 2)', async () => {
  const start = await fetch(await newStartUrl('edge4'), { redirect: 'manual' });
  const cookie = (start.headers.get('set-cookie') as string).split(';')[0] as string;
  const callback = await completeConsent(start.headers.get('location') as string, {
    login: 'eve',
    cookieJar: new CookieJar(),
  });
  const stranger = await fetch(`${bot.baseUrl}${callback.pathname}${callback.search}`);
  expect(stranger.status).toBe(400);
  expect(await stranger.text()).toMatch(/started in a different browser/);
  const owner = await fetch(`${bot.baseUrl}${callback.pathname}${callback.search}`, { headers: { cookie } });
  expect(owner.status).toBe(200);
});

test("row 44: without the admin pages' gate an organisation link is refused (403) and binds nothing", async () => {
  const created = await harness.engine.createAuthorizationRequest({
    profile: await harness.engine.catalog.get('edge-org'),
    subject: ORGANIZATION,
    createdBy: 'admin:test',
    context: { kind: 'admin', actor: 'admin:test' },
  });
  const start = await fetch(created.startUrl, { redirect: 'manual' });
  expect(start.status).toBe(403);
  expect(start.headers.get('set-cookie')).toBeNull();
  expect(await start.text()).toContain('Organisation connections are made from the admin pages.');
  expect(await harness.store.authorizationRequests.get(created.requestId)).toMatchObject({
    status: 'created',
    bindingHash: null,
  });
});
