// Issue 10 point 1 through the composed service: an admin sets a profile's access policy with the admin
// API (round trip, audit entry names `access`), and the token-service API refuses users the policy does
// not list (GetToken, GetSignInResource: 403 access-denied), while listed users go on as before.
// Real app, real SQLite, real oidc-provider; caller tokens from the FAKE Entra (tokenServiceWorld).
import { serverProfile } from '../support/engineHarness';
import {
  BOT_A,
  PROFILE_CLIENT,
  startTokenServiceWorld,
  type TokenServiceWorld,
} from '../support/tokenServiceWorld';

const ADMIN_KEY = 'token-service-test-admin-key';
let world: TokenServiceWorld;
let botToken: string;

beforeAll(async () => {
  world = await startTokenServiceWorld();
  botToken = await world.entra.mint(BOT_A.appId);
});

afterAll(async () => {
  await world?.close();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers are read field by field
type Json = any;

async function admin(method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> {
  const response = await fetch(`${world.base}/admin/api/${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_KEY}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

async function tokenApi(
  path: string,
  query: Record<string, string>,
): Promise<{ status: number; text: string }> {
  const response = await fetch(`${world.base}${path}?${new URLSearchParams(query).toString()}`, {
    headers: { authorization: `Bearer ${botToken}` },
  });
  return { status: response.status, text: await response.text() };
}

function state(userId: string, connectionName = 'crm-limited'): string {
  return Buffer.from(
    JSON.stringify({
      connectionName,
      conversation: {
        activityId: 'act-1',
        user: { id: userId, name: userId },
        bot: { id: 'bot', name: 'bot' },
        conversation: { id: `conv-${userId}` },
        channelId: 'webchat',
        serviceUrl: 'https://smba.trafficmanager.net/emea/',
      },
      msAppId: BOT_A.appId,
    }),
  ).toString('base64');
}

test('admin API: access round trip, audit lists `access`, bad entries are named', async () => {
  const body = serverProfile(world.authServer, 'crm-limited', PROFILE_CLIENT, { displayName: 'Limited CRM' });
  const created = await admin('POST', 'profiles', body);
  expect(created.status).toBe(201);
  expect(created.json.profile.access).toBe('everyone');

  const access = { users: ['webchat:alice'], tenants: ['tenant-a'] };
  const changed = await admin('PUT', 'profiles/crm-limited', { ...body, access });
  expect(changed.status).toBe(200);
  expect(changed.json.profile.access).toEqual({ ...access, teams: [], groups: [], channels: [] });
  expect((await admin('GET', 'profiles/crm-limited')).json.access).toMatchObject(access);

  const audit = await admin('GET', `audit?target=${encodeURIComponent('profile:crm-limited')}`);
  const updated = audit.json.entries.find((entry: { action: string }) => entry.action === 'profile.updated');
  expect(String(updated.details.changed).split(',')).toContain('access');

  const bad = await admin('PUT', 'profiles/crm-limited', {
    ...body,
    access: { users: ['alice'], teams: 'x' },
  });
  expect(bad.status).toBe(400);
  const paths = (bad.json.error.issues as { path: string }[]).map((issue) => issue.path);
  expect(paths).toEqual(expect.arrayContaining(['access.users.0', 'access.teams']));
  const empty = await admin('PUT', 'profiles/crm-limited', { ...body, access: {} });
  expect(empty.status).toBe(400);
  expect(JSON.stringify(empty.json.error.issues)).toMatch(/must list at least one tenant/);
});

test('token service: a user the policy does not list gets 403 access-denied; a listed user is served', async () => {
  const refused = await tokenApi('/api/usertoken/GetToken', {
    userId: 'mallory',
    connectionName: 'crm-limited',
    channelId: 'webchat',
  });
  expect(refused.status).toBe(403);
  expect(JSON.parse(refused.text).error).toEqual({
    code: 'access-denied',
    message: 'this user may not use connection "crm-limited": its access policy does not list them',
  });
  // Listed: no token yet is the ordinary 404 with an empty body.
  const allowed = await tokenApi('/api/usertoken/GetToken', {
    userId: 'alice',
    connectionName: 'crm-limited',
    channelId: 'webchat',
  });
  expect(allowed.status).toBe(404);

  const noLink = await tokenApi('/api/botsignin/GetSignInResource', { state: state('mallory') });
  expect(noLink.status).toBe(403);
  expect(JSON.parse(noLink.text).error.code).toBe('access-denied');
  const link = await tokenApi('/api/botsignin/GetSignInResource', { state: state('alice') });
  expect(link.status).toBe(200);
  expect(JSON.parse(link.text).signInLink).toMatch(/\/oauth\/start\//);
  // A profile without a policy is untouched.
  expect(
    (
      await tokenApi('/api/usertoken/GetToken', {
        userId: 'mallory',
        connectionName: 'crm',
        channelId: 'webchat',
      })
    ).status,
  ).toBe(404);
});
