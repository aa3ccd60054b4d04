// Issue 9 point 4, Microsoft 365 Agents SDK: an agent built from @microsoft/agents-hosting's own
// classes (CloudAdapter, AgentApplication with its user authorization, UserTokenClient), run as its
// own process and pointed at this service only through the SDK's TOKEN_SERVICE_ENDPOINT, signs a user
// in over the Bot Framework channel protocol (activities posted to its /api/messages, replies caught
// at the FAKE channel's serviceUrl). Without credentials the agent calls anonymously (dev, loopback);
// with an app registration the SDK's MSAL gets its bearer tokens from the FAKE Entra (whose answer to
// MSAL's instance discovery is preloaded into the agent: test/support/fakeEntraInstanceDiscovery.ts).
import { createHash } from 'node:crypto';
import type { Activity } from 'botbuilder';
import { startAgentsSdkAgent, type AgentsSdkAgent } from '../support/agentsSdkProcess';
import { startFakeBotChannel, type FakeBotChannel } from '../support/fakeBotChannel';
import { FAKE_ENTRA_TENANT } from '../support/fakeEntra';
import { BOT_A, BOT_B, startTokenServiceWorld, type TokenServiceWorld } from '../support/tokenServiceWorld';

let world: TokenServiceWorld;
let channel: FakeBotChannel;
let conversationCount = 0;

beforeAll(async () => {
  world = await startTokenServiceWorld();
  channel = await startFakeBotChannel();
});

afterAll(async () => {
  await channel?.close();
  await world?.close();
});

const fingerprint = (token: string): string =>
  `token sha256:${createHash('sha256').update(token).digest('hex').slice(0, 16)}`;

interface Chat {
  say(text: string): Promise<Partial<Activity>[]>;
  invoke(
    name: string,
    value: unknown,
  ): Promise<{ status: number; body: string; replies: Partial<Activity>[] }>;
}

function chat(
  agent: AgentsSdkAgent,
  userId: string,
  options: { channelId?: string; bearer?: () => Promise<string> } = {},
): Chat {
  conversationCount += 1;
  const conversation = { id: `agents-conv-${conversationCount}`, conversationType: 'personal' };
  let activityCount = 0;
  const post = async (fields: Partial<Activity>) => {
    activityCount += 1;
    const before = channel.replies.length;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (options.bearer) headers.authorization = `Bearer ${await options.bearer()}`;
    const response = await fetch(agent.endpoint, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        id: `agents-act-${conversationCount}-${activityCount}`,
        channelId: options.channelId ?? 'webchat',
        serviceUrl: channel.serviceUrl,
        from: { id: userId, name: userId },
        recipient: { id: 'agent', name: 'agent' },
        conversation,
        ...fields,
      }),
    });
    return { status: response.status, body: await response.text(), replies: channel.replies.slice(before) };
  };
  return {
    async say(text) {
      const answer = await post({ type: 'message', text });
      expect(answer).toMatchObject({ status: 200 });
      return answer.replies;
    },
    invoke: (name, value) => post({ type: 'invoke', name, value }),
  };
}

function texts(replies: Partial<Activity>[]): (string | undefined)[] {
  return replies.map((reply) => reply.text);
}

function oauthCard(replies: Partial<Activity>[]): { connectionName: string; link: string | undefined } {
  for (const reply of replies) {
    const attachment = reply.attachments?.find(
      (a) => a.contentType === 'application/vnd.microsoft.card.oauth',
    );
    if (attachment) {
      const content = attachment.content as { connectionName: string; buttons: { value?: string }[] };
      return { connectionName: content.connectionName, link: content.buttons[0]?.value };
    }
  }
  throw new Error(`no OAuthCard in ${JSON.stringify(replies)}`);
}

async function heldToken(userId: string, channelId: string, botAppId: string): Promise<string> {
  const profile = await world.harness.engine.catalog.get('crm');
  const held = await world.harness.engine.getToken(profile, { kind: 'user', channelId, userId, botAppId });
  if (!held.ok) throw new Error(`the engine holds no token for ${userId}: ${held.reason}`);
  return held.accessToken;
}

function statusOf(replies: Partial<Activity>[]): unknown {
  const text = replies.find((reply) => reply.text?.startsWith('status '))?.text;
  if (!text) throw new Error(`no status in ${JSON.stringify(replies)}`);
  return JSON.parse(text.slice('status '.length));
}

describe('an Agents SDK agent without credentials (local dev: anonymous on loopback)', () => {
  let agent: AgentsSdkAgent;
  beforeAll(async () => {
    agent = await startAgentsSdkAgent({
      TOKEN_SERVICE_ENDPOINT: world.base,
      AgentApplication__UserAuthorization__handlers__signin__settings__azureBotOAuthConnectionName: 'crm',
      AgentApplication__UserAuthorization__handlers__signin__settings__title: 'Sign in',
      AgentApplication__UserAuthorization__handlers__signin__settings__text: 'Please sign in to the CRM',
    });
  });
  afterAll(async () => {
    await agent?.stop();
  });
  let errorsBefore = 0;
  beforeEach(() => {
    errorsBefore = agent.turnErrors().length;
  });
  afterEach(() => {
    // Each test's own turns ended without an error (onTurnError or the HTTP host).
    expect(agent.turnErrors().slice(errorsBefore)).toEqual([]);
  });

  test('AgentApplication sign-in: card with our link, consent, the code typed in chat, the route runs with the token', async () => {
    const alice = chat(agent, 'alice');
    const cardReplies = await alice.say('deals');
    const card = oauthCard(cardReplies);
    expect(card.connectionName).toBe('crm');
    expect(card.link).toMatch(new RegExp(`^${world.base}/oauth/start/req_`));
    expect(texts(cardReplies)).toEqual([undefined]);

    const code = await world.consent(card.link as string);
    // The SDK checks the code, gets the token, then runs the 'deals' route the user first asked for.
    const replies = await alice.say(code);
    expect(texts(replies)).toEqual([`signed in; ${fingerprint(await heldToken('alice', 'webchat', ''))}`]);
    // Signed in: the next guarded message gets the token at once, with no card.
    expect(texts(await alice.say('deals'))).toEqual([
      `signed in; ${fingerprint(await heldToken('alice', 'webchat', ''))}`,
    ]);
    const audit = await world.harness.store.audit.list({ limit: 20 });
    expect(audit.some((entry) => entry.actor === 'bot:anonymous-local')).toBe(true);
  });

  test('token status, then sign-out through the SDK: the connection is gone and the card comes back', async () => {
    const carol = chat(agent, 'carol');
    expect(statusOf(await carol.say('status'))).toEqual([
      {
        channelId: 'webchat',
        connectionName: 'crm',
        hasToken: false,
        serviceProviderDisplayName: 'Demo CRM',
      },
      {
        channelId: 'webchat',
        connectionName: 'crm-org',
        hasToken: false,
        serviceProviderDisplayName: 'Demo CRM (organisation)',
      },
    ]);
    const code = await world.consent(oauthCard(await carol.say('deals')).link as string, 'carol');
    expect(texts(await carol.say(code))[0]).toMatch(/^signed in; token sha256:[0-9a-f]{16}$/);
    expect(statusOf(await carol.say('status'))).toEqual([
      expect.objectContaining({ connectionName: 'crm', hasToken: true }),
      expect.objectContaining({ connectionName: 'crm-org', hasToken: false }),
    ]);

    const revocations = (await world.authServer.stats()).revocation;
    expect(texts(await carol.say('logout'))).toEqual(['You are signed out.']);
    expect((await world.authServer.stats()).revocation).toBe(revocations + 2);
    const profile = await world.harness.engine.catalog.get('crm');
    expect(
      await world.harness.engine.connectionOf(profile, {
        kind: 'user',
        channelId: 'webchat',
        userId: 'carol',
        botAppId: '',
      }),
    ).toBeNull();
    expect(statusOf(await carol.say('status'))).toEqual([
      expect.objectContaining({ connectionName: 'crm', hasToken: false }),
      expect.objectContaining({ connectionName: 'crm-org', hasToken: false }),
    ]);
    expect(oauthCard(await carol.say('deals')).link).toMatch(/\/oauth\/start\/req_/);
  });

  test('a wrong code is refused with the SDK message and no token; the user starts again', async () => {
    const dave = chat(agent, 'dave');
    const code = await world.consent(oauthCard(await dave.say('deals')).link as string, 'dave');
    const wrong = code === '000000' ? '111111' : '000000';
    expect(texts(await dave.say(wrong))).toEqual([
      `Invalid **${wrong}** code entered. Please try again with a new sign-in request.`,
    ]);
    const profile = await world.harness.engine.catalog.get('crm');
    const subject = { kind: 'user' as const, channelId: 'webchat', userId: 'dave', botAppId: '' };
    expect((await world.harness.engine.getToken(profile, subject)).ok).toBe(false);
  });

  test('Teams: the card carries our link; signin/verifyState with the code completes the sign-in', async () => {
    const teamsUser = chat(agent, '29:teams-erin', { channelId: 'msteams' });
    const card = oauthCard(await teamsUser.say('deals'));
    expect(card.link).toMatch(new RegExp(`^${world.base}/oauth/start/req_`));
    const code = await world.consent(card.link as string, 'erin');
    // What Teams sends after the sign-in page's microsoftTeams.authentication.notifySuccess(code).
    const answer = await teamsUser.invoke('signin/verifyState', { state: code });
    expect(answer.status).toBe(200);
    expect(texts(answer.replies)).toEqual([
      `signed in; ${fingerprint(await heldToken('29:teams-erin', 'msteams', ''))}`,
    ]);
  });

  test('its UserTokenClient directly: GetToken (none), GetSignInResource, GetToken with the code, SignOut', async () => {
    const frank = chat(agent, 'frank');
    expect(texts(await frank.say('raw token crm'))).toEqual(['no token']);
    const link = /^link (.+)$/.exec(texts(await frank.say('raw link crm'))[0] ?? '')?.[1];
    expect(link).toMatch(new RegExp(`^${world.base}/oauth/start/req_`));
    const code = await world.consent(link as string, 'frank');
    expect(texts(await frank.say(`raw token crm ${code}`))).toEqual([
      fingerprint(await heldToken('frank', 'webchat', '')),
    ]);
    expect(texts(await frank.say('raw logout crm'))).toEqual(['raw signed out']);
    expect(texts(await frank.say('raw token crm'))).toEqual(['no token']);
  });
});

/** The settings an agent with an Entra app registration sets (the SDK's `connections__*` format). */
function credentialsOf(app: { appId: string; secret: string }): Record<string, string> {
  return {
    connections__serviceConnection__settings__clientId: app.appId,
    connections__serviceConnection__settings__clientSecret: app.secret,
    connections__serviceConnection__settings__tenantId: FAKE_ENTRA_TENANT,
    connections__serviceConnection__settings__authorityEndpoint: world.entra.authority,
    connectionsMap__0__connection: 'serviceConnection',
    connectionsMap__0__serviceUrl: '*',
  };
}

/** The channel's token for an agent: Entra-issued, audience the agent, no appid (as Azure Bot Service's). */
const channelToken = (appId: string) => () =>
  world.entra.mint(appId, { aud: appId, appid: undefined, appidacr: undefined });

describe('an Agents SDK agent with an Entra app registration (production shape)', () => {
  let agent: AgentsSdkAgent;
  beforeAll(async () => {
    agent = await startAgentsSdkAgent(
      {
        TOKEN_SERVICE_ENDPOINT: world.base,
        ...credentialsOf(BOT_A),
        AgentApplication__UserAuthorization__handlers__signin__settings__azureBotOAuthConnectionName: 'crm',
      },
      { fakeEntra: world.entra },
    );
  });
  afterAll(async () => {
    await agent?.stop();
  });

  test('signs the user in with a bearer token from its app registration; the connection is the bot’s own', async () => {
    const issued = world.entra.issued(BOT_A.appId);
    const grace = chat(agent, 'grace', { bearer: channelToken(BOT_A.appId) });
    const card = oauthCard(await grace.say('deals'));
    expect(card.link).toMatch(new RegExp(`^${world.base}/oauth/start/req_`));
    const code = await world.consent(card.link as string, 'grace');
    expect(texts(await grace.say(code))).toEqual([
      `signed in; ${fingerprint(await heldToken('grace', 'webchat', BOT_A.appId))}`,
    ]);
    expect(agent.turnErrors()).toEqual([]);
    // The SDK's MSAL got the token-service calls' bearer token from the (fake) Entra.
    expect(world.entra.issued(BOT_A.appId)).toBeGreaterThan(issued);
    const audit = await world.harness.store.audit.list({ limit: 20 });
    expect(audit.some((entry) => entry.actor === `bot:${BOT_A.appId}`)).toBe(true);

    expect(texts(await grace.say('logout'))).toEqual(['You are signed out.']);
    expect(statusOf(await grace.say('status'))).toEqual([
      expect.objectContaining({ connectionName: 'crm', hasToken: false }),
      expect.objectContaining({ connectionName: 'crm-org', hasToken: false }),
    ]);
    expect(agent.turnErrors()).toEqual([]);
  });

  test('an agent whose app id is not allowed is refused: no card, the SDK reports the failed sign-in', async () => {
    const refused = await startAgentsSdkAgent(
      {
        TOKEN_SERVICE_ENDPOINT: world.base,
        ...credentialsOf(BOT_B),
        AgentApplication__UserAuthorization__handlers__signin__settings__azureBotOAuthConnectionName: 'crm',
      },
      { fakeEntra: world.entra },
    );
    try {
      const replies = await chat(refused, 'grace', { bearer: channelToken(BOT_B.appId) }).say('deals');
      expect(replies.some((reply) => reply.attachments?.length)).toBe(false);
      expect(refused.turnErrors()).toEqual([expect.stringMatching(/Failed to sign in/)]);
      expect(world.entra.issued(BOT_B.appId)).toBeGreaterThan(0);
      expect(world.logs.some((line) => line.includes('bot-not-allowed'))).toBe(true);
    } finally {
      await refused.stop();
    }
  });
});
