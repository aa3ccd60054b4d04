// A bot developer's custom profile with declared actions, used without code (issue 11, "Done when"):
// examples/profiles/mini-crm.json (the README's walk-through) in a PROFILES_DIR, the real service
// process (bot/main.ts, dev mode) with its own demo provider (oidc-provider child process) and demo
// CRM. The user signs in from chat over HTTP; then the execute API and the token-injecting proxy run
// the profile's actions with that connection, and chat runs them by their phrases.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeySpec } from '../../profiles/encryption';
import { findRepoRoot } from '../support/authServer';
import { completeConsent } from '../support/browserlessConsent';
import {
  adminCalls,
  chatWith,
  rawGet,
  shown,
  signInFromChat,
  storedAccessToken,
  type ServiceChat,
} from '../support/serviceChat';
import { freePort, startService, type RunningService } from '../support/serviceProcess';

const ADMIN_KEY = `admin-${randomBytes(18).toString('hex')}`;
const ENCRYPTION_KEYS = generateKeySpec('e2e1');
const DEMO_CLIENT_SECRET = randomBytes(24).toString('base64url');

let profilesDir: string;
let service: RunningService;
let chat: ServiceChat;
let api: ReturnType<typeof adminCalls>;
let connectionId: string;
let accessToken: string;

/** The example file as written, with the ports of this run instead of 3978 and 3979. */
function exampleFor(port: number, demoPort: number): string {
  const example = readFileSync(join(findRepoRoot(), 'examples', 'profiles', 'mini-crm.json'), 'utf8');
  expect(example).toContain('127.0.0.1:3979');
  expect(example).toContain('127.0.0.1:3978');
  return example
    .replaceAll('127.0.0.1:3979', `127.0.0.1:${demoPort}`)
    .replaceAll('127.0.0.1:3978', `127.0.0.1:${port}`);
}

beforeAll(async () => {
  const port = await freePort();
  const demoPort = await freePort();
  profilesDir = mkdtempSync(join(tmpdir(), 'authprofiles-custom-profiles-'));
  writeFileSync(join(profilesDir, 'mini-crm.json'), exampleFor(port, demoPort));
  service = await startService({
    name: 'custom-profile',
    port,
    env: {
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      PROFILES_DIR: profilesDir,
      DEMO_PROVIDER_PORT: String(demoPort),
      DEMO_CLIENT_SECRET,
      ENCRYPTION_KEYS,
      ADMIN_API_KEYS: `admin:${ADMIN_KEY}`,
    },
  });
  api = adminCalls(service, ADMIN_KEY);
  chat = await chatWith(service, { id: 'dl_alice', name: 'Alice' });
}, 60_000);

afterAll(async () => {
  await chat?.close();
  await service?.stop();
  if (profilesDir) rmSync(profilesDir, { recursive: true, force: true });
});

test('chat sign-in to the custom profile at the demo provider (its callback accepted without registration)', async () => {
  const connected = await signInFromChat(chat, service, 'connect mini-crm', (url) =>
    completeConsent(url, { login: 'alice' }),
  );
  expect(shown(connected)).toMatch(/connected to Mini CRM/i);
  const listed = await api('GET', '/admin/api/connections?profileId=mini-crm');
  expect(listed.status).toBe(200);
  const connections = (listed.json as { connections: { id: string; status: string; subjectKey: string }[] })
    .connections;
  expect(connections).toEqual([
    expect.objectContaining({ status: 'active', subjectKey: 'user:webchat:dl_alice' }),
  ]);
  connectionId = connections[0]?.id as string;
  accessToken = await storedAccessToken(service, ENCRYPTION_KEYS, connectionId);
  expect(accessToken.length).toBeGreaterThan(20);
});

describe('execute API', () => {
  test('lists the profile file’s actions with their parameter schemas', async () => {
    const listed = await api('GET', '/api/actions/mini-crm');
    expect(listed.status).toBe(200);
    const body = listed.json as { profile: unknown; actions: Record<string, unknown>[] };
    expect(body.profile).toEqual({ id: 'mini-crm', displayName: 'Mini CRM' });
    expect(body.actions.map((action) => action.key)).toEqual([
      'companies.in-city',
      'contacts.get',
      'team.list',
    ]);
    expect(body.actions[0]).toMatchObject({
      execute: '/api/actions/mini-crm/companies/in-city',
      params: { city: { type: 'string', required: true, maxLength: 60 } },
    });
  });

  test('runs each action with the user’s connection: the declared fields of the demo CRM’s records', async () => {
    const inCity = await api('POST', '/api/actions/mini-crm/companies/in-city', {
      body: { connectionId, params: { city: 'London' } },
    });
    expect(inCity.status).toBe(200);
    expect(inCity.json).toEqual({
      action: 'companies.in-city',
      status: 200,
      fields: [
        { name: 'name', label: 'Company', format: 'text' },
        { name: 'domain', label: 'Domain', format: 'text' },
        { name: 'industry', label: 'Industry', format: 'text' },
      ],
      results: [
        { name: 'Analytical Engines Ltd', domain: 'analytical.example', industry: 'Computer Hardware' },
      ],
      total: 1,
    });
    const contact = await api('POST', '/api/actions/mini-crm/contacts/get', {
      body: { connectionId, params: { id: '1001' } },
    });
    expect(contact.status).toBe(200);
    expect(contact.json).toMatchObject({
      results: [
        {
          firstname: 'Ada',
          lastname: 'Lovelace',
          email: 'ada@analytical.example',
          company: 'Analytical Engines Ltd',
        },
      ],
    });
    const team = await api('POST', '/api/actions/mini-crm/team/list', { body: { connectionId } });
    expect(team.status).toBe(200);
    const emails = (team.json as { results: { email: string }[] }).results.map((row) => row.email);
    expect(emails).toEqual(expect.arrayContaining(['alice@demo-crm.example', 'bob@demo-crm.example']));
    for (const answer of [inCity, contact, team]) expect(answer.text).not.toContain(accessToken);
  });

  test.each([
    ['a missing required parameter', 'companies/in-city', { params: {} }, 400, 'params.city', 'is required'],
    [
      'a parameter too long',
      'companies/in-city',
      { params: { city: 'x'.repeat(61) } },
      400,
      'params.city',
      'must be at most 60 characters',
    ],
    [
      'a parameter the action does not declare',
      'contacts/get',
      { params: { id: '1001', extra: 'x' } },
      400,
      'params.extra',
      'is not a parameter of this action',
    ],
    [
      'an unknown action',
      'companies/delete-all',
      { params: {} },
      404,
      null,
      'has no action "companies.delete-all"',
    ],
    ['a malformed action name', 'companies/In_City', { params: {} }, 400, 'action', 'must be 1-40 lowercase'],
  ] as const)('%s is refused with a 4xx naming it', async (_name, path, body, status, field, message) => {
    const answer = await api('POST', `/api/actions/mini-crm/${path}`, { body: { connectionId, ...body } });
    expect(answer.status).toBe(status);
    expect((answer.json as { error: { message: string } }).error.message).toContain(message);
    if (field !== null) {
      expect((answer.json as { error: { issues: { path: string }[] } }).error.issues).toEqual(
        expect.arrayContaining([expect.objectContaining({ path: field })]),
      );
    }
  });

  test('a path value cannot leave its segment: the CRM receives "../../owners" as one record id', async () => {
    const answer = await api('POST', '/api/actions/mini-crm/contacts/get', {
      body: { connectionId, params: { id: '../../owners' } },
    });
    // Percent-encoded inside its segment: the CRM's router gave it back whole, as the object id.
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({
      error: {
        code: 'bad-request',
        action: 'contacts.get',
        upstreamStatus: 400,
        message: expect.stringContaining('objectId: "../../owners" is not a record id'),
      },
    });
    expect(answer.text).not.toContain('alice@demo-crm.example');
  });
});

describe('proxy', () => {
  const headers = (): Record<string, string> => ({ 'x-authprofiles-connection-id': connectionId });

  test('gives the same records as the execute API, in the CRM’s own shape, without the token', async () => {
    const search = await api('POST', '/api/proxy/mini-crm/crm/v3/objects/companies/search', {
      headers: headers(),
      body: {
        filterGroups: [{ filters: [{ propertyName: 'city', operator: 'EQ', value: 'London' }] }],
        properties: ['name', 'domain', 'industry', 'city'],
        limit: 5,
      },
    });
    expect(search.status).toBe(200);
    expect(search.json).toMatchObject({
      total: 1,
      results: [
        {
          id: '2001',
          properties: {
            name: 'Analytical Engines Ltd',
            domain: 'analytical.example',
            industry: 'Computer Hardware',
          },
        },
      ],
    });
    const contact = await api(
      'GET',
      '/api/proxy/mini-crm/crm/v3/objects/contacts/1001?properties=firstname,email',
      {
        headers: headers(),
      },
    );
    expect(contact.status).toBe(200);
    expect(contact.json).toMatchObject({
      id: '1001',
      properties: { firstname: 'Ada', email: 'ada@analytical.example' },
    });
    for (const answer of [search, contact]) {
      expect(answer.text).not.toContain(accessToken);
      expect(JSON.stringify(answer.headers)).not.toContain(accessToken);
    }
  });

  test.each([
    ['a dot-dot segment', '/api/proxy/mini-crm/crm/../../admin/api/keys'],
    ['an encoded dot-dot', '/api/proxy/mini-crm/crm/%2e%2e/%2e%2e/admin'],
    ['an absolute URL', '/api/proxy/mini-crm/http://127.0.0.1:1/x'],
  ])('%s is refused as an invalid proxy path', async (_name, path) => {
    const answer = await rawGet(service, path, { ...headers(), authorization: `Bearer ${ADMIN_KEY}` });
    expect(answer.status).toBe(400);
    expect(answer.text).not.toContain(accessToken);
    expect(JSON.parse(answer.text)).toMatchObject({ error: { code: 'invalid-proxy-path' } });
  });

  test('an unknown connection id is refused (404) naming it', async () => {
    const answer = await api('GET', '/api/proxy/mini-crm/crm/v3/owners', {
      headers: { 'x-authprofiles-connection-id': 'con_doesnotexist00000000' },
    });
    expect(answer.status).toBe(404);
    expect(answer.text).toContain('con_doesnotexist00000000');
  });
});

describe('chat', () => {
  /** What the Adaptive Cards of some replies say, without the zero-width spaces that keep values inert. */
  function cardText(replies: Parameters<typeof cards>[0]): string {
    return JSON.stringify(cards(replies)).replace(/\u200b/g, '');
  }

  /** The Adaptive Cards of some replies (the action results and menus). */
  function cards(replies: readonly { attachments?: { contentType?: string; content?: unknown }[] }[]) {
    return replies.flatMap((reply) =>
      (reply.attachments ?? []).filter((a) => a.contentType === 'application/vnd.microsoft.card.adaptive'),
    );
  }

  test('"mini-crm: companies in London" runs the action: a card with the declared fields', async () => {
    const replies = await chat.say('mini-crm: companies in London', (r) => cards(r).length > 0);
    const card = cardText(replies);
    expect(card).toContain('Analytical Engines Ltd');
    expect(card).toContain('analytical.example');
    expect(card).toContain('Computer Hardware');
    expect(card).not.toContain('Compiler Works');
    expect(shown(chat.replies)).not.toContain(accessToken);
  });

  test('a bare phrase only this profile knows works too: "who is on the team"', async () => {
    const replies = await chat.say('who is on the team', (r) => cards(r).length > 0);
    const card = cardText(replies);
    expect(card).toContain('alice@demo-crm.example');
    expect(card).toContain('Archer');
  });

  test('"mini-crm actions" shows the menu card; its "Contact by id" submit runs the action', async () => {
    const menu = await chat.say('mini-crm actions', (r) => cards(r).length > 0);
    const card = cardText(menu);
    for (const title of ['Companies in a city', 'Contact by id', 'Who is on the team']) {
      expect(card).toContain(title);
    }
    // What Web Chat sends for the "Run" button under "Contact by id" with 1001 typed in its input.
    expect(card).toContain('"id":"contacts.get.id"');
    const replies = await chat.submit(
      { authprofiles: { profile: 'mini-crm', action: 'contacts.get' }, 'contacts.get.id': '1001' },
      (r) => cards(r).length > 0,
    );
    const result = cardText(replies);
    expect(result).toContain('Lovelace');
    expect(result).toContain('ada@analytical.example');
  });

  test.each([
    [
      'a parameter too long',
      `mini-crm: companies in ${'x'.repeat(61)}`,
      /city must be at most 60 characters/,
    ],
    [
      'an action it does not have',
      'mini-crm: delete everything',
      /Mini CRM has no action like "delete everything"/,
    ],
  ])('%s gets an answer naming the problem, and no result card', async (_name, text, named) => {
    const replies = await chat.say(text);
    expect(cards(replies).filter((c) => JSON.stringify(c).includes('Analytical'))).toEqual([]);
    expect(shown(replies)).toMatch(named);
  });
});
