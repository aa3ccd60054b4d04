// The in-conversation consent flow (DESIGN flow 1) through the real bot, dialogs, store, OAuth
// routes and oidc-provider; TestAdapter stands in for the channel. Covers issue 3 point 3's cases.
import type { Activity } from 'botbuilder';
import { sweepExpired } from '../../bot/web/expirySweeper';
import { startAuthServer, type RunningAuthServer } from '../support/authServer';
import { completeConsent, CookieJar } from '../support/browserlessConsent';
import { createBotHarness, freePort, signinUrl, texts, type BotHarness } from '../support/botHarness';
import { createHarness, serverProfile, type Harness } from '../support/engineHarness';
import pino from 'pino';
import { CHAT_ACTIONS } from '../support/chatActions';

const CLIENT = {
  client_id: 'bot-client',
  client_secret: 'bot-client-secret-123456',
  token_endpoint_auth_method: 'client_secret_basic' as const,
};

let server: RunningAuthServer;
// One port per bot instance: each must be registered at the provider as a redirect URI, and a
// closed server's port is not reused (clients keep connections alive).
const ports: number[] = [];

beforeAll(async () => {
  for (let i = 0; i < 6; i += 1) ports.push(await freePort());
  server = await startAuthServer({
    clients: [
      {
        ...CLIENT,
        redirect_uris: ports.map((port) => `http://127.0.0.1:${port}/oauth/callback/crm`),
        pkceRequired: true,
        rotateRefreshToken: true,
      },
    ],
    scopes: 'crm.objects.deals.read',
  });
});

afterAll(async () => {
  await server?.stop();
});

interface World {
  harness: Harness;
  bot: BotHarness;
  close(): Promise<void>;
}

async function world(
  port: number,
  options: { dir?: string; verificationOff?: string[]; signinTimeoutMs?: number } = {},
): Promise<World> {
  const harness = await createHarness({
    profiles: [
      serverProfile(server, 'crm', CLIENT, {
        pkce: true,
        apiBaseUrl: 'https://crm.invalid',
        ...CHAT_ACTIONS,
      }),
    ],
    publicUrl: `http://127.0.0.1:${port}`,
    ...(options.dir
      ? { dir: options.dir, encryptionKeys: 'k1:' + Buffer.alloc(32, 7).toString('base64') }
      : {}),
  });
  const bot = await createBotHarness(harness, { port, ...options });
  return {
    harness,
    bot,
    async close() {
      await bot.close();
      await harness.close();
    },
  };
}

/** Plays the browser: opens the start link (keeping its cookie), consents, returns the callback URL + cookie. */
async function browserConsent(
  startUrl: string,
  options: { deny?: boolean } = {},
): Promise<{ callback: URL; cookie: string }> {
  const start = await fetch(startUrl, { redirect: 'manual' });
  expect(start.status).toBe(302);
  const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0] as string;
  const callback = await completeConsent(start.headers.get('location') as string, {
    login: 'alice',
    cookieJar: new CookieJar(),
    ...(options.deny ? { deny: true } : {}),
  });
  return { callback, cookie };
}

async function openCallback(
  callback: URL,
  cookie: string,
  base: string,
): Promise<{ status: number; html: string }> {
  const response = await fetch(`${base}${callback.pathname}${callback.search}`, { headers: { cookie } });
  return { status: response.status, html: await response.text() };
}

function codeFrom(html: string): string {
  const code = /data-code="(\d{6})"/.exec(html)?.[1];
  if (!code) throw new Error('no verification code on the page');
  return code;
}

/** After a sign-in for "show my deals": the confirmation and the failed CRM call (crm.invalid), one text. */
const CONNECTED_AND_CRM_DOWN =
  "You're connected to Test crm. Test crm is not answering properly right now. Please try again in a minute.";

function allText(replies: Partial<Activity>[]): string {
  return texts(replies).join('\n');
}

/**
 * The replies of the proactive turn the callback started: the route answers the browser first and
 * resumes the conversation after, so they are collected until one matches `until` (or 5 s pass).
 */
async function resumedReplies(bot: BotHarness, until: RegExp): Promise<Partial<Activity>[]> {
  const collected: Partial<Activity>[] = [];
  for (const deadline = Date.now() + 5_000; Date.now() < deadline;) {
    collected.push(...bot.drain());
    if (until.test(allText(collected))) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return collected;
}

describe('per-user sign-in in Web Chat', () => {
  let w: World;
  beforeAll(async () => {
    w = await world(ports[0] as number);
  });
  afterAll(async () => {
    await w.close();
  });

  test('a card, the callback resumes the dialog by itself, the code activates the connection', async () => {
    const first = await w.bot.say('show my deals', { userId: 'u1' });
    const startUrl = signinUrl(first);
    expect(startUrl).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${ports[0]}/oauth/start/req_`));
    expect(first[0]?.attachments?.[0]?.contentType).toBe('application/vnd.microsoft.card.hero');
    expect((first[0]?.attachments?.[0]?.content as { buttons: { type: string }[] }).buttons[0]?.type).toBe(
      'openUrl',
    );

    const { callback, cookie } = await browserConsent(startUrl as string);
    const page = await openCallback(callback, cookie, w.bot.baseUrl);
    expect(page.status).toBe(200);
    const code = codeFrom(page.html);
    // The page never echoes the authorization code or state (SECURITY.md #12).
    expect(page.html).not.toContain(callback.searchParams.get('code') as string);
    expect(page.html).not.toContain(callback.searchParams.get('state') as string);
    const resumed = w.bot.drain();
    expect(allText(resumed)).toMatch(/Almost done: type the 6-digit code/);

    const wrong = await w.bot.say(code === '123456' ? '654321' : '123456', { userId: 'u1' });
    expect(allText(wrong)).toMatch(/does not match/);
    const done = await w.bot.say(code, { userId: 'u1' });
    // The CRM call itself fails (crm.invalid), which the dialog reports instead of crashing; the
    // confirmation and that answer are one message (issue 12).
    expect(texts(done)).toEqual([CONNECTED_AND_CRM_DOWN]);
    expect(done).toHaveLength(1);
    const profile = await w.harness.engine.catalog.get('crm');
    expect(
      (await w.harness.engine.getToken(profile, { kind: 'user', channelId: 'webchat', userId: 'u1' })).ok,
    ).toBe(true);
  });

  test('"cancel" ends the wait, and a later callback for that link connects nothing', async () => {
    const startUrl = signinUrl(await w.bot.say('show my deals', { userId: 'u2' })) as string;
    const { callback, cookie } = await browserConsent(startUrl);
    const cancelled = await w.bot.say('cancel', { userId: 'u2' });
    expect(allText(cancelled)).toMatch(/cancelled the sign-in to Test crm/);
    const page = await openCallback(callback, cookie, w.bot.baseUrl);
    expect(page.status).toBe(400);
    expect(page.html).toMatch(/already been completed/);
    expect(w.bot.drain()).toHaveLength(0);
    expect(await w.harness.store.connections.get('crm', 'user:webchat:u2')).toBeNull();
  });

  test('denied consent ends the wait with a clear message (SECURITY.md #6)', async () => {
    const startUrl = signinUrl(await w.bot.say('show my deals', { userId: 'u3' })) as string;
    const { callback, cookie } = await browserConsent(startUrl, { deny: true });
    const page = await openCallback(callback, cookie, w.bot.baseUrl);
    expect(page.status).toBe(200);
    expect(page.html).toMatch(/Access not granted/);
    expect(allText(w.bot.drain())).toMatch(/You did not grant access to Test crm/);
    expect(allText(await w.bot.say('hello again', { userId: 'u3' }))).toMatch(/didn't understand/);
  });

  test('the same callback delivered twice resumes once and makes one connection (SECURITY.md #23)', async () => {
    const startUrl = signinUrl(await w.bot.say('show my deals', { userId: 'u4' })) as string;
    const { callback, cookie } = await browserConsent(startUrl);
    const pages = await Promise.all([
      openCallback(callback, cookie, w.bot.baseUrl),
      openCallback(callback, cookie, w.bot.baseUrl),
    ]);
    expect(pages.map((page) => page.status).sort()).toEqual([200, 400]);
    const resumed = texts(w.bot.drain()).filter((text) => /Almost done/.test(text));
    expect(resumed).toHaveLength(1);
    expect(await w.harness.store.connections.count({ subjectKey: 'user:webchat:u4' })).toBe(1);
  });

  test('a message while waiting gets a reminder; a new command replaces the wait', async () => {
    await w.bot.say('show my deals', { userId: 'u5' });
    expect(allText(await w.bot.say('what?', { userId: 'u5' }))).toMatch(/still waiting for you to sign in/);
    expect(allText(await w.bot.say('help', { userId: 'u5' }))).toMatch(/Here is what I can do/);
  });

  test('a command that replaces the wait also voids its link: a late callback connects nothing', async () => {
    const startUrl = signinUrl(await w.bot.say('show my deals', { userId: 'u7' })) as string;
    const { callback, cookie } = await browserConsent(startUrl);
    expect(allText(await w.bot.say('help', { userId: 'u7' }))).toMatch(/Here is what I can do/);
    const page = await openCallback(callback, cookie, w.bot.baseUrl);
    expect(page.status).toBe(400);
    expect(w.bot.drain()).toHaveLength(0);
    expect(await w.harness.store.connections.get('crm', 'user:webchat:u7')).toBeNull();
  });

  // Issue 7 point 14: "hello" used to count as a command (help), void the wait and lose the sign-in.
  test('a stray message while waiting keeps the sign-in: "hello", then the code connects and answers', async () => {
    const user = { userId: 'u8' };
    const startUrl = signinUrl(await w.bot.say('show my deals', user)) as string;
    const early = allText(await w.bot.say('hello', user));
    expect(early).toMatch(/still waiting for you to sign in to Test crm with the link above/);
    expect(early).not.toMatch(/Here is what I can do/);
    const { callback, cookie } = await browserConsent(startUrl);
    const page = await openCallback(callback, cookie, w.bot.baseUrl);
    expect(page.status).toBe(200);
    expect(allText(w.bot.drain())).toMatch(/Almost done/);
    for (const stray of ['hello', 'hi there', '12345', 'what now?']) {
      const reply = await w.bot.say(stray, user);
      expect(texts(reply)).toEqual([
        'I\'m still waiting for you to finish signing in to Test crm. Type the 6-digit code from the sign-in page, or "cancel".',
      ]);
    }
    const done = await w.bot.say(codeFrom(page.html), user);
    // The original request ("show my deals") is answered: the CRM call is made (and fails on crm.invalid),
    // in the message that confirms the sign-in.
    expect(texts(done)).toEqual([CONNECTED_AND_CRM_DOWN]);
    expect(done).toHaveLength(1);
  });

  test('a resume that failed is picked up by the next message; the code then connects and answers', async () => {
    const user = { userId: 'u9' };
    const startUrl = signinUrl(await w.bot.say('show my deals', user)) as string;
    w.bot.adapter.failNextProactiveTurn();
    const { callback, cookie } = await browserConsent(startUrl);
    const page = await openCallback(callback, cookie, w.bot.baseUrl);
    expect(page.status).toBe(200);
    expect(w.bot.drain()).toHaveLength(0); // the resume never reached the conversation
    expect(allText(await w.bot.say('hello', user))).toMatch(
      /still waiting for you to finish signing in to Test crm\. Type the 6-digit code/,
    );
    const done = await w.bot.say(codeFrom(page.html), user);
    expect(texts(done)).toEqual([CONNECTED_AND_CRM_DOWN]);
    expect(done).toHaveLength(1);
  });

  test('a denial whose resume failed is told on the next message, and the wait is over', async () => {
    const user = { userId: 'u10' };
    const startUrl = signinUrl(await w.bot.say('show my deals', user)) as string;
    w.bot.adapter.failNextProactiveTurn();
    const { callback, cookie } = await browserConsent(startUrl, { deny: true });
    expect((await openCallback(callback, cookie, w.bot.baseUrl)).status).toBe(200);
    expect(w.bot.drain()).toHaveLength(0);
    expect(allText(await w.bot.say('hello', user))).toMatch(/You did not grant access to Test crm/);
    expect(allText(await w.bot.say('hello', user))).toMatch(/Here is what I can do/);
  });

  test('the wait times out: the sweeper tells the conversation once, the link stops working', async () => {
    const startUrl = signinUrl(await w.bot.say('show my deals', { userId: 'u6' })) as string;
    w.harness.clock.advance(11 * 60_000);
    try {
      const log = pino({ level: 'silent' });
      const told = await sweepExpired({ engine: w.harness.engine, resumer: w.bot.resumer, log });
      expect(told).toBeGreaterThanOrEqual(1);
      expect(allText(w.bot.drain())).toMatch(/The sign-in to Test crm expired/);
      expect(await sweepExpired({ engine: w.harness.engine, resumer: w.bot.resumer, log })).toBe(0);
      const start = await fetch(startUrl, { redirect: 'manual' });
      expect(start.status).toBe(400);
    } finally {
      w.harness.clock.advance(-11 * 60_000);
    }
  });

  // Every engine error code a failed sign-in can store reaches the user as its own truthful message;
  // the callback stores it, and the next message (or the resume) delivers it.
  const failures: [code: string, message: RegExp][] = [
    [
      'id-token-invalid',
      /^The sign-in to Test crm could not be verified, so I did not connect it\. Ask me again to start over\.$/,
    ],
    [
      'outbound-refused',
      /^Signing in to Test crm failed: this service is not allowed to reach Test crm's address\. Please ask an administrator\.$/,
    ],
    [
      'invalid-configuration',
      /^Signing in to Test crm failed: the integration is not fully set up\. Please ask an administrator\.$/,
    ],
    ['encryption-key-unknown', /could not read the sign-in it had saved\. Please ask an administrator\.$/],
    ['decryption-failed', /could not read the sign-in it had saved\. Please ask an administrator\.$/],
    [
      'invalid-grant',
      /^Signing in to Test crm failed \(Test crm rejected the sign-in\)\. Please try again\.$/,
    ],
    [
      'provider-unavailable',
      /^Signing in to Test crm failed \(Test crm could not be reached\)\. Please try again in a minute\.$/,
    ],
    [
      'invalid-token-response',
      /^Signing in to Test crm failed \(Test crm sent an answer this service cannot use\)/,
    ],
    ['store-unavailable', /^Signing in to Test crm failed \(our storage was unavailable\)/],
    ['provider-error', /^Signing in to Test crm failed \(Test crm reported an error\)\. Please try again\.$/],
    ['cancelled', /^The sign-in to Test crm was cancelled\. Ask again when you are ready\.$/],
    ['conflict', /^Signing in to Test crm did not complete\. Please try again\.$/],
  ];
  test.each(failures)(
    'a sign-in that failed with %s is told truthfully and ends the wait',
    async (code, message) => {
      const user = { userId: `fail-${code}` };
      const startUrl = signinUrl(await w.bot.say('show my deals', user)) as string;
      const requestId = startUrl.split('/oauth/start/')[1] as string;
      await w.harness.store.authorizationRequests.complete(requestId, { result: 'failed', error: code });
      const told = await w.bot.say('hello', user);
      expect(texts(told)).toHaveLength(1);
      expect(texts(told)[0]).toMatch(message);
      expect(signinUrl(told)).toBeUndefined();
      expect(allText(await w.bot.say('hello', user))).toMatch(/Here is what I can do/);
    },
  );

  // SECURITY.md #48: the provider may have spent the code; the old link is done, a new sign-in is offered.
  test('provider-outcome-unknown: "didn\'t answer in time", a new sign-in card, and the new link connects', async () => {
    const user = { userId: 'u-unknown' };
    const firstUrl = signinUrl(await w.bot.say('show my deals', user)) as string;
    const firstId = firstUrl.split('/oauth/start/')[1] as string;
    await w.harness.store.authorizationRequests.complete(firstId, {
      result: 'failed',
      error: 'provider-outcome-unknown',
    });
    const request = await w.harness.store.authorizationRequests.get(firstId);
    expect(
      await w.bot.resumer.resume(request!, {
        requestId: firstId,
        outcome: 'failed',
        error: 'provider-outcome-unknown',
      }),
    ).toBe(true);
    const told = w.bot.drain();
    expect(texts(told)[0]).toBe(
      "Test crm didn't answer in time, so the sign-in could not finish. Please start again with this new sign-in:",
    );
    const secondUrl = signinUrl(told) as string;
    expect(secondUrl).toMatch(/\/oauth\/start\//);
    expect(secondUrl).not.toBe(firstUrl);
    // The wait goes on for the new link, which connects.
    expect(allText(await w.bot.say('hello', user))).toMatch(/still waiting for you to sign in to Test crm/);
    const { callback, cookie } = await browserConsent(secondUrl);
    const page = await openCallback(callback, cookie, w.bot.baseUrl);
    expect(page.status).toBe(200);
    expect(allText(w.bot.drain())).toMatch(/Almost done/);
    expect(allText(await w.bot.say(codeFrom(page.html), user))).toMatch(/You're connected to Test crm/);
  });

  test('"my connections" lists status without secrets; "sign out" revokes after confirmation', async () => {
    const report = allText(await w.bot.say('my connections', { userId: 'u1' }));
    expect(report).toMatch(/Test crm: connected/);
    expect(report).not.toMatch(/v1\.|Bearer|eyJ/);
    const ask = await w.bot.say('sign out of crm', { userId: 'u1' });
    expect(JSON.stringify(ask)).toMatch(/Sign out of Test crm\?/);
    const done = await w.bot.say('yes', { userId: 'u1' });
    expect(allText(done)).toMatch(/Signed out of Test crm/);
    expect(await w.harness.store.connections.get('crm', 'user:webchat:u1')).toBeNull();
    expect(allText(await w.bot.say('sign out of crm', { userId: 'u1' }))).toMatch(
      /not signed in to Test crm/,
    );
  });
});

describe('Teams', () => {
  let w: World;
  beforeAll(async () => {
    w = await world(ports[1] as number);
  });
  afterAll(async () => {
    await w.close();
  });

  test('the card uses a signin action and signin/verifyState completes the connection', async () => {
    const target = { userId: '29:teams-user', channelId: 'msteams', conversationId: 'a:teams-conv' };
    const first = await w.bot.say('<at>Auth Profiles</at> show my deals', target);
    const card = first[0]?.attachments?.[0]?.content as { buttons: { type: string; value: string }[] };
    expect(card.buttons[0]?.type).toBe('signin');
    const { callback, cookie } = await browserConsent(card.buttons[0]?.value as string);
    const page = await openCallback(callback, cookie, w.bot.baseUrl);
    expect(page.html).toContain('/static/teams-signin.js');
    const code = codeFrom(page.html);
    // On Teams the pop-up hands the code over; the bot does not ask the user to type it.
    expect(allText(w.bot.drain())).not.toMatch(/Almost done/);
    const replies = await w.bot.invoke('signin/verifyState', { state: code }, target);
    const invokeResponse = replies.find((reply) => reply.type === 'invokeResponse');
    expect((invokeResponse?.value as { status: number }).status).toBe(200);
    expect(allText(replies)).toMatch(/You're connected to Test crm/);
  });

  test("verifyState from another Teams user cannot complete someone else's sign-in (SECURITY.md #9)", async () => {
    const victim = { userId: '29:victim', channelId: 'msteams', conversationId: 'a:victim' };
    const card = (await w.bot.say('show my deals', victim))[0]?.attachments?.[0]?.content as {
      buttons: { value: string }[];
    };
    const { callback, cookie } = await browserConsent(card.buttons[0]?.value as string);
    const code = codeFrom((await openCallback(callback, cookie, w.bot.baseUrl)).html);
    const replies = await w.bot.invoke(
      'signin/verifyState',
      { state: code },
      { userId: '29:attacker', channelId: 'msteams', conversationId: 'a:attacker' },
    );
    expect(allText(replies)).not.toMatch(/connected/);
    expect((await w.harness.store.connections.get('crm', 'user:msteams:29%3Avictim'))?.status).toBe(
      'pending-verification',
    );
  });
});

test('verification off for a channel: the callback connects and the dialog resumes with the answer', async () => {
  const w = await world(ports[2] as number, { verificationOff: ['webchat'] });
  try {
    const startUrl = signinUrl(await w.bot.say('show my deals', { userId: 'quick' })) as string;
    const { callback, cookie } = await browserConsent(startUrl);
    const page = await openCallback(callback, cookie, w.bot.baseUrl);
    expect(page.html).toMatch(/Connected to Test crm/);
    // The confirmation and the action's answer (the API is unreachable here) come as one message.
    const replies = await resumedReplies(w.bot, /You're connected to Test crm/);
    expect(texts(replies)).toEqual([CONNECTED_AND_CRM_DOWN]);
    expect(replies).toHaveLength(1);
  } finally {
    await w.close();
  }
});

test('a restart while waiting, with the callback on another instance: the dialog state comes from the store', async () => {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'authprofiles-restart-'));
  const a = await world(ports[3] as number, { dir });
  const startUrl = signinUrl(await a.bot.say('show my deals', { userId: 'r1' })) as string;
  await a.close(); // instance A goes away while the user is signing in
  const b = await world(ports[4] as number, { dir });
  try {
    // Behind a load balancer the start link and the callback both land on B.
    const { callback, cookie } = await browserConsent(startUrl.replace(`:${ports[3]}/`, `:${ports[4]}/`));
    // The provider redirects to A's URL; a load balancer lands it on B.
    const page = await openCallback(callback, cookie, b.bot.baseUrl);
    expect(page.status).toBe(200);
    expect(allText(b.bot.drain())).toMatch(/Almost done/);
    const done = await b.bot.say(codeFrom(page.html), { userId: 'r1' });
    // B read from the store that the action dialog takes the confirmation: one message with its answer.
    expect(texts(done)).toEqual([CONNECTED_AND_CRM_DOWN]);
  } finally {
    await b.close();
  }
});

test('verification off and the resume failed: the next message answers the original request first', async () => {
  const w = await world(ports[5] as number, { verificationOff: ['webchat'] });
  try {
    // Stray text: the stored outcome (connected) is picked up and "show my deals" is answered.
    const first = signinUrl(await w.bot.say('show my deals', { userId: 'lost1' })) as string;
    w.bot.adapter.failNextProactiveTurn();
    const one = await browserConsent(first);
    expect((await openCallback(one.callback, one.cookie, w.bot.baseUrl)).html).toMatch(
      /Connected to Test crm/,
    );
    expect(w.bot.drain()).toHaveLength(0);
    const answered = texts(await w.bot.say('hello', { userId: 'lost1' }));
    expect(answered).toEqual([CONNECTED_AND_CRM_DOWN]);

    // A new command: the stored outcome is delivered first, then the new command runs.
    const second = signinUrl(await w.bot.say('show my deals', { userId: 'lost2' })) as string;
    w.bot.adapter.failNextProactiveTurn();
    const two = await browserConsent(second);
    expect((await openCallback(two.callback, two.cookie, w.bot.baseUrl)).status).toBe(200);
    expect(w.bot.drain()).toHaveLength(0);
    const replies = texts(await w.bot.say('my connections', { userId: 'lost2' }));
    const connected = replies.findIndex((text) => /You're connected to Test crm/.test(text));
    const crm = replies.findIndex((text) => /not answering properly|no longer accepts/.test(text));
    const report = replies.findIndex((text) => /Your connections/.test(text));
    expect(connected).toBeGreaterThanOrEqual(0);
    // The confirmation and the original request's answer in one message, then the new command's.
    expect(crm).toBe(connected);
    expect(replies[connected]).toMatch(/^You're connected to Test crm\. Test crm /);
    expect(report).toBeGreaterThan(crm);
    expect(replies[report]).toMatch(/Test crm: connected/);
  } finally {
    await w.close();
  }
});
