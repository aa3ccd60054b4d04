import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AuthProfilesError } from '../../profiles/errors';
import { SqliteStore } from '../../profiles/store/sqliteStore';
import { holdWriteLock, watchEventLoop, type HeldLock } from '../support/sqliteLock';
import { describeStoreContract } from './storeContract';

const T0 = 1_760_000_000_000;

let dir: string;
let counter = 0;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'authprofiles-sqlite-'));
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh file per test, in a subdirectory the store has to create itself. */
function newFile(): string {
  return path.join(dir, `run-${++counter}`, 'store.db');
}

describeStoreContract('SqliteStore', async () => {
  const file = newFile();
  const store = new SqliteStore(file);
  return {
    store,
    realServer: true,
    cleanup: async () => fs.rmSync(path.dirname(file), { recursive: true, force: true }),
  };
});

describe('SqliteStore on a file', () => {
  const opened: SqliteStore[] = [];
  const openStore = (file: string): SqliteStore => {
    const store = new SqliteStore(file);
    opened.push(store);
    return store;
  };

  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });

  test('prepares each statement and connection write transaction once, not on every call (issue 12)', async () => {
    const store = openStore(newFile());
    const connection = (i: number) => ({
      profileId: 'hubspot',
      subjectKey: `user:u${i}`,
      status: 'active' as const,
      accessToken: 'v1.k1.aXY.YQ.dGFn',
      refreshToken: null,
      tokenType: 'bearer',
      scopes: ['oauth'],
      expiresAt: T0 + 1,
      expiresAtEstimated: true,
      profileFingerprint: 'fp',
      verification: null,
      lastError: null,
      createdAt: T0,
      updatedAt: T0,
      refreshedAt: null,
      createdBy: 'admin:ops',
    });
    const writeAndRead = async (i: number) => {
      const saved = await store.connections.upsert(connection(i));
      const updated = await store.connections.update(saved.id, saved.version, { updatedAt: T0 + i });
      const read = await store.connections.get('hubspot', `user:u${i}`);
      const page = await store.connections.list({ profileId: 'hubspot' }, { limit: 10 });
      return { updated, read, page };
    };
    await writeAndRead(0);
    const prepare = jest.spyOn(Database.prototype, 'prepare');
    const transaction = jest.spyOn(Database.prototype, 'transaction');
    try {
      for (let i = 1; i <= 50; i += 1) {
        const { updated, read, page } = await writeAndRead(i);
        expect(read).toEqual(updated);
        expect(read?.updatedAt).toBe(T0 + i);
        expect(page).toHaveLength(Math.min(i + 1, 10));
      }
      expect(prepare).not.toHaveBeenCalled();
      expect(transaction).not.toHaveBeenCalled();
    } finally {
      prepare.mockRestore();
      transaction.mockRestore();
    }
  });

  test('data survives closing and reopening the same file', async () => {
    const file = newFile();
    const first = openStore(file);
    const connection = await first.connections.upsert({
      profileId: 'hubspot',
      subjectKey: 'org',
      status: 'active',
      accessToken: 'v1.k1.aXY.YQ.dGFn',
      refreshToken: null,
      tokenType: 'bearer',
      scopes: ['oauth'],
      expiresAt: T0 + 1,
      expiresAtEstimated: true,
      profileFingerprint: 'fp',
      verification: null,
      lastError: null,
      createdAt: T0,
      updatedAt: T0,
      refreshedAt: null,
      createdBy: 'admin:ops',
    });
    const eTag = await first.documents.write('conv/1', { step: 1 }, undefined);
    await first.audit.append({
      id: 'aud_1',
      at: T0,
      actor: 'system',
      action: 'start',
      target: 'service',
      details: {},
    });
    await first.close();

    const second = openStore(file);
    expect(await second.connections.get('hubspot', 'org')).toStrictEqual(connection);
    expect((await second.documents.read(['conv/1'])).get('conv/1')).toStrictEqual({
      value: { step: 1 },
      eTag,
    });
    expect((await second.audit.list({ limit: 5 })).map((entry) => entry.id)).toEqual(['aud_1']);
  });

  test("two stores on the same file see each other's writes", async () => {
    const file = newFile();
    const a = openStore(file);
    const b = openStore(file);
    const eTag = await a.documents.write('conv/1', { from: 'a' }, undefined);
    expect((await b.documents.read(['conv/1'])).get('conv/1')).toStrictEqual({ value: { from: 'a' }, eTag });
    const next = await b.documents.write('conv/1', { from: 'b' }, eTag ?? undefined);
    expect(next).not.toBeNull();
    expect(await a.documents.write('conv/1', { from: 'a again' }, eTag ?? undefined)).toBeNull();
    expect((await a.documents.read(['conv/1'])).get('conv/1')).toStrictEqual({
      value: { from: 'b' },
      eTag: next,
    });
  });

  test('a lock held through one store is refused through the other until released or expired', async () => {
    const file = newFile();
    const a = openStore(file);
    const b = openStore(file);
    expect(await a.locks.acquire('refresh:con_1', 'instance-a', 1_000, T0)).toBe(true);
    expect(await b.locks.acquire('refresh:con_1', 'instance-b', 1_000, T0 + 1)).toBe(false);
    await a.locks.release('refresh:con_1', 'instance-a');
    expect(await b.locks.acquire('refresh:con_1', 'instance-b', 1_000, T0 + 2)).toBe(true);
    expect(await a.locks.acquire('refresh:con_1', 'instance-a', 1_000, T0 + 3)).toBe(false);
    expect(await a.locks.acquire('refresh:con_1', 'instance-a', 1_000, T0 + 1_002)).toBe(true);
  });

  test('parallel acquires through two stores on one file have exactly one winner', async () => {
    const file = newFile();
    const stores = [openStore(file), openStore(file)];
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        stores[i % 2]!.locks.acquire('refresh:con_1', `instance-${i}`, 1_000, T0),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });
});

// SECURITY.md #53: another process holds the write lock. better-sqlite3 is synchronous, so a long
// busy timeout froze the whole service (5 s per write); now each attempt blocks at most the short
// busy timeout and the retries wait on timers, so a 10 ms interval keeps firing meanwhile.
describe('SqliteStore while another process holds the write lock', () => {
  jest.setTimeout(30_000);
  const opened: SqliteStore[] = [];
  const held: HeldLock[] = [];

  afterEach(async () => {
    for (const lock of held.splice(0)) await lock.stop();
    for (const store of opened.splice(0)) await store.close();
  });

  const connection = (subjectKey: string) => ({
    profileId: 'demo',
    subjectKey,
    status: 'active' as const,
    accessToken: 'v1.k1.aXY.YQ.dGFn',
    refreshToken: null,
    tokenType: 'bearer',
    scopes: [],
    expiresAt: T0 + 1,
    expiresAtEstimated: true,
    profileFingerprint: 'fp',
    verification: null,
    lastError: null,
    createdAt: T0,
    updatedAt: T0,
    refreshedAt: null,
    createdBy: 'user:test',
  });

  async function lockedStore(
    options: { busyRetryMs: number },
    mode: 'IMMEDIATE' | 'EXCLUSIVE' = 'IMMEDIATE',
  ) {
    const file = newFile();
    const store = new SqliteStore(file, options);
    opened.push(store);
    await store.connections.upsert(connection('user:webchat:before'));
    const lock = await holdWriteLock(file, mode);
    held.push(lock);
    return { store, lock };
  }

  test('a write waits for the lock off the event loop and succeeds once it is released', async () => {
    const { store, lock } = await lockedStore({ busyRetryMs: 10_000 });
    const watch = watchEventLoop();
    let settled = false;
    const write = store.connections.upsert(connection('user:webchat:during')).finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(settled).toBe(false); // it really waited for the other process
    // Reads are not blocked by a writer (WAL) and answer meanwhile.
    expect((await store.connections.get('demo', 'user:webchat:before'))?.subjectKey).toBe(
      'user:webchat:before',
    );
    await lock.release();
    const written = await write;
    const { ticks, maxGapMs } = watch.stop();
    expect(written.subjectKey).toBe('user:webchat:during');
    expect(await store.connections.get('demo', 'user:webchat:during')).toStrictEqual(written);
    // 800 ms of waiting at 10 ms per tick: ~80 if never blocked; with a 5 s busy timeout it was 0-1.
    expect(ticks).toBeGreaterThanOrEqual(30);
    expect(maxGapMs).toBeLessThan(300);
  });

  test('a write still locked after the bound fails cleanly as store-unavailable, the loop turning throughout', async () => {
    const { store } = await lockedStore({ busyRetryMs: 700 }, 'EXCLUSIVE');
    const watch = watchEventLoop();
    const failure = await store.documents.write('conv/1', { step: 1 }, undefined).then(
      () => null,
      (error: unknown) => error,
    );
    const { ticks, maxGapMs } = watch.stop();
    expect(failure).toBeInstanceOf(AuthProfilesError);
    expect((failure as AuthProfilesError).code).toBe('store-unavailable');
    expect((failure as AuthProfilesError).message).toMatch(
      /^the SQLite store is locked by another connection \(still busy after \d+ ms\); try again$/,
    );
    expect(ticks).toBeGreaterThanOrEqual(20);
    expect(maxGapMs).toBeLessThan(300);
    // Nothing was half-written.
    expect((await store.documents.read(['conv/1'])).size).toBe(0);
  });
});

describe('SqliteStore.connections.upsertMany (bulk load)', () => {
  const connection = (i: number, status: 'active' | 'revoked' = 'active') => ({
    profileId: 'hubspot',
    subjectKey: `user:u${i}`,
    status,
    accessToken: 'v1.k1.aXY.YQ.dGFn',
    refreshToken: null,
    tokenType: 'bearer',
    scopes: ['oauth'],
    expiresAt: T0 + 1,
    expiresAtEstimated: true,
    profileFingerprint: 'fp',
    verification: null,
    lastError: null,
    createdAt: T0,
    updatedAt: T0,
    refreshedAt: null,
    createdBy: 'admin:ops',
  });

  test('writes each record as upsert does: a replacement keeps its id and bumps its version', async () => {
    const store = new SqliteStore(newFile());
    try {
      const existing = await store.connections.upsert(connection(1));
      const written = await store.connections.upsertMany([
        connection(1, 'revoked'),
        connection(2),
        connection(3),
      ]);
      expect(written.map((record) => [record.subjectKey, record.version])).toEqual([
        ['user:u1', 2],
        ['user:u2', 1],
        ['user:u3', 1],
      ]);
      expect(written[0]?.id).toBe(existing.id);
      expect(await store.connections.getById(existing.id)).toStrictEqual({
        ...connection(1, 'revoked'),
        id: existing.id,
        version: 2,
      });
      expect(await store.connections.get('hubspot', 'user:u3')).toStrictEqual(written[2]);
      expect(await store.connections.count({})).toBe(3);
    } finally {
      await store.close();
    }
  });

  test('a batch that fails part-way writes nothing', async () => {
    const store = new SqliteStore(newFile());
    try {
      const taken = await store.connections.upsert(connection(1));
      // The second record asks for an id another connection already has: the primary key refuses it.
      await expect(
        store.connections.upsertMany([connection(2), { ...connection(3), id: taken.id }]),
      ).rejects.toMatchObject({ code: 'conflict' });
      expect(await store.connections.get('hubspot', 'user:u2')).toBeNull();
      expect(await store.connections.count({})).toBe(1);
    } finally {
      await store.close();
    }
  });
});
