// Named connections (issue 10 point 3): several accounts per provider for one subject, against the REAL
// authorization server (oidc-provider in a child process) and a real SQLite store.
import { generateKeySpec } from '../../profiles/encryption';
import { isAuthProfilesError } from '../../profiles/errors';
import { subjectKey, type Subject } from '../../profiles/subjects';
import { startAuthServer, type RunningAuthServer } from '../support/authServer';
import { authorize, createHarness, PUBLIC_URL, serverProfile, type Harness } from '../support/engineHarness';

const CLIENT = {
  client_id: 'named',
  client_secret: 'named-secret-value-1',
  token_endpoint_auth_method: 'client_secret_basic' as const,
};

let server: RunningAuthServer;
let harness: Harness;
let users = 0;

beforeAll(async () => {
  server = await startAuthServer({
    clients: [{ ...CLIENT, redirect_uris: [`${PUBLIC_URL}/oauth/callback/named`], rotateRefreshToken: true }],
    scopes: 'crm.objects.deals.read',
    accessTokenTtl: 600,
  });
  harness = await createHarness({
    profiles: [serverProfile(server, 'named', CLIENT)],
    encryptionKeys: generateKeySpec('test1'),
  });
});

afterAll(async () => {
  await harness?.close();
  await server?.stop();
});

async function twoAccounts() {
  users += 1;
  const subject: Subject = { kind: 'user', channelId: 'webchat', userId: `named user ${users}` };
  const personal = await authorize(harness, 'named', subject, { login: 'alice' });
  const work = await authorize(harness, 'named', subject, { login: 'alice-work', connectionName: 'work' });
  expect([personal.outcome.kind, work.outcome.kind]).toEqual(['connected', 'connected']);
  const profile = await harness.engine.catalog.get('named');
  return { subject, profile };
}

async function accessToken(subject: Subject, connection?: string): Promise<string> {
  const profile = await harness.engine.catalog.get('named');
  const result = await harness.engine.getToken(profile, subject, connection ? { connection } : {});
  if (!result.ok) throw new Error(`no token: ${result.reason}`);
  return result.accessToken;
}

test('a named connection is a second connection of the subject; no name means the default one', async () => {
  const { subject } = await twoAccounts();
  const personal = await accessToken(subject);
  const work = await accessToken(subject, 'work');
  expect(work).not.toBe(personal);
  expect(await accessToken(subject, 'default')).toBe(personal);
  // Stored under the subject key plus `#work`: no new column, the existing unique key holds.
  const stored = await harness.store.connections.get('named', `${subjectKey(subject)}#work`);
  expect(stored?.createdBy).toBe('user:test');
  const listed = await harness.engine.connectionsOf(subject);
  expect(listed.map((c) => [c.subjectKey, c.name, c.isDefault]).sort()).toEqual(
    [
      [subjectKey(subject), null, true],
      [subjectKey(subject), 'work', false],
    ].sort(),
  );
});

test('the user makes the work connection the default, and signing out of it brings the old default back', async () => {
  const { subject, profile } = await twoAccounts();
  const personal = await accessToken(subject);
  const work = await accessToken(subject, 'work');
  expect(await harness.engine.setDefaultConnection(profile, subject, 'work')).toBe(true);
  expect(await accessToken(subject)).toBe(work);
  const listed = await harness.engine.connectionsOf(subject);
  expect(listed.filter((c) => c.isDefault).map((c) => c.name)).toEqual(['work']);
  expect(await harness.engine.setDefaultConnection(profile, subject, 'home')).toBe(false);

  const outcome = await harness.engine.signOut(profile, subject, 'user:test', { connection: 'work' });
  expect(outcome).not.toBeNull();
  expect((await harness.engine.getToken(profile, subject, { connection: 'work' })).ok).toBe(false);
  expect(await accessToken(subject)).toBe(personal);
  const left = await harness.engine.connectionsOf(subject);
  expect(left.map((c) => [c.name, c.isDefault])).toEqual([[null, true]]);
});

test('signing out without a name signs out of the default connection only', async () => {
  const { subject, profile } = await twoAccounts();
  const work = await accessToken(subject, 'work');
  await harness.engine.signOut(profile, subject, 'user:test');
  const result = await harness.engine.getToken(profile, subject);
  expect(result).toMatchObject({ ok: false, reason: 'not-connected' });
  expect(await accessToken(subject, 'work')).toBe(work);
});

test('a connection name that is not a label is refused with a clear error', async () => {
  const profile = await harness.engine.catalog.get('named');
  const subject: Subject = { kind: 'user', channelId: 'webchat', userId: 'bad-name' };
  for (const name of ['Work Account', 'a#b', '-x', 'x'.repeat(33), '']) {
    const error: unknown = await harness.engine
      .createAuthorizationRequest({
        profile,
        subject,
        connectionName: name,
        createdBy: 'user:test',
        requireVerification: false,
      })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(isAuthProfilesError(error) && error.code).toBe('invalid-connection-name');
    expect(String((error as Error).message)).toContain('connection name');
  }
});

test('getToken names the named default connection it could not use, so a new sign-in is for that one', async () => {
  const { subject, profile } = await twoAccounts();
  const key = subjectKey(subject);
  const work = await harness.store.connections.get('named', `${key}#work`);
  const unnamed = await harness.store.connections.get('named', key);
  expect(await harness.engine.setDefaultConnection(profile, subject, 'work')).toBe(true);
  for (const connection of [work, unnamed]) {
    const current = await harness.store.connections.getById(connection!.id);
    await harness.store.connections.update(current!.id, current!.version, {
      status: 'needs-reauthorization',
    });
  }
  expect(await harness.engine.getToken(profile, subject)).toMatchObject({
    ok: false,
    reason: 'needs-reauthorization',
    connectionId: work!.id,
    connectionName: 'work',
  });
  // The unnamed connection asked for by name: no name to give.
  const result = await harness.engine.getToken(profile, subject, { connection: 'default' });
  expect(result).toMatchObject({ ok: false, reason: 'needs-reauthorization', connectionId: unnamed!.id });
  expect(result).not.toHaveProperty('connectionName');
});

test('a named default connection that cannot be decrypted is named too, so the new sign-in replaces it (SECURITY.md #30)', async () => {
  const { subject, profile } = await twoAccounts();
  const key = subjectKey(subject);
  const work = await harness.store.connections.get('named', `${key}#work`);
  const unnamed = await harness.store.connections.get('named', key);
  expect(await harness.engine.setDefaultConnection(profile, subject, 'work')).toBe(true);
  // The unnamed record's sealed token moved into the work record: its AAD names another record.
  const current = await harness.store.connections.getById(work!.id);
  await harness.store.connections.update(current!.id, current!.version, {
    accessToken: unnamed!.accessToken,
  });
  expect(await harness.engine.getToken(profile, subject)).toMatchObject({
    ok: false,
    reason: 'needs-reauthorization',
    connectionId: work!.id,
    connectionName: 'work',
  });
});
