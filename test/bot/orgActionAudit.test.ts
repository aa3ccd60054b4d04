// An action run from chat with the organisation's connection (a pre-authorized profile) is audited like
// an admin's execute call: who, which action, how it ended — never its parameters or results. Real bot,
// store, engine and oidc-provider; the API is a local HTTP server standing in for the provider's (a
// stand-in, named as one: it answers one page of deals).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ORGANIZATION } from '../../profiles';
import { startAuthServer, type RunningAuthServer } from '../support/authServer';
import { createBotHarness, freePort, type BotHarness } from '../support/botHarness';
import { authorize, createHarness, serverProfile, type Harness } from '../support/engineHarness';

const CLIENT = {
  client_id: 'org-audit-client',
  client_secret: 'org-audit-client-secret-123456',
  token_endpoint_auth_method: 'client_secret_basic' as const,
};

let server: RunningAuthServer;
let api: Server;
let harness: Harness;
let bot: BotHarness;

beforeAll(async () => {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  server = await startAuthServer({
    clients: [{ ...CLIENT, redirect_uris: [`${publicUrl}/oauth/callback/crm-org`], pkceRequired: true }],
    scopes: 'crm.objects.deals.read',
  });
  api = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ results: [{ properties: { dealname: 'Secret-ish deal 4242' } }] }));
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  harness = await createHarness({
    profiles: [
      serverProfile(server, 'crm-org', CLIENT, {
        pkce: true,
        authorization: 'pre-authorized',
        apiBaseUrl: `http://127.0.0.1:${(api.address() as AddressInfo).port}`,
        actions: [
          {
            entity: 'deals',
            action: 'search',
            title: 'Search deals',
            method: 'POST',
            path: '/deals/search',
            body: { query: '{{q}}' },
            params: { q: { type: 'string', required: true } },
            results: { path: 'results', fields: [{ path: 'properties.dealname', label: 'Deal' }] },
            phrases: ['search deals {{q}}'],
          },
        ],
      }),
    ],
    publicUrl,
  });
  bot = await createBotHarness(harness, { port, crmProfileId: 'crm-org' });
  expect((await authorize(harness, 'crm-org', ORGANIZATION)).outcome.kind).toBe('connected');
});

afterAll(async () => {
  await bot?.close();
  await harness?.close();
  await new Promise((resolve) => api?.close(resolve));
  await server?.stop();
});

test('a chat user running an action with the organisation connection is audited, without parameters or results', async () => {
  const replies = await bot.say('crm-org: search deals acme-private-term', {
    userId: 'carol',
    channelId: 'webchat',
  });
  expect(JSON.stringify(replies)).toContain('Secret-ish deal 4242');
  const [entry] = await harness.store.audit.list({ limit: 1, target: 'profile:crm-org' });
  expect(entry).toMatchObject({
    actor: 'user:webchat:carol',
    action: 'action.executed',
    details: { connection: 'org', action: 'deals.search', outcome: 'ok', via: 'chat' },
  });
  expect(JSON.stringify(entry)).not.toMatch(/acme-private-term|Secret-ish/);
});
