// Issue 10 point 2: sign-in asked in a Teams group chat or channel. The card goes to the user's personal
// chat (createConversationAsync, captured by the harness's adapter), the group sees a short note, and
// "@Bot 123456" / "@Bot show my deals" work with the mention in the text. Real bot, dialogs, store,
// OAuth routes and oidc-provider; TestAdapter stands in for Teams.
import type { Activity } from 'botbuilder';
import { startAuthServer, type RunningAuthServer } from '../support/authServer';
import { completeConsent, CookieJar } from '../support/browserlessConsent';
import { createBotHarness, freePort, signinUrl, texts, type BotHarness } from '../support/botHarness';
import { createHarness, serverProfile, type Harness } from '../support/engineHarness';
import { mentioningBot, teamsActivity, type TeamsWho } from '../support/teamsActivities';
import { CHAT_ACTIONS } from '../support/chatActions';

const CLIENT = {
  client_id: 'bot-client',
  client_secret: 'bot-client-secret-123456',
  token_endpoint_auth_method: 'client_secret_basic' as const,
};

let server: RunningAuthServer;
let port: number;
let harness: Harness;
let bot: BotHarness;

beforeAll(async () => {
  port = await freePort();
  server = await startAuthServer({
    clients: [
      {
        ...CLIENT,
        redirect_uris: [`http://127.0.0.1:${port}/oauth/callback/crm`],
        pkceRequired: true,
        rotateRefreshToken: true,
      },
    ],
    scopes: 'crm.objects.deals.read',
  });
  harness = await createHarness({
    profiles: [
      serverProfile(server, 'crm', CLIENT, {
        pkce: true,
        apiBaseUrl: 'https://crm.invalid',
        ...CHAT_ACTIONS,
      }),
    ],
    publicUrl: `http://127.0.0.1:${port}`,
  });
  bot = await createBotHarness(harness, { port });
});

afterAll(async () => {
  await bot?.close();
  await harness?.close();
  await server?.stop();
});

function say(who: TeamsWho, text: string, mention = true): Promise<Partial<Activity>[]> {
  return bot.say(text, {
    userId: who.userId,
    channelId: 'msteams',
    activity: { ...teamsActivity(who), ...(mention ? mentioningBot(text) : { text }) },
  });
}

function hasCard(replies: Partial<Activity>[]): boolean {
  return replies.some((reply) => (reply.attachments ?? []).length > 0);
}

async function consent(startUrl: string): Promise<string> {
  const start = await fetch(startUrl, { redirect: 'manual' });
  const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0] as string;
  const callback = await completeConsent(start.headers.get('location') as string, {
    login: 'alice',
    cookieJar: new CookieJar(),
  });
  const page = await fetch(`${bot.baseUrl}${callback.pathname}${callback.search}`, { headers: { cookie } });
  const code = /data-code="(\d{6})"/.exec(await page.text())?.[1];
  if (!code) throw new Error('no verification code on the page');
  return code;
}

test('group chat: the card goes to a personal chat, the group sees a note, "@Bot 123456" connects', async () => {
  const alice: TeamsWho = {
    userId: '29:alice',
    name: 'Alice',
    aadObjectId: 'aad-alice',
    conversationType: 'groupChat',
    conversationId: '19:group-1',
  };
  const before = bot.adapter.createdConversations.length;
  const group = await say(alice, 'show my deals');
  expect(hasCard(group)).toBe(false);
  expect(texts(group)).toEqual(["<at>Alice</at>, I've sent you a sign-in link in a private chat."]);
  expect(group[0]?.entities?.[0]).toMatchObject({ type: 'mention', mentioned: { id: '29:alice' } });

  const personal = bot.adapter.createdConversations[before];
  expect(personal?.parameters).toMatchObject({
    isGroup: false,
    members: [{ id: '29:alice', aadObjectId: 'aad-alice' }],
    tenantId: 'tenant-a',
    channelData: { tenant: { id: 'tenant-a' } },
  });
  expect(personal?.channelId).toBe('msteams');
  const startUrl = signinUrl(personal?.activities ?? []);
  expect(startUrl).toMatch(/\/oauth\/start\/req_/);
  // A link button: the wait lives in the group, where a Teams pop-up's verifyState would not arrive.
  const button = (personal?.activities[0]?.attachments?.[0]?.content as { buttons: { type: string }[] })
    .buttons[0];
  expect(button?.type).toBe('openUrl');

  const code = await consent(startUrl as string);
  expect(texts(bot.drain()).join('\n')).toMatch(/type the 6-digit code/);
  const done = texts(await say(alice, code));
  // In the group, one message: the confirmation, then the answer to "show my deals" (crm.invalid fails).
  expect(done).toEqual([
    "You're connected to Test crm. Test crm is not answering properly right now. Please try again in a minute.",
  ]);
  const profile = await harness.engine.catalog.get('crm');
  expect(
    (await harness.engine.getToken(profile, { kind: 'user', channelId: 'msteams', userId: '29:alice' })).ok,
  ).toBe(true);
});

test('"@Bot show my deals" is read as the command (the mention is removed)', async () => {
  const bob: TeamsWho = { userId: '29:bob', conversationType: 'groupChat', conversationId: '19:group-2' };
  const replies = texts(await say(bob, 'help'));
  expect(replies.join('\n')).toMatch(/Here is what I can do/);
});

test('channel: the card goes privately too; the channel sees only the note', async () => {
  const carol: TeamsWho = { userId: '29:carol', name: 'Carol', team: { id: '19:team-1' } };
  const before = bot.adapter.createdConversations.length;
  const replies = await say(carol, 'show my deals');
  expect(hasCard(replies)).toBe(false);
  expect(texts(replies)[0]).toMatch(/^<at>Carol<\/at>, I've sent you a sign-in link in a private chat\.$/);
  expect(signinUrl(bot.adapter.createdConversations[before]?.activities ?? [])).toMatch(/\/oauth\/start\//);
});

test('the personal chat cannot be opened: no card in the group, the user is asked to message the bot', async () => {
  const dan: TeamsWho = {
    userId: '29:dan',
    name: 'Dan',
    conversationType: 'groupChat',
    conversationId: '19:group-3',
  };
  bot.adapter.refuseNextConversation();
  const replies = await say(dan, 'show my deals');
  expect(hasCard(replies)).toBe(false);
  expect(texts(replies).join('\n')).toMatch(
    /couldn't open a private chat with you\. Please message me directly/,
  );
  // The wait ended: the next message is not taken for a sign-in reply.
  expect(texts(await say(dan, 'what?')).join('\n')).toMatch(/didn't understand/);
});

test('a personal chat in Teams keeps the card in the conversation (Teams sign-in pop-up)', async () => {
  const erin: TeamsWho = { userId: '29:erin' };
  const before = bot.adapter.createdConversations.length;
  const replies = await say(erin, 'show my deals', false);
  expect(hasCard(replies)).toBe(true);
  expect(bot.adapter.createdConversations.length).toBe(before);
});
