// The HTTP edge of the flow: SECURITY.md #7, #11, #12, #13, #48, #49 and the binding cookie.
import { subjectKey } from '../../profiles/subjects';
import { startAuthServer, type RunningAuthServer } from '../support/authServer';
import { completeConsent, CookieJar } from '../support/browserlessConsent';
import { createBotHarness, freePort, signinUrl, texts, type BotHarness } from '../support/botHarness';
import { authorize, createHarness, serverProfile, type Harness } from '../support/engineHarness';
import { startFakeTokenEndpoints, type FakeTokenEndpoints } from '../support/fakeTokenEndpoints';
import { ORGANIZATION } from '../../profiles/subjects';
import { CHAT_ACTIONS } from '../support/chatActions';

const CLIENT = {
  client_id: 'edge-client',
  client_secret: 'edge-client-secret-123456',
  token_endpoint_auth_method: 'client_secret_basic' as const,
};
const EVIL_NAME = '<script>alert("x")</script><img src=x onerror=alert(1)>';

let server: RunningAuthServer;
let fakes: FakeTokenEndpoints;
let harness: Harness;
let bot: BotHarness;
/** The same service, its CRM profile refreshed at a FAKE endpoint that answers an empty 400 (Glewlwyd). */
let deadBot: BotHarness;

beforeAll(async () => {
  const port = await freePort();
  const callback = (id: string) => `http://127.0.0.1:${port}/oauth/callback/${id}`;
  server = await startAuthServer({
    clients: [
      {
        ...CLIENT,
        redirect_uris: [callback('edge'), callback('edge-dead'), callback('edge-lost')],
        pkceRequired: true,
      },
    ],
    scopes: 'crm.objects.deals.read',
  });
  fakes = await startFakeTokenEndpoints();
  harness = await createHarness({
    profiles: [
      serverProfile(server, 'edge', CLIENT, { displayName: EVIL_NAME, ...CHAT_ACTIONS }),
      serverProfile(server, 'edge-org', CLIENT, { authorization: 'pre-authorized' }),
      serverProfile(server, 'edge-dead', CLIENT, {
        displayName: 'Dead CRM',
        ...CHAT_ACTIONS,
        refreshUrl: fakes.url('emptyBadRequest'),
      }),
      // The provider takes the code, then its answer is lost (a 500 after receipt).
      serverProfile(server, 'edge-lost', CLIENT, {
        displayName: 'Lost CRM',
        tokenUrl: fakes.url('serverError500AfterReceipt'),
      }),
    ],
    publicUrl: `http://127.0.0.1:${port}`,
  });
  bot = await createBotHarness(harness, { port, crmProfileId: 'edge' });
  deadBot = await createBotHarness(harness, { port: await freePort(), crmProfileId: 'edge-dead' });
});

afterAll(async () => {
  await deadBot?.close();
  await bot?.close();
  await harness?.close();
  await fakes?.close();
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
  // SECURITY.md #11 and #13: neither the query nor forwarded headers change where the browser comes back to.
  expect(location.searchParams.get('redirect_uri')).toBe(`${bot.baseUrl}/oauth/callback/edge`);
  expect(start.headers.get('location')).not.toContain('evil.example');
  const cookie = start.headers.get('set-cookie') as string;
  expect(cookie).toMatch(/^authprofiles_binding=[A-Za-z0-9_-]{43};/);
  expect(cookie).toMatch(/HttpOnly/i);
  expect(cookie).toMatch(/SameSite=Lax/i);
  expect(cookie).toMatch(/Path=\/oauth\//);
  expect(start.headers.get('cache-control')).toBe('no-store');
});

test('SECURITY.md #12 and #7: the callback page has no-store, no-referrer, a strict CSP, and escapes the profile name', async () => {
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

/** A real sign-in taken to the provider, then called back with the given parameters instead of its answer. */
async function callbackWith(userId: string, params: Record<string, string>): Promise<Response> {
  const start = await fetch(await newStartUrl(userId), { redirect: 'manual' });
  const cookie = (start.headers.get('set-cookie') as string).split(';')[0] as string;
  const state = new URL(start.headers.get('location') as string).searchParams.get('state') as string;
  const query = new URLSearchParams({ state, iss: server.issuer, ...params });
  return fetch(`${bot.baseUrl}/oauth/callback/edge?${query}`, { headers: { cookie } });
}

// Issue 7 point 10 changed this test: the description was hidden altogether ("invalid_request" was
// all a user saw); now it is shown, escaped, so markup in it stays text.
test('SECURITY.md #7: an error_description with markup is shown as escaped text, never rendered', async () => {
  const page = await callbackWith('edge3', {
    error: 'server_error',
    error_description: '<b onmouseover=alert(1)>boom</b>',
  });
  const html = await page.text();
  expect(page.status).toBe(502);
  expect(html).toMatch(/The provider reported an error/);
  expect(html).not.toContain('<b ');
  expect(html).toContain('The provider said: <q>&lt;b onmouseover&#x3D;alert(1)&gt;boom&lt;/b&gt;</q>');
});

test('the error_description is shown cleaned: control characters removed, at most 300 characters', async () => {
  const page = await callbackWith('edge5', {
    error: 'invalid_request',
    error_description: `nonce required\r\nFAKE LOG LINE\u202e ${'x'.repeat(400)}`,
  });
  const html = await page.text();
  expect(page.status).toBe(502);
  expect(html).toContain(
    'The provider reported &quot;invalid_request&quot;. Ask the bot for a new sign-in link.',
  );
  const shown = /The provider said: <q>([^<]*)<\/q>/.exec(html)?.[1] ?? '';
  expect(shown.startsWith('nonce required FAKE LOG LINE xxx')).toBe(true);
  expect(shown).not.toMatch(/[\r\n\u202e]/);
  expect([...shown].length).toBe(300);
  expect(shown.endsWith('…')).toBe(true);
});

test('SECURITY.md #48: a code exchange whose answer was lost fails with "start again", and the code is not sent twice', async () => {
  // The edge-lost profile is not the bot's CRM profile: its sign-in link comes from the engine.
  const profile = await harness.engine.catalog.get('edge-lost');
  const created = await harness.engine.createAuthorizationRequest({
    profile,
    subject: { kind: 'user', channelId: 'webchat', userId: 'edge-lost-user' },
    createdBy: 'user:test',
  });
  const start = await fetch(created.startUrl, { redirect: 'manual' });
  const cookie = (start.headers.get('set-cookie') as string).split(';')[0] as string;
  const callback = await completeConsent(start.headers.get('location') as string, {
    login: 'eve',
    cookieJar: new CookieJar(),
  });
  const page = await fetch(`${bot.baseUrl}${callback.pathname}${callback.search}`, { headers: { cookie } });
  const html = await page.text();
  expect(page.status).toBe(502);
  expect(html).toContain('<h1>The provider did not answer</h1>');
  expect(html).toContain('it may already have used the authorization code, so it was not sent again.');
  expect(html).toContain('Ask the bot for a new sign-in link.');
  expect(html).not.toContain('reload this page');
  expect(fakes.calls('serverError500AfterReceipt', 'authorization_code')).toBe(1);
  expect(fakes.replays('serverError500AfterReceipt')).toBe(0);
});

test('SECURITY.md #49: a dead refresh token (empty 400) gets the user a new sign-in card, not "try again later"', async () => {
  const subject = { kind: 'user' as const, channelId: 'webchat', userId: 'dead-user' };
  const { outcome } = await authorize(harness, 'edge-dead', subject);
  expect(outcome.kind).toBe('connected');
  const stored = await harness.store.connections.get('edge-dead', subjectKey(subject));
  if (!stored) throw new Error('no connection');
  await harness.store.connections.update(stored.id, stored.version, { expiresAt: harness.clock() - 1000 });

  const replies = await deadBot.say('show my deals', { userId: 'dead-user' });

  expect(texts(replies).join(' ')).not.toMatch(/not answering/);
  expect(signinUrl(replies)).toMatch(/\/oauth\/start\/req_/);
  const card = replies[0]?.attachments?.[0]?.content as { text?: string } | undefined;
  expect(card?.text).toMatch(/^Your connection to Dead CRM has to be renewed\. Sign in again to continue\./);
  expect(fakes.calls('emptyBadRequest', 'refresh_token')).toBe(1);
  expect((await harness.store.connections.getById(stored.id))?.lastError).toBe(
    'refresh-refused: HTTP 400, no error code',
  );
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

test('a callback without the binding cookie is refused and can still be completed by the right browser (SECURITY.md #2)', async () => {
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

test("SECURITY.md #44: without the admin pages' gate an organisation link is refused (403) and binds nothing", async () => {
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
