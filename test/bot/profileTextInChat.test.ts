// A profile author's display name is inert text in every chat message and card (SECURITY.md #45): the
// real bot, dialogs, store and OAuth routes with oidc-provider, and a display name that tries to be a
// link, a heading, bold text, HTML and an autolinked URL on two lines. What Web Chat would render is
// checked with its own markdown engine (test/support/webChatMarkdown.ts).
import type { Activity } from 'botbuilder';
import { startAuthServer, type RunningAuthServer } from '../support/authServer';
import { completeConsent, CookieJar } from '../support/browserlessConsent';
import { createBotHarness, freePort, signinUrl, type BotHarness } from '../support/botHarness';
import { authorize, createHarness, serverProfile, type Harness } from '../support/engineHarness';
import { hasAutolink, visibleText, webChatHtml } from '../support/webChatMarkdown';
import { CHAT_ACTIONS } from '../support/chatActions';

const CLIENT = {
  client_id: 'inert-client',
  client_secret: 'inert-client-secret-123456',
  token_endpoint_auth_method: 'client_secret_basic' as const,
};
const EVIL = 'Acme [verify here](https://evil.example/login)\n# **Urgent** <b>x</b> evil.com/x';
/** What a reader must see: the same characters, on one line. */
const SEEN = 'Acme [verify here](https://evil.example/login) # **Urgent** <b>x</b> evil.com/x';
const ZWSP = /\u200B/g;
/** The provider writes the account's name and e-mail (ID token claims): inert too. */
const EVIL_ACCOUNT = {
  name: 'Mallory [reset your password](https://evil.example/reset)\n<img src=x>',
  email: 'mallory@evil.example',
};
const ACCOUNT_SEEN =
  'Mallory [reset your password](https://evil.example/reset) <img src=x> (mallory@evil.example)';

let server: RunningAuthServer;
let harness: Harness;
let bot: BotHarness;
let orgBot: BotHarness;
let unsetBot: BotHarness;

beforeAll(async () => {
  const port = await freePort();
  server = await startAuthServer({
    clients: [
      {
        ...CLIENT,
        redirect_uris: ['evil', 'evil-oidc'].map((id) => `http://127.0.0.1:${port}/oauth/callback/${id}`),
        pkceRequired: true,
      },
    ],
    scopes: 'crm.objects.deals.read',
    users: { mallory: { ...EVIL_ACCOUNT, email_verified: true } },
  });
  const base = serverProfile(server, 'evil', CLIENT, {
    displayName: EVIL,
    apiBaseUrl: 'https://crm.invalid',
    ...CHAT_ACTIONS,
  });
  const { clientId: _clientId, ...withoutClientId } = base;
  harness = await createHarness({
    profiles: [
      base,
      { ...base, id: 'evil-org', authorization: 'pre-authorized' },
      // Not set up: its client id comes from an environment variable that is not set.
      { ...withoutClientId, id: 'evil-unset', clientIdEnv: 'EVIL_CLIENT_ID' },
      // OpenID Connect: the verified ID token's name and e-mail are stored as the connection's account.
      {
        ...base,
        id: 'evil-oidc',
        scopes: ['openid', 'email', 'profile', 'crm.objects.deals.read'],
        jwksUrl: server.url('/jwks'),
      },
    ],
    publicUrl: `http://127.0.0.1:${port}`,
  });
  bot = await createBotHarness(harness, { port, crmProfileId: 'evil' });
  orgBot = await createBotHarness(harness, { port: await freePort(), crmProfileId: 'evil-org' });
  unsetBot = await createBotHarness(harness, { port: await freePort(), crmProfileId: 'evil-unset' });
});

afterAll(async () => {
  await bot?.close();
  await orgBot?.close();
  await unsetBot?.close();
  await harness?.close();
  await server?.stop();
});

/** The replies that name the profile. */
function naming(replies: Partial<Activity>[]): Partial<Activity>[] {
  return replies.filter((reply) => (reply.text ?? '').replace(ZWSP, '').includes('Acme'));
}

/**
 * The one reply matching `wording`: sent as plain text (no markdown), the name whole on one line, and
 * nothing in it that a client could turn into a link or markup even if it rendered markdown anyway.
 */
function expectInertMessage(replies: Partial<Activity>[], wording: RegExp): string {
  const matching = naming(replies).filter((reply) => wording.test((reply.text ?? '').replace(ZWSP, '')));
  expect(matching).toHaveLength(1);
  const reply = matching[0] as Partial<Activity>;
  const text = reply.text ?? '';
  expect(reply.textFormat).toBe('plain');
  expect(text.replace(ZWSP, '')).toContain(SEEN);
  expect(text).not.toContain('](');
  expect(text).not.toMatch(/<[a-z/]/i);
  expect(text).not.toContain('\\');
  expect(hasAutolink(text)).toBe(false);
  expect(webChatHtml(text)).not.toMatch(/<(a|img|b)\b/);
  return text;
}

interface HeroCard {
  title: string;
  text: string;
  buttons: { type: string; title: string; value: string }[];
}

function heroCard(replies: Partial<Activity>[]): HeroCard {
  const card = replies[0]?.attachments?.[0]?.content as HeroCard | undefined;
  if (!card) throw new Error('no card');
  return card;
}

/** A button title is plain text everywhere: the name cut to 40 characters, no backslashes, no link. */
function expectInertButton(title: string): void {
  expect(title).not.toContain('\\');
  expect(title).not.toContain('](');
  expect(hasAutolink(title)).toBe(false);
  expect(title.replace(ZWSP, '')).toBe(`Sign in to ${Array.from(SEEN).slice(0, 39).join('').trimEnd()}…`);
}

async function consent(startUrl: string, options: { deny?: boolean } = {}): Promise<string> {
  const start = await fetch(startUrl, { redirect: 'manual' });
  const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0] as string;
  const callback = await completeConsent(start.headers.get('location') as string, {
    login: 'alice',
    cookieJar: new CookieJar(),
    ...(options.deny ? { deny: true } : {}),
  });
  const page = await fetch(`${bot.baseUrl}${callback.pathname}${callback.search}`, { headers: { cookie } });
  return page.text();
}

test('the Web Chat sign-in card: title and text render as the literal name, the button is plain', async () => {
  const card = heroCard(await bot.say('show my deals', { userId: 'w0' }));
  // Web Chat renders a hero card's title and text as markdown: nothing in them may become markup.
  for (const field of [card.title, card.text]) {
    const html = webChatHtml(field);
    expect(html).not.toMatch(/<(a|img|em|strong|h\d|b|code|ul|ol|blockquote)\b/);
    expect(visibleText(html)).toContain(SEEN);
    expect(field).not.toContain('](');
    expect(hasAutolink(field)).toBe(false);
  }
  expect(card.buttons[0]?.type).toBe('openUrl');
  expectInertButton(card.buttons[0]?.title ?? '');
});

test('the Teams sign-in card: no markdown is rendered there, so no backslashes either', async () => {
  const target = { userId: '29:inert', channelId: 'msteams', conversationId: 'a:inert' };
  const card = heroCard(await bot.say('show my deals', target));
  for (const field of [card.title, card.text]) {
    expect(field).not.toContain('\\');
    expect(field).not.toContain('](');
    expect(field).not.toMatch(/<[a-z/]/i);
    expect(hasAutolink(field)).toBe(false);
    expect(field.replace(ZWSP, '')).toContain(SEEN);
  }
  expect(card.buttons[0]?.type).toBe('signin');
  expectInertButton(card.buttons[0]?.title ?? '');
});

test('every message of a sign-in names the profile inertly, up to the answer', async () => {
  const user = { userId: 'w1' };
  const startUrl = signinUrl(await bot.say('show my deals', user)) as string;
  expectInertMessage(await bot.say('what?', user), /still waiting for you to sign in to/);
  const page = await consent(startUrl);
  expectInertMessage(bot.drain(), /Almost done/);
  expectInertMessage(await bot.say('hello', user), /still waiting for you to finish signing in to/);
  const code = /data-code="(\d{6})"/.exec(page)?.[1] as string;
  const done = await bot.say(code, user);
  expectInertMessage(done, /You're connected to/);
  // The CRM call fails (crm.invalid): the error names the profile too, in the same message (issue 12).
  expectInertMessage(done, /is not answering properly/);
  expect(done).toHaveLength(1);
  expect((done[0]?.text ?? '').replace(ZWSP, '')).toMatch(
    /^You're connected to .*\. .* is not answering properly/,
  );
});

test('"my connections" names each profile inertly, one line each', async () => {
  const replies = await bot.say('my connections', { userId: 'w1' });
  expect(replies).toHaveLength(1);
  const text = expectInertMessage(replies, /Your connections/);
  const lines = text.replace(ZWSP, '').split('\n');
  expect(lines).toContain(`• ${SEEN}: connected`);
  expect(lines).toContain(`• ${SEEN} — shared by your organisation: not connected`);
});

test('"my connections" shows the account a connection signed in as, inertly (the provider wrote it)', async () => {
  const subject = { kind: 'user' as const, channelId: 'webchat', userId: 'w6' };
  const { outcome } = await authorize(harness, 'evil-oidc', subject, { login: 'mallory' });
  expect(outcome.kind).toBe('connected');
  // Stored as the provider wrote it (one line): the link syntax is still there for the chat to defuse.
  const stored = await harness.store.connections.get('evil-oidc', 'user:webchat:w6');
  expect(stored?.account?.name).toBe('Mallory [reset your password](https://evil.example/reset) <img src=x>');
  expect(stored?.account?.email).toBe(EVIL_ACCOUNT.email);
  const replies = await bot.say('my connections', { userId: 'w6' });
  const text = expectInertMessage(replies, /Your connections/);
  const lines = text.replace(ZWSP, '').split('\n');
  expect(lines).toContain(`• ${SEEN}: connected as ${ACCOUNT_SEEN}`);
  // Nothing of the account's name or address can become a link or an image in Web Chat.
  expect(webChatHtml(text)).not.toMatch(/<(a|img)\b/);
  expect(text).not.toContain('<img');
  expect(hasAutolink(text)).toBe(false);
});

test('sign-out: the confirmation and the answers name the profile inertly', async () => {
  const user = { userId: 'w1' };
  expectInertMessage(await bot.say('sign out of evil', user), /^Sign out of .*\?/);
  expectInertMessage(await bot.say('no', user), /still connected to/);
  expectInertMessage(await bot.say('sign out of evil', user), /^Sign out of .*\?/);
  expectInertMessage(await bot.say('yes', user), /^Signed out of/);
  expectInertMessage(await bot.say('sign out of evil', user), /not signed in to/);
});

test('"an admin must connect it" for an organisation profile names it inertly', async () => {
  expectInertMessage(await orgBot.say('show my deals', { userId: 'w2' }), /an admin must connect it first/);
});

test('"not set up yet" names the profile inertly', async () => {
  // Bare phrases go to usable profiles only (issue 11 point 4): the unset one is named to be asked.
  const text = expectInertMessage(
    await unsetBot.say('evil-unset: show my deals', { userId: 'w3' }),
    /is not set up yet/,
  );
  expect(text).toContain('missing clientId (set EVIL_CLIENT_ID)');
});

test('denied consent and cancel name the profile inertly', async () => {
  const denied = signinUrl(await bot.say('show my deals', { userId: 'w4' })) as string;
  await consent(denied, { deny: true });
  expectInertMessage(bot.drain(), /You did not grant access to/);
  await bot.say('show my deals', { userId: 'w5' });
  expectInertMessage(await bot.say('cancel', { userId: 'w5' }), /cancelled the sign-in to/);
});
