// Issue 9 point 4: an unmodified OAuthPrompt bot — botbuilder's CloudAdapter, OAuthPrompt and
// botframework-connector's UserTokenClient, configured only with OAuthUrl and connectionName —
// signs users in through this service, driven over the Bot Framework channel protocol.
import type { Activity, TokenResponse } from 'botbuilder';
import { ORGANIZATION } from '../../profiles/subjects';
import { authorize } from '../support/engineHarness';
import { startFakeBotChannel, type FakeBotChannel } from '../support/fakeBotChannel';
import { startOAuthPromptBot, type OAuthPromptBot } from '../support/oauthPromptBot';
import {
  BOT_A,
  BOT_B,
  BOT_C,
  startTokenServiceWorld,
  type TokenServiceWorld,
} from '../support/tokenServiceWorld';

let world: TokenServiceWorld;
let channel: FakeBotChannel;
let botA: OAuthPromptBot;
let conversationCount = 0;

beforeAll(async () => {
  world = await startTokenServiceWorld();
  channel = await startFakeBotChannel();
  botA = await startBot(BOT_A);
});

afterAll(async () => {
  await botA?.close();
  await channel?.close();
  await world?.close();
});

function startBot(app: { appId: string; secret: string }): Promise<OAuthPromptBot> {
  return startOAuthPromptBot({
    appId: app.appId,
    secret: app.secret,
    oauthUrl: world.base,
    entra: world.entra,
    channelOpenIdMetadataUrl: channel.openIdMetadataUrl,
    connectionNames: ['crm', 'crm-org'],
  });
}

interface Chat {
  say(text: string): Promise<Partial<Activity>[]>;
  invoke(
    name: string,
    value: unknown,
  ): Promise<{ status: number; body: string; replies: Partial<Activity>[] }>;
}

function chat(bot: OAuthPromptBot, userId: string, channelId = 'webchat'): Chat {
  conversationCount += 1;
  const conversation = { id: `conv-${conversationCount}`, conversationType: 'personal' };
  let activityCount = 0;
  const post = async (fields: Partial<Activity>) => {
    activityCount += 1;
    const before = channel.replies.length;
    const answer = await channel.send(bot.endpoint, bot.appId, {
      id: `act-${conversationCount}-${activityCount}`,
      channelId,
      from: { id: userId, name: userId },
      recipient: { id: `28:${bot.appId}`, name: 'bot' },
      conversation: conversation as Activity['conversation'],
      ...fields,
    });
    return { ...answer, replies: channel.replies.slice(before) };
  };
  return {
    async say(text) {
      const answer = await post({ type: 'message', text });
      expect(answer.status).toBe(200);
      return answer.replies;
    },
    invoke: (name, value) => post({ type: 'invoke', name, value }),
  };
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

function lastResult(bot: OAuthPromptBot) {
  return bot.results[bot.results.length - 1];
}

describe('an OAuthPrompt bot signs a user in through the token service', () => {
  test('sign-in card with our link, consent at the provider, the code typed in chat returns the token', async () => {
    const alice = chat(botA, 'alice');
    const card = oauthCard(await alice.say('login crm'));
    expect(card.connectionName).toBe('crm');
    expect(card.link).toMatch(new RegExp(`^${world.base}/oauth/start/req_`));

    const code = await world.consent(card.link as string);
    const replies = await alice.say(`my code is ${code}`);
    expect(replies.map((r) => r.text)).toEqual(['You are signed in to crm.']);
    const token = lastResult(botA)?.token as TokenResponse;
    expect(token.connectionName).toBe('crm');
    expect(token.channelId).toBe('webchat');
    // The very token the engine holds for alice through bot A, and one the provider says is live.
    const profile = await world.harness.engine.catalog.get('crm');
    const held = await world.harness.engine.getToken(profile, {
      kind: 'user',
      channelId: 'webchat',
      userId: 'alice',
      botAppId: BOT_A.appId,
    });
    expect(held.ok && held.accessToken).toBe(token.token);
    expect(Date.parse(token.expiration)).toBeGreaterThan(Date.now());
    expect(world.entra.issued(BOT_A.appId)).toBeGreaterThan(0);
  });
});

describe('the code activates the connection only for the user and the bot that started the sign-in', () => {
  test('another user typing the code, or the same user at another bot, gets nothing; the right one signs in', async () => {
    const botC = await startBot(BOT_C);
    try {
      const bob = chat(botA, 'bob');
      const card = oauthCard(await bob.say('login crm'));
      const code = await world.consent(card.link as string, 'bob');

      const mallory = chat(botA, 'mallory');
      oauthCard(await mallory.say('login crm'));
      expect(await mallory.say(code)).toEqual([]);
      const bobAtC = chat(botC, 'bob');
      oauthCard(await bobAtC.say('login crm'));
      expect(await bobAtC.say(code)).toEqual([]);
      expect(botA.results.filter((r) => r.userId === 'mallory')).toEqual([]);
      expect(botC.results).toEqual([]);

      expect((await bob.say(code)).map((r) => r.text)).toEqual(['You are signed in to crm.']);
      expect(lastResult(botA)?.userId).toBe('bob');
      expect(lastResult(botA)?.token?.token).toEqual(expect.any(String));
      // Bob at bot C is still not signed in: bot C sees only connections its own users made.
      const again = await bobAtC.say('login crm');
      expect(oauthCard(again).link).toMatch(/\/oauth\/start\/req_/);
      expect(botC.results).toEqual([]);
    } finally {
      await botC.close();
    }
  });
});

describe('Teams', () => {
  test('the sign-in page hands the code to Teams; signin/verifyState completes the OAuthPrompt', async () => {
    const teamsUser = chat(botA, '29:teams-user', 'msteams');
    const card = oauthCard(await teamsUser.say('login crm'));
    // On msteams OAuthPrompt always puts the link in the card: Teams opens it in its sign-in pop-up.
    expect(card.link).toMatch(new RegExp(`^${world.base}/oauth/start/req_`));
    const code = await world.consent(card.link as string);
    // What Teams sends after the pop-up's microsoftTeams.authentication.notifySuccess(code).
    const answer = await teamsUser.invoke('signin/verifyState', { state: code });
    expect(answer.status).toBe(200);
    expect(answer.replies.map((r) => r.text)).toEqual(['You are signed in to crm.']);
    expect(lastResult(botA)).toMatchObject({ userId: '29:teams-user', token: { channelId: 'msteams' } });
  });

  test('signin/verifyState with a wrong code answers 404 and leaves the prompt waiting', async () => {
    const teamsUser = chat(botA, '29:teams-wrong', 'msteams');
    const card = oauthCard(await teamsUser.say('login crm'));
    const code = await world.consent(card.link as string);
    const wrong = code === '000000' ? '111111' : '000000';
    const answer = await teamsUser.invoke('signin/verifyState', { state: wrong });
    expect(answer.status).toBe(404);
    expect(botA.results.filter((r) => r.userId === '29:teams-wrong')).toEqual([]);
    expect((await teamsUser.invoke('signin/verifyState', { state: code })).status).toBe(200);
  });
});

describe('token use, status and sign-out through the same client', () => {
  test('token status lists the connections with hasToken per user', async () => {
    const carol = chat(botA, 'carol');
    await carol.say('status');
    expect(botA.statuses[botA.statuses.length - 1]).toEqual([
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
    const code = await world.consent(oauthCard(await carol.say('login crm')).link as string, 'carol');
    await carol.say(code);
    await carol.say('status');
    expect(botA.statuses[botA.statuses.length - 1]).toEqual([
      expect.objectContaining({ connectionName: 'crm', hasToken: true }),
      expect.objectContaining({ connectionName: 'crm-org', hasToken: false }),
    ]);
  });

  test('SignOut revokes at the provider and deletes; the next prompt shows the card again', async () => {
    const dave = chat(botA, 'dave');
    const code = await world.consent(oauthCard(await dave.say('login crm')).link as string, 'dave');
    await dave.say(code);
    const revocations = (await world.authServer.stats()).revocation;
    expect((await dave.say('logout crm')).map((r) => r.text)).toEqual(['You are signed out.']);
    // Both tokens of the grant are revoked (RFC 7009): the refresh token, then the access token.
    expect((await world.authServer.stats()).revocation).toBe(revocations + 2);
    const profile = await world.harness.engine.catalog.get('crm');
    const subject = { kind: 'user' as const, channelId: 'webchat', userId: 'dave', botAppId: BOT_A.appId };
    expect(await world.harness.engine.connectionOf(profile, subject)).toBeNull();
    expect(oauthCard(await dave.say('login crm')).link).toMatch(/\/oauth\/start\/req_/);
    const audit = await world.harness.store.audit.list({ limit: 20 });
    expect(audit.find((entry) => entry.action.startsWith('connection.revoked'))?.actor).toBe(
      `bot:${BOT_A.appId}`,
    );
  });

  test('a pre-authorized connection gives the organisation token at once, with no card', async () => {
    const { outcome } = await authorize(world.harness, 'crm-org', ORGANIZATION);
    expect(outcome.kind).toBe('connected');
    const erin = chat(botA, 'erin');
    expect((await erin.say('login crm-org')).map((r) => r.text)).toEqual(['You are signed in to crm-org.']);
    const profile = await world.harness.engine.catalog.get('crm-org');
    const org = await world.harness.engine.getToken(profile, ORGANIZATION);
    expect(lastResult(botA)?.token?.token).toBe(org.ok && org.accessToken);
  });

  test('after expiry GetToken refreshes once through the engine; the bot just gets the new token', async () => {
    const frank = chat(botA, 'frank');
    await frank.say(await world.consent(oauthCard(await frank.say('login crm')).link as string, 'frank'));
    const first = lastResult(botA)?.token?.token;
    const refreshes = (await world.authServer.stats()).token.refresh_token;
    world.harness.clock.advance(2 * 3600_000);
    expect((await frank.say('login crm')).map((r) => r.text)).toEqual(['You are signed in to crm.']);
    const second = lastResult(botA)?.token;
    expect(second?.token).toEqual(expect.any(String));
    expect(second?.token).not.toBe(first);
    expect(Date.parse(second?.expiration as string)).toBeGreaterThan(world.harness.clock());
    expect((await world.authServer.stats()).token.refresh_token).toBe(refreshes + 1);
  });
});

describe('who may call', () => {
  test('a bot that is not allowed is refused: its OAuthPrompt fails with 403 and no card is sent', async () => {
    const botB = await startBot(BOT_B);
    try {
      const before = channel.replies.length;
      await chat(botB, 'alice').say('login crm');
      expect(channel.replies.length).toBe(before);
      expect(botB.errors).toHaveLength(1);
      // OAuthPrompt's DialogContextError wraps botframework-connector's RestError for the 403.
      expect(botB.errors[0]).toMatchObject({ error: { statusCode: 403 } });
      expect(botB.errors[0]?.message).toMatch(/may not use this token service/);
      expect(world.entra.issued(BOT_B.appId)).toBeGreaterThan(0);
    } finally {
      await botB.close();
    }
  });
});
