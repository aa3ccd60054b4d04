// Several accounts per provider in chat (issue 10 point 3) through the real bot, dialogs, store, OAuth
// routes and oidc-provider; TestAdapter stands in for the channel.
import { startAuthServer, type RunningAuthServer } from '../support/authServer';
import { completeConsent, CookieJar } from '../support/browserlessConsent';
import { createBotHarness, freePort, signinUrl, texts, type BotHarness } from '../support/botHarness';
import { createHarness, serverProfile, type Harness } from '../support/engineHarness';
import { CHAT_ACTIONS } from '../support/chatActions';

const CLIENT = {
  client_id: 'named-chat',
  client_secret: 'named-chat-secret-123456',
  token_endpoint_auth_method: 'client_secret_basic' as const,
};
const USER = { userId: 'nina' };
const SUBJECT = { kind: 'user' as const, channelId: 'webchat', userId: 'nina' };

let server: RunningAuthServer;
let harness: Harness;
let bot: BotHarness;

beforeAll(async () => {
  const port = await freePort();
  server = await startAuthServer({
    clients: [
      { ...CLIENT, redirect_uris: [`http://127.0.0.1:${port}/oauth/callback/crm`], rotateRefreshToken: true },
    ],
    scopes: 'crm.objects.deals.read',
  });
  harness = await createHarness({
    profiles: [serverProfile(server, 'crm', CLIENT, { apiBaseUrl: 'https://crm.invalid', ...CHAT_ACTIONS })],
    publicUrl: `http://127.0.0.1:${port}`,
  });
  bot = await createBotHarness(harness, { port, verificationOff: ['webchat'] });
});

afterAll(async () => {
  await bot?.close();
  await harness?.close();
  await server?.stop();
});

/** Says `text`, signs in at the provider as `login` through the card's link, returns what the bot said. */
async function signIn(text: string, login: string): Promise<string> {
  const startUrl = signinUrl(await bot.say(text, USER));
  expect(startUrl).toBeDefined();
  const start = await fetch(startUrl as string, { redirect: 'manual' });
  const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0] as string;
  const callback = await completeConsent(start.headers.get('location') as string, {
    login,
    cookieJar: new CookieJar(),
  });
  const page = await fetch(`${bot.baseUrl}${callback.pathname}${callback.search}`, { headers: { cookie } });
  expect(page.status).toBe(200);
  return texts(bot.drain()).join('\n');
}

async function token(connection?: string): Promise<string> {
  const profile = await harness.engine.catalog.get('crm');
  const result = await harness.engine.getToken(profile, SUBJECT, connection ? { connection } : {});
  if (!result.ok) throw new Error(`no token: ${result.reason}`);
  return result.accessToken;
}

async function say(text: string): Promise<string> {
  return texts(await bot.say(text, USER)).join('\n');
}

test('connect as work, list, use my work account, sign out of that one', async () => {
  expect(await signIn('connect crm', 'nina')).toMatch(/connected to Test crm/);
  expect(await signIn('connect crm as work', 'nina-work')).toMatch(/connected to Test crm/);
  const personal = await token();
  const work = await token('work');
  expect(work).not.toBe(personal);
  expect(await say('connect crm as work')).toBe(
    'You are already connected to Test crm (work). Say "sign out of Test crm work" first to use another account.',
  );

  let listed = await say('my connections');
  expect(listed).toContain('• Test crm: connected (default)');
  expect(listed).toContain('• Test crm (work): connected\n');

  expect(await say('use my work account for crm')).toBe('From now on I use your work account for Test crm.');
  expect(await token()).toBe(work);
  listed = await say('my connections');
  expect(listed).toContain('• Test crm (work): connected (default)');
  expect(listed).toContain('• Test crm: connected\n');

  // Back to the unnamed one, so signing out of `work` must name it to reach it.
  expect(await say('use my default account for crm')).toBe(
    'From now on I use your default account for Test crm.',
  );
  expect(await token()).toBe(personal);
  expect(await say('sign out of crm work')).toMatch(/^Sign out of Test crm \(work\)\?/);
  expect(await say('yes')).toMatch(/^Signed out of Test crm \(work\)/);
  const profile = await harness.engine.catalog.get('crm');
  expect(await harness.engine.getToken(profile, SUBJECT, { connection: 'work' })).toMatchObject({
    ok: false,
    reason: 'not-connected',
  });
  expect(await token()).toBe(personal);
  listed = await say('my connections');
  expect(listed).toContain('• Test crm: connected\n');
  expect(listed).not.toContain('(work)');
  expect(listed).not.toContain('(default)');
});

test('unknown names and bad names get a clear answer', async () => {
  expect(await say('use my home account for crm')).toBe(
    'You have no Test crm connection called home. Say "connect Test crm as home" to add it.',
  );
  expect(await say('sign out of crm home')).toBe('You have no Test crm (home) connection.');
  expect(await say('connect crm as w#rk')).toMatch(
    /^"w#rk" cannot name a connection: a connection name is 1 to 32/,
  );
  expect(await say('connect nothing as work')).toBe('I don\'t know an integration called "nothing".');
});

test('a default named connection that needs a new sign-in is signed in again under its name', async () => {
  const subject = { kind: 'user' as const, channelId: 'webchat', userId: 'nina' };
  expect(await signIn('connect crm as travel', 'nina-travel')).toMatch(/connected to Test crm/);
  expect(await say('use my travel account for crm')).toBe(
    'From now on I use your travel account for Test crm.',
  );
  const personal = await token('default');
  const stored = await harness.store.connections.get('crm', 'user:webchat:nina#travel');
  await harness.store.connections.update(stored!.id, stored!.version, { status: 'needs-reauthorization' });
  // Any request that needs the token (here the CRM) sends the card for the default: the travel one.
  await signIn('show my deals', 'nina-travel');
  expect(
    (
      await harness.engine.connectionOf(await harness.engine.catalog.get('crm'), subject, {
        connection: 'travel',
      })
    )?.status,
  ).toBe('active');
  expect(await token('default')).toBe(personal);
});

test('"connect crm" when already connected asks for the token: an expired one is refreshed before the answer; the profile is found by id alone', async () => {
  // Its own user: the previous test's resumed turn may still be running in nina's conversation.
  const otto = { userId: 'otto' };
  const subject = { kind: 'user' as const, channelId: 'webchat', userId: 'otto' };
  const profile = await harness.engine.catalog.get('crm');
  const startUrl = signinUrl(await bot.say('connect crm', otto));
  const start = await fetch(startUrl as string, { redirect: 'manual' });
  const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0] as string;
  const callback = await completeConsent(start.headers.get('location') as string, { login: 'otto' });
  expect(
    (await fetch(`${bot.baseUrl}${callback.pathname}${callback.search}`, { headers: { cookie } })).status,
  ).toBe(200);
  // The resumed turn ("You're connected") runs after the page is sent: let it end before the next turn.
  const resumed: string[] = [];
  for (let i = 0; i < 100 && !resumed.some((text) => text.includes('connected to Test crm')); i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    resumed.push(...texts(bot.drain()));
  }
  expect(resumed.join('\n')).toMatch(/connected to Test crm/);
  const first = await harness.engine.getToken(profile, subject);
  if (!first.ok) throw new Error(`no token: ${first.reason}`);
  const stored = await harness.store.connections.get('crm', 'user:webchat:otto');
  await harness.store.connections.update(stored!.id, stored!.version, { expiresAt: harness.clock() - 1000 });
  expect(texts(await bot.say('connect crm', otto)).join('\n')).toBe(
    'You are already connected to Test crm. Say "sign out of Test crm" first to use another account.',
  );
  // The AuthorizationDialog ran: the connection was refreshed, not just looked at.
  expect((await harness.store.connections.get('crm', 'user:webchat:otto'))?.expiresAt).toBeGreaterThan(
    harness.clock(),
  );
  const after = await harness.engine.getToken(profile, subject);
  expect(after.ok && after.accessToken).not.toBe(first.accessToken);

  // Named by id, the profile is looked up alone; by display name, in the list of all.
  const listing = jest.spyOn(harness.engine, 'listProfiles');
  try {
    const already =
      'You are already connected to Test crm. Say "sign out of Test crm" first to use another account.';
    expect(texts(await bot.say('connect crm', otto)).join('\n')).toBe(already);
    expect(listing).not.toHaveBeenCalled();
    expect(texts(await bot.say('connect Test CRM', otto)).join('\n')).toBe(already);
    expect(listing).toHaveBeenCalledTimes(1);
  } finally {
    listing.mockRestore();
  }
});
