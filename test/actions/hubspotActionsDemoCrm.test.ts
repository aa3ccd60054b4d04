// The HubSpot action catalogue (profiles/systemCatalog.json, issue 11 point 2) run as it is declared,
// through engine.runAction, against the demo CRM (HubSpot's CRM v3 shapes) on a real restify server:
// real tokens from the real demo authorization server (oidc-provider child process), real
// introspection, the account recorded from the demo CRM's token-info endpoint (HubSpot's `identity`),
// `{{currentUser}}` found by the owners API. Only the hosts differ from the bundled profile.
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import restify from 'restify';
import { oauthIntrospector, registerDemoCrm } from '../../bot/dev/demoCrm/demoCrm';
import { SAMPLE_CRM_DATA } from '../../bot/dev/demoCrm/sampleCrmData';
import { SAMPLE_ENGAGEMENTS } from '../../bot/dev/demoCrm/sampleEngagements';
import { SAMPLE_OWNERS } from '../../bot/dev/demoCrm/sampleOwners';
import type { ActionOutcome } from '../../profiles/actions/actionResults';
import catalog from '../../profiles/systemCatalog.json';
import type { Subject } from '../../profiles/subjects';
import { startAuthServer, type RunningAuthServer } from '../support/authServer';
import { completeConsent } from '../support/browserlessConsent';
import { authorize, createHarness, PUBLIC_URL, type Harness } from '../support/engineHarness';
import { adminCalls, chatWith, shown, signInFromChat, type ServiceChat } from '../support/serviceChat';
import { freePort, startService, type RunningService } from '../support/serviceProcess';

const PROFILE_ID = 'hubspot-demo';
const CLIENT = {
  client_id: 'hubspot-demo',
  client_secret: 'hubspot-demo-secret-value',
  token_endpoint_auth_method: 'client_secret_basic' as const,
};

const HUBSPOT = (catalog as Record<string, unknown>[]).find((profile) => profile.id === 'hubspot') as {
  scopes: string[];
  optionalScopes: string[];
  actions: { entity: string; action: string; results: { titleField?: string } }[];
  identity: { url: string; token: string; fields: Record<string, string> };
} & Record<string, unknown>;
const KEYS = HUBSPOT.actions.map((action) => `${action.entity}.${action.action}`);

/** What each action needs beyond its defaults, with values the demo data matches. */
const PARAMS: Record<string, Record<string, unknown>> = {
  'contacts.find': { query: 'ada' },
  'contacts.by-email': { email: 'ada@analytical.example' },
  'companies.find': { query: 'analytical' },
  'owners.by-email': { email: 'bob@demo-crm.example' },
};

let authServer: RunningAuthServer;
let crm: restify.Server;
let crmBaseUrl: string;
let harness: Harness;
const alice: Subject = { kind: 'user', channelId: 'webchat', userId: 'crm-alice' };
const bob: Subject = { kind: 'user', channelId: 'webchat', userId: 'crm-bob' };

/** The bundled HubSpot profile with the demo provider's endpoints and the demo CRM as its API. */
function hubspotOnDemoCrm(): Record<string, unknown> {
  const {
    id: _id,
    kind: _kind,
    clientIdEnv: _idEnv,
    clientSecretEnv: _secretEnv,
    optionalScopesParam: _param,
    ...rest
  } = HUBSPOT;
  return {
    ...rest,
    id: PROFILE_ID,
    displayName: 'HubSpot (demo CRM)',
    authorizationUrl: authServer.url('/auth'),
    tokenUrl: authServer.url('/token'),
    refreshUrl: authServer.url('/token'),
    revocationUrl: authServer.url('/token/revocation'),
    issuer: authServer.issuer,
    issuerParameterSupported: true,
    clientId: CLIENT.client_id,
    clientSecret: CLIENT.client_secret,
    tokenEndpointAuthMethod: CLIENT.token_endpoint_auth_method,
    pkce: true,
    // `oauth` is HubSpot's own; the demo provider grants the CRM scopes, the e-mail one up front here.
    scopes: [...HUBSPOT.scopes.filter((scope) => scope !== 'oauth'), ...HUBSPOT.optionalScopes],
    optionalScopes: [],
    apiBaseUrl: crmBaseUrl,
    checkUrl: `${crmBaseUrl}/crm/v3/objects/contacts?limit=1`,
    identity: { ...HUBSPOT.identity, url: `${crmBaseUrl}/oauth/v1/access-tokens/{token}` },
  };
}

beforeAll(async () => {
  const scopes = [...HUBSPOT.scopes.filter((scope) => scope !== 'oauth'), ...HUBSPOT.optionalScopes];
  authServer = await startAuthServer({
    clients: [{ ...CLIENT, redirect_uris: [`${PUBLIC_URL}/oauth/callback/${PROFILE_ID}`] }],
    scopes: scopes.join(' '),
    accessTokenTtl: 600,
  });
  crm = restify.createServer();
  registerDemoCrm(crm, {
    basePath: '/demo/crm',
    introspect: oauthIntrospector({
      introspectionUrl: authServer.url('/token/introspection'),
      clientId: CLIENT.client_id,
      clientSecret: CLIENT.client_secret,
      audience: authServer.url('/api'),
    }),
  });
  await new Promise<void>((resolve) => crm.listen(0, '127.0.0.1', () => resolve()));
  crmBaseUrl = `http://127.0.0.1:${(crm.address() as AddressInfo).port}/demo/crm`;
  harness = await createHarness({ profiles: [hubspotOnDemoCrm()] });
  for (const [subject, login] of [
    [alice, 'alice'],
    [bob, 'bob'],
  ] as const) {
    const { outcome } = await authorize(harness, PROFILE_ID, subject, { login });
    expect(outcome.kind).toBe('connected');
  }
}, 60_000);

afterAll(async () => {
  await harness?.close();
  crm?.server.closeAllConnections();
  await new Promise<void>((resolve) => (crm ? crm.close(() => resolve()) : resolve()));
  await authServer?.stop();
});

async function run(subject: Subject, key: string, params: Record<string, unknown> = {}) {
  const profile = await harness.engine.catalog.get(PROFILE_ID);
  return harness.engine.runAction(profile, subject, key, params);
}

function ok(outcome: ActionOutcome): Extract<ActionOutcome, { ok: true }> {
  if (!outcome.ok) throw new Error(`${outcome.action}: ${outcome.code}: ${outcome.message}`);
  return outcome;
}

function ownerId(login: string): string {
  const owner = SAMPLE_OWNERS.find((candidate) => candidate.email.startsWith(`${login}@`));
  if (!owner) throw new Error(`no owner ${login}`);
  return owner.id;
}

/** The titles of the demo records of one type an owner owns (the `titleField` of the "mine" action). */
function ownedTitles(
  records: readonly { properties: Record<string, unknown> }[],
  titleProperty: string,
  login: string,
): string[] {
  return records
    .filter((record) => record.properties.hubspot_owner_id === ownerId(login))
    .map((record) => String(record.properties[titleProperty]));
}

test('the catalogue holds the 15 HubSpot actions this suite runs', () => {
  expect(KEYS).toEqual([
    'contacts.find',
    'contacts.by-email',
    'companies.list',
    'companies.find',
    'deals.list-mine',
    'deals.list',
    'tickets.list-mine',
    'tickets.list',
    'notes.list',
    'calls.list',
    'meetings.list',
    'tasks.list-mine',
    'emails.list',
    'owners.list',
    'owners.by-email',
  ]);
});

test.each(KEYS)('%s returns results with every declared field filled', async (key) => {
  const outcome = ok(await run(alice, key, PARAMS[key] ?? {}));
  expect(outcome.status).toBe(200);
  expect(outcome.items.length).toBeGreaterThan(0);
  const declared = HUBSPOT.actions.find((action) => `${action.entity}.${action.action}` === key);
  for (const item of outcome.items) {
    if (declared?.results.titleField !== undefined) expect(item.title).toMatch(/\S/);
    for (const field of outcome.fields) {
      expect([key, field.name, item.values[field.name]]).toEqual([key, field.name, expect.anything()]);
      expect(item.values[field.name]).not.toBe('');
    }
  }
});

test('searches return what they were asked for', async () => {
  const byEmail = ok(await run(alice, 'contacts.by-email', PARAMS['contacts.by-email']));
  expect(byEmail.items.map((item) => item.values.email)).toEqual(['ada@analytical.example']);
  const owner = ok(await run(alice, 'owners.by-email', PARAMS['owners.by-email']));
  expect(owner.items).toEqual([
    { title: 'bob@demo-crm.example', values: { id: ownerId('bob'), firstName: 'Bob', lastName: 'Baker' } },
  ]);
  const companies = ok(await run(alice, 'companies.find', PARAMS['companies.find']));
  expect(companies.items.map((item) => item.values.domain)).toContain('analytical.example');
});

test.each([
  ['deals.list-mine', () => SAMPLE_CRM_DATA.deals, 'dealname'],
  ['tickets.list-mine', () => SAMPLE_CRM_DATA.tickets, 'subject'],
  ['tasks.list-mine', () => SAMPLE_ENGAGEMENTS.tasks, 'hs_task_subject'],
] as const)(
  '%s returns exactly the signed-in owner’s records (alice and bob each get their own)',
  async (key, records, titleProperty) => {
    for (const [subject, login] of [
      [alice, 'alice'],
      [bob, 'bob'],
    ] as const) {
      const expected = ownedTitles(records(), titleProperty, login);
      expect(expected.length).toBeGreaterThan(0);
      const outcome = ok(await run(subject, key, { limit: 100 }));
      expect(outcome.items.map((item) => item.title).sort()).toEqual([...expected].sort());
      expect(outcome.total).toBe(expected.length);
    }
  },
);

// The same catalogue as the dev service bundles it on its `demo` profile (bot/dev/demoProvider.ts):
// the real service process, a chat sign-in as alice over HTTP, then the execute API.
describe('the dev service’s demo profile through the execute API', () => {
  const adminKey = `admin-${randomBytes(18).toString('hex')}`;
  let service: RunningService;
  let chat: ServiceChat;
  let api: ReturnType<typeof adminCalls>;
  let connectionId: string;

  beforeAll(async () => {
    const port = await freePort();
    service = await startService({
      name: 'hubspot-demo-actions',
      port,
      env: { PUBLIC_URL: `http://127.0.0.1:${port}`, ADMIN_API_KEYS: `admin:${adminKey}` },
    });
    api = adminCalls(service, adminKey);
    chat = await chatWith(service, { id: 'dl_alice_demo', name: 'Alice' });
    const connected = await signInFromChat(chat, service, 'connect demo', (url) =>
      completeConsent(url, { login: 'alice' }),
    );
    expect(shown(connected)).toMatch(/connected to Demo CRM/i);
    const listed = await api('GET', '/admin/api/connections?profileId=demo');
    connectionId = (listed.json as { connections: { id: string }[] }).connections[0]?.id as string;
    expect(connectionId).toMatch(/^con_/);
  }, 60_000);

  afterAll(async () => {
    await chat?.close();
    await service?.stop();
  });

  async function execute(key: string, params: Record<string, unknown>) {
    const [entity, action] = key.split('.');
    return api('POST', `/api/actions/demo/${entity}/${action}`, { body: { connectionId, params } });
  }

  test.each(KEYS.filter((key) => key !== 'emails.list'))(
    '%s answers 200 with every declared field filled',
    async (key) => {
      const answer = await execute(key, PARAMS[key] ?? {});
      expect(answer.status).toBe(200);
      const body = answer.json as { fields: { name: string }[]; results: Record<string, unknown>[] };
      expect(body.results.length).toBeGreaterThan(0);
      for (const row of body.results) {
        for (const field of body.fields)
          expect([key, field.name, row[field.name]]).toEqual([key, field.name, expect.anything()]);
      }
    },
  );

  test('emails.list needs sales-email-read, which the demo profile does not ask for up front: 403 naming it', async () => {
    const answer = await execute('emails.list', {});
    expect(answer.status).toBe(403);
    expect(answer.json).toMatchObject({
      error: { code: 'missing-scopes', missingScopes: ['sales-email-read'] },
    });
  });

  test.each([
    ['deals.list-mine', () => SAMPLE_CRM_DATA.deals],
    ['tickets.list-mine', () => SAMPLE_CRM_DATA.tickets],
    ['tasks.list-mine', () => SAMPLE_ENGAGEMENTS.tasks],
  ] as const)('%s gives alice exactly her records', async (key, records) => {
    const expected = records().filter((record) => record.properties.hubspot_owner_id === ownerId('alice'));
    const answer = await execute(key, { limit: 100 });
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ total: expected.length });
    expect((answer.json as { results: unknown[] }).results).toHaveLength(expected.length);
  });
});
