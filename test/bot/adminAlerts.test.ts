// Issue 10 point 7: when an organisation connection breaks (the provider refuses its saved
// authorization), the profile's admins (`adminUsers`) get one chat message with a Reconnect link, and
// one more when it works again. Real bot, store, engine and oidc-provider (the grant is revoked there);
// the proactive adapter of the bot harness stands in for the channel.
import pino from 'pino';
import { openTokens } from '../../profiles/connections';
import { ORGANIZATION } from '../../profiles';
import { AdminAlerts } from '../../bot/web/adminAlerts';
import { startAuthServer, type RunningAuthServer } from '../support/authServer';
import { createBotHarness, freePort, texts, type BotHarness } from '../support/botHarness';
import { authorize, createHarness, serverProfile, type Harness } from '../support/engineHarness';
import { teamsActivity } from '../support/teamsActivities';

const CLIENT = {
  client_id: 'bot-client',
  client_secret: 'bot-client-secret-123456',
  token_endpoint_auth_method: 'client_secret_basic' as const,
};

let server: RunningAuthServer;
let harness: Harness;
let bot: BotHarness;
let alerts: AdminAlerts;
let publicUrl: string;

beforeAll(async () => {
  const port = await freePort();
  publicUrl = `http://127.0.0.1:${port}`;
  server = await startAuthServer({
    clients: [
      {
        ...CLIENT,
        redirect_uris: [`${publicUrl}/oauth/callback/crm-org`],
        pkceRequired: true,
        rotateRefreshToken: true,
      },
    ],
    scopes: 'crm.objects.deals.read',
  });
  harness = await createHarness({
    profiles: [
      serverProfile(server, 'crm-org', CLIENT, {
        pkce: true,
        authorization: 'pre-authorized',
        adminUsers: ['msteams:29:admin'],
      }),
    ],
    publicUrl,
  });
  bot = await createBotHarness(harness, { port, crmProfileId: 'crm-org' });
  alerts = new AdminAlerts({
    engine: harness.engine,
    documents: harness.store.documents,
    adapter: bot.adapter,
    botAppId: '',
    publicUrl,
    log: pino({ level: 'silent' }),
  });
  bot.adapter.use(async (context, next) => {
    await alerts.recordContact(context.activity);
    await next();
  });
  expect((await authorize(harness, 'crm-org', ORGANIZATION)).outcome.kind).toBe('connected');
});

afterAll(async () => {
  await bot?.close();
  await harness?.close();
  await server?.stop();
});

async function revokeAtProvider(): Promise<void> {
  const profile = await harness.engine.catalog.get('crm-org');
  const connection = await harness.store.connections.get(profile.id, 'org');
  const { refreshToken } = openTokens(harness.context, connection!);
  const revoked = await fetch(server.url('/token/revocation'), {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${CLIENT.client_id}:${CLIENT.client_secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ token: refreshToken as string, token_type_hint: 'refresh_token' }),
  });
  expect(revoked.status).toBe(200);
  harness.clock.advance(connection!.expiresAt - harness.clock() + 1);
  expect(await harness.engine.getToken(profile, ORGANIZATION)).toMatchObject({
    ok: false,
    reason: 'needs-reauthorization',
  });
}

test('admins are told once when the organisation connection breaks, with Reconnect, and once when repaired', async () => {
  // The admin talks to the bot in a personal chat (that is how the bot can write to them); so does
  // someone who is not an admin.
  await bot.say('help', {
    userId: '29:admin',
    channelId: 'msteams',
    activity: teamsActivity({ userId: '29:admin' }),
  });
  await bot.say('help', {
    userId: '29:bob',
    channelId: 'msteams',
    activity: teamsActivity({ userId: '29:bob' }),
  });
  expect(await alerts.sweep()).toBe(0);

  await revokeAtProvider();
  bot.drain();
  expect(await alerts.sweep()).toBe(1);
  const told = bot.drain();
  expect(told).toHaveLength(1);
  expect(told[0]?.conversation?.id).toBe('personal-29:admin');
  expect(told[0]?.recipient?.id).toBe('29:admin');
  const card = told[0]?.attachments?.[0]?.content as {
    title: string;
    text: string;
    buttons: { type: string; title: string; value: string }[];
  };
  expect(card.title).toBe('Test crm-org: reconnect needed');
  expect(card.text).toMatch(/^The organisation connection to Test crm-org stopped working/);
  expect(card.buttons).toEqual([
    { type: 'openUrl', title: 'Reconnect', value: `${publicUrl}/admin/profiles/crm-org` },
  ]);

  // Once per breakage.
  expect(await alerts.sweep()).toBe(0);
  expect(bot.drain()).toHaveLength(0);

  // An admin reconnects (pre-authorizes again): one "works again" message, then quiet.
  expect((await authorize(harness, 'crm-org', ORGANIZATION)).outcome.kind).toBe('connected');
  expect(await alerts.sweep()).toBe(1);
  expect(texts(bot.drain())).toEqual(['The organisation connection to Test crm-org works again.']);
  expect(await alerts.sweep()).toBe(0);

  // A second breakage is told again.
  await revokeAtProvider();
  expect(await alerts.sweep()).toBe(1);
  expect(bot.drain()[0]?.attachments?.[0]?.content).toMatchObject({
    title: 'Test crm-org: reconnect needed',
  });
});

test('only listed admins in a personal chat are recorded as contacts (not in a group chat, not others)', async () => {
  const key = 'authprofiles/admin-contact/msteams:29:admin';
  expect((await harness.store.documents.read([key])).size).toBe(1);
  await harness.store.documents.delete([key]);
  await bot.say('help', {
    userId: '29:admin',
    channelId: 'msteams',
    activity: teamsActivity({ userId: '29:admin', conversationType: 'groupChat', conversationId: '19:g' }),
  });
  expect((await harness.store.documents.read([key])).size).toBe(0);
  expect((await harness.store.documents.read(['authprofiles/admin-contact/msteams:29:bob'])).size).toBe(0);
});
