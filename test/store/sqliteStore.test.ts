import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore } from '../../profiles/store/sqliteStore';
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
