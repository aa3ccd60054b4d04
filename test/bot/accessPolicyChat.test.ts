// Issue 10 point 1 in chat: a profile's access policy, with Teams-shaped activities through the real
// bot, dialogs, store and oidc-provider (TestAdapter stands in for Teams). Allowed and refused tenant,
// user (channel id and Entra object id), team, team group and Teams channel; per-user sign-in (no card
// for a refused user) and an organisation connection (its token only for allowed users).
import type { Activity } from 'botbuilder';
import { ORGANIZATION } from '../../profiles';
import { startAuthServer, type RunningAuthServer } from '../support/authServer';
import { createBotHarness, freePort, signinUrl, texts, type BotHarness } from '../support/botHarness';
import { authorize, createHarness, serverProfile, type Harness } from '../support/engineHarness';
import { mentioningBot, teamsActivity, type TeamsWho } from '../support/teamsActivities';
import { CHAT_ACTIONS } from '../support/chatActions';

const CLIENT = {
  client_id: 'bot-client',
  client_secret: 'bot-client-secret-123456',
  token_endpoint_auth_method: 'client_secret_basic' as const,
};
const GROUP = '5b1f0c57-7a0e-4c31-9d86-2b6f1f0c1a11';
const AAD_LISTED = 'a3f0d7e2-1b4c-4e55-8a90-0c2d3e4f5a6b';
const ACCESS = {
  tenants: ['tenant-ok'],
  users: ['msteams:29:listed', AAD_LISTED],
  teams: ['19:team-ok'],
  groups: [GROUP],
  channels: ['19:team-x;channel-ok'],
};

let server: RunningAuthServer;
let harness: Harness;
let perUser: BotHarness;
let organisation: BotHarness;

beforeAll(async () => {
  const [port1, port2] = [await freePort(), await freePort()];
  server = await startAuthServer({
    clients: [
      {
        ...CLIENT,
        redirect_uris: ['crm', 'crm-org'].map((id) => `http://127.0.0.1:${port1}/oauth/callback/${id}`),
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
        access: ACCESS,
        ...CHAT_ACTIONS,
      }),
      serverProfile(server, 'crm-org', CLIENT, {
        pkce: true,
        apiBaseUrl: 'https://crm.invalid',
        ...CHAT_ACTIONS,
        authorization: 'pre-authorized',
        access: ACCESS,
      }),
    ],
    publicUrl: `http://127.0.0.1:${port1}`,
  });
  perUser = await createBotHarness(harness, { port: port1, crmProfileId: 'crm' });
  organisation = await createBotHarness(harness, { port: port2, crmProfileId: 'crm-org' });
  const { outcome } = await authorize(harness, 'crm-org', ORGANIZATION);
  expect(outcome.kind).toBe('connected');
});

afterAll(async () => {
  await perUser?.close();
  await organisation?.close();
  await harness?.close();
  await server?.stop();
});

function ask(bot: BotHarness, who: TeamsWho, text = 'show my deals'): Promise<Partial<Activity>[]> {
  const shared = (who.conversationType ?? (who.team ? 'channel' : 'personal')) !== 'personal';
  return bot.say(text, {
    userId: who.userId,
    channelId: 'msteams',
    activity: { ...teamsActivity(who), ...(shared ? mentioningBot(text) : { text }) },
  });
}

const REFUSED = /^You don't have access to Test crm(-org)? through this bot\. Please ask an administrator\.$/;

/** Per-user profile: allowed means a sign-in card (here or in a personal chat), refused means the message. */
async function signinOffered(who: TeamsWho): Promise<boolean> {
  const before = perUser.adapter.createdConversations.length;
  const replies = await ask(perUser, who);
  const privately = perUser.adapter.createdConversations.slice(before).flatMap((c) => c.activities);
  const offered = signinUrl([...replies, ...privately]) !== undefined;
  if (!offered) expect(texts(replies)).toEqual([expect.stringMatching(REFUSED)]);
  // End the wait so the next ask in this conversation starts afresh.
  if (offered) await ask(perUser, who, 'cancel');
  return offered;
}

describe('per-user sign-in', () => {
  test('tenant: listed tenant gets the card, another tenant gets the refusal and no card', async () => {
    expect(await signinOffered({ userId: '29:t1', tenantId: 'tenant-ok' })).toBe(true);
    expect(await signinOffered({ userId: '29:t2', tenantId: 'tenant-other' })).toBe(false);
  });

  test('user: listed by msteams:<id> or by Entra object id; an unlisted user is refused', async () => {
    expect(await signinOffered({ userId: '29:listed', tenantId: 'tenant-other' })).toBe(true);
    expect(await signinOffered({ userId: '29:u2', aadObjectId: AAD_LISTED, tenantId: 'tenant-other' })).toBe(
      true,
    );
    expect(
      await signinOffered({ userId: '29:u3', aadObjectId: 'aad-not-listed', tenantId: 'tenant-other' }),
    ).toBe(false);
  });

  test('team, team group and Teams channel: listed ones allowed, others refused', async () => {
    const other = { tenantId: 'tenant-other' };
    expect(await signinOffered({ userId: '29:m1', ...other, team: { id: '19:team-ok' } })).toBe(true);
    expect(
      await signinOffered({ userId: '29:m2', ...other, team: { id: '19:team-g', aadGroupId: GROUP } }),
    ).toBe(true);
    expect(
      await signinOffered({
        userId: '29:m3',
        ...other,
        team: { id: '19:team-x', channelId: '19:team-x;channel-ok' },
      }),
    ).toBe(true);
    expect(
      await signinOffered({
        userId: '29:m4',
        ...other,
        team: { id: '19:team-x', channelId: '19:team-x;general' },
      }),
    ).toBe(false);
  });

  test('Teams fields claimed on another channel do not count (a Web Chat client writes its own)', async () => {
    const replies = await perUser.say('show my deals', {
      userId: 'listed',
      activity: {
        conversation: {
          id: 'wc-1',
          isGroup: false,
          conversationType: 'personal',
          tenantId: 'tenant-ok',
          name: '',
        },
        channelData: { tenant: { id: 'tenant-ok' }, team: { id: '19:team-ok' } },
        from: { id: 'listed', name: 'listed', aadObjectId: AAD_LISTED },
      },
    });
    expect(signinUrl(replies)).toBeUndefined();
    expect(texts(replies)).toEqual([expect.stringMatching(REFUSED)]);
  });
});

describe('organisation connection', () => {
  test('an allowed user gets the organisation token (the CRM call is made); a refused one does not', async () => {
    const allowed = texts(await ask(organisation, { userId: '29:o1', tenantId: 'tenant-ok' })).join('\n');
    expect(allowed).not.toMatch(REFUSED);
    // The token was handed to the CRM call, which fails at crm.invalid: the dialog reports that.
    expect(allowed).toMatch(/not answering properly|no longer accepts/);

    const refused = texts(await ask(organisation, { userId: '29:o2', tenantId: 'tenant-other' }));
    expect(refused).toEqual([expect.stringMatching(REFUSED)]);
  });
});
