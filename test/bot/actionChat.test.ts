// Profile actions from chat (issue 11 points 4 and 6) through the real bot, dialogs, store and OAuth
// routes; tokens from the real oidc-provider (child process); the HubSpot catalogue's actions run
// against the real demo CRM (bot/dev/demoCrm), which checks each token by introspection and finds the
// signed-in user's owner by the e-mail its token-info endpoint gives. The profiles are the dev 'demo'
// profile's (bot/dev/demoProvider.ts demoCrmFields). Failures come from a local HTTP server that stands in
// for an API (a stand-in, named as one: it answers what each test says and records the token it gets).
import type { Activity } from 'botbuilder';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import restify from 'restify';
import { oauthIntrospector, registerDemoCrm } from '../../bot/dev/demoCrm/demoCrm';
import { SAMPLE_CRM_DATA } from '../../bot/dev/demoCrm/sampleCrmData';
import { DEMO_SCOPES, demoCrmFields } from '../../bot/dev/demoProvider';
import type { AdaptiveCard, CardElement } from '../../dialogs/actionCards';
import { AuthorizationDialog } from '../../dialogs/authorizationDialog';
import { saveProfile } from '../../profiles/profileAdmin';
import { startAuthServer, type RunningAuthServer } from '../support/authServer';
import { completeConsent, CookieJar } from '../support/browserlessConsent';
import { createBotHarness, freePort, signinUrl, texts, type BotHarness } from '../support/botHarness';
import { DEALS_ACTION } from '../support/chatActions';
import { createHarness, serverProfile, type Harness } from '../support/engineHarness';

const CLIENT = {
  client_id: 'chat-actions',
  client_secret: 'chat-actions-secret-123456',
  token_endpoint_auth_method: 'client_secret_basic' as const,
};
const PROFILE_IDS = ['demo', 'demo-copy', 'standin'];
const ZWSP = /\u200B/g;
const ALICE_OWNER = '71001';
const HOSTILE_DEAL = '[x](https://evil.example/login) <at>Everyone</at>';

let server: RunningAuthServer;
let crm: restify.Server;
let standin: Server;
let standinAnswer: (req: IncomingMessage, res: ServerResponse, token: string) => void = () => undefined;
const standinTokens: string[] = [];
let harness: Harness;
/** The demo-copy profile file as written, for the test that edits it during a sign-in. */
let demoCopyBody: Record<string, unknown>;
let bot: BotHarness;
let otherBot: BotHarness;
const resumes: Promise<unknown>[] = [];

beforeAll(async () => {
  const port = await freePort();
  server = await startAuthServer({
    clients: [
      {
        ...CLIENT,
        redirect_uris: PROFILE_IDS.map((id) => `http://127.0.0.1:${port}/oauth/callback/${id}`),
        pkceRequired: true,
        rotateRefreshToken: true,
      },
    ],
    scopes: [...DEMO_SCOPES, 'sales-email-read'],
    accessTokenTtl: 600,
  });
  // The demo CRM's sample account, plus a deal of alice's whose name is hostile markdown and a mention.
  const alices = SAMPLE_CRM_DATA.deals.find((d) => d.properties.hubspot_owner_id === ALICE_OWNER);
  if (!alices) throw new Error('the sample data has no deal of alice');
  const hostile = { ...alices, id: '3999', properties: { ...alices.properties, dealname: HOSTILE_DEAL } };
  crm = restify.createServer();
  registerDemoCrm(crm, {
    basePath: '/demo/crm',
    data: { ...SAMPLE_CRM_DATA, deals: [...SAMPLE_CRM_DATA.deals, hostile] },
    introspect: oauthIntrospector({
      introspectionUrl: server.url('/token/introspection'),
      clientId: CLIENT.client_id,
      clientSecret: CLIENT.client_secret,
      audience: server.url('/api'),
    }),
  });
  await new Promise<void>((resolve) => crm.listen(0, '127.0.0.1', () => resolve()));
  const crmBase = `http://127.0.0.1:${(crm.address() as AddressInfo).port}/demo/crm`;
  standin = createServer((req, res) => {
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    standinTokens.push(token);
    req.resume();
    req.on('end', () => standinAnswer(req, res, token));
  });
  await new Promise<void>((resolve) => standin.listen(0, '127.0.0.1', resolve));
  const standinBase = `http://127.0.0.1:${(standin.address() as AddressInfo).port}`;

  const demo = {
    displayName: 'Demo CRM',
    pkce: true,
    scopes: DEMO_SCOPES,
    apiBaseUrl: crmBase,
    ...demoCrmFields(crmBase),
  };
  demoCopyBody = serverProfile(server, 'demo-copy', CLIENT, { ...demo, displayName: 'Copy CRM' });
  harness = await createHarness({
    profiles: [
      // An admin turned one action off.
      serverProfile(server, 'demo', CLIENT, {
        ...demo,
        actionSettings: { 'tickets.list': { enabled: false } },
      }),
      demoCopyBody,
      serverProfile(server, 'standin', CLIENT, {
        displayName: 'Stand-in API',
        pkce: true,
        apiBaseUrl: standinBase,
        actions: [DEALS_ACTION],
      }),
    ],
    publicUrl: `http://127.0.0.1:${port}`,
  });
  bot = await createBotHarness(harness, { port, crmProfileId: 'demo', verificationOff: ['webchat'] });
  // The callback answers the browser first and resumes the conversation after: keep each resume's
  // promise so a test waits for the answer (and its saved state) before it says more.
  const resume = bot.resumer.resume.bind(bot.resumer);
  bot.resumer.resume = (...args) => {
    const resumed = resume(...args);
    resumes.push(resumed);
    return resumed;
  };
  // Bare phrases here prefer the bundled HubSpot profile, which is not set up: demo and demo-copy tie.
  otherBot = await createBotHarness(harness, { port: await freePort(), crmProfileId: 'hubspot' });
}, 60_000);

afterAll(async () => {
  await bot?.close();
  await otherBot?.close();
  await harness?.close();
  crm?.server.closeAllConnections();
  await new Promise<void>((resolve) => (crm ? crm.close(() => resolve()) : resolve()));
  await new Promise((resolve) => (standin ? standin.close(resolve) : resolve(undefined)));
  await server?.stop();
});

/** Asks, signs in at the provider as `login` when a sign-in card comes, and returns every reply. */
async function ask(
  text: string,
  userId: string,
  login = userId,
  declineScopes?: string[],
): Promise<Partial<Activity>[]> {
  const replies = await bot.say(text, { userId });
  const startUrl = signinUrl(replies);
  if (!startUrl) return replies;
  const start = await fetch(startUrl, { redirect: 'manual' });
  const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0] as string;
  const callback = await completeConsent(start.headers.get('location') as string, {
    login,
    cookieJar: new CookieJar(),
    ...(declineScopes ? { declineScopes } : {}),
  });
  const page = await fetch(`${bot.baseUrl}${callback.pathname}${callback.search}`, { headers: { cookie } });
  expect(page.status).toBe(200);
  await Promise.all(resumes.splice(0));
  return [...replies, ...bot.drain()];
}

function cards(replies: Partial<Activity>[]): AdaptiveCard[] {
  return replies
    .flatMap((reply) => reply.attachments ?? [])
    .filter((a) => a.contentType === 'application/vnd.microsoft.card.adaptive')
    .map((a) => a.content as AdaptiveCard);
}

function onlyCard(replies: Partial<Activity>[]): AdaptiveCard {
  const found = cards(replies);
  expect(found).toHaveLength(1);
  return found[0] as AdaptiveCard;
}

/** The rows of a result card as a reader sees them (title, details), zero-width spaces removed. */
function rows(card: AdaptiveCard): string[][] {
  return card.body
    .filter((e) => e.type === 'Container')
    .map((container) =>
      (container.items as CardElement[])
        .filter((e) => e.type === 'RichTextBlock')
        .map((block) =>
          (block.inlines as { text: string }[])
            .map((run) => run.text)
            .join('')
            .replace(ZWSP, ''),
        ),
    );
}

function heading(card: AdaptiveCard): string {
  return ((card.body[0]?.inlines as { text: string }[])[0]?.text ?? '').replace(ZWSP, '');
}

function allText(replies: Partial<Activity>[]): string {
  return texts(replies).join('\n');
}

/** The deal names of an owner in the sample account, as "my deals" should list them. */
function dealsOf(ownerId: string): string[] {
  return SAMPLE_CRM_DATA.deals
    .filter((deal) => deal.properties.hubspot_owner_id === ownerId)
    .map((deal) => String(deal.properties.dealname));
}

describe('the HubSpot catalogue against the demo CRM', () => {
  test('"demo: list my deals": sign in, then a card with the signed-in user’s deals only', async () => {
    const replies = await ask('demo: list my deals', 'alice');
    // The confirmation is the text of the card's message (issue 12: one activity, not two).
    expect(replies).toHaveLength(2);
    expect(signinUrl(replies.slice(0, 1))).toBeDefined();
    expect([replies[1]?.text, replies[1]?.textFormat]).toEqual(["You're connected to Demo CRM.", 'plain']);
    const card = onlyCard(replies.slice(1));
    const expected = [...dealsOf(ALICE_OWNER), HOSTILE_DEAL];
    expect(heading(card)).toBe(`My deals (${expected.length})`);
    expect(
      rows(card)
        .map((row) => row[0])
        .sort(),
    ).toEqual([...expected].sort());
    // Nobody else's deal is on it.
    const others = SAMPLE_CRM_DATA.deals
      .filter((deal) => deal.properties.hubspot_owner_id !== ALICE_OWNER)
      .map((deal) => String(deal.properties.dealname));
    expect(others.length).toBeGreaterThan(0);
    for (const name of others) expect(JSON.stringify(card).replace(ZWSP, '')).not.toContain(name);
    // The declared fields, formatted: amount as currency, the stage by its declared label, close date.
    const renewal = rows(card).find((row) => row[0] === 'Analytical Engines renewal');
    expect(renewal?.[1]).toBe('Amount: $12,500 · Stage: Contract sent · Close date: Jul 31, 2025');
    expect(card.fallbackText.replace(ZWSP, '')).toContain('• Analytical Engines renewal — Amount: $12,500');
    // The fallback is the result alone: a host without cards shows the message text, then this.
    expect(card.fallbackText.split('\n')[0]).toBe(`My deals (${expected.length}) (Demo CRM):`);
    expect(card.fallbackText).not.toMatch(/connected/i);
  });

  test('the resume of "show my deals" is one message: the confirmation with the card (issue 12)', async () => {
    const replies = await ask('show my deals', 'carol-resume', 'carol');
    expect(replies).toHaveLength(2);
    const [signin, resumed] = replies;
    expect(signin?.attachments?.map((a) => a.contentType)).toEqual(['application/vnd.microsoft.card.hero']);
    expect(signinUrl([signin ?? {}])).toBeDefined();
    expect(resumed?.text).toBe("You're connected to Demo CRM.");
    expect(resumed?.textFormat).toBe('plain');
    expect(resumed?.attachments?.map((a) => a.contentType)).toEqual([
      'application/vnd.microsoft.card.adaptive',
    ]);
    expect(heading(onlyCard([resumed ?? {}]))).toBe(`My deals (${dealsOf('71003').length})`);
    // Connected, the next ask is the card alone, without a confirmation.
    const again = await bot.say('show my deals', { userId: 'carol-resume' });
    expect(again).toHaveLength(1);
    expect(again[0]?.text).toBeUndefined();
    expect(cards(again)).toHaveLength(1);
  });

  test('"connect demo" alone still ends with the confirmation, sent by AuthorizationDialog itself', async () => {
    const replies = await ask('connect demo', 'alice-connect', 'alice');
    expect(replies).toHaveLength(2);
    expect(signinUrl(replies.slice(0, 1))).toBeDefined();
    expect(replies[1]).toMatchObject({ text: "You're connected to Demo CRM.", textFormat: 'plain' });
    expect(replies[1]?.attachments ?? []).toEqual([]);
  });

  test('bare "show my deals" (the old command) runs the same action: bob sees bob’s deals only', async () => {
    const replies = await ask('show my deals', 'bob');
    const card = onlyCard(replies);
    const bobs = dealsOf('71002');
    expect(bobs.length).toBeGreaterThan(0);
    expect(
      rows(card)
        .map((row) => row[0])
        .sort(),
    ).toEqual([...bobs].sort());
    // And by display name, case-insensitively, without a new sign-in.
    const again = await bot.say('DEMO CRM: show my deals', { userId: 'bob' });
    expect(
      rows(onlyCard(again))
        .map((row) => row[0])
        .sort(),
    ).toEqual([...bobs].sort());
  });

  test('today’s other commands keep working: companies, tickets, a contact search by name', async () => {
    await ask('show companies', 'carol');
    const companies = onlyCard(await bot.say('show companies', { userId: 'carol' }));
    expect(heading(companies)).toMatch(/^Companies \(\d+\)$/);
    expect(rows(companies).map((row) => row[0])).toContain('Analytical Engines Ltd');
    const tickets = await bot.say('show my tickets', { userId: 'carol' });
    expect(heading(onlyCard(tickets))).toMatch(/^My tickets \(\d+\)$/);
    const contacts = onlyCard(await bot.say('find contact Ada', { userId: 'carol' }));
    expect(rows(contacts)[0]).toEqual([
      'Lovelace',
      'Email: ada@analytical.example · Company: Analytical Engines Ltd · Phone: +44 20 7946 0001',
    ]);
  });

  test('a deal named with markdown and a mention shows as the text it is (SECURITY.md #45)', async () => {
    const card = onlyCard(await bot.say('show my deals', { userId: 'alice' }));
    const json = JSON.stringify(card);
    expect(json).not.toContain('](');
    expect(json).not.toContain('<at>');
    expect(json).not.toContain('https://evil');
    expect(rows(card).map((row) => row[0])).toContain(HOSTILE_DEAL);
  });

  test('a signed-in user who is no owner at the CRM is told so', async () => {
    const replies = await ask('show my deals', 'zed');
    expect(cards(replies)).toEqual([]);
    // After the sign-in card, one message: the confirmation, then the failure.
    expect(replies.slice(1).map((r) => [r.text, r.textFormat])).toEqual([
      [
        "You're connected to Demo CRM. I could not find you among Demo CRM's users (I look you up by the account you signed in with), so I can't tell which records are yours.",
        'plain',
      ],
    ]);
  });

  test('an empty result is a plain sentence', async () => {
    const replies = await bot.say('demo: contacts find query=nobody-is-called-this', { userId: 'alice' });
    expect(cards(replies)).toEqual([]);
    expect(replies.map((r) => [r.text, r.textFormat])).toEqual([
      ['Demo CRM has nothing for "Find contacts" right now.', 'plain'],
    ]);
  });
});

describe('the menu card and its buttons', () => {
  test('"demo actions" shows the enabled actions, one button each; required parameters get an input', async () => {
    const card = onlyCard(await bot.say('demo actions', { userId: 'alice' }));
    const buttons = card.body
      .filter((e) => e.type === 'ActionSet')
      .map((e) => (e.actions as Record<string, unknown>[])[0] as Record<string, unknown>);
    const profile = await harness.engine.getProfile('demo');
    const enabled = harness.engine.listActions(profile).filter((a) => a.enabled);
    expect(enabled.map((a) => a.key)).not.toContain('tickets.list');
    expect(buttons.map((b) => b.title)).toEqual(enabled.map((a) => a.title));
    const myDeals = buttons.find((b) => b.title === 'My deals');
    expect(myDeals).toEqual({
      type: 'Action.Submit',
      title: 'My deals',
      data: { authprofiles: { profile: 'demo', action: 'deals.list-mine' } },
    });
    const find = buttons.find((b) => b.title === 'Find contacts') as {
      type: string;
      card: { body: Record<string, unknown>[]; actions: Record<string, unknown>[] };
    };
    expect(find.type).toBe('Action.ShowCard');
    expect(find.card.body).toEqual([
      {
        type: 'Input.Text',
        id: 'contacts.find.query',
        label: 'A name, email address, phone number or company',
        placeholder: 'query',
        maxLength: 100,
        isRequired: true,
        errorMessage: 'Required',
      },
    ]);
    expect(find.card.actions).toEqual([
      {
        type: 'Action.Submit',
        title: 'Run',
        data: { authprofiles: { profile: 'demo', action: 'contacts.find' } },
      },
    ]);
    expect(card.fallbackText.split('\n')[0]).toBe('What I can do with Demo CRM: say one of');
    expect(card.fallbackText).toContain('• demo: find contact <\u200Bquery>');
    for (const text of ['demo:', 'demo: help', 'Demo CRM actions']) {
      expect(cards(await bot.say(text, { userId: 'alice' }))).toHaveLength(1);
    }
  });

  test('the menu of a profile that is not set up says so instead', async () => {
    // The bundled HubSpot profile has actions but no client id here.
    const replies = await bot.say('hubspot actions', { userId: 'alice' });
    expect(cards(replies)).toEqual([]);
    expect(replies.map((r) => [r.text, r.textFormat])).toEqual([
      ['HubSpot is not set up yet: an admin must configure it.', 'plain'],
    ]);
  });

  test('a button’s submit (value, no text, as Web Chat and Teams send it) runs that action', async () => {
    const replies = await bot.say('', {
      userId: 'alice',
      activity: {
        value: {
          authprofiles: { profile: 'demo', action: 'contacts.find' },
          'contacts.find.query': 'Grace',
          'companies.find.query': '',
        },
      },
    });
    const card = onlyCard(replies);
    expect(heading(card)).toBe('Find contacts (1)');
    expect(rows(card)[0]?.[0]).toBe('Hopper');
  });

  test('forged submit data is checked like typed input', async () => {
    // A turned-off action, an undeclared parameter, a profile this user may not name, data of the wrong shape.
    const off = await bot.say('', {
      userId: 'alice',
      activity: { value: { authprofiles: { profile: 'demo', action: 'tickets.list' } } },
    });
    expect(allText(off)).toBe('"All tickets" in Demo CRM is turned off by your admin.');
    const extra = await bot.say('', {
      userId: 'alice',
      activity: {
        value: { authprofiles: { profile: 'demo', action: 'deals.list' }, 'deals.list.ownerId': '71002' },
      },
    });
    expect(allText(extra)).toBe('I can\'t run "All deals": ownerId is not a parameter of this action.');
    const shape = await bot.say('', {
      userId: 'alice',
      activity: { value: { authprofiles: { profile: 'demo', action: 'x' } } },
    });
    expect(allText(shape)).toBe("I can't run that: the button's data is not one of mine.");
    const tooLong = await bot.say('', {
      userId: 'alice',
      activity: {
        value: {
          authprofiles: { profile: 'demo', action: 'contacts.find' },
          'contacts.find.query': 'x'.repeat(101),
        },
      },
    });
    expect(allText(tooLong)).toBe('I can\'t run "Find contacts": query must be at most 100 characters.');
    for (const replies of [off, extra, shape, tooLong]) expect(cards(replies)).toEqual([]);
  });
});

describe('requests that cannot run', () => {
  test('a missing required parameter is named, with how to give it, before any sign-in', async () => {
    const replies = await bot.say('find contact', { userId: 'new-user' });
    expect(signinUrl(replies)).toBeUndefined();
    expect(replies.map((r) => [r.text, r.textFormat])).toEqual([
      [
        'Tell me the query (A name, email address, phone number or company) for "Find contacts": "find contact <\u200Bquery>"',
        'plain',
      ],
    ]);
  });

  test('an action the admin turned off says so, before any sign-in', async () => {
    // Bare, "show all tickets" would go to demo-copy, where it is on: the enabled action wins.
    const replies = await bot.say('demo: show all tickets', { userId: 'new-user' });
    expect(signinUrl(replies)).toBeUndefined();
    expect(allText(replies)).toBe('"All tickets" in Demo CRM is turned off by your admin.');
  });

  test('a bare phrase two usable profiles know, neither the preferred one: the user is asked which', async () => {
    const replies = await otherBot.say('show my deals', { userId: 'alice' });
    expect(allText(replies)).toBe(
      'Several integrations can do that. Which one do you mean? Say "demo: show my deals" or "demo-copy: show my deals" or "standin: show my deals".',
    );
    expect(signinUrl(replies)).toBeUndefined();
  });

  test('"demo: something unknown" and the unknown-command reply', async () => {
    expect(allText(await bot.say('demo: dance', { userId: 'alice' }))).toBe(
      'Demo CRM has no action like "dance". Say "demo actions" to see what it can do.',
    );
    expect(allText(await bot.say('make me a sandwich', { userId: 'alice' }))).toBe(
      'Sorry, I didn\'t understand "make me a sandwich". Type "help" to see what I can do.',
    );
  });

  test('help lists the fixed commands and the actions of the profiles this user may use', async () => {
    const help = allText(await bot.say('help', { userId: 'alice' })).replace(ZWSP, '');
    expect(help).toContain('- **show my deals** — My deals');
    expect(help).toContain('- **find contact \\<query\\>** — Find contacts');
    expect(help).toContain('Demo CRM:\n- **find contact \\<query\\>** — Find contacts\n');
    expect(help).toContain('Copy CRM (start with **demo\\-copy:**):\n- **find contact \\<query\\>**');
    // Bounded: 8 actions a profile, then the menu; a turned-off action is not listed.
    expect(help).toContain('- … and 6 more: **demo actions**');
    expect(help.split('Copy CRM')[0]).not.toContain('— All tickets');
    expect(help.split('Copy CRM')[1]).toContain('— All tickets');
    expect(help).toContain('**demo actions**');
    expect(help).toContain('- **my connections** — what I can access on your behalf');
    expect(help).not.toContain('Stand-in');
  });
});

describe('failures, one message per code, never a token', () => {
  beforeAll(async () => {
    standinAnswer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ total: 0, results: [] }));
    };
    const replies = await ask('standin: show my deals', 'frank');
    // The empty result after a sign-in: one sentence after the other, one message.
    expect(replies.slice(1).map((r) => [r.text, r.textFormat])).toEqual([
      ['You\'re connected to Stand-in API. Stand-in API has nothing for "My deals" right now.', 'plain'],
    ]);
  });

  test.each([
    [401, {}, "Stand-in API no longer accepts my access. Ask again and I'll send you a new sign-in link."],
    [
      403,
      {},
      'Stand-in API refused: the connection lacks a permission for that. An admin may need to add a scope to the profile.',
    ],
    [404, {}, 'Stand-in API found nothing for "My deals".'],
    [
      429,
      { 'retry-after': '120' },
      'Stand-in API is rate-limiting requests right now. Try again in 120 seconds.',
    ],
    [400, {}, 'Stand-in API did not accept the request for "My deals".'],
    [500, {}, 'Stand-in API is not answering properly right now. Please try again in a minute.'],
    [200, {}, 'Stand-in API is not answering properly right now. Please try again in a minute.'],
  ] as const)('HTTP %i', async (status, headers, message) => {
    standinTokens.length = 0;
    // The API echoes the token it was sent in its answer: it must not reach the chat.
    standinAnswer = (_req, res, token) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(status === 200 ? `not json ${token}` : JSON.stringify({ message: `bad token ${token}` }));
    };
    const replies = await bot.say('standin: show my deals', { userId: 'frank' });
    expect(replies.map((r) => [r.text, r.textFormat])).toEqual([[message, 'plain']]);
    expect(standinTokens.length).toBeGreaterThan(0);
    const everything = JSON.stringify(replies) + harness.log.text();
    for (const token of standinTokens) expect(everything).not.toContain(token);
  });
});

describe('scopes on demand', () => {
  test('a missing scope: a sign-in asks for it (additionalScopes), then the action is replayed once', async () => {
    await ask('show my deals', 'dave');
    const begin = jest.spyOn(AuthorizationDialog.prototype, 'beginDialog');
    const run = jest.spyOn(harness.engine, 'runAction');
    try {
      // "Logged emails" needs sales-email-read, which the demo profile does not ask for up front.
      const replies = await ask('show emails', 'dave');
      expect(begin.mock.calls.map((call) => call[1])).toEqual([
        { profileId: 'demo', returnConfirmation: true },
        { profileId: 'demo', returnConfirmation: true, additionalScopes: ['sales-email-read'] },
      ]);
      expect(signinUrl(replies)).toBeDefined();
      expect(run).toHaveBeenCalledTimes(2);
      // The sign-in card for the new scope, then the replayed answer with the confirmation as its text.
      expect(replies).toHaveLength(2);
      expect(replies[1]?.text).toBe("You're connected to Demo CRM.");
      expect(heading(onlyCard(replies.slice(1)))).toMatch(/^Logged emails \(\d+\)$/);
    } finally {
      begin.mockRestore();
      run.mockRestore();
    }
  });

  test('scopes the user declined at that consent are named with the action that needs them', async () => {
    await ask('show my deals', 'erin');
    const run = jest.spyOn(harness.engine, 'runAction');
    try {
      const replies = await ask('show emails', 'erin', 'erin', ['sales-email-read']);
      expect(signinUrl(replies)).toBeDefined();
      // AuthorizationDialog names what was not allowed; the action dialog says what cannot run for it;
      // the three sentences come in one message.
      expect(texts(replies)).toEqual([
        'You\'re connected to Demo CRM. You did not allow sales-email-read at Demo CRM, so what needs it will not work until you sign in again and allow it. So I can\'t run "Logged emails": it needs sales-email-read.',
      ]);
      expect(replies).toHaveLength(2);
      expect(cards(replies)).toEqual([]);
      // Not replayed: it would fail the same way.
      expect(run).toHaveBeenCalledTimes(1);
    } finally {
      run.mockRestore();
    }
  });
});

describe('a profile edited while its sign-in completes', () => {
  test('the resumed turn reads the profile afresh: tokens got under the old settings are not used (SECURITY.md #39)', async () => {
    const admin = { name: 'admin:test', role: 'admin' as const };
    const connections = harness.store.connections;
    const upsert = connections.upsert.bind(connections);
    let edited = false;
    // The admin's edit lands after the callback resolved the profile and exchanged the code, just
    // before the new connection is stored under the old fingerprint.
    connections.upsert = async (...args: Parameters<typeof upsert>) => {
      if (!edited && args[0].profileId === 'demo-copy') {
        edited = true;
        const current = await harness.engine.catalog.get('demo-copy');
        await saveProfile(
          harness.context,
          'demo-copy',
          { ...demoCopyBody, scopes: DEMO_SCOPES.slice(0, -1) },
          admin,
          { expectedVersion: current.storedVersion },
        );
      }
      return upsert(...args);
    };
    try {
      const replies = await ask('demo-copy: list my deals', 'dave-edit', 'alice');
      expect(edited).toBe(true);
      expect(cards(replies)).toEqual([]);
      expect(allText(replies)).not.toMatch(/My deals/);
      const stored = await harness.store.connections.get('demo-copy', 'user:webchat:dave-edit');
      expect(stored?.status).toBe('needs-reauthorization');
    } finally {
      connections.upsert = upsert;
      const current = await harness.engine.catalog.get('demo-copy');
      await saveProfile(harness.context, 'demo-copy', demoCopyBody, admin, {
        expectedVersion: current.storedVersion,
      });
    }
  });
});
