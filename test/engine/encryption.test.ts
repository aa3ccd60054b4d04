// Secrets at rest: SECURITY.md #27–#31. A real authorization flow against the oidc-provider test
// server fills a real SQLite file; the tests then read that file byte by byte, move ciphertext
// between records with raw SQL, rotate keys and load key rings the way start-up does.
import Database from 'better-sqlite3';
import fs from 'node:fs';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTokens, saveConnection, summarize, type ConnectionSummary } from '../../profiles/connections';
import { AuthorizationEngine } from '../../profiles/engine';
import { deleteProfile, publicProfile } from '../../profiles/profileAdmin';
import { generateKeySpec, KeyRing, parseEncryptionKeys, secretContext } from '../../profiles/encryption';
import { DEV_KEY_FILE, loadKeyRing } from '../../profiles/encryptionKeys';
import type { EngineContext } from '../../profiles/engineContext';
import { AuthProfilesError, isAuthProfilesError, type ErrorCode } from '../../profiles/errors';
import {
  announceKeyHolder,
  keyHoldersToRespect,
  STALE_MS,
  withdrawKeyHolder,
} from '../../profiles/keyHolders';
import { reencryptAll, type RotationReport } from '../../profiles/keyRotation';
import type { TokenSet } from '../../profiles/oauth/tokenResponse';
import { OutboundRequests } from '../../profiles/outboundRequests';
import { ProfileCatalog, type Profile } from '../../profiles/profileCatalog';
import { SqliteStore } from '../../profiles/store/sqliteStore';
import type { StoredConnection } from '../../profiles/store/types';
import { subjectKey, type Subject } from '../../profiles/subjects';
import { startAuthServer, type RunningAuthServer } from '../support/authServer';
import {
  authorize,
  CapturingLogger,
  createHarness,
  FAST_SETTINGS,
  PUBLIC_URL,
  serverProfile,
  type Harness,
} from '../support/engineHarness';

/** A sealed value: format, key id, 12-byte IV, ciphertext, 16-byte tag (base64url). */
const SEALED = (keyId: string) =>
  new RegExp(`^v1\\.${keyId}\\.[A-Za-z0-9_-]{16}\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]{22}$`);

function caughtSync(work: () => unknown): AuthProfilesError {
  try {
    work();
  } catch (error) {
    if (isAuthProfilesError(error)) return error;
    throw error;
  }
  throw new Error('expected an AuthProfilesError, but nothing was thrown');
}

function expectError(work: () => unknown, code: ErrorCode): AuthProfilesError {
  const error = caughtSync(work);
  expect(error.code).toBe(code);
  return error;
}

describe('with a real authorization flow (SECURITY.md #27, #28, #30)', () => {
  const CLIENT = {
    client_id: 'enc-client',
    client_secret: 'enc-client-secret-value-7781',
    token_endpoint_auth_method: 'client_secret_basic' as const,
  };
  const VAULT_SECRET = 'vault-client-secret-4f9a2c';
  const ALICE: Subject = { kind: 'user', channelId: 'webchat', userId: 'alice-enc' };
  const BOB: Subject = { kind: 'user', channelId: 'webchat', userId: 'bob-enc' };

  let server: RunningAuthServer;
  let harness: Harness;
  let raw: Database.Database;
  /** Every plaintext secret the flows produced; none may be at rest. */
  const plaintexts: string[] = [];

  beforeAll(async () => {
    server = await startAuthServer({
      clients: [
        {
          ...CLIENT,
          redirect_uris: [`${PUBLIC_URL}/oauth/callback/crm`, `${PUBLIC_URL}/oauth/callback/crm2`],
          pkceRequired: true,
        },
      ],
      scopes: 'crm.objects.deals.read',
      accessTokenTtl: 600,
    });
    harness = await createHarness({
      profiles: [serverProfile(server, 'crm', CLIENT), serverProfile(server, 'crm2', CLIENT)],
    });
    // A custom profile stored the way the admin API stores it: the secret sealed for its record.
    await harness.store.profiles.put(
      {
        id: 'vault',
        kind: 'custom',
        document: {
          id: 'vault',
          displayName: 'Vault',
          authorizationUrl: 'https://vault.example/authorize',
          tokenUrl: 'https://vault.example/token',
          clientId: 'vault-client',
        },
        clientSecret: harness.context.keyRing.encrypt(
          VAULT_SECRET,
          secretContext('profiles', 'vault', 'clientSecret'),
        ),
        createdAt: 1,
        updatedAt: 1,
        updatedBy: 'admin:test',
      },
      0,
    );
    for (const subject of [ALICE, BOB]) {
      const { outcome } = await authorize(harness, 'crm', subject);
      expect(outcome.kind).toBe('connected');
    }
    expect((await authorize(harness, 'crm2', ALICE)).outcome.kind).toBe('connected');
    raw = new Database(join(harness.dir, 'authprofiles.db'));
  });

  afterAll(async () => {
    raw?.close();
    await harness?.close();
    await server?.stop();
  });

  async function stored(profileId: string, subject: Subject): Promise<StoredConnection> {
    const connection = await harness.store.connections.get(profileId, subjectKey(subject));
    if (!connection) throw new Error(`no ${profileId} connection for ${subjectKey(subject)}`);
    return connection;
  }

  async function liveToken(profileId: string, subject: Subject): Promise<string> {
    const token = await harness.engine.getToken(await harness.engine.catalog.get(profileId), subject);
    if (!token.ok) throw new Error(`no token: ${token.reason}`);
    return token.accessToken;
  }

  /** Sets one field inside a connection's JSON `data`, as an attacker with the database would. */
  function rawSet(connectionId: string, field: 'accessToken' | 'refreshToken', value: string): void {
    const changed = raw
      .prepare('UPDATE connections SET data = json_set(data, ?, ?) WHERE id = ?')
      .run(`$.${field}`, value, connectionId).changes;
    expect(changed).toBe(1);
  }

  /**
   * getToken on a record that does not open: either a clear `unusable` result or the catalogued
   * error naming the record, never a crash, never a secret in the message.
   */
  async function expectUnopenable(
    profileId: string,
    subject: Subject,
    code: ErrorCode,
    mentions: string[],
  ): Promise<void> {
    const profile = await harness.engine.catalog.get(profileId);
    const outcome = await harness.engine.getToken(profile, subject).then(
      (result) => ({ result, error: undefined }),
      (error: unknown) => ({ result: undefined, error }),
    );
    if (outcome.result) {
      expect(outcome.result.ok).toBe(false);
      if (!outcome.result.ok) expect(outcome.result.connectionId).toBe((await stored(profileId, subject)).id);
      for (const secret of plaintexts) expect(JSON.stringify(outcome.result)).not.toContain(secret);
      return;
    }
    expect(isAuthProfilesError(outcome.error, code)).toBe(true);
    const message = (outcome.error as Error).message;
    for (const mention of mentions) expect(message).toContain(mention);
    for (const secret of plaintexts) expect(message).not.toContain(secret);
    expect((outcome.error as AuthProfilesError).status).toBe(500);
  }

  test('SECURITY.md #27: the database file holds no plaintext token or client secret', async () => {
    const alice = await stored('crm', ALICE);
    const bob = await stored('crm', BOB);
    const opened = [openTokens(harness.context, alice), openTokens(harness.context, bob)];
    const accessTokens = [await liveToken('crm', ALICE), await liveToken('crm', BOB)];
    expect(accessTokens).toEqual(opened.map((tokens) => tokens.accessToken));
    expect((await harness.engine.catalog.get('vault')).clientSecret).toBe(VAULT_SECRET);
    plaintexts.push(
      ...accessTokens,
      ...opened.map((tokens) => tokens.refreshToken as string),
      VAULT_SECRET,
      CLIENT.client_secret,
    );
    for (const secret of plaintexts) expect(secret.length).toBeGreaterThanOrEqual(16);

    // Every byte of the database: main file, WAL and shared memory.
    const files = readdirSync(harness.dir).filter((name) => name.startsWith('authprofiles.db'));
    expect(files).toContain('authprofiles.db');
    const bytes = Buffer.concat(files.map((name) => readFileSync(join(harness.dir, name))));
    // The records are in there (the search below is not vacuous)...
    expect(bytes.includes(Buffer.from(alice.id))).toBe(true);
    expect(bytes.includes(Buffer.from(alice.accessToken))).toBe(true);
    // ...but no secret is, in any encoding a dump might reveal.
    for (const secret of plaintexts) {
      for (const encoded of [
        secret,
        Buffer.from(secret).toString('base64'),
        Buffer.from(secret).toString('hex'),
      ]) {
        expect(bytes.includes(Buffer.from(encoded))).toBe(false);
      }
    }

    // Every row of every table, as SQL sees it.
    const tables = raw
      .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
      .all()
      .map((row) => row.name);
    expect(tables).toEqual(expect.arrayContaining(['connections', 'profiles', 'authorization_requests']));
    const dump = tables
      .map((table) => JSON.stringify(raw.prepare(`SELECT * FROM "${table}"`).all()))
      .join('\n');
    for (const secret of plaintexts) expect(dump).not.toContain(secret);

    // Values are `v1.<keyId>.…`.
    const rows = raw.prepare<[], { data: string }>('SELECT data FROM connections').all();
    expect(rows.length).toBe(3);
    for (const row of rows) {
      const connection = JSON.parse(row.data) as StoredConnection;
      expect(connection.accessToken).toMatch(SEALED('test1'));
      expect(connection.refreshToken).toMatch(SEALED('test1'));
    }
    const vault = raw.prepare<[], { data: string }>("SELECT data FROM profiles WHERE id = 'vault'").get();
    expect((JSON.parse(vault?.data ?? '{}') as { clientSecret: string }).clientSecret).toMatch(
      SEALED('test1'),
    );
    const requests = raw.prepare<[], { data: string }>('SELECT data FROM authorization_requests').all();
    expect(requests.length).toBeGreaterThan(0);
    for (const row of requests) {
      const verifier = (JSON.parse(row.data) as { codeVerifier: string | null }).codeVerifier;
      if (verifier !== null) expect(verifier).toMatch(SEALED('test1'));
    }
  });

  test('SECURITY.md #28: an access token copied into another connection does not open there', async () => {
    const alice = await stored('crm', ALICE);
    const bob = await stored('crm', BOB);
    const bobToken = openTokens(harness.context, bob).accessToken;
    rawSet(bob.id, 'accessToken', alice.accessToken);
    const moved = await stored('crm', BOB);
    expect(moved.accessToken).toBe(alice.accessToken);
    const error = expectError(() => openTokens(harness.context, moved), 'decryption-failed');
    // Names the record it was read for, not a secret.
    expect(error.message).toContain(`crm|${subjectKey(BOB)}`);
    for (const secret of [...plaintexts, bobToken]) expect(error.message).not.toContain(secret);
    await expectUnopenable('crm', BOB, 'decryption-failed', [subjectKey(BOB)]);
    // The process carries on: other connections still serve tokens.
    expect(await liveToken('crm', ALICE)).toBe(openTokens(harness.context, alice).accessToken);
    rawSet(bob.id, 'accessToken', bob.accessToken);
    expect(await liveToken('crm', BOB)).toBe(bobToken);
  });

  test('SECURITY.md #28: ciphertext moved between fields, profiles or via the repository fails too', async () => {
    const alice = await stored('crm', ALICE);
    // Refresh token into the access token field of the same record.
    rawSet(alice.id, 'accessToken', alice.refreshToken as string);
    expectError(
      () => openTokens(harness.context, { ...alice, accessToken: alice.refreshToken as string }),
      'decryption-failed',
    );
    await expectUnopenable('crm', ALICE, 'decryption-failed', ['accessToken']);
    rawSet(alice.id, 'accessToken', alice.accessToken);

    // Same subject, another profile.
    const aliceCrm2 = await stored('crm2', ALICE);
    const updated = await harness.store.connections.update(aliceCrm2.id, aliceCrm2.version, {
      accessToken: alice.accessToken,
    });
    expect(updated?.accessToken).toBe(alice.accessToken);
    expectError(() => openTokens(harness.context, updated as StoredConnection), 'decryption-failed');
    await expectUnopenable('crm2', ALICE, 'decryption-failed', ['crm2|']);

    // A client secret copied from one stored profile to another.
    const vault = await harness.store.profiles.get('vault');
    const { clientSecret: _secret, ...document } = vault?.document ?? {};
    await harness.store.profiles.put(
      {
        id: 'vault2',
        kind: 'custom',
        document: { ...document, id: 'vault2' },
        clientSecret: vault?.clientSecret ?? null,
        createdAt: 1,
        updatedAt: 1,
        updatedBy: 'admin:test',
      },
      0,
    );
    // It does not open (the secret stays out of reach), and the profile says so instead of failing
    // every list it is in (SECURITY.md #52; before, catalog.get threw and took the lists down).
    const vault2 = await harness.engine.catalog.get('vault2');
    expect(vault2.clientSecret).toBeUndefined();
    expect(vault2.unreadableSecret).toEqual({
      keyId: KeyRing.keyIdOf(vault?.clientSecret as string),
      code: 'decryption-failed',
    });
    expect(vault2.missing).toContain(
      `clientSecret (unreadable: does not open with key "${KeyRing.keyIdOf(vault?.clientSecret as string)}" (wrong key or altered value))`,
    );
    expect(JSON.stringify(vault2)).not.toContain(VAULT_SECRET);
    expect((await harness.engine.catalog.list()).map((profile) => profile.id)).toContain('vault2');
  });

  test('SECURITY.md #30: a record sealed under a key that is not configured names the key id', async () => {
    const bob = await stored('crm', BOB);
    const foreign = new KeyRing(parseEncryptionKeys(generateKeySpec('retired7')));
    const resealed = foreign.encrypt(
      'foreign-plain-token-123456',
      `connections/crm|${subjectKey(BOB)}/accessToken`,
    );
    rawSet(bob.id, 'accessToken', resealed);
    plaintexts.push('foreign-plain-token-123456');
    await expectUnopenable('crm', BOB, 'encryption-key-unknown', ['"retired7"', 'ENCRYPTION_KEYS']);
    rawSet(bob.id, 'accessToken', bob.accessToken);
    expect((await liveToken('crm', BOB)).length).toBeGreaterThan(0);
  });
});

describe('KeyRing (SECURITY.md #28, #30)', () => {
  const ring = new KeyRing(parseEncryptionKeys(generateKeySpec('k1')));
  const CONTEXT = secretContext('connections', 'crm|user:webchat:alice', 'accessToken');
  const PLAIN = 'plain-access-token-0123456789';

  function withPart(sealed: string, index: number, change: (part: string) => string): string {
    const parts = sealed.split('.');
    parts[index] = change(parts[index] as string);
    return parts.join('.');
  }

  test('round trip, random IV, and the context is bound', () => {
    const a = ring.encrypt(PLAIN, CONTEXT);
    const b = ring.encrypt(PLAIN, CONTEXT);
    expect(a).toMatch(SEALED('k1'));
    expect(a).not.toBe(b);
    expect(a).not.toContain(PLAIN);
    expect(ring.decrypt(a, CONTEXT)).toBe(PLAIN);
    expect(KeyRing.keyIdOf(a)).toBe('k1');
    const error = expectError(
      () => ring.decrypt(a, secretContext('connections', 'crm|user:webchat:bob', 'accessToken')),
      'decryption-failed',
    );
    expect(error.message).toContain('crm|user:webchat:bob');
    expect(error.message).not.toContain(PLAIN);
  });

  test('SECURITY.md #30: an unknown key id is encryption-key-unknown naming the key id', () => {
    const other = new KeyRing(parseEncryptionKeys(generateKeySpec('ghost9')));
    const sealed = other.encrypt(PLAIN, CONTEXT);
    const error = expectError(() => ring.decrypt(sealed, CONTEXT), 'encryption-key-unknown');
    expect(error.message).toContain('"ghost9"');
    expect(error.message).not.toContain(PLAIN);
    expect(error.message).not.toContain(sealed);
  });

  test('SECURITY.md #30: a tampered tag, body or IV is decryption-failed, without the plaintext', () => {
    const sealed = ring.encrypt(PLAIN, CONTEXT);
    const flip = (part: string) => {
      const bytes = Buffer.from(part, 'base64url');
      bytes[0] = (bytes[0] as number) ^ 0x01;
      return bytes.toString('base64url');
    };
    for (const index of [2, 3, 4]) {
      const tampered = withPart(sealed, index, flip);
      expect(tampered).not.toBe(sealed);
      const error = expectError(() => ring.decrypt(tampered, CONTEXT), 'decryption-failed');
      expect(error.message).toContain('"k1"');
      expect(error.message).not.toContain(PLAIN);
    }
  });

  test('SECURITY.md #30: a truncated tag (a valid prefix) does not open', () => {
    const sealed = ring.encrypt(PLAIN, CONTEXT);
    for (const bytes of [4, 8, 12, 15]) {
      const truncated = withPart(sealed, 4, (tag) =>
        Buffer.from(tag, 'base64url').subarray(0, bytes).toString('base64url'),
      );
      expectError(() => ring.decrypt(truncated, CONTEXT), 'decryption-failed');
    }
  });

  test('a swapped key id is refused even when both keys are configured', () => {
    const two = new KeyRing(parseEncryptionKeys(`${generateKeySpec('k2')},${generateKeySpec('k1')}`));
    const sealed = two.encrypt(PLAIN, CONTEXT);
    expectError(
      () =>
        two.decrypt(
          withPart(sealed, 1, () => 'k1'),
          CONTEXT,
        ),
      'decryption-failed',
    );
  });

  test('values that are not sealed values are decryption-failed, not a crash', () => {
    for (const value of ['', 'plain-token', 'v1.k1.x.y', 'v2.k1.a.b.c', 'v1..a.b.c']) {
      const error = expectError(() => ring.decrypt(value, CONTEXT), 'decryption-failed');
      expect(error.message).toContain(CONTEXT);
    }
  });
});

describe('SECURITY.md #29: key rotation', () => {
  const K1 = generateKeySpec('k1');
  const K2 = generateKeySpec('k2');
  const PROFILE_SECRET = 'rotation-profile-secret-99';
  let dir: string;
  let store: SqliteStore;

  function context(keys: string): EngineContext {
    const keyRing = new KeyRing(parseEncryptionKeys(keys));
    return {
      store,
      keyRing,
      catalog: new ProfileCatalog({ store, keyRing, env: {}, validation: { allowInsecureLoopback: false } }),
      outbound: new OutboundRequests({ allowInsecureLoopback: false }),
      publicUrl: PUBLIC_URL,
      clock: () => Date.now(),
      log: new CapturingLogger(),
      settings: FAST_SETTINGS,
    };
  }

  function tokens(index: number): TokenSet {
    return {
      accessToken: `access-plain-${index}-xxxxxxxx`,
      refreshToken: index === 0 ? null : `refresh-plain-${index}-yyyyyyyy`,
      tokenType: 'bearer',
      expiresAt: Date.now() + 3_600_000,
      expiresAtEstimated: false,
      scopes: ['read'],
    };
  }

  /** A store with one stored profile secret and `count` connections, all sealed under k1. */
  async function seed(count: number): Promise<EngineContext> {
    const old = context(K1);
    await store.profiles.put(
      {
        id: 'rot',
        kind: 'custom',
        document: {
          id: 'rot',
          displayName: 'Rotation',
          authorizationUrl: 'https://rot.example/authorize',
          tokenUrl: 'https://rot.example/token',
          clientId: 'rot-client',
        },
        clientSecret: old.keyRing.encrypt(PROFILE_SECRET, secretContext('profiles', 'rot', 'clientSecret')),
        createdAt: 1,
        updatedAt: 1,
        updatedBy: 'admin:test',
      },
      0,
    );
    const profile = await old.catalog.get('rot');
    for (let index = 0; index < count; index += 1) {
      await saveConnection(old, profile, `user:webchat:u${index}`, tokens(index), {
        createdBy: 'user:test',
        requireVerification: false,
      });
    }
    return old;
  }

  async function allConnections(): Promise<StoredConnection[]> {
    return store.connections.list({}, { limit: 1000 });
  }

  async function keyIds(): Promise<string[]> {
    const ids = new Set<string>();
    for (const connection of await allConnections()) {
      ids.add(KeyRing.keyIdOf(connection.accessToken) as string);
      if (connection.refreshToken) ids.add(KeyRing.keyIdOf(connection.refreshToken) as string);
    }
    const secret = (await store.profiles.get('rot'))?.clientSecret;
    if (secret) ids.add(KeyRing.keyIdOf(secret) as string);
    return [...ids].sort();
  }

  /** Every secret opens with this context and equals what was sealed. */
  async function expectReadable(engine: EngineContext, count: number): Promise<void> {
    const connections = await allConnections();
    expect(connections).toHaveLength(count);
    for (const connection of connections) {
      const index = Number(connection.subjectKey.split(':u')[1]);
      const expected = tokens(index);
      expect(openTokens(engine, connection)).toEqual({
        accessToken: expected.accessToken,
        refreshToken: expected.refreshToken,
      });
    }
    expect((await engine.catalog.get('rot')).clientSecret).toBe(PROFILE_SECRET);
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'authprofiles-rotation-'));
    store = new SqliteStore(join(dir, 'rotation.db'));
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('old records stay readable, reencryptAll moves them all, a rerun does nothing, k1 can go', async () => {
    await seed(7);
    expect(await keyIds()).toEqual(['k1']);
    const rotating = context(`${K2},${K1}`);
    expect(rotating.keyRing.currentKeyId).toBe('k2');
    // New key added: everything sealed under k1 still opens; new values use k2.
    await expectReadable(rotating, 7);
    expect(rotating.keyRing.encrypt('x', 'c')).toMatch(SEALED('k2'));

    const progress: RotationReport[] = [];
    const report = await reencryptAll(rotating, {
      batchSize: 3,
      onProgress: (current) => progress.push({ ...current }),
    });
    const ids = (await allConnections()).map((connection) => connection.id).sort();
    expect(report).toEqual({
      scanned: 8,
      reencrypted: 8,
      alreadyCurrent: 0,
      failed: [],
      lastId: ids[ids.length - 1],
    });
    expect(progress.map((current) => current.scanned)).toEqual([4, 7, 8]);
    expect(await keyIds()).toEqual(['k2']);
    await expectReadable(rotating, 7);

    const again = await reencryptAll(rotating);
    expect(again).toMatchObject({ scanned: 8, reencrypted: 0, alreadyCurrent: 8, failed: [] });

    // k1 dropped from the ring: everything still opens.
    await expectReadable(context(K2), 7);
    // And a ring with only k1 no longer can, naming the key it lacks.
    const [sample] = await allConnections();
    const error = expectError(
      () => openTokens(context(K1), sample as StoredConnection),
      'encryption-key-unknown',
    );
    expect(error.message).toContain('"k2"');

    const audit = await store.audit.list({ limit: 10 });
    expect(audit.filter((entry) => entry.action === 'encryption.rotated')).toHaveLength(2);
    expect(audit[0]?.target).toBe('key:k2');
    expect(JSON.stringify(audit)).not.toContain('plain');
  });

  // SECURITY.md #52: the README's first rotation recipe re-encrypted to a key the running service did
  // not have, and every list that touched one of those records failed. Each record must fail alone.
  test('records rotated to a key this service lacks are listed as unreadable by key id; getToken and deletes still work', async () => {
    await seed(2);
    expect(await reencryptAll(context(`${K2},${K1}`))).toMatchObject({ reencrypted: 3, failed: [] });
    const service = context(K1); // the running service never got k2
    const unreadable = { keyId: 'k2', code: 'encryption-key-unknown' };

    const profile = (await service.catalog.list()).find((candidate) => candidate.id === 'rot');
    expect(profile?.unreadableSecret).toEqual(unreadable);
    expect(profile?.clientSecret).toBeUndefined();
    expect(profile?.missing).toEqual([
      'clientSecret (unreadable: sealed with key "k2", which is not in ENCRYPTION_KEYS)',
    ]);
    expect(publicProfile(profile as Profile)).toMatchObject({
      usable: false,
      hasClientSecret: false,
      unreadableSecret: unreadable,
    });
    const summaries = (await allConnections()).map((connection) => summarize(connection, service.keyRing));
    expect(summaries.map((summary) => summary.unreadable)).toEqual([unreadable, unreadable]);
    expect(summaries.map((summary) => summary.status)).toEqual(['active', 'active']);

    const engine = new AuthorizationEngine(service);
    const answer = await engine.getToken(profile as Profile, {
      kind: 'user',
      channelId: 'webchat',
      userId: 'u1',
    });
    expect(answer).toMatchObject({ ok: false, reason: 'needs-reauthorization' });
    expect(!answer.ok && answer.message).toContain('key id "k2" is not in ENCRYPTION_KEYS');
    expect(JSON.stringify(answer)).not.toContain('plain');

    const [first, second] = summaries as [ConnectionSummary, ConnectionSummary];
    expect(await engine.revokeById(first.id, 'admin:test')).toEqual({
      revokedAtProvider: false,
      providerError: 'no-revocation-endpoint',
    });
    expect(await deleteProfile(service, 'rot', { name: 'admin:test', role: 'admin' })).toEqual({
      connectionsRemoved: 1,
      removedOverride: false,
    });
    expect(await store.profiles.get('rot')).toBeNull();
    expect(await store.connections.getById(second.id)).toBeNull();
  });

  test('the key ids services announce: running instances count, else the one that ran last', async () => {
    let now = 1_000_000;
    const at = (keys: string): EngineContext => ({ ...context(keys), clock: () => now });
    expect(await keyHoldersToRespect(at(K1))).toEqual([]);
    await announceKeyHolder(at(K1), { instanceId: 'a', where: 'host-a pid 1', startedAt: now });
    await announceKeyHolder(at(`${K2},${K1}`), { instanceId: 'b', where: 'host-b pid 2', startedAt: now });
    now += 1_000;
    const running = await keyHoldersToRespect(at(K1));
    expect(
      running.map(({ instanceId, keyIds, currentKeyId, running: live }) => ({
        instanceId,
        keyIds,
        currentKeyId,
        live,
      })),
    ).toEqual([
      { instanceId: 'a', keyIds: ['k1'], currentKeyId: 'k1', live: true },
      { instanceId: 'b', keyIds: ['k2', 'k1'], currentKeyId: 'k2', live: true },
    ]);
    // b stops cleanly, a goes silent (killed): once a's entry is stale, the last one to run counts.
    await withdrawKeyHolder(at(K1), 'b');
    expect((await keyHoldersToRespect(at(K1))).map((holder) => holder.instanceId)).toEqual(['a']);
    now += STALE_MS + 1;
    expect(await keyHoldersToRespect(at(K1))).toEqual([
      expect.objectContaining({ instanceId: 'b', running: false, stoppedAt: 1_001_000 }),
    ]);
    // Only key ids are stored, never keys.
    const stored = JSON.stringify([...(await store.documents.read(['authprofiles:key-holders'])).values()]);
    expect(stored).toContain('"k2"');
    for (const spec of [K1, K2]) expect(stored).not.toContain(spec.slice(3));
  });

  test('an interrupted run resumes from lastId and finishes the rest', async () => {
    await seed(6);
    const rotating = context(`${K2},${K1}`);
    let lastId: string | null = null;
    await expect(
      reencryptAll(rotating, {
        batchSize: 2,
        onProgress: (current) => {
          lastId = current.lastId;
          throw new Error('interrupted');
        },
      }),
    ).rejects.toThrow('interrupted');
    const onK2 = (await allConnections()).filter((connection) =>
      rotating.keyRing.isCurrent(connection.accessToken),
    );
    expect(onK2).toHaveLength(2);
    expect(lastId).not.toBeNull();

    const resumed = await reencryptAll(rotating, { after: lastId as unknown as string });
    // The profile secret was done in the first run; four connections were left.
    expect(resumed).toMatchObject({ scanned: 5, reencrypted: 4, alreadyCurrent: 1, failed: [] });
    expect(await keyIds()).toEqual(['k2']);
    expect(await reencryptAll(rotating)).toMatchObject({ scanned: 7, reencrypted: 0, alreadyCurrent: 7 });
    await expectReadable(context(K2), 6);
  });

  test('a record written meanwhile (lost compare-and-set) is re-read and still moved', async () => {
    await seed(4);
    const rotating = context(`${K2},${K1}`);
    const connections = store.connections;
    const original = connections.update.bind(connections);
    const interfered = new Set<string>();
    connections.update = async (id, expectedVersion, patch) => {
      if (patch.accessToken !== undefined && !interfered.has(id)) {
        interfered.add(id);
        // Another instance marks the connection for re-authorization just before our write lands.
        await original(id, expectedVersion, { status: 'needs-reauthorization', updatedAt: Date.now() });
      }
      return original(id, expectedVersion, patch);
    };
    let report: RotationReport;
    try {
      report = await reencryptAll(rotating);
    } finally {
      connections.update = original;
    }
    expect(interfered.size).toBe(4);
    expect(report).toMatchObject({ scanned: 5, reencrypted: 5, alreadyCurrent: 0, failed: [] });
    expect(await keyIds()).toEqual(['k2']);
    // The other writer's change is kept.
    for (const connection of await allConnections()) expect(connection.status).toBe('needs-reauthorization');
    await expectReadable(context(K2), 4);
  });

  test('a record nobody can open is reported as failed, the rest still move', async () => {
    await seed(3);
    const stranger = new KeyRing(parseEncryptionKeys(generateKeySpec('lost1')));
    const [first] = await allConnections();
    if (!first) throw new Error('no connection');
    await store.connections.update(first.id, first.version, {
      accessToken: stranger.encrypt('x', `connections/rot|${first.subjectKey}/accessToken`),
    });
    const report = await reencryptAll(context(`${K2},${K1}`));
    expect(report.failed).toEqual([{ id: first.id, code: 'encryption-key-unknown' }]);
    expect(report).toMatchObject({ scanned: 4, reencrypted: 3, alreadyCurrent: 0 });
  });
});

describe('SECURITY.md #31: loading the key ring', () => {
  let dataDir: string;

  beforeEach(() => {
    dataDir = join(mkdtempSync(join(tmpdir(), 'authprofiles-keys-')), 'data');
  });

  afterEach(() => {
    rmSync(join(dataDir, '..'), { recursive: true, force: true });
    jest.restoreAllMocks();
  });

  test('production without ENCRYPTION_KEYS refuses to start, naming the variable', () => {
    for (const encryptionKeys of [undefined, '', '   ']) {
      const log = new CapturingLogger();
      const error = expectError(
        () => loadKeyRing({ production: true, encryptionKeys, dataDir, log }),
        'invalid-configuration',
      );
      expect(error.message).toContain('ENCRYPTION_KEYS');
      expect(fs.existsSync(join(dataDir, DEV_KEY_FILE))).toBe(false);
    }
  });

  test('production with ENCRYPTION_KEYS uses them, first key current', () => {
    const ring = loadKeyRing({
      production: true,
      encryptionKeys: ` ${generateKeySpec('p2')} , ${generateKeySpec('p1')} `,
      dataDir,
      log: new CapturingLogger(),
    });
    expect(ring.currentKeyId).toBe('p2');
    expect(fs.existsSync(dataDir)).toBe(false);
  });

  test('dev mode generates a key file once, with a warning, and reuses it', () => {
    const firstLog = new CapturingLogger();
    const first = loadKeyRing({ production: false, encryptionKeys: undefined, dataDir, log: firstLog });
    const file = join(dataDir, DEV_KEY_FILE);
    expect(fs.existsSync(file)).toBe(true);
    expect(readdirSync(dataDir)).toEqual([DEV_KEY_FILE]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const spec = readFileSync(file, 'utf8').trim();
    expect(spec).toMatch(/^dev1:[A-Za-z0-9+/]{43}=$/);
    expect(firstLog.lines).toEqual([
      { level: 'warn', fields: { file }, message: expect.stringMatching(/generated a development key/) },
    ]);
    // The key itself is never logged.
    expect(firstLog.text()).not.toContain(spec.split(':')[1] as string);

    const sealed = first.encrypt('dev-secret-value', 'ctx');
    const secondLog = new CapturingLogger();
    const second = loadKeyRing({ production: false, encryptionKeys: '', dataDir, log: secondLog });
    expect(second.currentKeyId).toBe(first.currentKeyId);
    expect(second.currentKeyId).toBe('dev1');
    expect(second.decrypt(sealed, 'ctx')).toBe('dev-secret-value');
    expect(readFileSync(file, 'utf8').trim()).toBe(spec);
    expect(secondLog.lines).toHaveLength(1);
    expect(secondLog.lines[0]?.level).toBe('warn');
    expect(secondLog.lines[0]?.message).toMatch(/using the development key/);
  });

  test('dev mode: when another process creates the key first, its key is used', () => {
    const winner = generateKeySpec('dev1');
    const file = join(dataDir, DEV_KEY_FILE);
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(file, `${winner}\n`, { mode: 0o600 });
    // This process checked before the other one wrote.
    jest.spyOn(fs, 'existsSync').mockReturnValueOnce(false);
    const log = new CapturingLogger();
    const ring = loadKeyRing({ production: false, encryptionKeys: undefined, dataDir, log });
    const expected = new KeyRing(parseEncryptionKeys(winner));
    expect(ring.decrypt(expected.encrypt('shared', 'ctx'), 'ctx')).toBe('shared');
    expect(readFileSync(file, 'utf8')).toBe(`${winner}\n`);
    expect(readdirSync(dataDir)).toEqual([DEV_KEY_FILE]);
  });

  test('ENCRYPTION_KEYS set in dev mode wins over the dev key file', () => {
    const ring = loadKeyRing({
      production: false,
      encryptionKeys: generateKeySpec('env1'),
      dataDir,
      log: new CapturingLogger(),
    });
    expect(ring.currentKeyId).toBe('env1');
    expect(fs.existsSync(join(dataDir, DEV_KEY_FILE))).toBe(false);
  });

  const GOOD = Buffer.alloc(32, 7).toString('base64');
  const SHORT = Buffer.alloc(16, 7).toString('base64');
  test.each([
    ['no colon', GOOD, /entry 1 must be "id:base64key"/],
    ['empty id', `:${GOOD}`, /entry 1 must be "id:base64key"/],
    ['second entry without colon', `k1:${GOOD},oops`, /entry 2 must be "id:base64key"/],
    ['short key', `k1:${SHORT}`, /key "k1" must decode to 32 bytes/],
    ['long key', `k1:${Buffer.alloc(48, 7).toString('base64')}`, /key "k1" must decode to 32 bytes/],
    ['empty key', 'k1:', /key "k1" must decode to 32 bytes/],
    ['duplicate id', `k1:${GOOD},k1:${Buffer.alloc(32, 9).toString('base64')}`, /key id "k1" repeats/],
    ['bad id', `k 1:${GOOD}`, /bad key id "k 1"/],
    ['only commas', ' , ,', /ENCRYPTION_KEYS is empty/],
  ])('malformed ENCRYPTION_KEYS (%s) is a clear error without the key material', (_name, value, message) => {
    for (const production of [true, false]) {
      const error = expectError(
        () => loadKeyRing({ production, encryptionKeys: value, dataDir, log: new CapturingLogger() }),
        'invalid-configuration',
      );
      expect(error.message).toMatch(message);
      expect(error.message).toContain('ENCRYPTION_KEYS');
      expect(error.message).not.toContain(GOOD);
      expect(error.message).not.toContain(SHORT);
    }
    // A malformed value never falls back to the dev key file.
    expect(fs.existsSync(join(dataDir, DEV_KEY_FILE))).toBe(false);
  });
});
