import { MongoClient, ObjectId } from 'mongodb';
import { isAuthProfilesError } from '../../profiles/errors';
import { keyId, MONGO_COLLECTIONS, MongoStore } from '../../profiles/store/mongoStore';
import { mongoTestTarget, startCongoServer, startMongoForTests } from '../support/mongoServer';
import type { StoredAuthorizationRequest } from '../../profiles/store/types';
import type { MongoForTests } from '../support/mongoServer';
import { describeStoreContract } from './storeContract';

const target = mongoTestTarget();
const T0 = 1_760_000_000_000;
const HOUR = 3_600_000;

let mongo: MongoForTests;

beforeAll(async () => {
  mongo = await startMongoForTests();
}, 60_000);

afterAll(async () => {
  await mongo?.stop();
});

/** Jest decides skips while collecting, so the target is resolved synchronously above. */
function realServerTest(title: string, reason: string, fn: () => Promise<void>, timeout?: number): void {
  if (target.realServer) {
    test(title, fn, timeout);
    return;
  }
  console.log(`skipped: "${title}" needs a real MongoDB server (${reason}); set MONGODB_URI`);
  test.skip(`${title} (needs a real MongoDB server: ${reason}; set MONGODB_URI)`, fn);
}

function abandonedRequest(id: string, expiresAt: number): StoredAuthorizationRequest {
  return {
    id,
    profileId: 'hubspot',
    subjectKey: 'org',
    status: 'created',
    stateHash: null,
    bindingHash: null,
    codeVerifier: null,
    redirectUri: 'https://bot.example.com/oauth/callback',
    expectedIssuer: null,
    scopes: [],
    requireVerification: false,
    context: {},
    createdBy: 'admin:ops',
    createdAt: expiresAt - 600_000,
    expiresAt,
    startedAt: null,
    consumedAt: null,
    outcome: null,
  };
}

describeStoreContract(
  `MongoStore over the wire (${target.source})`,
  async () => {
    const dbName = mongo.newDatabaseName();
    const store = await MongoStore.connect(mongo.uri, { dbName });
    return { store, realServer: mongo.realServer, cleanup: () => mongo.dropDatabase(dbName) };
  },
  { realServer: target.realServer },
);

describe(`MongoStore specifics (${target.source})`, () => {
  let dbName: string;
  let store: MongoStore;
  let raw: MongoClient;

  beforeEach(async () => {
    dbName = mongo.newDatabaseName();
    store = await MongoStore.connect(mongo.uri, { dbName });
    raw = await new MongoClient(mongo.uri).connect();
  });

  afterEach(async () => {
    await store.close();
    await raw.close();
    await mongo.dropDatabase(dbName);
  });

  const indexesOf = async (collection: string) =>
    Object.fromEntries(
      (await raw.db(dbName).collection(collection).listIndexes().toArray()).map((index) => [
        index.name as string,
        {
          key: index.key as Record<string, number>,
          unique: index.unique === true,
          ...(index.expireAfterSeconds === undefined
            ? {}
            : { expireAfterSeconds: index.expireAfterSeconds as number }),
        },
      ]),
    );

  // CongoDB answers listIndexes (with name, key, unique and expireAfterSeconds), so this runs everywhere.
  test('connect creates the indexes a deployment needs', async () => {
    expect(await indexesOf(MONGO_COLLECTIONS.connections)).toMatchObject({
      profileId_subjectKey_unique: { key: { profileId: 1, subjectKey: 1 }, unique: true },
      id_unique: { key: { id: 1 }, unique: true },
      status_id: { key: { status: 1, id: 1 }, unique: false },
    });
    expect(await indexesOf(MONGO_COLLECTIONS.authorizationRequests)).toMatchObject({
      stateHash_unique: { key: { stateHash: 1 }, unique: true },
      expiresAt: { key: { expiresAt: 1 }, unique: false },
      expireAt_ttl: { key: { expireAt: 1 }, unique: false, expireAfterSeconds: 0 },
    });
    expect(await indexesOf(MONGO_COLLECTIONS.locks)).toMatchObject({
      expireAt_ttl: { key: { expireAt: 1 }, expireAfterSeconds: 0 },
    });
    expect(await indexesOf(MONGO_COLLECTIONS.audit)).toMatchObject({
      seq_unique: { key: { seq: -1 }, unique: true },
      target_seq: { key: { target: 1, seq: -1 }, unique: false },
    });
    expect(await indexesOf(MONGO_COLLECTIONS.adminKeys)).toMatchObject({
      keyHash_unique: { key: { keyHash: 1 }, unique: true },
    });
  });

  test('connecting again to an existing database keeps the indexes as they are', async () => {
    const before = await indexesOf(MONGO_COLLECTIONS.authorizationRequests);
    const again = await MongoStore.connect(mongo.uri, { dbName });
    await again.close();
    expect(await indexesOf(MONGO_COLLECTIONS.authorizationRequests)).toStrictEqual(before);
  });

  realServerTest(
    'the state hash index is partial, so requests without a state do not collide',
    'CongoDB drops partialFilterExpression',
    async () => {
      const indexes = await raw
        .db(dbName)
        .collection(MONGO_COLLECTIONS.authorizationRequests)
        .listIndexes()
        .toArray();
      expect(indexes.find((index) => index.name === 'stateHash_unique')?.partialFilterExpression).toEqual({
        stateHash: { $type: 'string' },
      });
      await store.authorizationRequests.create(abandonedRequest('ar_1', T0));
      await store.authorizationRequests.create(abandonedRequest('ar_2', T0));
      expect((await store.authorizationRequests.get('ar_2'))?.stateHash).toBeNull();
    },
  );

  test('records are keyed by an ObjectId derived from their natural key, with readable key fields', async () => {
    expect(await store.locks.acquire('refresh:con_1', 'instance-a', 1_000, T0)).toBe(true);
    const lock = await raw.db(dbName).collection(MONGO_COLLECTIONS.locks).findOne({ name: 'refresh:con_1' });
    expect(lock?._id).toBeInstanceOf(ObjectId);
    expect(lock?._id.toHexString()).toBe(keyId('locks', 'refresh:con_1').toHexString());
    expect(lock).toMatchObject({ owner: 'instance-a', expiresAt: T0 + 1_000 });
    expect(keyId('connections', 'a\nb', 'c').equals(keyId('connections', 'a', 'b\nc'))).toBe(false);
    expect(keyId('locks', 'a').equals(keyId('profiles', 'a'))).toBe(false);
    expect(keyId('locks', 'a').equals(keyId('locks', 'a'))).toBe(true);
  });

  test('authorization requests carry an expireAt date an hour after expiry, for the TTL index', async () => {
    await store.authorizationRequests.create(abandonedRequest('ar_ttl', T0 + 600_000));
    const doc = await raw
      .db(dbName)
      .collection(MONGO_COLLECTIONS.authorizationRequests)
      .findOne({ id: 'ar_ttl' });
    expect(doc?.expireAt).toEqual(new Date(T0 + 600_000 + HOUR));
    expect(doc?._id.toHexString()).toBe(keyId('authorizationRequests', 'ar_ttl').toHexString());
  });

  realServerTest(
    'the TTL index deletes abandoned requests',
    'CongoDB does not expire TTL indexes',
    async () => {
      const now = Date.now();
      await store.authorizationRequests.create(abandonedRequest('ar_abandoned', now - 2 * HOUR));
      // MongoDB's TTL monitor wakes every 60 s.
      const deadline = Date.now() + 150_000;
      while ((await store.authorizationRequests.get('ar_abandoned')) !== null && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 2_000));
      }
      expect(await store.authorizationRequests.get('ar_abandoned')).toBeNull();
    },
    180_000,
  );
});

describe('MongoStore when the server is unreachable', () => {
  test('connect fails with store-unavailable and does not leak the password in the URI', async () => {
    const congo = await startCongoServer();
    const port = congo.port;
    await congo.stop();
    const error: unknown = await MongoStore.connect(
      `mongodb://bot:s3cret-pw@127.0.0.1:${port}/authprofiles`,
      {
        serverSelectionTimeoutMS: 300,
      },
    ).then(
      () => new Error('connected'),
      (reason: unknown) => reason,
    );
    expect(isAuthProfilesError(error) ? error.code : error).toBe('store-unavailable');
    expect((error as Error).message).toBe('the MongoDB store is unavailable');
    expect(String((error as Error).cause)).not.toContain('s3cret-pw');
    expect(JSON.stringify(error)).not.toContain('s3cret-pw');
  });

  test('a malformed URI is a configuration error that does not repeat the URI', async () => {
    const error: unknown = await MongoStore.connect('mongodb://bot:s3cret-pw@/?replicaSet=').then(
      () => new Error('connected'),
      (reason: unknown) => reason,
    );
    expect(isAuthProfilesError(error) ? error.code : error).toBe('invalid-configuration');
    expect(JSON.stringify(error) + String((error as Error).message)).not.toContain('s3cret-pw');
  });

  test('operations fail with store-unavailable once the server goes away', async () => {
    const congo = await startCongoServer();
    const store = await MongoStore.connect(congo.uri, { dbName: 'gone', serverSelectionTimeoutMS: 300 });
    try {
      expect(await store.locks.acquire('l', 'o', 1_000, T0)).toBe(true);
      await congo.stop();
      const error: unknown = await store.connections.get('hubspot', 'org').then(
        () => new Error('answered'),
        (reason: unknown) => reason,
      );
      expect(isAuthProfilesError(error) ? error.code : error).toBe('store-unavailable');
      await expect(store.ping()).rejects.toMatchObject({ code: 'store-unavailable' });
    } finally {
      await store.close();
      await congo.stop();
    }
  });

  test('the database defaults to the one named in the URI', async () => {
    const congo = await startCongoServer();
    const store = await MongoStore.connect(`${congo.uri}/from_uri`);
    const raw = await new MongoClient(congo.uri).connect();
    try {
      await store.profiles.put(
        {
          id: 'crm',
          kind: 'custom',
          document: {},
          clientSecret: null,
          createdAt: T0,
          updatedAt: T0,
          updatedBy: 'x',
        },
        0,
      );
      expect(await raw.db('from_uri').collection('profiles').countDocuments({ id: 'crm' })).toBe(1);
    } finally {
      await store.close();
      await raw.close();
      await congo.stop();
    }
  });
});
